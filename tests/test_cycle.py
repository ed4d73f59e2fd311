"""Cycle integrals (issue 3): closed forms of docs/theory.md section 7, Stokes, orientation,
reparametrisation, dissipation bound, Onsager reciprocity, engine figures, bad input."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import minimize_scalar

from conftest import CLOSED_FORM_RTOL
from thermogeo import ModelError, NonUniqueSteadyStateError, SecularApproximationWarning, load_model
from thermogeo.dynamics.expansion import expansion_cycle
from thermogeo.errors import QuadratureWarning, ThermogeoWarning
from thermogeo.io.model_file import machine_from_dict
from thermogeo.response import response
from thermogeo.protocols import (Circle, CycleQuadrature, Ellipse, Polygon, Rectangle,
                                 Reparametrized, SampledLoop, Sector, constant_dissipation_loop,
                                 cycle_summary, engine_figures, thermal_conductance)

QUADRANT_RTOL = 1e-6  # issue 3: quadrant loop to 1e-6
STOKES_RTOL = 1e-8  # line vs area integral, both adaptive to ~1e-10
ADAPTIVE_RTOL = 1e-9  # two adaptive quadratures of the same smooth integral
LINEAR_RESPONSE_SLOPE_TOL = 0.1  # the O(X) correction halves with X to within 10 %
LEAK_STEP_RTOL = 1e-6  # exact conductance vs a test-only central difference, O(step^2)




@pytest.mark.parametrize("kappa_R, expected", [(1.0, 0.2729526880), (2.0, 0.2298805190)])
def test_circle_closed_form(q1, circle, kappa_R, expected):
    c = cycle_summary(q1.with_values(**{"R.strength": kappa_R}), circle)
    assert c.converged
    assert c.bath_geometric_heat == pytest.approx(expected, rel=CLOSED_FORM_RTOL)
    # line and area integrals agree (Stokes), and heat is only moved between baths
    np.testing.assert_allclose(c.geometric_heat_area, c.geometric_heat, rtol=STOKES_RTOL)
    assert c.geometric_heat.sum() == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("T, kappa_R", [(0.5, 1.0), (1.0, 3.0), (2.0, 0.5)])
def test_quadrant_takes_T_ln2_from_bath_L(q1, T, kappa_R):
    m = q1.with_values(**{"L.temperature": T, "R.temperature": T, "R.strength": kappa_R})
    quadrant = Sector(("Bx", "Bz"), r_in=0.0, r_out=30.0 * T, theta0=0.0,
                      theta1=np.pi / 2, clockwise=True)
    c = cycle_summary(m, quadrant, area=(T == 1.0))
    assert c.bath_geometric_heat == pytest.approx(-T * np.log(2), rel=QUADRANT_RTOL)
    if T == 1.0:
        assert c.geometric_heat_area[0] == pytest.approx(-T * np.log(2), rel=QUADRANT_RTOL)


def test_stokes_on_dimer_and_polygon():
    m = load_model("models/heisenberg_dimer.toml")
    for loop in (Ellipse(("Bx", "Bz"), center=(1.5, 1.2), semi_axes=(0.4, 0.25), angle=0.3),
                 Rectangle((1.2, 1.8), (0.9, 1.4))):
        c = cycle_summary(m, loop)
        assert c.converged
        np.testing.assert_allclose(c.geometric_heat_area, c.geometric_heat, rtol=STOKES_RTOL)


def test_orientation_reversal_flips_signs(q1, circle):
    fwd = cycle_summary(q1, circle, area=False)
    for rev in (circle.reversed(), Circle(("Bx", "Bz"), center=(0.8, 0.6), radius=0.5,
                                          clockwise=True)):
        back = cycle_summary(q1, rev)
        np.testing.assert_allclose(back.geometric_heat, -fwd.geometric_heat, rtol=ADAPTIVE_RTOL)
        np.testing.assert_allclose(back.geometric_heat_area, -fwd.geometric_heat,
                                   rtol=STOKES_RTOL)
        assert back.thermodynamic_length == pytest.approx(fwd.thermodynamic_length,
                                                          rel=ADAPTIVE_RTOL)


def test_reparametrisation_keeps_heat_and_length(q1, circle):
    phi = lambda s: s + 0.12 * np.sin(2 * np.pi * s) / (2 * np.pi)  # noqa: E731
    dphi = lambda s: 1 + 0.12 * np.cos(2 * np.pi * s)  # noqa: E731
    slow = Reparametrized(circle.plane, loop=circle, phi=phi, dphi=dphi)
    a, b = cycle_summary(q1, circle, area=False), cycle_summary(q1, slow, area=False)
    np.testing.assert_allclose(b.geometric_heat, a.geometric_heat, rtol=ADAPTIVE_RTOL)
    assert b.thermodynamic_length == pytest.approx(a.thermodynamic_length, rel=ADAPTIVE_RTOL)
    # the timing matters for the dissipation only
    assert abs(b.dissipated_work_coefficient - a.dissipated_work_coefficient) > \
        1e-3 * a.dissipated_work_coefficient
    assert b.dissipated_work_coefficient >= b.thermodynamic_length**2


@pytest.mark.parametrize("loop", [
    Ellipse(("Bx", "Bz"), center=(0.8, 0.6), semi_axes=(0.6, 0.2), angle=0.4),
    Sector(("Bx", "Bz"), r_in=0.3, r_out=2.0, theta0=0.2, theta1=1.2),
    Sector(("Bx", "Bz"), r_in=0.0, r_out=3.0, clockwise=True)])  # a stationary piece
def test_dissipation_bound_and_constant_dissipation_timing(q1, loop):
    uni = cycle_summary(q1, loop, area=False)
    assert uni.dissipated_work_coefficient >= uni.thermodynamic_length**2
    # strictly: the speed is not constant
    assert uni.dissipated_work_coefficient > uni.thermodynamic_length**2 * (1 + 1e-3)
    const = cycle_summary(q1, loop, timing="constant_dissipation", area=False)
    assert const.dissipated_work_coefficient == pytest.approx(const.thermodynamic_length**2,
                                                              rel=1e-7)
    assert const.thermodynamic_length == pytest.approx(uni.thermodynamic_length, rel=1e-7)
    np.testing.assert_allclose(const.geometric_heat, uni.geometric_heat, rtol=1e-7)
    # the re-timed loop has constant g(lam', lam') = L^2
    rl = constant_dissipation_loop(q1, loop, n=256)
    from thermogeo import response
    s = np.linspace(0.01, 0.99, 7)
    g = np.einsum("nij,ni,nj->n", response(q1, rl.points(q1, s)).metric,
                  *(2 * [rl.velocity(q1, s)]))
    np.testing.assert_allclose(g, uni.thermodynamic_length**2, rtol=1e-6)


def test_onsager_geometric_work_equals_X_A(q1, circle):
    """W_out^geo = sum_alpha Q_alpha^geo (first law at order tau^0) -> X A as X -> 0."""
    A = cycle_summary(q1, circle, area=False).bath_geometric_heat
    err = []
    for X in (4e-3, 2e-3):
        m = q1.with_values(**{"L.temperature": 1 + X / 2, "R.temperature": 1 - X / 2})
        W = cycle_summary(m, circle, area=False).geometric_heat.sum()
        err.append(W / X - A)
    assert abs(err[0]) < 0.1 * abs(A)  # first order agreement
    assert err[1] / err[0] == pytest.approx(0.5, abs=LINEAR_RESPONSE_SLOPE_TOL)


def test_engine_figures_against_direct_maximisation():
    A, L, X, kappa, T = 0.3, 0.55, 0.02, 0.8, 1.0
    f = engine_figures(A, L, X, kappa, T)
    P = lambda tau: X * A / tau - L**2 / tau**2  # noqa: E731
    best = minimize_scalar(lambda t: -P(t), bounds=(1.0, 1e4), method="bounded",
                           options={"xatol": 1e-8})
    assert f.best_period == pytest.approx(best.x, rel=1e-5)
    assert f.max_power == pytest.approx(P(best.x), rel=1e-9)
    eta = lambda tau: (X * A - L**2 / tau) / (A + kappa * T * X * tau)  # noqa: E731
    best = minimize_scalar(lambda t: -eta(t), bounds=(1.0, 1e5), method="bounded",
                           options={"xatol": 1e-8})
    assert f.max_efficiency == pytest.approx(eta(best.x), rel=1e-8)
    assert f.efficiency_at_max_power == pytest.approx(eta(f.best_period), rel=1e-12)
    assert engine_figures(-A, L, X, kappa, T).mode == "refrigerator"
    with pytest.raises(ValueError, match="bias"):
        engine_figures(A, L, 0.0, kappa, T)


def test_bias_adds_engine_figures_and_heat_leak(q1, circle):
    """The bias sets the temperatures T(1 +/- X/2) and the figures are those of the biased
    machine itself (issue 14): P_max = W_geo^2 / (4 tau W_diss) with the geometric work
    sum_a Q_a^geo and the dissipation of the machine with its baths at T +/- dT/2
    (docs/theory.md section 5); the linear-response closed forms are their X -> 0 limit
    (the deviation halves with X); the heat leak is the loop average of the biased steady
    current over dT, whose X -> 0 limit is the exact conductance."""
    lam = circle.points(q1, np.linspace(0, 1, 5))
    kappa = thermal_conductance(q1, lam)
    assert np.all(kappa > 0)  # heat flows from hot to cold (second law)
    dT = 1e-4  # test-only central difference of the biased steady heat current
    J = [response(q1.with_values(**{"L.temperature": 1 + s * dT / 2,
                                    "R.temperature": 1 - s * dT / 2}), lam).heat_current[:, 0]
         for s in (1.0, -1.0)]
    np.testing.assert_allclose(kappa, (J[0] - J[1]) / (2 * dT), rtol=LEAK_STEP_RTOL)
    dev = []
    for X in (0.01, 0.005):
        c = cycle_summary(q1, circle, bias=X, timing="constant_dissipation", area=False)
        # the conductance averaged over the loop as traversed (trapezoid: spectral)
        kbar = float(np.mean(thermal_conductance(q1, c.loop.points(q1, np.arange(256) / 256))))
        e = c.engine
        assert e.mode == "engine" and e.bias == X
        assert (e.hot_temperature, e.cold_temperature) == pytest.approx((1 + X / 2, 1 - X / 2))
        m = q1.with_values(**{"L.temperature": 1 + X / 2, "R.temperature": 1 - X / 2})
        b = cycle_summary(m, c.loop, area=False)
        w_geo = b.geometric_heat.sum()  # first law at order tau^0: work out per cycle
        assert e.geometric_work == pytest.approx(w_geo, rel=ADAPTIVE_RTOL)
        assert e.max_power == pytest.approx(w_geo**2 / (4 * b.dissipated_work_coefficient),
                                            rel=1e-8)
        assert e.best_period == pytest.approx(2 * b.dissipated_work_coefficient / w_geo,
                                              rel=1e-8)
        assert e.heat_leak == pytest.approx(b.static_heat_rate[0] / X, rel=1e-8)
        lr = engine_figures(c.bath_geometric_heat, c.thermodynamic_length, X, kbar, 1.0)
        dev.append([e.max_power / lr.max_power - 1, e.heat_leak / kbar - 1,
                    e.max_efficiency / lr.max_efficiency - 1])
    dev = np.array(dev)
    assert np.all(np.abs(dev[0]) < 0.05)  # first-order agreement at X = 0.01
    np.testing.assert_allclose(dev[1] / dev[0], 0.5, atol=LINEAR_RESPONSE_SLOPE_TOL)
    rev = cycle_summary(q1, circle.reversed(), bias=0.01, area=False).engine
    assert rev.mode == "refrigerator" and np.isnan(rev.best_period)
    assert np.isfinite(rev.cooling_power_max)


def test_bad_loops(q1, circle):
    half = Reparametrized(circle.plane, loop=circle, phi=lambda s: 0.5 * s,
                          dphi=lambda s: 0.5 + 0 * s)
    with pytest.raises(ModelError, match="not closed"):
        cycle_summary(q1, half)
    t = np.linspace(0, 1, 64, endpoint=False)
    eight = SampledLoop(np.stack([1 + 0.5 * np.sin(2 * np.pi * t),
                                  1 + 0.3 * np.sin(4 * np.pi * t)], -1))
    with pytest.raises(ModelError, match="intersects itself"):
        cycle_summary(q1, eight)
    with pytest.raises(ModelError, match="By"):
        cycle_summary(q1, Circle(("Bx", "By"), center=(1, 1), radius=0.5))
    with pytest.raises(ModelError, match="timing"):
        cycle_summary(q1, circle, timing="fast")
    far = Sector(("Bx", "Bz"), r_in=0.0, r_out=30.0, clockwise=True)
    with pytest.raises(ModelError, match="vanishes"):
        cycle_summary(q1, far, timing="constant_dissipation")


def test_loop_through_bad_points_is_named(q1):
    dark = load_model("models/dark_singlet.toml")
    with pytest.raises(NonUniqueSteadyStateError, match="Bx"):
        cycle_summary(dark, Circle(("Bx", "Bz"), center=(0.8, 0.6), radius=0.5), nodes=16)
    through_origin = Circle(("Bx", "Bz"), center=(0.5, 0.0), radius=0.5)
    with pytest.warns(SecularApproximationWarning, match=r"\[\[0\.0, 0\.0\]\]"):
        cycle_summary(q1, through_origin, nodes=16, area=False)


def test_loop_through_a_point_without_unique_steady_state_names_the_point():
    """Issue 14: a qubit with one bath through X0 has no unique steady state where H commutes
    with X0 (Bz = 0) and one everywhere else. A loop with a side on Bz = 0 is refused naming
    that side's points and the point as the cause (no advice about the couplings); a machine
    dark everywhere keeps the couplings message."""
    one_bath = machine_from_dict({
        "name": "x_only", "qubits": 1, "parameters": {"Bx": 0.7, "Bz": 0.4},
        "hamiltonian": [{"coefficient": "Bx", "operator": "X0"},
                        {"coefficient": "Bz", "operator": "Z0"}],
        "baths": [{"name": "L", "temperature": 1.0, "coupling": "X0",
                   "spectral_density": {"kind": "ohmic", "strength": 1.0}}]})
    side = Polygon(("Bx", "Bz"), vertices=[(0.2, 0.0), (1.0, 0.0), (1.0, 0.8), (0.2, 0.8)])
    with pytest.raises(NonUniqueSteadyStateError) as err:
        cycle_summary(one_bath, side, nodes=8)
    msg = str(err.value)
    assert "'Bz': 0.0" in msg and "the cause is the point" in msg
    assert "break the symmetry" not in msg
    with pytest.raises(NonUniqueSteadyStateError, match="the cause is the point"):
        expansion_cycle(one_bath, side, 10.0, nodes=8)  # the path expansion says so too
    lifted = Polygon(("Bx", "Bz"), vertices=[(0.2, 0.1), (1.0, 0.1), (1.0, 0.8), (0.2, 0.8)])
    assert np.all(np.isfinite(cycle_summary(one_bath, lifted, nodes=8).geometric_heat))
    dark = load_model("models/dark_singlet.toml")
    with pytest.raises(NonUniqueSteadyStateError, match="break the symmetry"):
        cycle_summary(dark, Circle(("Bx", "Bz"), center=(0.8, 0.6), radius=0.5), nodes=16)


def _chain3():
    """The three-qubit Heisenberg chain of issue 14 (hot bath T = 2 through X0, cold bath
    T = 1 through Z2)."""
    from test_unequal_temperatures import chain3

    return chain3()


def test_near_level_crossing_loop_does_not_crash():
    """Issue 14: the circle (0.3, 1.5), r = 0.29 passes 0.01 from the level crossing of the
    chain at (0, 1.5); its metric looks definite at 32 nodes and is negative at one node of
    64 (the convergence vector changed length: a crash). It now converges, with the length
    left out of the test where g is indefinite, and the area integral agrees (Stokes)."""
    m = _chain3()
    near = Circle(("Bx", "Bz"), center=(0.3, 1.5), radius=0.29)
    with pytest.warns(ThermogeoWarning, match="negative on part of the loop"):
        c = cycle_summary(m, near, area=False, figures=False)
    assert c.converged and np.all(np.isfinite(c.geometric_heat))
    # with a budget too small the best estimate comes back with a QuadratureWarning
    with pytest.warns(QuadratureWarning, match="not converged") as rec:
        with pytest.warns(ThermogeoWarning, match="negative on part of the loop"):
            short = cycle_summary(m, near, area=False, figures=False,
                                  quadrature=CycleQuadrature(rtol=1e-12, start=32,
                                                             max_nodes=64))
    assert any("estimate of the last level" in str(w.message) for w in rec)
    assert not short.converged and short.nodes == 64
    np.testing.assert_allclose(short.geometric_heat, c.geometric_heat, rtol=1e-3)


def test_stokes_away_from_equilibrium(q1, circle):
    """The rotor of the general (unequal-temperature) response is the curl of Lambda too."""
    m = q1.with_values(**{"L.temperature": 1.3, "R.temperature": 0.8, "R.strength": 2.0})
    c = cycle_summary(m, circle)
    np.testing.assert_allclose(c.geometric_heat_area, c.geometric_heat, rtol=STOKES_RTOL)
    assert abs(c.geometric_heat.sum()) > 1e-3  # no longer a pure transfer between the baths


def test_stokes_and_reversal_on_random_two_qubit_machines(rng):
    """Seeded random interacting machines: line integral = area integral of the exact rotor,
    reversal flips, and at equal temperatures the heat is only moved between the baths."""
    from thermogeo.io.model_file import machine_from_dict

    for _ in range(2):
        g, j, d = rng.uniform(0.5, 1.5), rng.uniform(0.2, 1.0), rng.uniform(-1, 1)
        c = rng.uniform(0.3, 2.0, size=4)
        m = machine_from_dict({
            "name": "random_pair", "qubits": 2, "parameters": {"Bx": 0.3, "Bz": 0.5},
            "hamiltonian": [{"coefficient": "Bx", "operator": f"X0 + {g}*X1"},
                            {"coefficient": "Bz", "operator": f"Z0 + {g}*Z1"},
                            {"coefficient": str(j),
                             "operator": f"X0 X1 + Y0 Y1 + {d}*Z0 Z1"}],
            "baths": [{"name": "L", "temperature": 1.0, "coupling": f"{c[0]}*X0 + {c[1]}*Y1",
                       "spectral_density": {"kind": "ohmic", "strength": 0.02}},
                      {"name": "R", "temperature": 1.0, "coupling": f"{c[2]}*Z0 + {c[3]}*X1",
                       "spectral_density": {"kind": "ohmic", "strength": 0.02}}]})
        loop = Ellipse(("Bx", "Bz"), center=tuple(rng.uniform(1.5, 2.5, 2)),
                       semi_axes=(0.4, 0.3), angle=rng.uniform(0, np.pi))
        s = cycle_summary(m, loop)
        np.testing.assert_allclose(s.geometric_heat_area, s.geometric_heat, rtol=STOKES_RTOL,
                                   atol=STOKES_RTOL * np.abs(s.geometric_heat).max())
        assert s.geometric_heat.sum() == pytest.approx(0.0, abs=1e-10)
        r = cycle_summary(m, loop.reversed(), area=False)
        np.testing.assert_allclose(r.geometric_heat, -s.geometric_heat, rtol=ADAPTIVE_RTOL)


def test_summary_is_frozen_and_its_dataset_carries_values_and_units(q1, circle, tmp_path):
    """docs/decisions/0007-names.md: one name per quantity in the API, the dataset and NetCDF;
    the engine figures are typed fields, present whatever the mode."""
    import dataclasses

    import xarray as xr

    c = cycle_summary(q1, circle, bias=0.01, area=False)
    with pytest.raises(dataclasses.FrozenInstanceError):
        c.bath_geometric_heat = 0.0
    with pytest.raises(dataclasses.FrozenInstanceError):
        c.engine.max_power = 0.0
    ds = c.to_dataset()
    np.testing.assert_array_equal(ds.geometric_heat.sel(bath="L"), c.geometric_heat[0])
    assert ds.geometric_heat.attrs["units"] == "energy"
    assert ds.thermodynamic_length.attrs["units"] == "(energy time)^(1/2)"
    assert ds.dissipated_work_coefficient.attrs["units"] == "energy time"
    assert ds.max_power.attrs["units"] == "energy / time"
    assert str(ds["mode"].values) == "engine" and ds.attrs["bath"] == "L"
    for f in dataclasses.fields(c.engine):
        np.testing.assert_array_equal(ds[f.name].values, getattr(c.engine, f.name))
    path = tmp_path / "cycle.nc"
    ds.to_netcdf(path, engine="h5netcdf")
    back = xr.load_dataset(path, engine="h5netcdf")
    xr.testing.assert_identical(back, ds)
    rev = cycle_summary(q1, circle.reversed(), bias=0.01, area=False).to_dataset()
    assert set(rev.data_vars) == set(ds.data_vars)  # one field set in both modes


def test_biased_figures_without_dissipation_or_work_warn_and_keep_the_summary(q1):
    """A circle symmetric about Bz = 0 pumps nothing (W_geo = 0 to rounding), and at a strong
    bias its dissipation at the biased temperatures is negative: both give a summary without
    engine figures and a warning saying why, never an exception that loses the summary."""
    loop = Circle(("Bx", "Bz"), center=(0.3, 0.0), radius=0.25)
    with pytest.warns(ThermogeoWarning, match="tau W_diss = .* is not positive"):
        c = cycle_summary(q1, loop, bias=1.9, area=False)
    assert c.engine is None and np.isfinite(c.dissipated_work_coefficient)
    with pytest.warns(ThermogeoWarning, match="zero to rounding"):
        c = cycle_summary(q1, loop, bias=-1.9, area=False)
    assert c.engine is None
