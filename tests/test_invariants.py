"""Invariants of the core on the seeded zoo of random machines (tests/zoo.py).

No closed forms here: identities that must hold for every machine (docs/theory.md section 7, "Checks
that need no closed form"): trace and Hermiticity preservation, a positive steady state, the
Drazin identities, the first and second laws, Gibbs states and the balance
sum_alpha Lambda^alpha = T grad S at equal temperatures, a positive semi-definite metric,
independent derivative methods and kernels agreeing, the exact rotor against a
finite-difference curl, and invariance under a unitary change of basis.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import IDENTITY_RTOL
from scipy.linalg import expm
from zoo import DEGENERATE, EQUAL_T, FD_STEP, ZOO, random_unitary, rotated

from thermogeo import (Bath, Machine, Numerics, Ohmic, SecularApproximationWarning, generator,
                       response)
from thermogeo.linalg.steady import steady_solve
from thermogeo.linalg.superop import trace_row

# Richardson-extrapolated central differences of step FD_STEP: truncation ~ FD_STEP^4 times the
# fifth derivative, round-off ~ eps / FD_STEP; both far below this, relative to max |Lambda|.
FD_RTOL = 1e-8
# Positivity of rho_0 and of the metric: eigenvalues may dip below zero by round-off only.
PSD_ATOL = 1e-12
# Null vector of L from an SVD: error ~ eps |L| / (its smallest non-zero singular value).
NULL_VECTOR_RTOL = 1e-9
PLANE = ("Bx", "Bz")


def ids(cases):
    return [c.label for c in cases]


def close(a, b, rtol, scale=None):
    """Assert ``max |a - b| <= rtol * scale``; the default scale is ``max |b|``."""
    a, b = np.asarray(a), np.asarray(b)
    s = np.abs(b).max() if scale is None else scale
    err = np.abs(a - b).max()
    assert err <= rtol * max(s, 1e-300), f"max error {err:.3e} > {rtol:.1e} * {s:.3e}"


def hermitian_conjugation_swap(d: int) -> np.ndarray:
    """Permutation ``P`` of row-major vectors with ``vec(rho^T) = P vec(rho)``."""
    return np.eye(d * d).reshape(d, d, d, d).transpose(1, 0, 2, 3).reshape(d * d, d * d)


def per_bath_lab(gen) -> np.ndarray:
    """Lab-frame per-bath dissipators ``(b, m, d2, d2)``, one ``to_lab`` call per bath."""
    return np.stack([gen.to_lab(gen.D[:, a]) for a in range(gen.D.shape[1])], axis=1)


def gibbs(H: np.ndarray, T: float) -> np.ndarray:
    rho = expm(-(H - np.linalg.eigvalsh(H).min() * np.eye(len(H))) / T)
    return rho / np.trace(rho)


# -- the generator --------------------------------------------------------------------------

@pytest.mark.parametrize("case", ZOO, ids=ids(ZOO))
def test_generator_and_dissipators_preserve_trace_and_hermiticity(case):
    m = case.machine
    gen = generator(m, case.lam)
    L, D = gen.to_lab(gen.L), gen.to_lab(gen.D)
    close(D, per_bath_lab(gen), IDENTITY_RTOL, np.abs(D).max())  # the bath axis is kept
    one = trace_row(m.dim)
    P = hermitian_conjugation_swap(m.dim)
    for S in [L] + [D[:, a] for a in range(len(m.baths))]:
        scale = np.abs(S).max()
        close(one @ S, 0.0, IDENTITY_RTOL, scale)  # <<1| S = 0: Tr S(rho) = 0
        # S(rho^+) = S(rho)^+  <=>  S = P conj(S) P in row-major form
        close(P @ S.conj() @ P, S, IDENTITY_RTOL, scale)
    # The per-bath dissipators and -i[H, .] add up to L.
    H = m.hamiltonian_at(case.lam)
    eye = np.eye(m.dim)
    comm = np.stack([np.kron(h, eye) - np.kron(eye, h.T) for h in H])
    close(-1j * comm + D.sum(axis=1), L, IDENTITY_RTOL)


@pytest.mark.parametrize("case", ZOO, ids=ids(ZOO))
def test_steady_state_is_a_positive_stationary_state(case):
    m = case.machine
    r = response(m, case.lam)
    rho = r.steady_state
    assert np.linalg.eigvalsh(rho).min() >= -PSD_ATOL
    gen = generator(m, case.lam)
    L = gen.to_lab(gen.L)
    # The solver symmetrises and normalises its result, so its trace and Hermiticity prove
    # nothing; the null vector of L from an SVD (no symmetrisation) is an independent state:
    # it is Hermitian up to a phase (L preserves Hermiticity) and equals rho once normalised.
    d = m.dim
    for b in range(len(rho)):
        s_, v = np.linalg.svd(L[b])[1:]
        assert s_[-2] > 1e3 * s_[-1]  # a one-dimensional null space: unique steady state
        x = v[-1].conj().reshape(d, d)
        x = x / np.trace(x)
        close(x, x.conj().T, NULL_VECTOR_RTOL, 1.0)
        close(rho[b], x, NULL_VECTOR_RTOL, 1.0)
    close(np.einsum("bij,bj->bi", L, rho.reshape(len(rho), -1)), 0.0, IDENTITY_RTOL,
          np.abs(L).max())
    assert np.all(r.unique)


@pytest.mark.parametrize("case", ZOO, ids=ids(ZOO))
def test_drazin_identities(case):
    gen = generator(case.machine, case.lam)
    ss = steady_solve(gen.L, Numerics().uniqueness_rcond)
    L, LD, rho = gen.L, ss.drazin(), ss.rho
    nL, nD = np.abs(L).max(), np.abs(LD).max()
    close(L @ LD @ L, L, IDENTITY_RTOL, nL)
    close(LD @ L @ LD, LD, IDENTITY_RTOL, nD)
    close(L @ LD, LD @ L, IDENTITY_RTOL, nL * nD)  # group inverse: L and L^D commute
    close(np.einsum("bij,bj->bi", LD, rho), 0.0, IDENTITY_RTOL, nD)  # L^D rho_0 = 0
    close(trace_row(case.machine.dim) @ LD, 0.0, IDENTITY_RTOL, nD)  # Tr L^D y = 0
    # drazin_apply on a batch of vectors agrees with the full matrix.
    y = np.random.default_rng(1).normal(size=L.shape[:-1]) + 0j
    close(ss.drazin_apply(y), np.einsum("bij,bj->bi", LD, y), IDENTITY_RTOL, nD * np.abs(y).max())


@pytest.mark.parametrize("case", ZOO, ids=ids(ZOO))
def test_first_and_second_law_in_the_steady_state(case):
    r = response(case.machine, case.lam)
    J, T = r.heat_current, case.machine.temperatures
    gen = generator(case.machine, case.lam)
    scale = np.abs(gen.E).max() * np.abs(gen.D).max()  # magnitude of the terms of Tr[H D rho]
    close(J.sum(axis=-1), 0.0, IDENTITY_RTOL, scale)  # no work at frozen parameters
    assert np.all(-(J / T).sum(axis=-1) >= -IDENTITY_RTOL * scale)  # entropy production


SMALL = tuple(c for c in ZOO if c.machine.qubits <= 3)


@pytest.mark.parametrize("case", SMALL, ids=ids(SMALL))
def test_batched_points_equal_pointwise_results(case):
    m, lam = case.machine, case.lam
    grid = np.stack([lam, lam[::-1]])  # (2, n, k): two leading batch axes
    rb = response(m, grid, plane=PLANE)
    for i in range(2):
        for j in range(len(lam)):
            rp = response(m, grid[i, j], plane=PLANE)
            scale = np.abs(rp.spectrum).max() + np.abs(rp.heat_response).max()
            for f in ("spectrum", "heat_current", "heat_response", "G", "rotor", "entropy"):
                close(getattr(rb, f)[i, j], getattr(rp, f), IDENTITY_RTOL, scale)


# -- equal temperatures ---------------------------------------------------------------------

@pytest.mark.parametrize("case", EQUAL_T, ids=ids(EQUAL_T))
def test_gibbs_state_is_stationary_for_every_bath(case):
    m = case.machine
    T = float(m.temperatures[0])
    H = m.hamiltonian_at(case.lam)
    rho_g = np.stack([gibbs(h, T) for h in H])
    r = response(m, case.lam)
    close(r.steady_state, rho_g, IDENTITY_RTOL, 1.0)
    gen = generator(m, case.lam)
    D = gen.to_lab(gen.D)  # detailed balance: each bath alone keeps the Gibbs state
    Drho = np.einsum("bmij,bj->bmi", D, rho_g.reshape(len(H), -1))
    close(Drho, 0.0, IDENTITY_RTOL, np.abs(D).max())
    close(r.heat_current, 0.0, IDENTITY_RTOL, np.abs(r.spectrum).max() * np.abs(D).max())


@pytest.mark.parametrize("case", EQUAL_T, ids=ids(EQUAL_T))
def test_heat_response_sums_to_T_grad_S(case):
    r = response(case.machine, case.lam)
    T = float(case.machine.temperatures[0])
    close(r.heat_response.sum(axis=-2), T * r.entropy_gradient, IDENTITY_RTOL,
          np.abs(r.heat_response).max())
    # d_i S of the Gibbs state (S = <H>/T + ln Z) is -cov(H, V_i)/T^2, with the symmetrised
    # covariance <{H, V_i}>/2 - <H><V_i>: an independent check of entropy_gradient.
    H = case.machine.hamiltonian_at(case.lam)
    V = case.machine.V
    dS = np.empty_like(r.entropy_gradient)
    for b, h in enumerate(H):
        rho = gibbs(h, T)
        EH = np.trace(rho @ h).real
        EV = np.einsum("ij,kji->k", rho, V).real
        EHV = np.einsum("ij,kji->k", rho, h @ V + V @ h).real / 2
        dS[b] = -(EHV - EH * EV) / T**2
    close(r.entropy_gradient, dS, IDENTITY_RTOL, np.abs(dS).max())


@pytest.mark.parametrize("case", EQUAL_T, ids=ids(EQUAL_T))
def test_metric_is_positive_semidefinite(case):
    r = response(case.machine, case.lam)
    ev = np.linalg.eigvalsh(r.metric)
    assert np.all(ev >= -PSD_ATOL * np.abs(ev).max())
    assert np.all(np.diagonal(r.G, axis1=-2, axis2=-1) >= 0)


@pytest.mark.parametrize("case", EQUAL_T, ids=ids(EQUAL_T))
def test_gibbs_and_general_derivatives_agree(case):
    rg = response(case.machine, case.lam, plane=PLANE, numerics=Numerics(derivative="gibbs"))
    rn = response(case.machine, case.lam, plane=PLANE, numerics=Numerics(derivative="general"))
    scale = np.abs(rg.heat_response).max()
    close(rn.heat_response, rg.heat_response, IDENTITY_RTOL, scale)
    close(rn.G, rg.G, IDENTITY_RTOL, np.abs(rg.G).max())
    close(rn.rotor, rg.rotor, IDENTITY_RTOL, scale)
    close(rn.entropy_gradient, rg.entropy_gradient, IDENTITY_RTOL, scale)


# -- exact rotor and basis independence -----------------------------------------------------

def finite_difference_curl(machine, lam, h):
    """Richardson-extrapolated central-difference curl of Lambda in PLANE, computed here.

    ``lam (n, k)``; all 8 shifted copies of the points go through one batched call.
    """
    ix, iy = (machine.parameter_index(p) for p in PLANE)
    shifts = np.zeros((2, 2, 2, lam.shape[-1]))  # [step h/2h, direction x/y, sign +/-]
    for a, step in enumerate((h, 2 * h)):
        for b, i in enumerate((ix, iy)):
            shifts[a, b, 0, i], shifts[a, b, 1, i] = step, -step
    Lam = response(machine, lam + shifts[:, :, :, None, :]).heat_response  # (2,2,2,n,m,k)
    d = (Lam[:, :, 0] - Lam[:, :, 1]) / (2 * np.array([h, 2 * h])[:, None, None, None, None])
    curl = d[:, 0, ..., iy] - d[:, 1, ..., ix]  # d_x Lambda_y - d_y Lambda_x, (2, n, m)
    return curl[0] + (curl[0] - curl[1]) / 3


@pytest.mark.parametrize("case", ZOO, ids=ids(ZOO))
def test_exact_rotor_matches_finite_difference_curl(case):
    lam = case.lam[:1]
    r = response(case.machine, lam, plane=PLANE)
    fd = finite_difference_curl(case.machine, lam, FD_STEP)
    close(r.rotor, fd, FD_RTOL, np.abs(r.heat_response).max())


@pytest.mark.parametrize("case", ZOO, ids=ids(ZOO))
def test_unitary_change_of_basis_leaves_the_response_invariant(case):
    W = random_unitary(np.random.default_rng(7), case.machine.dim)
    m2 = rotated(case.machine, W)
    r1 = response(case.machine, case.lam, plane=PLANE)
    r2 = response(m2, case.lam, plane=PLANE)
    for f in ("spectrum", "heat_current", "entropy", "entropy_gradient", "heat_response", "G",
              "rotor"):
        a, b = getattr(r2, f), getattr(r1, f)
        close(a, b, IDENTITY_RTOL, np.abs(b).max() + np.abs(r1.heat_response).max())
    close(r2.steady_state, W @ r1.steady_state @ W.conj().T, IDENTITY_RTOL, 1.0)


def test_zoo_contains_exactly_degenerate_spectra():
    """Guard the zoo itself: degenerate Bohr groups everywhere in DEGENERATE, and at least one
    machine with exactly degenerate energy levels, on both sides of equal temperatures."""
    with_levels = set()
    for case in DEGENERATE:
        gen = generator(case.machine, case.lam)
        lab = gen.groups.label.reshape(len(case.lam), -1)
        d = case.machine.dim
        offdiag = ~np.eye(d, dtype=bool).ravel()
        for b in range(len(case.lam)):
            _, counts = np.unique(lab[b][offdiag], return_counts=True)
            assert counts.max() > 1, f"{case.label}: no degenerate Bohr frequency"
            if len(np.unique(gen.groups.level_label[b])) < d:
                with_levels.add(case.machine.equal_temperatures)
    assert with_levels == {True, False}


@pytest.mark.parametrize("case", ZOO, ids=ids(ZOO))
def test_structured_and_dense_kernels_agree(case):
    """Two independent implementations of the same response: dense d^2 x d^2 superoperators
    and the structured Bohr-block kernels (response/structured.py)."""
    rd = response(case.machine, case.lam, plane=PLANE, numerics=Numerics(kernel="dense"))
    rs = response(case.machine, case.lam, plane=PLANE, numerics=Numerics(kernel="structured"))
    scale = np.abs(rd.heat_response).max()
    for f in ("spectrum", "heat_current", "entropy", "entropy_gradient", "heat_response", "G",
              "rotor"):
        a, b = getattr(rs, f), getattr(rd, f)
        close(a, b, IDENTITY_RTOL, np.abs(b).max() + scale)
    close(rs.steady_state, rd.steady_state, IDENTITY_RTOL, 1.0)
    np.testing.assert_array_equal(rs.differentiable, rd.differentiable)


@pytest.mark.parametrize("kernel", ["dense", "structured"])
def test_splitting_a_degenerate_bohr_group_is_reported(kernel):
    """On the uniform-field Heisenberg dimer the triplet transitions m = 1 -> 0 and 0 -> -1
    share the Bohr frequency 2|B|. Uniform fields keep them together; an anisotropy D Z0 Z1
    moves them by +2D and -2D: the secular generator has a kink at D = 0 along D only."""
    m = Machine(qubits=2, parameters={"Bx": 0.3, "Bz": 0.5, "D": 0.0},
                hamiltonian=[("Bx", "X0 + X1"), ("Bz", "Z0 + Z1"), ("D", "Z0 Z1"),
                             (0.5, "X0 X1 + Y0 Y1 + Z0 Z1")],
                baths=[Bath("L", 1.0, "X0 + 2*X1", Ohmic(0.05)),
                       Bath("R", 1.0, "Z0 + 2*Z1", Ohmic(0.05))])
    numerics = Numerics(kernel=kernel)
    with pytest.warns(SecularApproximationWarning, match=r"\['D'\].*not differentiable"):
        r = response(m, [0.3, 0.5, 0.0], numerics=numerics)
    np.testing.assert_array_equal(r.differentiable, [True, True, False])
    r = response(m, [0.3, 0.5, 0.2], numerics=numerics)  # no warning away from D = 0
    assert r.differentiable.all()
