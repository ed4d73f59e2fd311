"""Correlation measures along the response (issue 16): the requests, the states they are
evaluated on, and agreement between backends. The measures themselves are tested in
tests/test_correlations.py."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import thermogeo as tg
from thermogeo.errors import ModelError
from thermogeo.linalg.correlations import concurrence

ATOL = 1e-12


@pytest.fixture
def dimer(models_dir):
    return tg.load_model(models_dir / "heisenberg_dimer.toml")


def _response(m, lam, items, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", tg.errors.SecularApproximationWarning)
        return tg.response(m, lam, correlations=items, **kw)


def test_steady_state_equals_gibbs_at_equal_temperatures(dimer):
    """At one temperature the steady state is the Gibbs state: every measure of @steady
    equals that of @thermal."""
    lam = np.random.default_rng(4).uniform(-1.5, 1.5, (9, 2))
    items = ["concurrence:0,1", "negativity:0", "mutual:0|1", "entropy:1"]
    r = _response(dimer, lam, items + [i + "@thermal" for i in items])
    steady = [k for k in r.correlations if not k.endswith("_thermal")]
    assert len(steady) == len(items)
    for k in steady:
        np.testing.assert_allclose(r.correlations[k], r.correlations[k + "_thermal"],
                                   atol=ATOL)
    np.testing.assert_allclose(r.correlations["concurrence_0_1"],
                               concurrence(r.steady_state), atol=ATOL)


def test_zero_field_thermal_concurrence_closed_form(dimer):
    """(J/4) sigma.sigma at zero field: C = max(0, (e^{J/T} - 3)/(e^{J/T} + 3))."""
    J, T = float(dimer.constants["J"]), float(dimer.temperatures[0])
    r = _response(dimer, [0.0, 0.0], ["concurrence:0,1@thermal", "concurrence:0,1"])
    x = np.exp(J / T)
    expected = max(0.0, (x - 3) / (x + 3))
    assert r.correlations["concurrence_0_1_thermal"] == pytest.approx(expected, abs=ATOL)
    assert r.correlations["concurrence_0_1"] == pytest.approx(expected, abs=1e-9)


def test_ground_state_of_the_singlet_is_maximally_entangled(dimer):
    """Weak field: the singlet (-3J/4) is the ground level, a Bell state."""
    r = _response(dimer, [0.05, 0.03], ["concurrence:0,1@ground", "entropy:0@ground"])
    assert r.correlations["concurrence_0_1_ground"] == pytest.approx(1.0, abs=1e-9)
    assert r.correlations["entropy_0_ground"] == pytest.approx(np.log(2), abs=1e-9)


def test_backends_agree_and_dataset_carries_the_measures(dimer):
    lam = np.random.default_rng(5).uniform(-1.5, 1.5, (5, 2))
    items = ["concurrence:0,1", "log_negativity:0|1", "mutual:0|1@ground"]
    a = _response(dimer, lam, items, numerics=tg.Numerics(kernel="dense"))
    b = _response(dimer, lam, items, numerics=tg.Numerics(kernel="structured"))
    for k in a.correlations:
        np.testing.assert_allclose(a.correlations[k], b.correlations[k], atol=1e-10)
    ds = a.to_dataset()
    assert ds["concurrence_0_1"].attrs["units"] == "1"
    assert "ground" in ds["mutual_0__1_ground"].attrs["long_name"]


def test_non_unique_points_are_nan_for_the_steady_state(models_dir):
    m = tg.load_model(models_dir / "dark_singlet.toml")
    r = _response(m, m.point(), ["concurrence:0,1", "concurrence:0,1@ground"], check=False)
    assert not r.unique and np.isnan(r.correlations["concurrence_0_1"])
    assert np.isfinite(r.correlations["concurrence_0_1_ground"])


@pytest.mark.parametrize("items, match", [
    (["concurrence:0,2"], "concurrence:0,2"),
    (["concurrence:0,1@excited"], "unknown state 'excited'"),
    (["spin:0"], "spin:0"),
    (["concurrence:0,1", "concurrence:0,1"], "twice"),
])
def test_bad_requests_are_refused_naming_the_item(dimer, items, match):
    with pytest.raises(ModelError, match=match):
        tg.response(dimer, correlations=items)


def test_thermal_state_needs_one_temperature(dimer):
    hot = dimer.with_values(**{"L.temperature": 2.0})
    with pytest.raises(ModelError, match="one temperature"):
        tg.response(hot, correlations=["concurrence:0,1@thermal"])
    r = _response(hot, [0.3, 0.5], ["concurrence:0,1"])  # the steady state has no such need
    assert 0.0 <= float(r.correlations["concurrence_0_1"]) <= 1.0


def test_cli_response_and_map_report_the_measures(models_dir, tmp_path):
    import json

    from typer.testing import CliRunner

    from thermogeo.cli import app
    from thermogeo.protocols import load_map

    model = str(models_dir / "heisenberg_dimer.toml")
    run = CliRunner().invoke
    r = run(app, ["response", model, "--at", "Bx=0.3,Bz=0.5", "--json",
                  "--correlations", "concurrence:0,1 mutual:0|1@thermal"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    lib = _response(tg.load_model(model), [0.3, 0.5], ["concurrence:0,1", "mutual:0|1@thermal"])
    assert out["correlations"] == pytest.approx({k: float(v)
                                                 for k, v in lib.correlations.items()})
    bad = run(app, ["response", model, "--correlations", "concurrence:0,3"])
    assert bad.exit_code == 2 and "concurrence:0,3" in bad.output
    nc = tmp_path / "map.nc"
    r = run(app, ["map", model, "--x", "Bx=-1:1:5", "--y", "Bz=-1:1:4", "--out", str(nc),
                  "--correlations", "concurrence:0,1"])
    assert r.exit_code == 0, r.output
    ds = load_map(nc)
    assert ds["concurrence_0_1"].dims == ("Bx", "Bz")
    grid = np.stack(np.meshgrid(ds.Bx, ds.Bz, indexing="ij"), -1)
    lib = _response(tg.load_model(model), grid, [])
    np.testing.assert_allclose(ds["concurrence_0_1"].values, concurrence(lib.steady_state),
                               atol=1e-10)


def test_loop_correlations_follow_the_response_and_reach_the_cycle(dimer):
    from thermogeo.protocols import Circle, cycle_summary, loop_correlations

    loop = Circle(("Bx", "Bz"), center=(0.8, 0.6), radius=0.5)
    c = loop_correlations(dimer, loop, ["concurrence:0,1"], samples=12)
    direct = _response(dimer, loop.points(dimer, c.s), ["concurrence:0,1"])
    np.testing.assert_allclose(c.values["concurrence_0_1"],
                               direct.correlations["concurrence_0_1"], atol=ATOL)
    e = c.extremes()["concurrence_0_1"]
    assert e["max"] == pytest.approx(direct.correlations["concurrence_0_1"].max())
    assert c.s[np.argmin(c.values["concurrence_0_1"])] == e["s_min"]
    summary = cycle_summary(dimer, loop, area=False, correlations=["concurrence:0,1"])
    assert summary.to_dict()["correlations"]["concurrence_0_1"]["max"] == pytest.approx(
        summary.correlations.extremes()["concurrence_0_1"]["max"])
    assert summary.to_dataset()["concurrence_0_1"].dims == ("s",)
    with pytest.raises(ModelError, match="concurrence:0,5"):  # refused before any work
        cycle_summary(dimer, loop, correlations=["concurrence:0,5"])


def test_measures_at_eight_qubits_agree_between_block_backends():
    """An 8-qubit chain with random fields: the batched generic-spectrum backend and the
    one-point Bohr-block backend give the same steady-state measures."""
    from test_structured import heisenberg

    m = heisenberg(8, uniform=False, seed=8)
    lam = np.array([[0.7, 0.4], [0.9, 0.5]])
    items = ["concurrence:0,1", "negativity:3|4", "mutual:0,1|6,7", "entropy:2,3,4"]
    a = _response(m, lam, items, numerics=tg.Numerics(kernel="structured"))
    b = _response(m, lam, items, numerics=tg.Numerics(kernel="structured",
                                                      generic_max_dim=1))
    assert tg.lindblad.generic.generic_points(m, lam, tg.Numerics()).all()
    for k in a.correlations:
        np.testing.assert_allclose(a.correlations[k], b.correlations[k], atol=1e-10)
        assert np.all(np.isfinite(a.correlations[k]))


def test_response_sweep_stores_the_measures(models_dir, tmp_path):
    """A response sweep with ``correlations``: one variable per measure, equal to the direct
    call at every sweep point; a bad item is refused when the sweep file is read."""
    from thermogeo.sweeps import load_result, load_sweep, run_sweep

    dimer = (models_dir / "heisenberg_dimer.toml").as_posix()
    text = f"""
model = "{dimer}"
kind = "response"
[combos]
J = [0.5, 2.0]
[response]
grid = {{ Bx = [0.3, 0.8], Bz = [0.5] }}
correlations = ["concurrence:0,1", "mutual:0|1@thermal"]
"""
    (tmp_path / "s.toml").write_text(text)
    out = tmp_path / "s.zarr"
    run_sweep(load_sweep(tmp_path / "s.toml"), out, executor="serial", progress=False)
    ds = load_result(out)
    for J in (0.5, 2.0):
        m = tg.load_model(models_dir / "heisenberg_dimer.toml").with_values(J=J)
        grid = np.stack(np.meshgrid([0.3, 0.8], [0.5], indexing="ij"), -1)
        lib = _response(m, grid, ["concurrence:0,1", "mutual:0|1@thermal"])
        for k, v in lib.correlations.items():
            np.testing.assert_allclose(ds[k].sel(J=J).values, v, atol=1e-12)
    (tmp_path / "bad.toml").write_text(text.replace("concurrence:0,1", "concurrence:0,7"))
    with pytest.raises(ModelError, match=r"\[response\]\.correlations.*concurrence:0,7"):
        load_sweep(tmp_path / "bad.toml")
