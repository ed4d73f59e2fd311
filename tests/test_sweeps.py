"""Sweeps: spec parsing, physics through the sweep path, errors as data, resumption.

The Dask executors are tested in ``test_sweeps_dask.py``.
"""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from conftest import CLOSED_FORM_RTOL, IDENTITY_RTOL, MODELS

from thermogeo import ModelError, load_model, response
from thermogeo.cli.app import app
from thermogeo.sweeps import (SweepMismatchError, SweepStore, export_netcdf, load_result,
                              load_sweep, run_sweep, sweep_from_text)
from thermogeo.sweeps.tasks import GATE_ENV, GATE_OPEN, GATE_PASS_ENV

WAIT_S = 90.0  # bound on every wait for a subprocess (no test may hang)
POLL_S = 0.05
CLI_CODE = "from thermogeo.cli import main; main()"
CLI = [sys.executable, "-c", CLI_CODE]
# The CLI with SIGINT at its default disposition, however the test runner was started: a
# non-interactive shell starts background jobs with SIGINT ignored, the children inherit
# that, and Python installs no KeyboardInterrupt handler for an ignored SIGINT. The wrapper
# resets the disposition and execs the CLI (no preexec_fn: the test process runs threads).
def _cli_with_sigint(disposition: str) -> list[str]:
    return [sys.executable, "-c", "import os, signal, sys; "
            f"signal.signal(signal.SIGINT, signal.{disposition}); "
            f"os.execv(sys.executable, [sys.executable, '-c', {CLI_CODE!r}] + sys.argv[1:])"]


CLI_SIGINT_DEFAULT = _cli_with_sigint("SIG_DFL")
CLI_SIGINT_IGNORED = _cli_with_sigint("SIG_IGN")

QUBIT = (MODELS / "qubit_pump.toml").as_posix()
DIMER = (MODELS / "heisenberg_dimer.toml").as_posix()

RESPONSE_SWEEP = f"""
model = "{QUBIT}"
kind = "response"
chunk = 2
[combos]
"R.strength" = [1.0, 2.0, 0.5]
[cases]
"L.temperature" = [1.0, 0.5]
"R.temperature" = [1.0, 0.5]
[response]
grid = {{ Bx = [0.7, -0.3, 1.1], Bz = {{ start = 0.4, stop = 1.2, num = 3 }} }}
"""

DIMER_SWEEP = f"""
model = "{DIMER}"
kind = "response"
chunk = 2
[combos]
J = [1.0, 2.0]
b = [1.0, 2.0]
[response]
grid = {{ Bx = [0.3, 0.8], Bz = [0.5] }}
plane = ["Bx", "Bz"]
"""


def write(tmp_path: Path, text: str, name: str = "sweep.toml") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def strip(ds: xr.Dataset) -> xr.Dataset:
    """The results without run bookkeeping (run numbers, timestamps)."""
    return ds.drop_vars("run").drop_attrs()


# -- the sweep file ----------------------------------------------------------------------

def test_spec_grid_cases_and_blocks(tmp_path):
    spec = load_sweep(write(tmp_path, RESPONSE_SWEEP))
    assert spec.dims == ("R_strength", "case")
    assert spec.shape == (3, 2)
    assert spec.values_at((2, 1)) == {"R.strength": 0.5, "L.temperature": 0.5,
                                      "R.temperature": 0.5}
    assert spec.options["grid"]["Bz"] == (0.4, 0.8, 1.2)
    # the task blocks tile the grid exactly once
    cover = np.zeros(spec.shape, int)
    for b in spec.blocks():
        cover[b] += 1
    assert np.all(cover == 1)
    assert spec.chunk_shape == (1, 2)


@pytest.mark.parametrize("patch, words", [
    ('kind = "response"', "kind"),  # replaced below by an unknown kind
    ('"R.temperature" = [1.0, 0.5]', "same length"),
    ('"R.strength" = [1.0, 2.0, 0.5]', "unknown name"),
    ('grid = {', "grid"),
])
def test_spec_errors_name_the_field(tmp_path, patch, words):
    bad = {
        'kind = "response"': 'kind = "movie"',
        '"R.temperature" = [1.0, 0.5]': '"R.temperature" = [1.0, 0.5, 0.2]',
        '"R.strength" = [1.0, 2.0, 0.5]': '"Q.strength" = [1.0, 2.0, 0.5]',
        'grid = {': 'grid = { Bq = [1.0], ',
    }[patch]
    with pytest.raises(ModelError, match=words):
        load_sweep(write(tmp_path, RESPONSE_SWEEP.replace(patch, bad)))


def test_spec_rejects_grid_axis_that_is_swept():
    text = f'model = "{QUBIT}"\nkind = "response"\n[combos]\nBx = [0.1, 0.2]\n' \
           '[response]\ngrid = { Bx = [0.5], Bz = [0.5] }\n'
    with pytest.raises(ModelError, match="also swept"):
        sweep_from_text(text)


# -- physics through the sweep path -----------------------------------------------------

def test_response_sweep_matches_closed_forms_and_direct_calls(tmp_path):
    """Rotor and entropy of Q1 (docs/theory.md section 7) at every sweep point and grid
    point; the sum of the heat responses is T grad S; each point equals a direct response()
    call."""
    out = tmp_path / "r.zarr"
    s = run_sweep(write(tmp_path, RESPONSE_SWEEP), out, executor="serial")
    assert (s.total, s.ok, s.error, s.missing) == (6, 6, 0, 0)
    ds = load_result(out)
    bx, bz = np.meshgrid(ds.Bx.values, ds.Bz.values, indexing="ij")
    r, theta = np.hypot(bx, bz), np.arctan2(bx, bz)
    for i, kr in enumerate(ds.R_strength.values):
        for c in range(2):
            T = float(ds.L_temperature.values[c])
            pt = ds.isel(R_strength=i, case=c)
            kl = 1.0
            den = kl * np.cos(theta) ** 2 + kr * np.sin(theta) ** 2
            omega = np.cosh(r / T) ** -2 * kl * kr * np.sin(2 * theta) / den**2 / T
            np.testing.assert_allclose(pt.rotor.sel(bath="L"), omega, rtol=CLOSED_FORM_RTOL)
            S = np.log(2 * np.cosh(r / T)) - (r / T) * np.tanh(r / T)
            np.testing.assert_allclose(pt.entropy, S, rtol=CLOSED_FORM_RTOL)
            np.testing.assert_allclose(pt.heat_response.sum("bath"), T * pt.entropy_gradient,
                                       rtol=CLOSED_FORM_RTOL, atol=1e-14)
            m = load_model(QUBIT).with_values(**{"R.strength": float(kr), "L.temperature": T,
                                                 "R.temperature": T})
            lam = np.stack([bx, bz], -1)
            direct = response(m, lam, plane=("Bx", "Bz"))
            np.testing.assert_allclose(pt.heat_response, direct.heat_response,
                                       rtol=IDENTITY_RTOL)
    assert set(ds.status.values.ravel()) == {"ok"}
    assert ds.heat_response.dims == ("R_strength", "case", "Bx", "Bz", "bath", "parameter")
    spec = load_sweep(tmp_path / "sweep.toml")
    assert ds.attrs["sweep_sha256"] == spec.sha256
    assert ds.attrs["model_toml"] == spec.model_text
    assert ds.attrs["thermogeo_version"]


@pytest.mark.skipif(importlib.util.find_spec("thermogeo.protocols.cycle") is None,
                    reason="thermogeo.protocols.cycle not available")
def test_cycle_sweep_reproduces_circle_heat(tmp_path):
    """Q_L^geo of the circle (0.8, 0.6), r = 0.5 of Q1 for kappa_R = 1 and 2
    (docs/theory.md section 7)."""
    text = f"""
model = "{QUBIT}"
kind = "cycle"
[combos]
"R.strength" = [1.0, 2.0]
[cycle.loops.circle]
kind = "circle"
plane = ["Bx", "Bz"]
center = [0.8, 0.6]
radius = 0.5
"""
    out = tmp_path / "c.zarr"
    s = run_sweep(write(tmp_path, text), out, executor="serial")
    assert s.ok == 2, s.errors
    ds = load_result(out)
    q = ds.geometric_heat.sel(bath="L", loop="circle").values
    np.testing.assert_allclose(q, [0.2729526880, 0.2298805190], rtol=CLOSED_FORM_RTOL)


def test_cycle_sweep_with_a_bias_and_both_orientations(tmp_path):
    """A biased sweep over a counter-clockwise (engine) and a clockwise (refrigerator) loop:
    every point is ok, both loops have the same fields, the mode says which figures apply
    (the others are NaN), and the values are those of direct cycle_summary calls."""
    from thermogeo.protocols import Circle, cycle_summary
    from thermogeo.protocols.engine import ENGINE_KEYS, REFRIGERATOR_KEYS

    text = f"""
model = "{QUBIT}"
kind = "cycle"
[combos]
"R.strength" = [1.0, 2.0]
[cycle]
bias = 0.01
[cycle.loops.ccw]
kind = "circle"
center = [0.8, 0.6]
radius = 0.5
[cycle.loops.cw]
kind = "circle"
center = [0.8, 0.6]
radius = 0.5
clockwise = true
"""
    out = tmp_path / "b.zarr"
    s = run_sweep(write(tmp_path, text), out, executor="serial")
    assert (s.ok, s.error) == (2, 0), s.errors
    ds = load_result(out)
    assert ds.mode.dims == ("R_strength", "loop")
    assert (ds.mode.sel(loop="ccw") == "engine").all()
    assert (ds.mode.sel(loop="cw") == "refrigerator").all()
    fridge_keys = [k for k in REFRIGERATOR_KEYS if k != "cools"]
    for loop, finite, nan in (("ccw", ENGINE_KEYS, fridge_keys),
                              ("cw", fridge_keys, ENGINE_KEYS)):
        pt = ds.sel(loop=loop)
        assert all(bool(np.isfinite(pt[k]).all()) for k in finite)
        assert all(bool(pt[k].isnull().all()) for k in nan)
    assert ds.max_power.attrs["units"] == "energy / time"
    for i, kr in enumerate(ds.R_strength.values):
        m = load_model(QUBIT).with_values(**{"R.strength": float(kr)})
        for name, cw in (("ccw", False), ("cw", True)):
            c = cycle_summary(m, Circle(("Bx", "Bz"), center=(0.8, 0.6), radius=0.5,
                                        clockwise=cw), bias=0.01)
            pt = ds.isel(R_strength=i).sel(loop=name)
            np.testing.assert_allclose(pt.geometric_heat, c.geometric_heat,
                                       rtol=IDENTITY_RTOL)
            for k in ENGINE_KEYS + REFRIGERATOR_KEYS + ("heat_leak",):
                np.testing.assert_allclose(pt[k], getattr(c.engine, k), rtol=IDENTITY_RTOL)
    np.testing.assert_allclose(ds.geometric_heat.sel(loop="cw"),
                               -ds.geometric_heat.sel(loop="ccw"), rtol=1e-9)


def test_store_with_old_field_names_is_read_and_not_resumed(tmp_path):
    """A cycle store written with the names before docs/decisions/0007-names.md: load_result
    and export give the new names; resuming it is refused (the fields would not match)."""
    import zarr

    text = f"""
model = "{QUBIT}"
kind = "cycle"
[combos]
"R.strength" = [1.0, 2.0]
[cycle.loops.circle]
kind = "circle"
center = [0.8, 0.6]
radius = 0.5
"""
    p, out = write(tmp_path, text), tmp_path / "old.zarr"
    run_sweep(p, out, executor="serial")
    new = load_result(out)
    for old, now in (("pumped_heat", "geometric_heat"), ("A", "bath_geometric_heat"),
                     ("dissipation", "dissipated_work_coefficient")):
        (out / now).rename(out / old)  # what an older thermogeo wrote (Zarr format 2 layout)
    g = zarr.open_group(out, mode="r+", zarr_format=2)
    fields = json.loads(g.attrs["fields_json"])
    g.attrs["fields_json"] = json.dumps(sorted(
        {"geometric_heat": "pumped_heat", "bath_geometric_heat": "A",
         "dissipated_work_coefficient": "dissipation"}.get(f, f) for f in fields))
    back = load_result(out)
    xr.testing.assert_identical(strip(back), strip(new))
    with pytest.raises(SweepMismatchError, match="older thermogeo.*pumped_heat"):
        run_sweep(p, out, executor="serial")
    s = run_sweep(p, out, executor="serial", overwrite=True)
    assert s.computed == 2


OPTIMAL_RTOL = 1e-6  # polar Gauss-Legendre area quadrature of the rotor on a (40, 64) grid
EXPANSION_ATOL = 1e-4  # exact minus (first + second order) heat is O(period^-2) at period 100


@pytest.mark.skipif(importlib.util.find_spec("thermogeo.protocols.optimal") is None,
                    reason="thermogeo.protocols.optimal not available")
def test_optimal_sweep_single_qubit_reaches_T_ln2(tmp_path):
    """The best single-sign region of one qubit pumps exactly T ln 2 for every temperature
    and coupling ratio (docs/theory.md section 6-7), and never exceeds the bound."""
    text = f"""
model = "{QUBIT}"
kind = "optimal"
[combos]
"R.strength" = [1.0, 3.0]
[cases]
"L.temperature" = [1.0, 0.5]
"R.temperature" = [1.0, 0.5]
[optimal]
plane = ["Bx", "Bz"]
bath = "L"
region = {{ kind = "polar", resolution = [40, 64] }}
"""
    out = tmp_path / "o.zarr"
    s = run_sweep(write(tmp_path, text), out, executor="serial")
    assert s.ok == 4, s.errors
    ds = load_result(out)
    T = ds.L_temperature.broadcast_like(ds.max_geometric_heat)
    np.testing.assert_allclose(ds.max_geometric_heat, T * np.log(2), rtol=OPTIMAL_RTOL)
    assert not bool(ds.exceeds_bound.any())


@pytest.mark.skipif(importlib.util.find_spec("thermogeo.dynamics.periodic") is None,
                    reason="thermogeo.dynamics.periodic not available")
def test_exact_sweep_matches_expansion(tmp_path):
    """Exact heat per cycle of the Q1 circle -> first-order Q^geo (docs/theory.md section 7)
    plus the second-order 1/period term; first law closed."""
    text = f"""
model = "{QUBIT}"
kind = "exact"
[combos]
"R.strength" = [1.0, 2.0]
[exact]
periods = [100.0]
[exact.loops.circle]
kind = "circle"
center = [0.8, 0.6]
radius = 0.5
"""
    out = tmp_path / "e.zarr"
    s = run_sweep(write(tmp_path, text), out, executor="serial")
    assert s.ok == 2, s.errors
    ds = load_result(out).sel(loop="circle", period=100.0, bath="L")
    np.testing.assert_allclose(ds.expansion_geometric_heat, [0.2729526880, 0.2298805190],
                               rtol=CLOSED_FORM_RTOL)
    np.testing.assert_allclose(ds.heat, ds.expansion_geometric_heat + ds.expansion_heat_order2,
                               atol=EXPANSION_ATOL)
    assert float(abs(ds.first_law_residual).max()) < EXPANSION_ATOL * 1e-4


# -- errors are data ---------------------------------------------------------------------

def test_nonunique_point_recorded_while_rest_complete(tmp_path):
    """b = 1 makes both couplings of the dimer exchange-symmetric: the singlet is dark."""
    out = tmp_path / "d.zarr"
    s = run_sweep(write(tmp_path, DIMER_SWEEP), out, executor="serial")
    assert (s.ok, s.error, s.missing) == (2, 2, 0)
    ds = load_result(out)
    bad = ds.status == "error"
    np.testing.assert_array_equal(bad.values, [[True, False], [True, False]])
    assert all("NonUniqueSteadyStateError" in m for m in ds.message.values[bad.values])
    # NaN exactly where the status says error, finite elsewhere
    hr = ds.heat_response
    assert bool(hr.where(bad).isnull().all())
    assert bool(np.isfinite(hr.where(~bad, 0.0)).all())
    assert [a["b"] for a, _ in s.errors] == [1.0, 1.0]
    assert s.error_kinds == {"NonUniqueSteadyStateError": 2}


def test_fail_fast_stops_at_first_error(tmp_path):
    out = tmp_path / "f.zarr"
    text = DIMER_SWEEP.replace("chunk = 2", "chunk = 1")
    s = run_sweep(write(tmp_path, text), out, executor="serial", fail_fast=True)
    assert s.stopped and s.error == 1 and s.missing == 3 and s.computed == 1
    rc = _cli(["sweep", str(tmp_path / "sweep.toml"), "--out", str(tmp_path / "g.zarr"),
               "--scheduler", "serial", "--fail-fast", "--no-progress"])
    assert rc.returncode == 1 and "fail-fast" in rc.stdout


def test_changed_sweep_file_is_refused(tmp_path):
    p = write(tmp_path, DIMER_SWEEP)
    out = tmp_path / "x.zarr"
    run_sweep(p, out, executor="serial")
    p.write_text(DIMER_SWEEP.replace("b = [1.0, 2.0]", "b = [1.5, 2.0]"))
    with pytest.raises(SweepMismatchError, match="--overwrite"):
        run_sweep(p, out, executor="serial")
    r = _cli(["sweep", str(p), "--out", str(out), "--scheduler", "serial", "--no-progress"])
    assert r.returncode == 2 and "different sweep" in r.stderr
    s = run_sweep(p, out, executor="serial", overwrite=True)
    assert s.computed == 4 and s.error == 0
    assert list(load_result(out).b.values) == [1.5, 2.0]


def test_changed_model_file_is_refused(tmp_path):
    """The hash covers the model file too: an edited model behind the same sweep file."""
    model = tmp_path / "model.toml"
    model.write_text(Path(QUBIT).read_text())
    p = write(tmp_path, RESPONSE_SWEEP.replace(QUBIT, "model.toml"))
    out = tmp_path / "m.zarr"
    run_sweep(p, out, executor="serial")
    model.write_text(Path(QUBIT).read_text().replace("temperature = 1.0", "temperature = 2.0"))
    with pytest.raises(SweepMismatchError):
        run_sweep(p, out, executor="serial")


# -- executors and storage ---------------------------------------------------------------

def test_process_pool_matches_serial_and_export(tmp_path):
    p = write(tmp_path, RESPONSE_SWEEP.replace('"R.strength" = [1.0, 2.0, 0.5]',
                                                '"R.strength" = [1.0, 2.0, 0.5, 3.0]'))
    a = run_sweep(p, tmp_path / "a.zarr", executor="serial")
    b = run_sweep(p, tmp_path / "b.zarr", executor="processes", workers=2)
    assert b.executor == "processes" and b.workers == 2 and b.computed == a.computed == 8
    xr.testing.assert_identical(strip(load_result(tmp_path / "a.zarr")),
                                strip(load_result(tmp_path / "b.zarr")))
    # NetCDF export carries values, status and provenance
    nc = tmp_path / "b.nc"
    export_netcdf(tmp_path / "b.zarr", nc)
    back = xr.open_dataset(nc, engine="h5netcdf").load()
    xr.testing.assert_allclose(back.heat_response, load_result(tmp_path / "b.zarr").heat_response,
                               rtol=IDENTITY_RTOL)
    assert back.attrs["sweep_toml"] == p.read_text()
    assert list(np.unique(back.status.values)) == ["ok"]


def _cli(args, env=None):
    return subprocess.run(CLI + args, capture_output=True, text=True, timeout=WAIT_S,
                          env={**os.environ, **(env or {})})


def _stop(proc) -> None:
    """Kill a CLI child (and its process group) that is still running at the end of a test."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()


def _start_cli(args, gate: Path, passes: int, cli=CLI_SIGINT_DEFAULT):
    """Start the CLI in a new session; its tasks after the first ``passes`` wait until
    :func:`_open_gate` (no timing: the test decides when the run may go on)."""
    gate.mkdir()
    env = {**os.environ, GATE_ENV: str(gate), GATE_PASS_ENV: str(passes)}
    return subprocess.Popen(cli + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env, start_new_session=True)


def _open_gate(gate: Path) -> None:
    (gate / GATE_OPEN).touch()


def _wait_for_points(proc, out: Path, n: int) -> None:
    """Wait until ``n`` points are stored (bounded)."""
    t_end = time.monotonic() + WAIT_S
    while time.monotonic() < t_end:
        if proc.poll() is not None:
            raise AssertionError(f"the run ended early: {proc.communicate()}")
        if SweepStore(out).exists:
            try:
                if np.sum(SweepStore(out).status() != "") >= n:
                    return
            except (KeyError, ValueError, OSError):
                pass  # store being created
        time.sleep(POLL_S)
    raise AssertionError("no progress within the wait bound")


@pytest.mark.parametrize("sig, scheduler", [(signal.SIGKILL, "serial"),
                                            (signal.SIGINT, "processes")])
def test_interrupted_run_resumes_only_missing_points(tmp_path, sig, scheduler):
    """Kill a run after some blocks are stored; the rerun computes exactly the missing
    points (counted from the store's per-point run numbers) and matches a clean run."""
    text = RESPONSE_SWEEP.replace("chunk = 2", "chunk = 1").replace(
        '"R.strength" = [1.0, 2.0, 0.5]', '"R.strength" = [1.0, 2.0, 0.5, 3.0, 1.5]')
    p = write(tmp_path, text)
    out = tmp_path / "k.zarr"
    args = ["sweep", str(p), "--out", str(out), "--no-progress", "--workers", "2"]
    if scheduler == "serial":
        args += ["--scheduler", "serial"]
    # two tasks run, the others wait at the gate: exactly two points are stored when the
    # signal comes, whatever the load of the machine
    proc = _start_cli(args, tmp_path / "gate", passes=2)
    try:
        _wait_for_points(proc, out, 2)
        os.killpg(proc.pid, sig)
        _, err = proc.communicate(timeout=WAIT_S)
    finally:
        _stop(proc)
    if sig == signal.SIGINT:
        assert proc.returncode == 130 and "rerun the same command" in err, err
        assert SweepStore(out).runs()[-1]["interrupted"] is True
    else:
        assert proc.returncode == -signal.SIGKILL
    status = SweepStore(out).status()
    missing = int(np.sum(status == ""))
    assert missing == status.size - 2
    s = run_sweep(p, out, executor="serial")
    assert s.computed == missing and s.before == status.size - missing and s.missing == 0
    ds = load_result(out)
    assert int((ds.run == s.run).sum()) == missing
    np.testing.assert_array_equal(ds.run.values != s.run, status != "")
    clean = tmp_path / "clean.zarr"
    run_sweep(p, clean, executor="serial")
    xr.testing.assert_identical(strip(ds), strip(load_result(clean)))


def test_cli_started_with_sigint_ignored_keeps_ignoring_it(tmp_path):
    """A run started with SIGINT ignored (a background job of a non-interactive shell, nohup)
    keeps it ignored, as the shell asked (docs/decisions/0602-sweep-executors.md): the signal
    neither stops nor disturbs it, and the run completes."""
    p = write(tmp_path, RESPONSE_SWEEP.replace("chunk = 2", "chunk = 1"))
    out, gate = tmp_path / "i.zarr", tmp_path / "gate"
    proc = _start_cli(["sweep", str(p), "--out", str(out), "--no-progress", "--workers", "2"],
                      gate, passes=1, cli=CLI_SIGINT_IGNORED)
    try:
        _wait_for_points(proc, out, 1)
        os.killpg(proc.pid, signal.SIGINT)  # discarded on delivery: the disposition is ignore
        _open_gate(gate)
        o, e = proc.communicate(timeout=WAIT_S)
    finally:
        _stop(proc)
    assert proc.returncode == 0, (o, e)
    assert "6 points: 6 ok, 0 error, 0 missing" in o
    assert SweepStore(out).runs()[-1]["interrupted"] is False


def test_cli_sweep_and_export(tmp_path, capsys):
    from typer.testing import CliRunner

    p = write(tmp_path, DIMER_SWEEP)
    out, nc = tmp_path / "r.zarr", tmp_path / "r.nc"
    r = CliRunner().invoke(app, ["sweep", str(p), "--out", str(out), "--scheduler", "serial",
                                 "--no-progress", "--json"])
    assert r.exit_code == 0, r.output
    assert '"ok": 2' in r.output and '"error": 2' in r.output
    r = CliRunner().invoke(app, ["export", str(out), str(nc)])
    assert r.exit_code == 0 and "2 ok, 2 error, 0 missing" in r.output
    r = CliRunner().invoke(app, ["export", str(tmp_path / "nope.zarr"), str(nc)])
    assert r.exit_code == 2 and "not a sweep store" in r.output


def test_second_run_on_a_busy_store_is_refused(tmp_path):
    """Two runs must not write one store; a lock left by a dead process is taken over."""
    p = write(tmp_path, DIMER_SWEEP)
    out = tmp_path / "l.zarr"
    spec = load_sweep(p)
    store = SweepStore.open(out, spec)
    with store.lock():
        sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
        try:
            (tmp_path / "l.zarr.lock").write_text(
                json.dumps({"host": socket.gethostname(), "pid": sleeper.pid}))
            with pytest.raises(ModelError, match="another run"):
                run_sweep(p, out, executor="serial")
            with pytest.raises(ModelError, match="another run"):
                run_sweep(p, out, executor="serial", overwrite=True)
        finally:
            sleeper.kill()
            sleeper.wait(timeout=WAIT_S)
        # the holder is gone: the lock is stale and taken over
        s = run_sweep(p, out, executor="serial")
        assert s.computed == 4
    assert not (tmp_path / "l.zarr.lock").exists()


def test_cli_progress_bar_and_bad_workers(tmp_path):
    p = write(tmp_path, DIMER_SWEEP)
    r = _cli(["sweep", str(p), "--out", str(tmp_path / "q.zarr"), "--scheduler", "serial"])
    assert r.returncode == 0 and "4/4" in r.stderr and "pt/s" in r.stderr
    r = _cli(["sweep", str(p), "--out", str(tmp_path / "q.zarr"), "--workers", "-2"])
    assert r.returncode == 2 and "--workers" in r.stderr


def _pool_workers(pid: int) -> list[int]:
    """Pids of the spawned pool workers of process ``pid`` (Linux /proc)."""
    out = []
    try:
        kids = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return out
    for k in kids:
        try:
            cmd = Path(f"/proc/{k}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if "spawn_main" in cmd:
            out.append(int(k))
    return out


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs Linux /proc")
def test_local_pool_survives_a_killed_worker(tmp_path):
    """A pool worker killed mid-run breaks the pool; the driver restarts it, reruns the
    unfinished blocks and the dataset is complete and equal to a serial run."""
    text = RESPONSE_SWEEP.replace("chunk = 2", "chunk = 1")
    p = write(tmp_path, text)
    out = tmp_path / "pk.zarr"
    gate = tmp_path / "gate"
    proc = _start_cli(["sweep", str(p), "--out", str(out), "--no-progress", "--workers", "2"],
                      gate, passes=1)
    try:
        _wait_for_points(proc, out, 1)
        kids = _pool_workers(proc.pid)
        assert kids, "no pool worker found"
        os.kill(kids[0], signal.SIGKILL)  # both workers wait at the gate: the run is not over
        _open_gate(gate)
        o, e = proc.communicate(timeout=WAIT_S)
    finally:
        _stop(proc)
    assert proc.returncode == 0, (o, e)
    assert "6 ok, 0 error, 0 missing" in o
    assert SweepStore(out).runs()[-1]["pool_restarts"] == 1
    clean = tmp_path / "clean.zarr"
    run_sweep(p, clean, executor="serial")
    xr.testing.assert_identical(strip(load_result(out)), strip(load_result(clean)))
