"""Sweeps: recomputing the points stored with status "error" (``retry_errors`` /
``--retry-errors``), and only those plus the missing ones.

A transient failure is injected in process (serial executor) by wrapping the task's
``compute_point``: chosen points raise ``MemoryError`` until the test clears them. A
persistent failure is the dimer with ``b = 1`` (exchange-symmetric couplings: dark singlet,
non-unique steady state). Every call of ``compute_point`` is counted, so "not recomputed" is
asserted by counting, and the chunk files of blocks without an error point are compared byte
for byte (and by modification time: not even rewritten).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from test_sweeps import DIMER_SWEEP
from typer.testing import CliRunner

from thermogeo import ModelError
from thermogeo.cli.app import app
from thermogeo.sweeps import load_result, run_sweep
from thermogeo.sweeps import tasks as sweep_tasks


# Blocks are rows of J (chunk = 2 along b): J = 1 all ok, J = 2 mixed, J = 3 all failing.
FLAKY_SWEEP = (DIMER_SWEEP.replace("J = [1.0, 2.0]", "J = [1.0, 2.0, 3.0]")
               .replace("b = [1.0, 2.0]", "b = [1.5, 2.0]"))
FLAKY_POINTS = {(2.0, 1.5), (3.0, 1.5), (3.0, 2.0)}
OK_ONLY_BLOCK = "0."  # chunk-key prefix of the J = 1 block (sweep dims come first)

# b = 1 is non-unique for every J: a failure that a retry cannot cure.
DARK_SWEEP = DIMER_SWEEP.replace("chunk = 2", "chunk = 1")


class Flaky:
    """``compute_point`` that raises ``MemoryError`` at the points ``fail`` and records every
    call as ``(J, b)``."""

    def __init__(self, fail=()):
        self.fail = set(fail)
        self.calls: list[tuple[float, float]] = []
        self._compute = sweep_tasks.compute_point

    def __call__(self, spec, machine):
        key = (float(machine.constants["J"]), float(machine.constants["b"]))
        self.calls.append(key)
        if key in self.fail:
            raise MemoryError(f"injected transient failure at J = {key[0]}, b = {key[1]}")
        return self._compute(spec, machine)


@pytest.fixture
def flaky(monkeypatch) -> Flaky:
    f = Flaky(FLAKY_POINTS)
    monkeypatch.setattr(sweep_tasks, "compute_point", f)
    return f


def write(tmp_path: Path, text: str, name: str = "sweep.toml") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def chunk_files(store: Path, prefix: str = "") -> dict[str, tuple[bytes, int]]:
    """``var/key -> (bytes, mtime_ns)`` of the chunk files of the per-point variables whose
    chunk key starts with ``prefix``."""
    out = {}
    for var in store.iterdir():
        if not var.is_dir():
            continue
        meta = json.loads((var / ".zattrs").read_text())
        dims = meta.get("_ARRAY_DIMENSIONS", [])
        if dims[:2] != ["J", "b"]:
            continue  # coordinates
        for f in var.iterdir():
            if not f.name.startswith(".") and f.name.startswith(prefix):
                out[f"{var.name}/{f.name}"] = (f.read_bytes(), f.stat().st_mtime_ns)
    return out


def strip(ds: xr.Dataset) -> xr.Dataset:
    """The results without run bookkeeping (run numbers, timestamps)."""
    return ds.drop_vars("run").drop_attrs()


def keys_where(ds: xr.Dataset, mask: np.ndarray) -> set[tuple[float, float]]:
    J, b = np.meshgrid(ds.J.values, ds.b.values, indexing="ij")
    return {(float(j), float(x)) for j, x in zip(J[mask], b[mask])}


# -- the library -------------------------------------------------------------------------

def test_resume_without_retry_leaves_errors_untouched(tmp_path, flaky):
    p, out = write(tmp_path, FLAKY_SWEEP), tmp_path / "r.zarr"
    s = run_sweep(p, out, executor="serial")
    assert (s.ok, s.error, s.missing, s.retried) == (3, 3, 0, 0)
    ds = load_result(out)
    assert keys_where(ds, ds.status.values == "error") == FLAKY_POINTS
    assert all("MemoryError" in m for m in ds.message.values[ds.status.values == "error"])
    files = chunk_files(out)
    flaky.fail.clear()  # the cause is gone, but nobody asked for a retry
    flaky.calls.clear()
    s = run_sweep(p, out, executor="serial")
    assert flaky.calls == []
    assert (s.computed, s.before, s.error, s.retried, s.recovered) == (0, 6, 3, 0, 0)
    assert not s.retry_errors
    assert chunk_files(out) == files  # nothing rewritten
    xr.testing.assert_identical(load_result(out).drop_attrs(), ds.drop_attrs())


def test_retry_recomputes_only_error_points(tmp_path, flaky):
    p, out = write(tmp_path, FLAKY_SWEEP), tmp_path / "r.zarr"
    first = run_sweep(p, out, executor="serial")
    assert first.error == 3 and sorted(flaky.calls) == sorted(
        (j, b) for j in (1.0, 2.0, 3.0) for b in (1.5, 2.0))
    before = load_result(out)
    ok = before.status.values == "ok"
    untouched = chunk_files(out, OK_ONLY_BLOCK)
    assert untouched  # the J = 1 block has chunk files of its own

    flaky.fail.clear()
    flaky.calls.clear()
    s = run_sweep(p, out, executor="serial", retry_errors=True)
    # exactly the error points were recomputed, each once
    assert sorted(flaky.calls) == sorted(FLAKY_POINTS)
    assert (s.retry_errors, s.retried, s.recovered) == (True, 3, 3)
    assert (s.computed, s.before, s.ok, s.error, s.missing) == (3, 6, 6, 0, 0)
    after = load_result(out)
    # ok points: same values bit for bit, still credited to run 1
    fields = [k for k in before.data_vars if k not in ("status", "message", "run")]
    assert {"heat_response", "metric", "rotor", "entropy"} <= set(fields)
    for name in fields + ["message"]:
        x, y = before[name].values[ok], after[name].values[ok]
        assert x.tobytes() == y.tobytes(), name
    np.testing.assert_array_equal(after.run.values[ok], first.run)
    np.testing.assert_array_equal(after.run.values[~ok], s.run)
    # the block without an error point was not even rewritten
    assert chunk_files(out, OK_ONLY_BLOCK) == untouched
    # and the store now equals a clean run
    flaky.calls.clear()
    run_sweep(p, tmp_path / "clean.zarr", executor="serial")
    xr.testing.assert_identical(strip(after), strip(load_result(tmp_path / "clean.zarr")))
    run = json.loads(after.attrs["runs_json"])[-1]
    assert (run["retry_errors"], run["errors_to_retry"], run["missing_at_start"]) == (True, 3, 0)
    assert (run["retried"], run["recovered"]) == (3, 3)


def test_retry_with_missing_points_and_persistent_errors(tmp_path, monkeypatch):
    """--fail-fast leaves one error (b = 1) and three missing points; a retry computes those
    four and nothing else; b = 1 fails again with the same cause and a new run number."""
    counter = Flaky()
    monkeypatch.setattr(sweep_tasks, "compute_point", counter)
    p, out = write(tmp_path, DARK_SWEEP), tmp_path / "d.zarr"
    s = run_sweep(p, out, executor="serial", fail_fast=True)
    assert (s.error, s.missing, s.computed) == (1, 3, 1)
    counter.calls.clear()
    s = run_sweep(p, out, executor="serial", retry_errors=True)
    assert sorted(counter.calls) == [(1.0, 1.0), (1.0, 2.0), (2.0, 1.0), (2.0, 2.0)]
    assert (s.computed, s.retried, s.recovered, s.ok, s.error, s.missing) == (4, 1, 0, 2, 2, 0)
    assert s.error_kinds == {"NonUniqueSteadyStateError": 2}
    ds = load_result(out)
    bad = ds.status.values == "error"
    np.testing.assert_array_equal(bad, [[True, False], [True, False]])
    np.testing.assert_array_equal(ds.run.values, np.full((2, 2), s.run))
    # a second retry recomputes the two b = 1 points only
    counter.calls.clear()
    s2 = run_sweep(p, out, executor="serial", retry_errors=True)
    assert sorted(counter.calls) == [(1.0, 1.0), (2.0, 1.0)]
    assert (s2.computed, s2.retried, s2.recovered, s2.error) == (2, 2, 0, 2)
    np.testing.assert_array_equal(load_result(out).run.values,
                                  [[s2.run, s.run], [s2.run, s.run]])


def test_retry_on_process_pool_matches_serial(tmp_path):
    """The pool executor receives the same point sets: its retried store equals the serial
    one (run numbers included)."""
    p = write(tmp_path, DARK_SWEEP)
    stores = {}
    for executor in ("serial", "processes"):
        out = tmp_path / f"{executor}.zarr"
        run_sweep(p, out, executor="serial", fail_fast=True)
        s = run_sweep(p, out, executor=executor, workers=2, retry_errors=True)
        assert (s.executor, s.computed, s.retried, s.error) == (executor, 4, 1, 2)
        stores[executor] = load_result(out)
    xr.testing.assert_identical(stores["serial"].drop_attrs(),
                                stores["processes"].drop_attrs())


def test_retry_errors_must_be_a_flag(tmp_path):
    with pytest.raises(ModelError, match="retry_errors"):
        run_sweep(write(tmp_path, DARK_SWEEP), tmp_path / "x.zarr", executor="serial",
                  retry_errors="yes")


# -- the command line --------------------------------------------------------------------

def test_cli_retry_errors_end_to_end(tmp_path, flaky):
    p, out = write(tmp_path, FLAKY_SWEEP), tmp_path / "c.zarr"
    base = ["sweep", str(p), "--out", str(out), "--scheduler", "serial", "--no-progress"]
    runner = CliRunner()

    r = runner.invoke(app, base)
    assert r.exit_code == 0, r.output  # every point is stored, errors included
    assert "3 ok, 3 error (MemoryError: 3)" in r.output
    assert "the store holds 3 error point(s); rerun with --retry-errors" in r.output

    flaky.calls.clear()
    r = runner.invoke(app, base)  # resumed without the flag: nothing to do, hint repeated
    assert r.exit_code == 0 and flaky.calls == []
    assert "this run computed 0" in r.output and "holds 3 error point(s)" in r.output
    assert "retried" not in r.output

    flaky.fail = {(3.0, 2.0)}  # one failure is not transient after all
    flaky.calls.clear()
    r = runner.invoke(app, base + ["--retry-errors"])
    assert r.exit_code == 0, r.output
    assert sorted(flaky.calls) == sorted(FLAKY_POINTS)
    assert "retried 3 error point(s): 2 now ok, 1 failed again" in r.output
    assert "holds 1 error point(s)" in r.output and "rerun with" not in r.output

    flaky.fail.clear()
    flaky.calls.clear()
    r = runner.invoke(app, base + ["--retry-errors", "--json"])
    assert r.exit_code == 0, r.output
    summary = json.loads(r.output)
    assert flaky.calls == [(3.0, 2.0)]
    assert (summary["retried"], summary["recovered"], summary["error"], summary["ok"]) == \
        (1, 1, 0, 6)
    assert summary["retry_errors"] is True

    r = runner.invoke(app, ["sweep", "--help"])
    assert "--retry-errors" in r.output
