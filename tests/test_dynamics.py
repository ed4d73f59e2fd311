"""Exact periodic dynamics: integrator order, first law, periodicity, error estimate, bad input.

Model Q1 (docs/theory.md section 7) on the circle centre (0.8, 0.6), radius 0.5, unless stated.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg

from thermogeo import NonUniqueSteadyStateError, SlowDrivingWarning, load_model
from thermogeo.dynamics import (MAGNUS_ORDER, AccuracyWarning, ExactOptions, exact_cycle,
                                periodic_states)
from thermogeo.dynamics.periodic import expm_batched
from thermogeo.protocols.paths import Circle, Rectangle

from conftest import IDENTITY_RTOL

ORDER_TOL = 0.3  # fitted convergence order of a fourth-order method: 4 +- 0.3
RICHARDSON_SAFETY = 3.0  # the step-doubling estimate is within this factor of the true error
FIRST_LAW_FACTOR = 10.0  # first-law residual within this many error estimates
STATE_RTOL = 1e-9  # periodicity of the limit cycle at rtol 1e-10
STATE_AGREE = 1e-7  # periodic states of the two solvers (tolerance set on the heats)
SIGMA_TAU2 = 0.3  # |Sigma T / W_diss - 1| < SIGMA_TAU2 / tau^2 (measured 0.135 / tau^2)
CIRCLE = Circle(("Bx", "Bz"), center=(0.8, 0.6), radius=0.5)


@pytest.fixture(scope="module")
def q1(request):
    from conftest import MODELS
    return load_model(MODELS / "qubit_pump.toml")


def test_expm_batched_matches_scipy(rng):
    A = (rng.normal(size=(20, 9, 9)) + 1j * rng.normal(size=(20, 9, 9))) * np.geomspace(
        1e-3, 30, 20)[:, None, None]
    ref = scipy.linalg.expm(A)
    scale = np.abs(ref).max(axis=(1, 2))
    err = np.abs(expm_batched(A) - ref).max(axis=(1, 2)) / scale
    assert err.max() < 1e3 * IDENTITY_RTOL


def test_integrator_order_is_four(q1):
    """Error of the heat per cycle against the step size, fitted on log-log axes."""
    tau = 20.0
    steps = np.array([24, 32, 48, 64, 96])
    ref = exact_cycle(q1, CIRCLE, tau, options=ExactOptions(steps=1024),
                      expansion=False).heat
    errs = [np.abs(exact_cycle(q1, CIRCLE, tau, options=ExactOptions(steps=int(n)),
                               expansion=False).heat - ref).max() for n in steps]
    slope = np.polyfit(np.log(1.0 / steps), np.log(errs), 1)[0]
    assert abs(slope - MAGNUS_ORDER) < ORDER_TOL, (slope, errs)


def test_richardson_estimate_bounds_true_error(q1):
    tau = 20.0
    ref = exact_cycle(q1, CIRCLE, tau, options=ExactOptions(steps=1024), expansion=False)
    for n in (32, 64):
        r = exact_cycle(q1, CIRCLE, tau, options=ExactOptions(steps=n), expansion=False)
        true = np.abs(r.heat - ref.heat).max()
        assert true / RICHARDSON_SAFETY < r.error_estimate < RICHARDSON_SAFETY * true


@pytest.mark.parametrize("tau", [5.0, 100.0])
def test_first_law_and_second_law_per_cycle(q1, tau):
    r = exact_cycle(q1, CIRCLE, tau, options=ExactOptions(rtol=1e-9))
    assert r.converged
    assert abs(r.first_law_residual) < FIRST_LAW_FACTOR * max(r.error_estimate, 1e-15)
    # Equal temperatures: the work done on the system is dissipated (second law).
    assert r.work > 0
    # The entropy production of the exact heats is the dissipated work of the expansion,
    # W_diss / T = W^(2) / (tau T) (the integrated metric, an independent computation), up to
    # O(tau^-2) relative: the third order vanishes by time-reversal parity
    # (test_expansion.py::test_time_reversal_parity).
    e = r.expansion
    T = float(q1.temperatures[0])
    assert abs(r.entropy_production * T / e.dissipated_work - 1) < SIGMA_TAU2 / tau**2
    # ... and it is above the thermodynamic-length bound L^2 / (tau T) (docs/theory.md
    # section 4)
    assert r.entropy_production * tau * T > e.thermodynamic_length**2


def test_first_law_unequal_temperatures(q1):
    m = q1.with_values(**{"L.temperature": 1.3})
    r = exact_cycle(m, CIRCLE, 30.0, options=ExactOptions(rtol=1e-9))
    assert abs(r.first_law_residual) < FIRST_LAW_FACTOR * r.error_estimate
    assert r.entropy_production > 0
    # steady conduction dominates: heat flows from the hot bath L through the qubit to R
    assert r.heat[0] > 0 > r.heat[1]
    e = r.expansion
    err1 = np.abs(r.heat - e.heat_order0 - e.geometric_heat)
    err2 = np.abs(r.heat - e.heat)
    assert np.all(err2 < 0.1 * err1)


@pytest.mark.parametrize("method, other", [("magnus", "spectral"), ("spectral", "magnus")])
def test_periodic_state_is_a_fixed_point(q1, method, other):
    s = np.array([0.0, 0.37, 1.0])
    r = exact_cycle(q1, CIRCLE, 2.0, options=ExactOptions(rtol=1e-10, method=method),
                    expansion=False)
    rho = periodic_states(q1, CIRCLE, 2.0, s, steps=r.steps, method=r.method)
    np.testing.assert_allclose(rho[2], rho[0], atol=STATE_RTOL)
    np.testing.assert_allclose(rho[0], r.periodic_state, atol=STATE_RTOL)
    for p in rho:
        assert np.linalg.eigvalsh(p).min() > 0
    # inside the cycle too the states are those of the other, independent solver (Magnus
    # steps of partial length against trigonometric interpolation of the collocation
    # solution; measured 2e-12 apart)
    o = exact_cycle(q1, CIRCLE, 2.0, options=ExactOptions(rtol=1e-10, method=other),
                    expansion=False)
    np.testing.assert_allclose(periodic_states(q1, CIRCLE, 2.0, s, steps=o.steps,
                                               method=o.method), rho, atol=STATE_RTOL)


def test_periodic_state_matches_direct_propagation(q1):
    """Independent check: scipy's adaptive ODE solver from the periodic state over one cycle
    returns to it, and its accumulated heat matches."""
    from scipy.integrate import solve_ivp

    from thermogeo import generator
    from thermogeo.lindblad.observables import energy_rows

    tau = 3.0
    r = exact_cycle(q1, CIRCLE, tau, options=ExactOptions(rtol=1e-10), expansion=False)

    def rhs(s, y):
        lam = CIRCLE.points(q1, np.array([s]))
        g = generator(q1, lam)
        U = g.U[0]
        W = np.einsum("ac,bd->abcd", U, U.conj()).reshape(4, 4)
        rho = y[:4]
        L = W @ g.L[0] @ W.conj().T
        rows = energy_rows(g.E, g.D)[0] @ W.conj().T
        return np.concatenate([tau * L @ rho, tau * rows @ rho])

    y0 = np.concatenate([r.periodic_state.reshape(4), np.zeros(2)]).astype(complex)
    sol = solve_ivp(rhs, (0, 1), y0, method="DOP853", rtol=1e-11, atol=1e-13)
    yend = sol.y[:, -1]
    np.testing.assert_allclose(yend[:4], y0[:4], atol=1e-8)
    np.testing.assert_allclose(yend[4:].real, r.heat, atol=1e-7)


def test_corners_are_step_edges(q1):
    """On a rectangle the order survives (steps never straddle a corner)."""
    rect = Rectangle((0.4, 1.0), (0.3, 0.8))
    tau = 10.0
    ref = exact_cycle(q1, rect, tau, options=ExactOptions(steps=1024), expansion=False).heat
    e = [np.abs(exact_cycle(q1, rect, tau, options=ExactOptions(steps=n),
                            expansion=False).heat - ref).max() for n in (32, 64)]
    assert np.log2(e[0] / e[1]) > MAGNUS_ORDER - 2 * ORDER_TOL


def test_short_period_warns_with_relaxation_time(q1):
    with pytest.warns(SlowDrivingWarning, match="relaxation time 0.07"):
        exact_cycle(q1, CIRCLE, 0.1, options=ExactOptions(steps=64), expansion=False)


def test_dark_sector_has_no_unique_fixed_point():
    from conftest import MODELS
    m = load_model(MODELS / "dark_singlet.toml")
    with pytest.raises(NonUniqueSteadyStateError, match="unique"):
        exact_cycle(m, Circle(("Bx", "Bz"), center=(0.3, 0.5), radius=0.1), 50.0,
                    options=ExactOptions(steps=16))


@pytest.mark.parametrize("kw, field", [({"rtol": 1e-20}, "rtol"), ({"rtol": 0.5}, "rtol"),
                                       ({"steps": 1}, "steps"), ({"min_steps": 1}, "min_steps"),
                                       ({"max_steps": 8}, "max_steps"),
                                       ({"slow_factor": -1.0}, "slow_factor")])
def test_options_out_of_range(kw, field):
    with pytest.raises(ValueError, match=field):
        ExactOptions(**kw)


@pytest.mark.parametrize("period", [0.0, -1.0, float("nan"), float("inf"), "x"])
def test_bad_period(q1, period):
    with pytest.raises(ValueError, match="period"):
        exact_cycle(q1, CIRCLE, period)


def test_accuracy_warning_at_max_steps(q1):
    with pytest.warns(AccuracyWarning, match="max_steps"):
        exact_cycle(q1, CIRCLE, 50.0, options=ExactOptions(rtol=1e-12, min_steps=8, method="magnus",
                                                            max_steps=32), expansion=False)


def test_to_dict_and_to_dataset_carry_the_fields(q1, tmp_path):
    """``to_dict`` (the ``thermogeo exact --json`` output) and ``to_dataset`` hold the result's
    own numbers under the glossary names (docs/decisions/0007-names.md), survive a JSON and a
    NetCDF round trip unchanged, and every variable has its units."""
    import json

    import xarray as xr

    r = exact_cycle(q1, CIRCLE, 20.0)
    e = r.expansion
    d = r.to_dict()
    assert json.loads(json.dumps(d)) == d  # plain types only, floats exact
    per_bath = dict(zip(r.bath_names, r.heat.tolist()))
    assert d["heat"] == per_bath and list(d["heat"]) == ["L", "R"]
    for k in ("period", "work", "first_law_residual", "entropy_production", "error_estimate",
              "steps", "converged", "relaxation_time", "method", "message"):
        assert d[k] == getattr(r, k), k
    assert d["order"] == str(r.order)
    x = d["expansion"]
    assert set(x) == {"heat_order0", "geometric_heat", "heat_order2", "work_order1",
                      "dissipated_work", "heat", "work", "entropy_production",
                      "thermodynamic_length"}
    for k in ("heat_order0", "geometric_heat", "heat_order2", "heat"):
        assert x[k] == dict(zip(r.bath_names, getattr(e, k).tolist())), k
    for k in ("work_order1", "dissipated_work", "work", "entropy_production",
              "thermodynamic_length"):
        assert x[k] == getattr(e, k), k
    ds = r.to_dataset()
    assert ds.attrs["method"] == "spectral" and ds.attrs["steps"] == r.steps
    np.testing.assert_array_equal(ds.heat, r.heat)
    for k in ("work", "first_law_residual", "entropy_production", "error_estimate"):
        assert float(ds[k]) == getattr(r, k), k
    for k in ("heat_order0", "geometric_heat", "heat_order2", "work_order1",
              "dissipated_work"):
        np.testing.assert_array_equal(ds[k], getattr(e, k))
    units = {k: v.attrs.get("units") for k, v in ds.data_vars.items()}
    assert units["geometric_heat"] == units["dissipated_work"] == "energy"
    assert units["entropy_production"] == "nats" and None not in units.values()
    ds.to_netcdf(tmp_path / "exact.nc", engine="h5netcdf")
    with xr.open_dataset(tmp_path / "exact.nc", engine="h5netcdf") as back:
        xr.testing.assert_identical(back.load(), ds)


@pytest.mark.parametrize("model, tau", [("qubit_pump", 30.0), ("heisenberg_dimer", 150.0)])
def test_spectral_and_magnus_agree(model, tau):
    """Two independent solvers of the same limit cycle: Fourier collocation of the periodic
    deviation and the fixed point of the Magnus-4 one-period propagator."""
    from conftest import MODELS
    m = load_model(MODELS / f"{model}.toml")
    with pytest.warns(SlowDrivingWarning) if model == "heisenberg_dimer" else _nullctx():
        sp = exact_cycle(m, CIRCLE, tau, options=ExactOptions(method="spectral", rtol=1e-10),
                         expansion=False)
        mg = exact_cycle(m, CIRCLE, tau, options=ExactOptions(method="magnus", rtol=1e-9),
                         expansion=False)
    assert sp.method == "spectral" and mg.method == "magnus"
    tol = 10 * (sp.error_estimate + mg.error_estimate)
    np.testing.assert_allclose(sp.heat, mg.heat, atol=tol)
    assert sp.work == pytest.approx(mg.work, abs=tol)
    # rtol controls the heats; the state itself agrees to the looser STATE_AGREE
    np.testing.assert_allclose(sp.periodic_state, mg.periodic_state, atol=STATE_AGREE)
    assert abs(sp.first_law_residual) < 10 * sp.error_estimate + 1e-13


def _nullctx():
    import contextlib
    return contextlib.nullcontext()


def test_spectral_needs_a_smooth_loop(q1):
    with pytest.raises(ValueError, match="method"):
        exact_cycle(q1, Rectangle((0.4, 1.0), (0.3, 0.8)), 10.0,
                    options=ExactOptions(method="spectral"))
    with pytest.raises(ValueError, match="method"):
        ExactOptions(method="rk4")


def test_spectral_accuracy_warning(q1):
    with pytest.warns(AccuracyWarning, match="nodes"):
        exact_cycle(q1, CIRCLE, 20.0, options=ExactOptions(method="spectral", rtol=1e-12,
                                                            min_nodes=4, max_nodes=8),
                    expansion=False)


def test_krylov_matches_dense_magnus(q1):
    """The matrix-free variant applies the same Magnus-4 steps to the state vector only and
    reaches the limit cycle by propagating whole cycles: same numbers as the dense
    propagator's fixed point at the same step count."""
    opts = dict(steps=64, rtol=1e-10)
    kr = exact_cycle(q1, CIRCLE, 4.0, options=ExactOptions(method="krylov", **opts),
                     expansion=False)
    mg = exact_cycle(q1, CIRCLE, 4.0, options=ExactOptions(method="magnus", **opts),
                     expansion=False)
    assert kr.method == "krylov"
    np.testing.assert_allclose(kr.heat, mg.heat, atol=1e-9)
    np.testing.assert_allclose(kr.periodic_state, mg.periodic_state, atol=1e-9)
    assert kr.error_estimate == pytest.approx(mg.error_estimate, rel=1e-3)
