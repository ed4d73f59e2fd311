"""Closed forms of docs/theory.md section 7 (single qubit) and the KMS rates of section 1.

Model Q1: H = Bx X + Bz Z (gap 2r, theta the angle from +z towards +x), bath L through X, bath R
through Z, ohmic without cutoff, strengths kappa_L, kappa_R, common temperature T. Every value
below is reproduced to CLOSED_FORM_RTOL (1e-8) relative.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import CLOSED_FORM_RTOL, IDENTITY_RTOL

from hypothesis import given, settings
from hypothesis import strategies as st

from thermogeo import Numerics, Ohmic, generator, load_model, response
from thermogeo.linalg.steady import steady_solve

METHODS = ("gibbs", "general")
# d gamma/d omega against a central difference of this step: truncation ~ h^2 |gamma'''| / 6.
RATE_FD_STEP = 1e-5
RATE_FD_RTOL = 1e-6
# Points in all four quadrants of the (Bx, Bz) plane, near and far from the origin.
POINTS = np.array([[0.7, 0.4], [-0.3, 1.1], [-1.6, -0.2], [0.05, -0.9], [2.5, 3.0],
                   [0.9, 0.0001]])


@pytest.fixture(scope="module")
def models_dir_path():
    """The models directory (module scope, so Hypothesis examples can share it)."""
    from conftest import MODELS
    return MODELS


def q1(models_dir, T=1.0, kL=1.0, kR=1.0):
    m = load_model(models_dir / "qubit_pump.toml")
    return m.with_values(**{"L.temperature": T, "R.temperature": T, "L.strength": kL,
                            "R.strength": kR})


def polar(lam):
    Bx, Bz = lam[..., 0], lam[..., 1]
    return np.hypot(Bx, Bz), np.arctan2(Bx, Bz)  # r, theta (from +z towards +x)


def share_L(theta, kL, kR):
    c2, s2 = np.cos(theta) ** 2, np.sin(theta) ** 2
    return kL * c2 / (kL * c2 + kR * s2)


def entropy(r, T):
    x = r / T
    return np.log(2 * np.cosh(x)) - x * np.tanh(x)


def entropy_gradient(lam, T):
    """grad S in (Bx, Bz): dS/dr r_hat with dS/dr = -(r/T^2) sech^2(r/T)."""
    r, _ = polar(lam)
    dSdr = -(r / T**2) / np.cosh(r / T) ** 2
    return dSdr[..., None] * lam / r[..., None]


def rotor_L(lam, T, kL, kR):
    r, th = polar(lam)
    den = kL * np.cos(th) ** 2 + kR * np.sin(th) ** 2
    return (1 / T) / np.cosh(r / T) ** 2 * kL * kR * np.sin(2 * th) / den**2


def rel_close(a, b, rtol=CLOSED_FORM_RTOL):
    np.testing.assert_allclose(a, b, rtol=rtol, atol=0)


# -- the reference point ----------------------------------------------------------------------

def test_heat_response_at_the_reference_point(models_dir):
    r = response(q1(models_dir), [0.7, 0.4])
    rel_close(r.heat_response[0], [-0.0955342451, -0.0545909972])
    rel_close(r.heat_response[1], [-0.2925736256, -0.1671849289])
    rel_close(r.heat_response.sum(axis=0), 1.0 * r.entropy_gradient)
    rel_close(r.entropy_gradient, entropy_gradient(np.array([0.7, 0.4]), 1.0))


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("T,kL,kR", [(1.0, 1.0, 1.0), (0.4, 1.0, 2.0), (2.5, 0.3, 1.0),
                                     (1.3, 0.05, 0.2)])
def test_entropy_share_and_heat_response(models_dir, T, kL, kR, method):
    """S(r), grad S, and Lambda^L = f_L T grad S, Lambda^R = (1 - f_L) T grad S."""
    r = response(q1(models_dir, T, kL, kR), POINTS, numerics=Numerics(derivative=method))
    rad, th = polar(POINTS)
    f = share_L(th, kL, kR)
    gS = entropy_gradient(POINTS, T)
    rel_close(r.entropy, entropy(rad, T))
    rel_close(r.entropy_gradient, gS)
    rel_close(r.heat_response[:, 0], f[:, None] * T * gS)
    rel_close(r.heat_response[:, 1], (1 - f)[:, None] * T * gS)
    np.testing.assert_allclose(r.heat_current, 0.0, atol=IDENTITY_RTOL)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("T,kL,kR", [(1.0, 1.0, 1.0), (0.4, 1.0, 2.0), (2.5, 0.3, 1.0),
                                     (1.3, 0.05, 0.2)])
def test_rotor_formula(models_dir, T, kL, kR, method):
    r = response(q1(models_dir, T, kL, kR), POINTS, plane=("Bx", "Bz"),
                 numerics=Numerics(derivative=method))
    expected = rotor_L(POINTS, T, kL, kR)
    rel_close(r.rotor[:, 0], expected)
    rel_close(r.rotor[:, 1], -expected)  # sum of Lambda is a gradient: no total rotor
    # positive in quadrants I and III, negative in II and IV
    assert np.all(np.sign(r.rotor[:, 0]) == np.sign(POINTS[:, 0] * POINTS[:, 1]))


@settings(max_examples=40, deadline=None, derandomize=True, database=None)
@given(x=st.floats(0.05, 8.0), theta=st.floats(-math.pi, math.pi), T=st.floats(0.1, 5.0),
       kL=st.floats(0.01, 3.0), kR=st.floats(0.01, 3.0))
def test_rotor_and_heat_response_formulas_property(models_dir_path, x, theta, T, kL, kR):
    """Bounded random examples (derandomized): rotor and Lambda^L = f_L T grad S anywhere with
    r/T <= 8 (beyond, sech^2(r/T) < 5e-7 and the values are round-off of O(1) terms)."""
    r = x * T
    lam = np.array([r * math.sin(theta), r * math.cos(theta)])
    res = response(q1(models_dir_path, T, kL, kR), lam, plane=("Bx", "Bz"),
                   numerics=Numerics(derivative="general"))
    scale = np.abs(res.heat_response).max() / r  # the rotor's natural scale, Lambda / |B|
    expected = rotor_L(lam, T, kL, kR)
    assert abs(res.rotor[0] - expected) <= CLOSED_FORM_RTOL * max(abs(expected), scale)
    f = share_L(theta, kL, kR)
    gS = T * entropy_gradient(lam, T)
    np.testing.assert_allclose(res.heat_response[0], f * gS, rtol=0,
                               atol=CLOSED_FORM_RTOL * np.abs(gS).max())


def test_rotor_plane_orientation(models_dir):
    """Swapping the plane's axes flips the sign of the rotor (counter-clockwise positive)."""
    m = q1(models_dir)
    a = response(m, POINTS, plane=("Bx", "Bz")).rotor
    b = response(m, POINTS, plane=("Bz", "Bx")).rotor
    rel_close(b, -a)


@pytest.mark.parametrize("T", [0.3, 1.0, 4.0])
def test_gibbs_steady_state(models_dir, T):
    """rho_0 = (1 - tanh(r/T) (sin theta X + cos theta Z)) / 2."""
    r = response(q1(models_dir, T, 1.0, 2.0), POINTS)
    rad, th = polar(POINTS)
    t = np.tanh(rad / T)
    X = np.array([[0, 1], [1, 0]])
    Z = np.diag([1.0, -1.0])
    expected = 0.5 * (np.eye(2) - t[:, None, None] * (np.sin(th)[:, None, None] * X
                                                      + np.cos(th)[:, None, None] * Z))
    np.testing.assert_allclose(r.steady_state, expected, rtol=0, atol=IDENTITY_RTOL)
    rel_close(r.spectrum, np.stack([-rad, rad], axis=-1))


# -- cycle integrals of Lambda (closed forms of section 7) ------------------------------------

def line_integral_L(machine, lam, dlam, weights):
    """sum_nodes w Lambda^L(lam) . dlam, for nodes lam (n, 2) and tangents dlam (n, 2)."""
    Lam = response(machine, lam).heat_response[:, 0]
    return float(np.sum(weights * np.einsum("nk,nk->n", Lam, dlam)))


@pytest.mark.parametrize("kR,expected", [(1.0, 0.2729526880), (2.0, 0.2298805190)])
def test_geometric_heat_of_a_circle(models_dir, kR, expected):
    """Counter-clockwise circle, centre (0.8, 0.6), radius 0.5: Q_L^geo (periodic trapezoid,
    spectrally accurate for this analytic integrand)."""
    n = 256
    phi = 2 * np.pi * np.arange(n) / n
    lam = np.stack([0.8 + 0.5 * np.cos(phi), 0.6 + 0.5 * np.sin(phi)], axis=-1)
    dlam = np.stack([-0.5 * np.sin(phi), 0.5 * np.cos(phi)], axis=-1)
    Q = line_integral_L(q1(models_dir, 1.0, 1.0, kR), lam, dlam, np.full(n, 2 * np.pi / n))
    assert Q == pytest.approx(expected, rel=CLOSED_FORM_RTOL)


@pytest.mark.parametrize("T,kR", [(1.0, 1.0), (0.5, 3.0), (1.7, 0.25)])
def test_quadrant_loop_takes_T_ln2_from_bath_L(models_dir, T, kR):
    """Up the +Bz axis from 0 to R, the arc of radius R, back along +Bx (clockwise):
    Q_L = -T ln 2 for every T and kappa_R/kappa_L (R = 40 T: sech^2 is ~1e-34 there)."""
    m = q1(models_dir, T, 1.0, kR)
    R = 40 * T
    x, w = np.polynomial.legendre.leggauss(60)
    edges = np.linspace(0.0, R, 21)  # 20 pieces of Gauss-Legendre along each axis
    s = (0.5 * (edges[1:] - edges[:-1])[:, None] * (x + 1) + edges[:-1, None]).ravel()
    ws = (0.5 * (edges[1:] - edges[:-1])[:, None] * w).ravel()
    zero = np.zeros_like(s)
    up = line_integral_L(m, np.stack([zero, s], -1), np.stack([zero, 1 + zero], -1), ws)
    back = line_integral_L(m, np.stack([s, zero], -1), np.stack([-1 + zero, zero], -1), ws)
    phi = 0.25 * np.pi * (x + 1)  # arc from theta = 0 (on +Bz) to pi/2 (on +Bx)
    arc_pts = R * np.stack([np.sin(phi), np.cos(phi)], -1)
    arc_tan = R * np.stack([np.cos(phi), -np.sin(phi)], -1)
    arc = line_integral_L(m, arc_pts, arc_tan, 0.25 * np.pi * w)
    assert abs(back) <= IDENTITY_RTOL  # f_L = 0 on the Bx axis
    assert up + arc + back == pytest.approx(-T * math.log(2), rel=CLOSED_FORM_RTOL)


# -- Drazin inverse of a qubit ----------------------------------------------------------------

def dense_lindbladian(H, jumps):
    """Row-major superoperator of -i[H, .] + sum_k D[c_k], built from kron products here."""
    d = len(H)
    eye = np.eye(d)
    L = -1j * (np.kron(H, eye) - np.kron(eye, H.T))
    for c in jumps:
        cdc = c.conj().T @ c
        L += np.kron(c, c.conj()) - 0.5 * (np.kron(cdc, eye) + np.kron(eye, cdc.T))
    return L


@pytest.mark.parametrize("g_dn,g_up", [(0.3, 0.1), (1.0, 0.0), (0.7, 0.7), (2.0, 5.0)])
def test_qubit_drazin_inverse(g_dn, g_up):
    """H = Z, jumps sqrt(g_dn) sigma^-, sqrt(g_up) sigma^+: on (rho_upup, rho_dndn) the Drazin
    inverse is [[-g_dn, g_up], [g_dn, -g_up]]/g^2; rho_updn is multiplied by -2/(g + 4i)."""
    sm = np.array([[0, 0], [1, 0]], complex)  # |dn><up|, |up> = |0> the +1 eigenstate of Z
    L = dense_lindbladian(np.diag([1.0, -1.0]), [np.sqrt(g_dn) * sm, np.sqrt(g_up) * sm.T])
    ss = steady_solve(L, Numerics().uniqueness_rcond)
    LD = ss.drazin()
    g = g_dn + g_up
    expected = np.zeros((4, 4), complex)
    expected[np.ix_([0, 3], [0, 3])] = np.array([[-g_dn, g_up], [g_dn, -g_up]]) / g**2
    expected[1, 1] = -2 / (g + 4j)  # rho[0, 1] = rho_updn
    expected[2, 2] = -2 / (g - 4j)
    np.testing.assert_allclose(LD, expected, rtol=0, atol=CLOSED_FORM_RTOL * np.abs(LD).max())
    np.testing.assert_allclose(ss.rho, [g_up / g, 0, 0, g_dn / g], atol=IDENTITY_RTOL)


# -- KMS rates --------------------------------------------------------------------------------

DENSITIES = [Ohmic(0.05), Ohmic(1.3), Ohmic(0.2, cutoff=3.0), Ohmic(0.1, exponent=3.0, cutoff=2.0),
             Ohmic(0.4, exponent=2.0, cutoff=7.5)]


@pytest.mark.parametrize("J", DENSITIES, ids=repr)
@pytest.mark.parametrize("T", [0.2, 1.0, 3.7])
def test_rates_obey_kms_detailed_balance(J, T):
    w = np.array([1e-6, 0.01, 0.3, 1.0, 2.7, 10.0])
    g_plus, g_minus = J.rate(w, T), J.rate(-w, T)
    rel_close(g_minus, np.exp(-w / T) * g_plus)
    n = 1 / np.expm1(w / T)
    rel_close(g_plus, 2 * np.pi * J.density(w) * (n + 1))
    rel_close(g_minus, 2 * np.pi * J.density(w) * n)
    g0 = float(J.rate(np.array(0.0), T))
    if J.exponent == 1:
        assert g0 == pytest.approx(2 * np.pi * J.strength * T, rel=CLOSED_FORM_RTOL)
        # continuous at omega = 0 (the limit of 2 pi kappa omega (n + 1) is 2 pi kappa T)
        assert J.rate(np.array([1e-9, -1e-9]), T) == pytest.approx([g0, g0],
                                                                   rel=CLOSED_FORM_RTOL)
    else:
        assert g0 == 0.0
    # d gamma / d omega (used by the exact response) against a central difference
    h = RATE_FD_STEP
    fd = (J.rate(w[2:] + h, T) - J.rate(w[2:] - h, T)) / (2 * h)
    np.testing.assert_allclose(J.rate_derivative(w[2:], T), fd, rtol=RATE_FD_RTOL)


def test_generator_uses_the_kms_rates_of_each_bath(models_dir):
    """Q1 at unequal temperatures: the eigenframe rates are gamma_alpha(E_m - E_n)."""
    m = q1(models_dir, 1.0, 0.3, 1.7).with_values(**{"R.temperature": 2.5})
    lam = POINTS
    gen = generator(m, lam)
    w = gen.E[:, None, :] - gen.E[:, :, None]  # [n, m] = E_m - E_n
    for a, bath in enumerate(m.baths):
        expected = bath.spectral_density.rate(w, bath.temperature)
        rel_close(gen.rates[:, a], expected)
    assert m.temperatures.tolist() == [1.0, 2.5]
