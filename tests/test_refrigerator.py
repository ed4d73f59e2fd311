"""Refrigerator figures of merit (follow-up of issue 3; docs/decisions/0306).

Closed forms against numerical maximisation over the period, against the per-bath heats of the
slow-driving expansion at a finite bias (linear response), orientation reversal, the COP bound
and the vanishing-leak limit."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import minimize_scalar
from typer.testing import CliRunner

from thermogeo.cli.app import app
from thermogeo.dynamics.expansion import expansion_cycle
from thermogeo.protocols import cycle_summary, engine_figures
from thermogeo.protocols.engine import (ENGINE_KEYS, REFRIGERATOR_KEYS, expansion_figures,
                                        refrigerator_figures, refrigerator_heats)

MAXIMISER_XATOL = 1e-10  # bounded scalar maximiser, absolute in tau
ARGMAX_RTOL = 1e-5  # argmax of a smooth maximum found to ~sqrt(eps_value) relative
MAXIMUM_RTOL = 1e-9  # the maximum itself is insensitive (quadratic) to the argmax error
ALGEBRA_RTOL = 1e-12  # two float64 evaluations of one rational expression
LINEAR_RESPONSE_SLOPE_TOL = 0.1  # the O(X) deviation halves with X to within 10 %
FIRST_ORDER_RTOL = 0.05  # model vs expansion heats at X = 0.01 agree to first order
LEAK_LIMIT_SLOPE_TOL = 0.02  # Carnot deficit ~ kappa^(1/2) on a log-log fit





@pytest.fixture(scope="module")
def fridge(q1, circle):
    """The circle of docs/theory.md section 7 run clockwise at constant dissipation
    (tau W_diss = L^2)."""
    return cycle_summary(q1, circle.reversed(), bias=0.01, timing="constant_dissipation",
                         area=False)


def _maximise(fun, lo, hi):
    r = minimize_scalar(lambda t: -fun(t), bounds=(lo, hi), method="bounded",
                        options={"xatol": MAXIMISER_XATOL})
    assert r.success
    return r.x, fun(r.x)


@pytest.mark.parametrize("share", [1.0, 0.6, 0.25])
@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_closed_forms_against_numerical_maximisation(fridge, share, sign):
    """Maximise over tau the cooling power and the COP, written here from the heats per bath
    (the cold bath gives a - f L^2/tau - k tau, the hot one takes a + x a + (1 - f) L^2/tau -
    k tau) and the first law, with A, L and kappa_bar of the exact cycle integrals."""
    A, L = fridge.bath_geometric_heat, fridge.thermodynamic_length
    kbar, T = fridge.engine.heat_leak, 1.0
    X = 0.01
    if sign < 0:  # the same refrigerator seen from the other bath: A -> -A, X -> -X
        A, X = -A, -X
    f = engine_figures(A, L, X, kbar, T, dissipation_share=share)
    assert f.mode == "refrigerator"
    assert all(np.isnan(getattr(f, k)) for k in ENGINE_KEYS)  # the engine figures do not apply
    a, x, k = abs(A), abs(X), kbar * T * abs(X)

    def heats(tau):
        """Heat INTO the system from the cold and the hot bath per cycle (two-bath first law:
        W_in = -(Q_cold + Q_hot) = x a + L^2/tau)."""
        q_cold = a - share * L**2 / tau - k * tau
        q_hot = -(a + x * a) - (1 - share) * L**2 / tau + k * tau
        return q_cold, q_hot

    def cooling_power(tau):
        return heats(tau)[0] / tau

    def cop(tau):
        qc, qh = heats(tau)
        return qc / -(qc + qh)

    tau_c, j_max = _maximise(cooling_power, 1e-3, 1e3)
    assert f.best_cooling_period == pytest.approx(tau_c, rel=ARGMAX_RTOL)
    assert f.cooling_power_max == pytest.approx(j_max, rel=MAXIMUM_RTOL)
    assert f.cop_at_max_cooling == pytest.approx(cop(f.best_cooling_period),
                                                    rel=ALGEBRA_RTOL)
    assert f.cooling_per_cycle_at_max_cooling == pytest.approx(
        heats(f.best_cooling_period)[0], rel=ALGEBRA_RTOL)
    tau_e, cop_max = _maximise(cop, 1e-2, 1e4)
    assert f.max_cop_period == pytest.approx(tau_e, rel=ARGMAX_RTOL)
    assert f.max_cop == pytest.approx(cop_max, rel=MAXIMUM_RTOL)
    assert f.carnot_cop == pytest.approx(1 / x, rel=ALGEBRA_RTOL)
    assert f.cools and f.dissipation_share == share
    q, w = refrigerator_heats([tau_c, tau_e], A, L, X, kbar, T, dissipation_share=share)
    np.testing.assert_allclose(q, [heats(tau_c)[0], heats(tau_e)[0]], rtol=ALGEBRA_RTOL)
    np.testing.assert_allclose(w, [-sum(heats(tau_c)), -sum(heats(tau_e))], rtol=ALGEBRA_RTOL)


def test_linear_response_against_expansion_heats_at_finite_bias(q1, fridge):
    """With the loop's exact dissipation share f = -Q_cold^(2)/L^2, the model heats equal the
    per-bath heats of the slow-driving expansion of the biased machine (tau Q^(0) + Q^geo +
    Q^(2)/tau, L at T + dT/2, R at T - dT/2), up to O(X): the deviation halves with X."""
    e0 = expansion_cycle(q1, fridge.loop, 1.0)
    share = -e0.heat_order2_coefficient[1] / e0.dissipated_work_coefficient
    assert e0.dissipated_work_coefficient == pytest.approx(fridge.thermodynamic_length**2, rel=1e-6)
    assert 0 < share < 1
    dev = []
    for X in (0.01, 0.005):
        f = engine_figures(fridge.bath_geometric_heat, fridge.thermodynamic_length, X,
                           fridge.engine.heat_leak, 1.0, dissipation_share=share)
        m = q1.with_values(**{"L.temperature": 1 + X / 2, "R.temperature": 1 - X / 2})
        row = []
        for tau, cop in ((f.best_cooling_period, f.cop_at_max_cooling),
                         (f.max_cop_period, f.max_cop)):
            e = expansion_cycle(m, fridge.loop, tau)
            q_cold, w_in = e.heat[1], -e.heat.sum()
            model_q, model_w = refrigerator_heats(tau, fridge.bath_geometric_heat,
                                                  fridge.thermodynamic_length, X,
                                                  fridge.engine.heat_leak, 1.0,
                                                  dissipation_share=share)
            row += [q_cold / model_q - 1, w_in / model_w - 1, (q_cold / w_in) / cop - 1]
        dev.append(np.array(row))
    assert np.all(np.abs(dev[0]) < FIRST_ORDER_RTOL)
    np.testing.assert_allclose(dev[1] / dev[0], 0.5, atol=LINEAR_RESPONSE_SLOPE_TOL)


def test_reversing_an_engine_gives_a_refrigerator(q1, circle):
    """Reversal flips Q^geo and keeps Q^(0), Q^(2) and tau W_diss: the refrigerator figures of
    the reversed loop are those of the forward loop's per-bath expansion at the biased
    temperatures with Q^geo -> -Q^geo (docs/theory.md section 5)."""
    X = 0.01
    eng = cycle_summary(q1, circle, bias=X, area=False)
    ref = cycle_summary(q1, circle.reversed(), bias=X, area=False)
    assert eng.engine.mode == "engine" and ref.engine.mode == "refrigerator"
    # one set of fields whatever the mode: the figures of the other mode are NaN
    assert all(np.isfinite(getattr(eng.engine, k)) for k in ENGINE_KEYS)
    assert all(np.isnan(getattr(eng.engine, k)) for k in REFRIGERATOR_KEYS if k != "cools")
    assert not eng.engine.cools
    assert all(np.isnan(getattr(ref.engine, k)) for k in ENGINE_KEYS)
    assert ref.bath_geometric_heat == pytest.approx(-eng.bath_geometric_heat, rel=1e-10)
    assert ref.thermodynamic_length == pytest.approx(eng.thermodynamic_length, rel=1e-10)
    assert ref.engine.heat_leak == pytest.approx(eng.engine.heat_leak, rel=1e-10)
    m = q1.with_values(**{"L.temperature": 1 + X / 2, "R.temperature": 1 - X / 2})
    e = expansion_cycle(m, circle, 1.0, nodes=256)
    expect = expansion_figures(e.heat_order0, -e.geometric_heat, e.heat_order2_coefficient,
                               e.dissipated_work_coefficient, m.temperatures, 0)
    for key in REFRIGERATOR_KEYS:
        assert getattr(ref.engine, key) == pytest.approx(getattr(expect, key), rel=1e-8), key
    # same geometry: tau_c = 2 f B / a is the engine's tau* = 2 B / W_geo times f W_geo / a
    a = -e.geometric_heat[1]
    assert ref.engine.best_cooling_period == pytest.approx(
        eng.engine.best_period * eng.engine.geometric_work * ref.engine.dissipation_share / a,
        rel=1e-8)
    assert ref.engine.share_source == "computed"


@settings(max_examples=60, deadline=None, derandomize=True, database=None)
@given(a=st.floats(1e-3, 10.0), length=st.floats(1e-2, 10.0), x=st.floats(1e-3, 0.5),
       kappa=st.floats(0.0, 10.0), T=st.floats(0.1, 5.0), share=st.floats(0.05, 1.0))
def test_cop_never_exceeds_carnot(a, length, x, kappa, T, share):
    f = engine_figures(-a, length, x, kappa or None, T, dissipation_share=share)
    tau = np.geomspace(1e-4, 1e6, 400) * length**2 / a
    q, w = refrigerator_heats(tau, -a, length, x, kappa or None, T, dissipation_share=share)
    assert np.all(q / w <= f.max_cop + ALGEBRA_RTOL * abs(f.max_cop))
    assert np.all(q / tau <= f.cooling_power_max + ALGEBRA_RTOL * abs(f.cooling_power_max))
    assert f.max_cop <= f.carnot_cop
    assert f.cop_at_max_cooling <= f.max_cop + ALGEBRA_RTOL * abs(f.max_cop)
    q_c, _ = refrigerator_heats(f.best_cooling_period, -a, length, x, kappa or None, T,
                                dissipation_share=share)
    assert f.cools == (f.cooling_power_max > 0) == (f.max_cop > 0) == (q_c > 0)


def test_vanishing_leak_limit():
    """kappa -> 0: best COP -> Carnot with a deficit ~ kappa^(1/2) and its period ~ kappa^(-1/2);
    the other figures tend to the leak-free values, which heat_leak=None reproduces."""
    A, L, X, T, share = -0.3, 0.55, 0.02, 1.0, 0.6
    free = engine_figures(A, L, X, None, T, dissipation_share=share)
    assert free.max_cop == pytest.approx(free.carnot_cop, rel=ALGEBRA_RTOL)
    assert np.isnan(free.max_cop_period) and free.cools  # a supremum, at tau -> inf
    assert free.cooling_power_max == pytest.approx(A**2 / (4 * share * L**2),
                                                      rel=ALGEBRA_RTOL)
    assert free.cop_at_max_cooling == pytest.approx(share / (1 + 2 * share * X),
                                                       rel=ALGEBRA_RTOL)
    kappas = np.geomspace(1e-4, 1e-8, 5)
    fig = [engine_figures(A, L, X, k, T, dissipation_share=share) for k in kappas]
    deficit = np.array([free.carnot_cop - f.max_cop for f in fig])
    period = np.array([f.max_cop_period for f in fig])
    assert np.polyfit(np.log(kappas), np.log(deficit), 1)[0] == pytest.approx(
        0.5, abs=LEAK_LIMIT_SLOPE_TOL)
    assert np.polyfit(np.log(kappas), np.log(period), 1)[0] == pytest.approx(
        -0.5, abs=LEAK_LIMIT_SLOPE_TOL)
    for key in ("cooling_power_max", "best_cooling_period", "cop_at_max_cooling"):
        assert getattr(fig[-1], key) == pytest.approx(getattr(free, key), rel=1e-6)


def test_small_share_gives_the_engine_form():
    """f -> 0: the best COP takes the engine's form, COP_max / COP_C = eta_max / eta_C =
    (sqrt(1+y) - 1)/(sqrt(1+y) + 1): the same geometry run both ways."""
    A, L, X, kappa, T = 0.3, 0.55, 0.02, 0.8, 1.0
    eng = engine_figures(A, L, X, kappa, T)
    ref = engine_figures(-A, L, X, kappa, T, dissipation_share=1e-12)
    assert ref.max_cop / ref.carnot_cop == pytest.approx(
        eng.max_efficiency / eng.carnot_efficiency, rel=1e-10)


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="dissipation_share"):
        engine_figures(-0.3, 0.5, 0.01, None, 1.0, dissipation_share=0.0)
    with pytest.raises(ValueError, match="dissipation_share"):
        refrigerator_figures(-0.3, 0.5, 0.01, None, 1.0, dissipation_share=math.nan)
    with pytest.raises(ValueError, match="thermodynamic_length"):
        engine_figures(-0.3, 0.0, 0.01, None, 1.0)
    with pytest.raises(ValueError, match="reverse the loop"):
        refrigerator_figures(0.3, 0.5, 0.01, None, 1.0)
    with pytest.raises(ValueError, match="period"):
        refrigerator_heats([1.0, -1.0], -0.3, 0.5, 0.01, None, 1.0)
    idle = engine_figures(0.0, 0.5, 0.01, 0.2, 1.0)
    assert not idle.cools and np.isnan(idle.best_cooling_period)
    assert idle.cooling_power_max == pytest.approx(-0.2 * 0.01)


def test_cli_prints_refrigerator_figures(models_dir):
    """The CLI prints the library's figures: a refrigerator's JSON has no engine keys and an
    engine's no refrigerator keys (issue 14); the text names the true Carnot COP
    T_c / dT = 0.995 / 0.01 and the share's source; --share gives f explicitly."""
    from thermogeo import load_model
    from thermogeo.protocols import Circle

    runner = CliRunner()
    args = ["cycle", str(models_dir / "qubit_pump.toml"), "--circle", "Bx=0.8,Bz=0.6,r=0.5",
            "--bias", "0.01"]
    res = runner.invoke(app, args + ["--reverse", "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["mode"] == "refrigerator"
    lib = cycle_summary(load_model(models_dir / "qubit_pump.toml"),
                        Circle(("Bx", "Bz"), center=(0.8, 0.6), radius=0.5).reversed(),
                        bias=0.01, area=False).engine
    for key in REFRIGERATOR_KEYS:
        assert out[key] == pytest.approx(getattr(lib, key), rel=1e-12), key
    assert not any(k in out for k in ENGINE_KEYS)  # not an engine: no engine keys at all
    assert out["carnot_cop"] == pytest.approx(0.995 / 0.01, rel=ALGEBRA_RTOL)
    assert out["share_source"] == "computed"
    text = runner.invoke(app, args + ["--reverse"])
    assert text.exit_code == 0 and "max cooling power" in text.stdout
    assert f"{out['max_cop']:.6g}" in text.stdout and "Carnot COP = 99.5" in text.stdout
    given = json.loads(runner.invoke(app, args + ["--reverse", "--json", "--share", "1"]).stdout)
    assert given["dissipation_share"] == 1.0 and given["share_source"] == "given"
    assert given["cooling_power_max"] < out["cooling_power_max"]  # f = 1 > computed share
    engine = json.loads(runner.invoke(app, args + ["--json"]).stdout)
    assert engine["mode"] == "engine" and not any(k in engine for k in REFRIGERATOR_KEYS)
