"""Full counting statistics of heat (issue 17): static cumulants against QuTiP and against the
leading eigenvalue of the tilted generator, Gallavotti-Cohen symmetry, the uncertainty
relation, the slow-driving mean against the rotor, exact per-cycle cumulants converging to
slow driving, and quantum-jump trajectories (QuTiP mcsolve) counting the energy of each jump.
"""

from __future__ import annotations

import numpy as np
import pytest
import qutip
from conftest import MODELS
from test_qutip_reference import DEGENERACY_TOL, kms_rate
from zoo import UNEQUAL_T, ZOO

from thermogeo import ModelError
from thermogeo.errors import CountingUnavailableError
from thermogeo.lindblad.dense import DenseFrozen
from thermogeo.lindblad.generic import GenericFrozen, generic_points
from thermogeo.lindblad.structured import BlockFrozen
from thermogeo.numerics import Numerics
from thermogeo.protocols import Circle, Rectangle, cycle_summary
from thermogeo.protocols.fluctuations import (cycle_fluctuations, fluctuation_map,
                                              legendre_derivative_matrix)
from thermogeo.lindblad.generator import generator
from thermogeo.response.counting import counting_statistics, scaled_cgf, tilt_superops
from thermogeo.sweeps.spec import sweep_from_text
from thermogeo.sweeps.tasks import compute_point
from thermogeo.dynamics.counting import exact_cgf, exact_fluctuations

QUTIP_NOISE_RTOL = 1e-8  # issue 17: static noise against QuTiP
IDENTITY_ATOL = 1e-12  # identities of dense float64 kernels (relative to the O(1) scale)
ROTOR_RTOL = 1e-10  # issue 17: mean per cycle equals the rotor's pumped heat
FIT_RTOL = 1e-5  # cumulants vs a degree-8 fit of the CGF on |chi| <= 0.06 (truncation)
SLOPE_TOL = 0.1  # fitted log-log slope of exact minus slow driving, expected -1
EXACT_RTOL = 1e-7  # step doubling of the exact cumulants (the O(1/tau) gaps are >= 1e-2)
MAP_RTOL = 1e-9  # 16 Gauss-Legendre nodes per cell edge against the adaptive loop
MC_SIGMAS = 4.0  # trajectories: agreement within this many standard errors


def energy_jumps(H: np.ndarray, couplings, baths):
    """Per bath: ``[(w, sqrt(gamma(w)) A(w))]`` with ``A(w) = sum_{E_m - E_n = w} P_n A P_m``
    (independent of thermogeo's grouping; frequencies merged within DEGENERACY_TOL)."""
    E, U = np.linalg.eigh(H)
    levels, i = [], 0
    while i < len(E):
        j = i
        while j + 1 < len(E) and E[j + 1] - E[j] < DEGENERACY_TOL:
            j += 1
        levels.append((E[i:j + 1].mean(), U[:, i:j + 1] @ U[:, i:j + 1].conj().T))
        i = j + 1
    freqs: list[float] = []
    for Em, _ in levels:
        for En, _ in levels:
            if not any(abs(Em - En - f) < DEGENERACY_TOL for f in freqs):
                freqs.append(Em - En)
    out = []
    for A, bath in zip(couplings, baths):
        jumps = []
        for f in freqs:
            Aw = sum(Pn @ A @ Pm for Em, Pm in levels for En, Pn in levels
                     if abs(Em - En - f) < DEGENERACY_TOL)
            g = kms_rate(bath.spectral_density, bath.temperature,
                         0.0 if abs(f) < DEGENERACY_TOL else f)
            if g > 0 and np.abs(Aw).max() > 0:
                jumps.append((f, np.sqrt(g) * Aw))
        out.append(jumps)
    return out


@pytest.mark.parametrize("case", UNEQUAL_T, ids=[c.label for c in UNEQUAL_T])
def test_static_noise_matches_qutip_countstat(case):
    """QuTiP's countstat_current_noise with I = sum_w (-w) J(w) and J = sum_w w^2 J(w) per
    bath (J(w) = sprepost(A(w), A(w)^+)) gives the mean and the noise matrix."""
    lam = case.lam[0]
    st = counting_statistics(case.machine, lam)
    H = case.machine.hamiltonian_at(lam)
    per_bath = energy_jumps(H, case.machine.couplings, case.machine.baths)
    c_ops = [qutip.Qobj(a) for jumps in per_bath for _, a in jumps]
    Hq = qutip.Qobj(H)
    L = qutip.liouvillian(Hq, c_ops)
    rho = qutip.steadystate(Hq, c_ops)
    I_ops = [sum(-w * qutip.sprepost(qutip.Qobj(a), qutip.Qobj(a).dag()) for w, a in jumps)
             for jumps in per_bath]
    J_ops = [sum(w**2 * qutip.sprepost(qutip.Qobj(a), qutip.Qobj(a).dag()) for w, a in jumps)
             for jumps in per_bath]
    current, noise, _ = qutip.countstat_current_noise(L, [], rhoss=rho, J_ops=J_ops,
                                                      I_ops=I_ops, sparse=False)
    scale = np.abs(noise[..., 0]).max()
    np.testing.assert_allclose(st.heat_current, current, rtol=0,
                               atol=QUTIP_NOISE_RTOL * np.abs(current).max())
    np.testing.assert_allclose(st.heat_noise, noise[..., 0], rtol=0,
                               atol=QUTIP_NOISE_RTOL * scale)


@pytest.mark.parametrize("case", UNEQUAL_T[:4], ids=[c.label for c in UNEQUAL_T[:4]])
def test_cumulants_are_derivatives_of_the_leading_eigenvalue(case):
    """The Drazin recursion against a polynomial fit of theta(chi) (eigenvalues, dense)."""
    m = case.machine
    st = counting_statistics(m, case.lam[0])
    x = np.linspace(-0.06, 0.06, 13)
    for a in range(len(m.baths)):
        chi = np.zeros((len(x), len(m.baths)))
        chi[:, a] = x
        p = np.polynomial.polynomial.polyfit(x, scaled_cgf(m, case.lam[0], chi), 8)
        scale = np.abs(st.heat_noise).max()
        assert abs(p[1] - st.heat_current[a]) <= FIT_RTOL * scale
        assert abs(2 * p[2] - st.heat_noise[a, a]) <= FIT_RTOL * scale
        assert abs(6 * p[3] - st.heat_third_cumulant[a]) <= 100 * FIT_RTOL * scale
    # cross-correlation: the mixed second derivative along e_0 + e_1
    chi = np.outer(x, np.eye(len(m.baths))[0] + np.eye(len(m.baths))[1])
    p = np.polynomial.polynomial.polyfit(x, scaled_cgf(m, case.lam[0], chi), 8)
    C = st.heat_noise
    assert abs(2 * p[2] - (C[0, 0] + C[1, 1] + 2 * C[0, 1])) <= FIT_RTOL * np.abs(C).max()


@pytest.mark.parametrize("case", UNEQUAL_T, ids=[c.label for c in UNEQUAL_T])
def test_gallavotti_cohen_symmetry_and_uncertainty_relation(case):
    """theta(chi) = theta(beta - chi), beta_alpha = 1/T_alpha (heat into the system); the
    steady-state uncertainty product Var(J) sigma / <J>^2 >= 2."""
    m = case.machine
    rng = np.random.default_rng(17)
    chi = rng.uniform(-0.5, 0.5, size=(4, len(m.baths)))
    beta = 1.0 / np.asarray(m.temperatures)
    a = scaled_cgf(m, case.lam, chi)
    b = scaled_cgf(m, case.lam, beta - chi)
    np.testing.assert_allclose(a, b, rtol=0, atol=IDENTITY_ATOL * max(1.0, np.abs(a).max()))
    assert np.all(np.abs(scaled_cgf(m, case.lam, beta[None])) <= IDENTITY_ATOL)
    st = counting_statistics(m, case.lam)
    assert np.all(st.entropy_production_rate > 0)
    assert np.all(st.uncertainty_product >= 2.0)
    # energy is conserved at a frozen point: the currents sum to zero
    assert np.all(np.abs(st.heat_current.sum(axis=-1)) <= IDENTITY_ATOL)


@pytest.mark.parametrize("case", ZOO[:12], ids=[c.label for c in ZOO[:12]])
def test_tilt_backends_agree_and_first_order_is_the_heat_row(case):
    m, lam = case.machine, case.lam
    n = Numerics()
    D = DenseFrozen(m, lam, n)
    one = np.eye(m.dim).reshape(-1)
    r = D.rho0[:, None]
    assert np.abs((D.tilt(r, 1) @ one).real - D.heat(r)).max() <= IDENTITY_ATOL
    if generic_points(m, lam, n).all():
        G = GenericFrozen(m, lam, n)
        for k in (1, 2, 3):
            np.testing.assert_allclose(G.tilt(G.rho0[:, None], k) @ one, D.tilt(r, k) @ one,
                                       rtol=0, atol=IDENTITY_ATOL * 10**k)
    with pytest.raises(ValueError, match="k: the order"):
        D.tilt(r, 0)


def test_block_backend_refuses_counting_clearly(q1):
    fg = BlockFrozen(q1, np.array([[0.7, 0.4]]), Numerics())
    with pytest.raises(CountingUnavailableError, match="BlockFrozen"):
        fg.tilt(np.zeros((1, 1, 4), complex), 1)


def test_static_statistics_batched_like_the_response(q1):
    lam = np.array([[[0.7, 0.4], [0.8, 0.6]], [[0.5, 0.9], [1.1, 0.3]]])
    st = counting_statistics(q1, lam)
    assert st.heat_noise.shape == (2, 2, 2, 2)
    one = counting_statistics(q1, lam[1, 0])
    np.testing.assert_allclose(st.heat_noise[1, 0], one.heat_noise, rtol=1e-12)
    ds = st.to_dataset()
    assert ds["heat_noise"].attrs["units"] == "energy^2 / time"
    # equal temperatures: no current, no entropy production, the product is undefined
    assert np.all(np.isnan(st.uncertainty_product))
    with pytest.raises(ModelError, match="chi"):
        scaled_cgf(q1, lam[0, 0], [0.1, 0.2, 0.3])


@pytest.mark.parametrize("loop", [Circle(("Bx", "Bz"), center=(0.8, 0.6), radius=0.5),
                                  Rectangle((0.4, 1.0), (0.3, 0.8))], ids=["circle", "rect"])
def test_slow_driving_mean_is_the_rotor_pumped_heat(q1, loop):
    f = cycle_fluctuations(q1, loop)
    c = cycle_summary(q1, loop, area=False)
    assert f.converged
    np.testing.assert_allclose(f.heat_mean_geometric, c.geometric_heat, rtol=ROTOR_RTOL)
    # equal temperatures: no conduction current, and the noise is symmetric and two-bath
    assert np.abs(f.heat_mean_conduction).max() <= IDENTITY_ATOL
    C = f.heat_covariance_conduction
    np.testing.assert_allclose(C, C.T, atol=IDENTITY_ATOL)
    assert C[0, 0] > 0
    # reversing the loop flips the geometric mean
    rev = cycle_fluctuations(q1, loop.reversed())
    np.testing.assert_allclose(rev.heat_mean_geometric, -f.heat_mean_geometric,
                               rtol=ROTOR_RTOL)


def test_legendre_differentiation_is_exact_on_polynomials():
    x, _ = np.polynomial.legendre.leggauss(12)
    D = legendre_derivative_matrix(12)
    np.testing.assert_allclose(D @ x**11, 11 * x**10, atol=1e-12)


def test_exact_cumulants_converge_to_slow_driving_as_one_over_tau(q1, circle):
    """kappa_exact(tau) - (tau kappa_conduction + kappa_geometric) = O(1/tau): fitted
    log-log slope -1 for the mean, the variances and the third cumulants."""
    f = cycle_fluctuations(q1, circle)
    taus = np.array([2.0, 4.0, 8.0])
    dev = []
    for tau in taus:
        ex = exact_fluctuations(q1, circle, tau, rtol=EXACT_RTOL)
        assert ex.converged
        sd = f.at(tau)
        dev.append([np.abs(ex.cumulants.heat_mean - sd.heat_mean).max(),
                    np.abs(ex.cumulants.heat_covariance - sd.heat_covariance).max(),
                    np.abs(ex.cumulants.heat_third_cumulant - sd.heat_third_cumulant).max()])
    slopes = np.polyfit(np.log(taus), np.log(np.array(dev)), 1)[0]
    np.testing.assert_allclose(slopes, -1.0, atol=SLOPE_TOL)


def test_exact_cgf_matches_its_cumulants(q1, circle):
    """G(chi) from the leading eigenvalue of the tilted propagator against the jet cumulants
    (a cubic Taylor polynomial at small chi), and G(0) = 0."""
    tau = 1.0
    ex = exact_fluctuations(q1, circle, tau, steps=512)
    x = 0.02
    G = exact_cgf(q1, circle, tau, [[-x, 0.0], [x, 0.0], [-x / 2, 0.0], [x / 2, 0.0]],
                  steps=512)
    c = ex.cumulants
    odd = (G[1] - G[0]) / 2  # x k1 + x^3 k3 / 6 + O(x^5)
    assert odd == pytest.approx(x * c.heat_mean[0] + x**3 / 6 * c.heat_third_cumulant[0],
                                rel=0, abs=1e-9)  # x^5 k5 / 120 ~ 1e-10
    e2, e1 = (G[1] + G[0]) / 2, (G[3] + G[2]) / 2  # a h^2 + b h^4 at h = x, x/2
    a = (16 * e1 - e2) / (12 * (x / 2) ** 2)  # the x^4 term eliminated
    assert a == pytest.approx(c.heat_covariance[0, 0] / 2, rel=1e-6)
    assert abs(exact_cgf(q1, circle, tau, [[0.0, 0.0]], steps=64)[0]) <= IDENTITY_ATOL


def _davies_trajectory_operators(m, loop, tau, tl):
    """Time-dependent Davies jump operators of the single-qubit pump on the grid ``tl`` (QuTiP
    array coefficients) and the heat each jump brings into the system."""
    lam = loop.points(m, (tl / tau) % 1.0)
    E, U = np.linalg.eigh(m.hamiltonian_at(lam))
    Ud = np.conj(np.swapaxes(U, -1, -2))
    A = Ud[:, None] @ m.couplings @ U[:, None]
    w = E[:, 1] - E[:, 0]
    ops, heat = [], []
    for b, bath in enumerate(m.baths):
        def rate(x, bath=bath):
            return np.array([kms_rate(bath.spectral_density, bath.temperature, v) for v in x])
        for kind, q in (("down", -1), ("up", 1), ("dephase", 0)):
            M = np.zeros((len(tl), 2, 2), complex)
            if kind == "down":
                M[:, 0, 1] = A[:, b, 0, 1] * np.sqrt(rate(w))
            elif kind == "up":
                M[:, 1, 0] = A[:, b, 1, 0] * np.sqrt(rate(-w))
            else:
                M[:, [0, 1], [0, 1]] = A[:, b, [0, 1], [0, 1]] * np.sqrt(rate(0 * w))[:, None]
            Ml = U @ M @ Ud
            terms = [[qutip.Qobj(np.outer(np.eye(2)[i], np.eye(2)[j])),
                      np.ascontiguousarray(Ml[:, i, j])] for i in range(2) for j in range(2)]
            ops.append(qutip.QobjEvo(terms, tlist=tl))
            heat.append((b, q))
    H = qutip.QobjEvo([[qutip.sigmax(), lam[:, 0]], [qutip.sigmaz(), lam[:, 1]]], tlist=tl)
    return H, ops, heat, w


def test_quantum_jump_trajectories_agree_with_exact_counting(q1, circle):
    """mcsolve of the single-qubit pump at tau = 0.5: the energy of every jump, summed per
    bath and cycle after one cycle of burn-in, gives the mean per cycle and Var(Q_K)/K over
    K cycles, within MC_SIGMAS standard errors of the exact counting statistics (cycles are
    correlated over the relaxation time ~0.05 only, so the O(1/K) bias is far below the
    statistical error)."""
    tau, K, M, burn = 0.5, 6, 60, 1
    T = (burn + K) * tau
    tl = np.linspace(0.0, T, 2000 * (burn + K) + 1)
    H, ops, heat, w = _davies_trajectory_operators(q1, circle, tau, tl)
    res = qutip.mcsolve(H, qutip.basis(2, 0), [0.0, T], c_ops=ops, ntraj=M, seeds=20261202,
                        options={"progress_bar": False, "map": "serial", "rtol": 1e-6,
                                 "atol": 1e-8})
    Q = np.zeros((M, K, 2))
    for r, (ts, which) in enumerate(zip(res.col_times, res.col_which)):
        for t, k in zip(ts, which):
            cyc = int(t // tau) - burn
            if 0 <= cyc < K:
                b, q = heat[k]
                Q[r, cyc, b] += q * np.interp(t, tl, w)
    ex = exact_fluctuations(q1, circle, tau).cumulants
    per_cycle = Q.reshape(-1, 2)
    se_mean = per_cycle.std(axis=0, ddof=1) / np.sqrt(M * K)
    assert np.all(np.abs(per_cycle.mean(axis=0) - ex.heat_mean) <= MC_SIGMAS * se_mean)
    var = Q.sum(axis=1).var(axis=0, ddof=1) / K
    se_var = var * np.sqrt(2.0 / (M - 1))
    assert np.all(np.abs(var - np.diag(ex.heat_covariance)) <= MC_SIGMAS * se_var)


@pytest.mark.filterwarnings("ignore::thermogeo.SecularApproximationWarning")
def test_fluctuation_map_cells_add_up_to_the_loop(q1):
    """The geometric mean and variance densities of the map's cells, summed over a rectangle
    of cells, give the rectangle's geometric parts (the edge integrals are additive); the
    mean density is the cell average of the rotor."""
    xs, ys = np.linspace(0.4, 1.0, 4), np.linspace(0.3, 0.8, 3)
    ds = fluctuation_map(q1, ("Bx", xs), ("Bz", ys), nodes=16)
    area = (np.diff(xs)[:, None] * np.diff(ys)[None, :])[..., None]
    f = cycle_fluctuations(q1, Rectangle((0.4, 1.0), (0.3, 0.8)))
    np.testing.assert_allclose((ds["geometric_variance_density"].values * area).sum(axis=(0, 1)),
                               np.diag(f.heat_covariance_geometric), rtol=MAP_RTOL)
    np.testing.assert_allclose((ds["geometric_mean_density"].values * area).sum(axis=(0, 1)),
                               f.heat_mean_geometric, rtol=MAP_RTOL)
    st = counting_statistics(q1, [xs[1], ys[2]])
    np.testing.assert_allclose(ds["heat_noise"].values[1, 2], st.heat_noise, rtol=1e-12)


@pytest.mark.parametrize("kind", ["ule", "cluster"])
def test_family_tilt_superoperators_match_the_backend(q1, kind):
    """The counting fields of the non-secular family: the dense superoperators of the exact
    per-cycle jets against the backend's ``tilt``; finite chi is refused clearly."""
    m = q1.with_master_equation(kind, 0.05 if kind == "cluster" else None)
    lam = np.array([[0.7, 0.4], [0.8, 0.6]])
    fg = DenseFrozen(m, lam, Numerics())
    gen = generator(m, lam)
    y = fg.rho0[:, None]
    for k in (1, 2, 3):
        S = tilt_superops(gen, k)
        np.testing.assert_allclose(np.einsum("bmij,bnj->bnmi", S, y), fg.tilt(y, k),
                                   atol=IDENTITY_ATOL)
    st = counting_statistics(m, lam)
    # the first order is the heat current of the family's tilt convention; its sum over the
    # baths vanishes at a frozen point (energy conservation of the cross terms' mean weight)
    assert np.all(np.isfinite(st.heat_noise))
    with pytest.raises(CountingUnavailableError, match="secular"):
        scaled_cgf(m, lam, [[0.1, 0.0]])


def test_fluctuations_sweep_kind(models_dir, q1):
    """The sweep kind stores the slow-driving coefficients per loop and, with periods, the
    per-cycle cumulants; bad options are refused when the file is read."""
    text = f"""
model = "{models_dir / 'qubit_pump.toml'}"
kind = "fluctuations"
[combos]
"R.strength" = [1.0, 2.0]
[fluctuations]
periods = [3.0]
[fluctuations.loops]
c = {{ kind = "circle", plane = ["Bx", "Bz"], center = [0.8, 0.6], radius = 0.5 }}
"""
    spec = sweep_from_text(text)
    fields, coords = compute_point(spec, q1)
    f = cycle_fluctuations(q1, Circle(("Bx", "Bz"), center=(0.8, 0.6), radius=0.5))
    np.testing.assert_allclose(fields["heat_mean_geometric"][1][0], f.heat_mean_geometric,
                               rtol=1e-12)
    np.testing.assert_allclose(fields["slow_driving_heat_covariance"][1][0, 0],
                               f.at(3.0).heat_covariance, rtol=1e-12)
    assert fields["slow_driving_heat_mean"][0] == ("loop", "period", "bath")
    with pytest.raises(ModelError, match="exact: needs periods"):
        sweep_from_text(text.replace("periods = [3.0]", "exact = true"))
    with pytest.raises(ModelError, match="periods: must be > 0"):
        sweep_from_text(text.replace("periods = [3.0]", "periods = [-1.0]"))


def test_finite_chi_inputs_are_checked_and_family_currents_balance():
    """exact_cgf refuses fewer than two steps and a non-loop; tilted_generator and scaled_cgf
    refuse points of the wrong length and non-finite fields; under ``ule`` and ``cluster``
    the counted mean currents of a steady state sum to zero (the first order of the tilt
    equals Tr[H D_alpha rho_0])."""
    from thermogeo import load_model
    from thermogeo.dynamics.counting import exact_cgf
    from thermogeo.protocols import Circle
    from thermogeo.response.counting import counting_statistics, scaled_cgf, tilted_generator

    m = load_model(MODELS / "qubit_pump.toml")
    loop = Circle(("Bx", "Bz"), center=(0.8, 0.6), radius=0.5)
    with pytest.raises(ModelError, match="steps: expected an integer >= 2"):
        exact_cgf(m, loop, 1.0, [[0.1, 0.0]], steps=1)
    with pytest.raises(ModelError, match="loop: expected a Loop"):
        exact_cgf(m, "circle", 1.0, [[0.1, 0.0]])
    with pytest.raises(ModelError, match="lam: expected a last axis of length 2"):
        tilted_generator(m, [0.7, 0.4, 0.1, 0.2], [0.1, 0.0])
    with pytest.raises(ModelError, match="chi: expected finite counting fields"):
        scaled_cgf(m, [0.7, 0.4], [[np.inf, 0.0]])
    dimer = load_model(MODELS / "heisenberg_dimer.toml").with_values(**{"L.temperature": 1.3})
    for kind, width in (("ule", None), ("cluster", 0.05)):
        st = counting_statistics(dimer.with_master_equation(kind, width), [[0.3, 0.55]])
        J = st.heat_current[0]
        assert abs(J.sum()) <= 1e-10 * np.abs(J).max()
