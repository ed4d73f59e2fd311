"""Every geometric tool at unequal temperatures (issue 14, item 1; docs/decisions/0310).

* heat response, rotor and metric of the machine's own temperatures: the per-cycle heats and
  work of the exact periodic dynamics approach ``tau Q^(0) + Q^geo`` (first order, error
  ``~ 1/tau``) and ``+ Q^(2)/tau`` (error ``~ 1/tau^2``), slopes fitted in log-log; Stokes;
* engine and refrigerator figures at the model's own temperatures against the exact dynamics
  at long periods: the first-order figures differ like ``1/tau``, the figures with their
  second-order term like ``1/tau^2`` (fitted);
* the true Carnot bounds, the dissipation share computed from the second-order heats, no COP
  for a loop that does not cool, what ``bias`` sets and which values it refuses;
* the three-qubit Heisenberg chain of the issue (hot bath T = 2 through X0, cold bath T = 1
  through Z2): figures at its own temperatures.
"""

from __future__ import annotations

import numpy as np
import pytest

from conftest import MODELS
from thermogeo import load_model
from thermogeo.dynamics import exact_cycle
from thermogeo.errors import ThermogeoWarning
from thermogeo.dynamics.expansion import expansion_cycle
from thermogeo.io.model_file import machine_from_dict
from thermogeo.protocols import Circle, cycle_summary
from thermogeo.protocols.engine import biased_temperatures

PERIODS = np.array([40.0, 80.0, 160.0, 320.0])  # long against the relaxation time (~1) of Q1
SLOPE_TOL = 0.1  # fitted log-log slopes over PERIODS (measured within 0.07 of -1 and -2)
STOKES_RTOL = 1e-8  # line vs area integral, both adaptive to ~1e-10
ADAPTIVE_RTOL = 1e-9  # two quadratures of the same smooth integral


def _slope(periods, err) -> float:
    return float(np.polyfit(np.log(periods), np.log(np.abs(err)), 1)[0])


@pytest.fixture(scope="module")
def loop():
    """The circle of docs/theory.md section 7."""
    return Circle(("Bx", "Bz"), center=(0.8, 0.6), radius=0.5)


@pytest.fixture(scope="module")
def hot_q1():
    """Q1 with bath L at 1.2 and bath R at 0.8: the counter-clockwise circle is an engine."""
    return load_model("models/qubit_pump.toml").with_values(
        **{"L.temperature": 1.2, "R.temperature": 0.8})


@pytest.fixture(scope="module")
def mild_q1():
    """Q1 with bath L at 1.02 and bath R at 0.98: the clockwise circle cools bath R."""
    return load_model("models/qubit_pump.toml").with_values(
        **{"L.temperature": 1.02, "R.temperature": 0.98})


def chain3(**values):
    """The machine of issue 14: three qubits, Heisenberg chain J S.S (J = 2), uniform field,
    a hot bath (T = 2) through X0 and a cold bath (T = 1) through Z2."""
    m = machine_from_dict({
        "name": "chain3", "qubits": 3, "parameters": {"Bx": 0.3, "Bz": 0.5},
        "constants": {"J": 2.0},
        "hamiltonian": [
            {"coefficient": "Bx", "operator": "X0 + X1 + X2"},
            {"coefficient": "Bz", "operator": "Z0 + Z1 + Z2"},
            {"coefficient": "0.25*J",
             "operator": "X0 X1 + Y0 Y1 + Z0 Z1 + X1 X2 + Y1 Y2 + Z1 Z2"}],
        "baths": [
            {"name": "hot", "temperature": 2.0, "coupling": "X0",
             "spectral_density": {"kind": "ohmic", "strength": 0.001}},
            {"name": "cold", "temperature": 1.0, "coupling": "Z2",
             "spectral_density": {"kind": "ohmic", "strength": 0.001}}]})
    return m.with_values(**values) if values else m


@pytest.fixture(scope="module")
def engine_runs(hot_q1, loop):
    return cycle_summary(hot_q1, loop), [exact_cycle(hot_q1, loop, t, expansion=False)
                                        for t in PERIODS]


def test_response_at_unequal_temperatures_against_exact_dynamics(hot_q1, loop, engine_runs):
    """Heat response, rotor and metric of the machine's own temperatures: Stokes holds, the
    static currents sum to zero, and the exact heats and work per cycle approach the
    expansion with errors ~ 1/tau (first order) and ~ 1/tau^2 (second order)."""
    c, runs = engine_runs
    np.testing.assert_allclose(c.geometric_heat_area, c.geometric_heat, rtol=STOKES_RTOL)
    assert c.static_heat_rate[0] > 0 and c.static_heat_rate.sum() == pytest.approx(0, abs=1e-14)
    e = expansion_cycle(hot_q1, loop, 1.0)
    np.testing.assert_allclose(e.geometric_heat, c.geometric_heat, rtol=ADAPTIVE_RTOL)
    np.testing.assert_allclose(e.heat_order0, c.static_heat_rate, rtol=ADAPTIVE_RTOL)
    assert e.dissipated_work_coefficient == pytest.approx(c.dissipated_work_coefficient,
                                                          rel=ADAPTIVE_RTOL)
    q = np.array([r.heat for r in runs])  # (periods, baths)
    w = np.array([r.work for r in runs])
    first = q - (PERIODS[:, None] * c.static_heat_rate + c.geometric_heat)
    second = first - e.heat_order2_coefficient / PERIODS[:, None]
    for b in range(2):
        assert _slope(PERIODS, first[:, b]) == pytest.approx(-1, abs=SLOPE_TOL)
        assert _slope(PERIODS, second[:, b]) == pytest.approx(-2, abs=SLOPE_TOL)
    # the metric: W(tau) - W^(1) -> tau W_diss / tau
    w_geo = -c.geometric_heat.sum()
    assert _slope(PERIODS, w - w_geo) == pytest.approx(-1, abs=SLOPE_TOL)
    np.testing.assert_allclose((w - w_geo) * PERIODS, c.dissipated_work_coefficient, rtol=0.05)


def test_engine_figures_against_exact_dynamics(engine_runs):
    """At the model's own temperatures (no bias) the counter-clockwise circle is an engine.
    Its work per cycle W_out(tau) = W_geo (1 - tau*/(2 tau)) from the figures (geometric work
    and best period) approaches the exact one like 1/tau^2, the first-order W_geo like 1/tau;
    the static heat per cycle from the hot bath tau Q_h^(0) like 1/tau."""
    c, runs = engine_runs
    e = c.engine
    assert e.mode == "engine" and (e.hot_temperature, e.cold_temperature) == (1.2, 0.8)
    assert e.carnot_efficiency == pytest.approx(1 - 0.8 / 1.2)
    assert 0 < e.efficiency_at_max_power <= e.max_efficiency < e.carnot_efficiency
    assert e.bias == pytest.approx(0.4)
    w_out = -np.array([r.work for r in runs])
    model = e.geometric_work * (1 - e.best_period / (2 * PERIODS))
    assert _slope(PERIODS, e.geometric_work / w_out - 1) == pytest.approx(-1, abs=SLOPE_TOL)
    assert _slope(PERIODS, model / w_out - 1) == pytest.approx(-2, abs=SLOPE_TOL)
    hot = np.array([r.heat[0] for r in runs])
    assert _slope(PERIODS, hot / (PERIODS * e.hot_static_heat_rate) - 1) == pytest.approx(
        -1, abs=SLOPE_TOL)
    # the power at tau*: P_max = W_geo^2 / (4 tau W_diss)
    assert e.max_power == pytest.approx(e.geometric_work**2 / (4 * c.dissipated_work_coefficient),
                                        rel=1e-12)


def test_refrigerator_figures_and_computed_share_against_exact_dynamics(mild_q1, loop):
    """The clockwise circle cools bath R (T = 0.98 against 1.02). From the figures alone
    (two baths: the cold static current is minus the hot one, k = hot_static_heat_rate):
    a = 2 tau_c (J_c,max + k), f B = a tau_c / 2, B = f B / f; then Q_c(tau) + k tau -> a -
    f B / tau and W_in(tau) -> -W_geo + B / tau. First order differs from the exact dynamics
    like 1/tau, with the second-order terms like 1/tau^2; the computed share f = -Q_c^(2)/B is
    the limit of tau (a - Q_c(tau) - k tau) / B (difference ~ 1/tau)."""
    rev = loop.reversed()
    f = cycle_summary(mild_q1, rev, area=False).engine
    assert f.mode == "refrigerator" and f.cools and f.share_source == "computed"
    assert 0 < f.dissipation_share < 1  # neither all nor none of the dissipation: computed
    assert f.carnot_cop == pytest.approx(0.98 / 0.04, rel=1e-12)  # T_c / dT, not 1/X = 25
    assert 0 < f.cop_at_max_cooling < f.max_cop < f.carnot_cop
    k, tc = f.hot_static_heat_rate, f.best_cooling_period
    a = 2 * tc * (f.cooling_power_max + k)
    fB = a * tc / 2
    B = fB / f.dissipation_share
    runs = [exact_cycle(mild_q1, rev, t, expansion=False) for t in PERIODS]
    qc = np.array([r.heat[1] for r in runs]) + k * PERIODS
    w_in = np.array([r.work for r in runs])
    assert _slope(PERIODS, a / qc - 1) == pytest.approx(-1, abs=SLOPE_TOL)
    assert _slope(PERIODS, (a - fB / PERIODS) / qc - 1) == pytest.approx(-2, abs=SLOPE_TOL)
    assert _slope(PERIODS, (-f.geometric_work + B / PERIODS) / w_in - 1) == pytest.approx(
        -2, abs=SLOPE_TOL)
    share = PERIODS * (a - qc) / B
    assert _slope(PERIODS, share / f.dissipation_share - 1) == pytest.approx(-1,
                                                                           abs=SLOPE_TOL)
    # the COP at the best period: model and exact dynamics agree to the expansion's accuracy
    ex = exact_cycle(mild_q1, rev, f.max_cop_period, expansion=False)
    assert ex.heat[1] / ex.work == pytest.approx(f.max_cop, rel=0.05)
    # f = 1 only when asked for: a lower bound of the cooling
    one = cycle_summary(mild_q1, rev, area=False, dissipation_share=1.0).engine
    assert one.share_source == "given" and one.dissipation_share == 1.0
    assert one.cooling_power_max < f.cooling_power_max


def test_no_cop_for_a_loop_that_does_not_cool(hot_q1, loop):
    """Clockwise at 1.2 against 0.8 the leak wins at every period: a refrigerator by its
    work, but it does not cool, so it has no COP (NaN, JSON null)."""
    f = cycle_summary(hot_q1, loop.reversed(), area=False).engine
    assert f.mode == "refrigerator" and not f.cools
    assert np.isnan(f.max_cop) and np.isnan(f.cop_at_max_cooling) and np.isnan(f.max_cop_period)
    assert f.cooling_power_max < 0  # the leak wins at the best period too
    d = f.to_dict()
    assert d["max_cop"] is None and d["cop_at_max_cooling"] is None and d["cools"] is False
    assert "max_power" not in d  # no engine keys in a refrigerator's JSON


@pytest.mark.parametrize("X", [0.01, 0.1, 0.5])
def test_cop_below_the_true_carnot_bound(q1, loop, X):
    """At a bias the refrigerator's best COP stays below T_c / dT = 1/X - 1/2 (the
    linear-response 1/X is not a bound)."""
    f = cycle_summary(q1, loop.reversed(), bias=X, area=False).engine
    assert f.carnot_cop == pytest.approx(1 / X - 0.5, rel=1e-12)
    assert (f.hot_temperature, f.cold_temperature) == pytest.approx((1 + X / 2, 1 - X / 2))
    if f.cools:
        assert f.max_cop < f.carnot_cop
    else:
        assert np.isnan(f.max_cop)


def test_bias_sets_temperatures_around_the_mean_and_refuses_non_positive(loop):
    """X sets T(1 + X/2) for the bath of A and T(1 - X/2) for the others, T the mean of the
    model's temperatures; |X| >= 2 (a temperature <= 0), X = 0 and NaN are refused naming
    the field, before any work."""
    np.testing.assert_allclose(biased_temperatures([2.0, 1.0], 0.2, hot=0), [1.65, 1.35])
    np.testing.assert_allclose(biased_temperatures([2.0, 1.0], -0.2, hot=0), [1.35, 1.65])
    np.testing.assert_allclose(biased_temperatures([1.0, 1.0, 1.0], 0.1, hot=1),
                               [0.95, 1.05, 0.95])
    m = load_model("models/qubit_pump.toml")
    for bad in (2.0, -2.5, 0.0, float("nan")):
        with pytest.raises(ValueError, match="bias"):
            cycle_summary(m, loop, bias=bad)
    with pytest.raises(ValueError, match=r"temperature -0\.25"):
        biased_temperatures([1.0, 1.0], 2.5, hot=0)


def test_three_qubit_chain_at_its_own_temperatures():
    """The machine of the issue: the counter-clockwise circle is an engine between T = 2 and
    T = 1 and its reverse a refrigerator that does not cool (the leak wins); both report the
    static heat, the computed share and the true Carnot bounds."""
    m = chain3()
    c = Circle(("Bx", "Bz"), center=(0.8, 0.6), radius=0.5)
    with pytest.warns(ThermogeoWarning, match="negative on part of the loop"):
        fwd = cycle_summary(m, c, area=False)  # away from equilibrium g is indefinite
    e = fwd.engine
    assert e.mode == "engine" and e.carnot_efficiency == pytest.approx(0.5)
    assert e.geometric_work == pytest.approx(fwd.geometric_heat.sum(), rel=ADAPTIVE_RTOL)
    assert fwd.static_heat_rate[0] > 0  # heat flows from the hot bath into the system
    assert e.efficiency_at_max_power < e.carnot_efficiency
    with pytest.warns(ThermogeoWarning, match="negative on part of the loop"):
        back = cycle_summary(m, c.reversed(), area=False, nodes=128).engine
    assert back.mode == "refrigerator" and back.carnot_cop == pytest.approx(1.0)
    assert 0 < back.dissipation_share < 1 and not back.cools and np.isnan(back.max_cop)


def test_cli_at_unequal_temperatures(tmp_path):
    """thermogeo optimal and cycle on a model file whose baths differ: no bound (JSON null,
    the text says why), the static heat and the non-smooth boundary reported; cycle without
    --bias prints the figures at the model's own temperatures; a bias making a temperature
    non-positive is refused (exit 2) naming --bias."""
    import json

    from typer.testing import CliRunner

    from thermogeo.cli.app import app

    from thermogeo import save_model

    model = tmp_path / "q1_unequal.toml"  # Q1 with bath L at 1.5
    save_model(load_model(MODELS / "qubit_pump.toml").with_values(**{"L.temperature": 1.5}),
               model)
    run = CliRunner().invoke
    res = run(app, ["optimal", str(model), "--bath", "R", "--resolution", "48,64", "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["bound"] is None and out["exceeds_bound"] is False
    assert out["temperatures"] == {"L": 1.5, "R": 1.0}
    assert out["loop_static_heat_rate"] < 0 and out["nonsmooth_boundary"]["points"]
    text = run(app, ["optimal", str(model), "--resolution", "48,64"])
    assert text.exit_code == 0 and "needs one temperature" in text.stdout
    assert "not smooth" in text.stdout
    circle = ["--circle", "Bx=0.8,Bz=0.6,r=0.5"]
    own = json.loads(run(app, ["cycle", str(model), *circle, "--json"]).stdout)
    assert own["mode"] == "engine" and own["hot_temperature"] == 1.5
    assert own["carnot_efficiency"] == pytest.approx(1 / 3)
    text = run(app, ["cycle", str(model), *circle, "--reverse"]).stdout
    assert "the model's own temperatures" in text and "does not cool at any period" in text
    bad = run(app, ["cycle", str(model), *circle, "--bias", "2.5"])
    assert bad.exit_code == 2 and "--bias" in bad.output


def test_three_qubit_chain_best_region_out_of_the_cold_bath():
    """optimal on the issue's machine at its own temperatures, pumping out of the cold bath:
    no bound (two temperatures), the boundary loop takes out of the cold bath what the region
    integral says (coarse grid), the static heat along it flows into the cold bath, and no
    warning about the (indefinite) metric leaks out of the boundary check."""
    from thermogeo.protocols import optimal_region

    o = optimal_region(chain3(), ("Bx", "Bz"), "cold", resolution=(32, 48))
    assert np.isnan(o.bound) and o.temperature == 1.0
    assert o.loop_geometric_heat == pytest.approx(o.max_geometric_heat, rel=1e-2)
    assert o.loop_static_heat_rate < 0  # the steady current runs from hot to cold
    assert 0 <= o.nonsmooth_fraction < 1e-2
