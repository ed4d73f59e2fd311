"""Faults on real sweep stores (issue 13, "nothing lost, nothing silent"): what may be deleted
or overwritten, damaged stores on resume and export, the lock through other paths, workers of
a killed driver, sweeps too large to allocate (docs/decisions/0603-store-safety.md).

Every case checks the exit status, the message (it names the path or the variables) and that
nothing was deleted or written wrongly. Damage is made by hand on a copy of a store computed
once per module; recomputation is counted by wrapping the task's ``compute_point`` (serial
executor, in process), as in ``test_sweep_retry.py``.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import time
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from conftest import MODELS
from test_sweeps import (CLI_SIGINT_DEFAULT, RESPONSE_SWEEP, WAIT_S, _cli, _open_gate,
                         _start_cli, _stop, _wait_for_points, strip, write)
from typer.testing import CliRunner

from thermogeo import ModelError
from thermogeo.cli.app import app
from thermogeo.sweeps import (SweepDamagedError, SweepStore, SweepStoreError,
                              SweepTooLargeError, load_result, run_sweep)
from thermogeo.sweeps import store as sweep_store
from thermogeo.sweeps import tasks as sweep_tasks

QUBIT = (MODELS / "qubit_pump.toml").as_posix()
# Two blocks of two points (R.strength 1, 2 | 0.5, 3); the cycle kind has scalar, per-bath and
# text fields, and fields that are NaN for one loop (a block of such chunks equals the fill).
CYCLE_SWEEP = f"""
model = "{QUBIT}"
kind = "cycle"
chunk = 2
[combos]
"R.strength" = [1.0, 2.0, 0.5, 3.0]
[cycle]
bias = 0.01
[cycle.loops.ccw]
kind = "circle"
center = [0.8, 0.6]
radius = 0.5
"""
POLL_S = 0.05
KILL_WAIT_S = 60.0  # bound on the wait for the workers of a killed driver to end


def tree(path: Path) -> dict[str, bytes | None]:
    """Every file (with its bytes) and folder (None) under ``path``."""
    out = {}
    for p in sorted(path.rglob("*")):
        out[p.relative_to(path).as_posix()] = None if p.is_dir() else p.read_bytes()
    return out


def invoke(args: list[str]):
    return CliRunner().invoke(app, [str(a) for a in args])


class Counter:
    """``compute_point`` that records every call as the point's ``R.strength``."""

    def __init__(self):
        self.calls: list[float] = []
        self._compute = sweep_tasks.compute_point

    def __call__(self, spec, machine):
        self.calls.append(float(machine.baths[1].spectral_density.strength))
        return self._compute(spec, machine)


@pytest.fixture
def counter(monkeypatch) -> Counter:
    c = Counter()
    monkeypatch.setattr(sweep_tasks, "compute_point", c)
    return c


@pytest.fixture(scope="module")
def pristine(tmp_path_factory) -> tuple[Path, Path, xr.Dataset]:
    """(sweep file, store, its dataset) of the cycle sweep, computed once."""
    d = tmp_path_factory.mktemp("pristine")
    p = write(d, CYCLE_SWEEP)
    out = d / "c.zarr"
    s = run_sweep(p, out, executor="serial")
    assert (s.ok, s.error) == (4, 0), s.errors
    return p, out, load_result(out)


@pytest.fixture
def store(tmp_path, pristine) -> tuple[Path, Path]:
    """A copy of the pristine store and its sweep file (same text, so the hash matches)."""
    p, out, _ = pristine
    copy = tmp_path / "c.zarr"
    shutil.copytree(out, copy)
    return p, copy


# -- 1. what may be deleted or overwritten -----------------------------------------------

@pytest.mark.parametrize("overwrite", [True, False])
def test_a_folder_that_is_not_a_store_is_never_deleted(tmp_path, overwrite):
    folder = tmp_path / "paper"
    (folder / "figures").mkdir(parents=True)
    (folder / "paper.tex").write_text("\\documentclass{article}")
    (folder / "figures" / "fig1.pdf").write_bytes(b"%PDF-1.5")
    before = tree(folder)
    p = write(tmp_path, CYCLE_SWEEP)
    r = invoke(["sweep", p, "--out", folder, "--scheduler", "serial", "--no-progress"]
               + (["--overwrite"] if overwrite else []))
    assert r.exit_code == 2, r.output
    assert f"--out {str(folder)!r}" in r.output and "not a thermogeo sweep store" in r.output
    assert "paper.tex" in r.output and "nothing was changed" in r.output
    if overwrite:
        assert "--overwrite replaces only a sweep store written by thermogeo" in r.output
    else:
        assert "--overwrite" not in r.output  # no hint that would delete the folder
    assert tree(folder) == before
    assert not (tmp_path / "paper.lock").exists()


def test_overwrite_refuses_a_store_holding_foreign_entries(tmp_path, store):
    p, out = store
    (out / "NOTES.txt").write_text("keep me")
    (out / "plots").mkdir()
    (out / "plots" / "a.png").write_bytes(b"\x89PNG")
    (out / "status" / "notes").write_text("keep me too")
    before = tree(out)
    r = invoke(["sweep", p, "--out", out, "--scheduler", "serial", "--no-progress",
                "--overwrite"])
    assert r.exit_code == 2, r.output
    assert "NOTES.txt" in r.output and "plots/" in r.output and "status/notes" in r.output
    assert "nothing was deleted" in r.output
    assert tree(out) == before
    # resuming such a store deletes nothing and is allowed
    r = invoke(["sweep", p, "--out", out, "--scheduler", "serial", "--no-progress"])
    assert r.exit_code == 0 and "this run computed 0" in r.output, r.output


@pytest.mark.parametrize("damage", ["zattrs garbage", "zattrs foreign", "zgroup missing"])
def test_overwrite_refuses_a_store_whose_group_metadata_is_not_ours(tmp_path, store, damage):
    p, out = store
    if damage == "zattrs garbage":
        (out / ".zattrs").write_bytes(b"\x00\x01 not json")
    elif damage == "zattrs foreign":
        (out / ".zattrs").write_text(json.dumps({"title": "someone else's zarr group"}))
    else:
        (out / ".zgroup").unlink()
    before = tree(out)
    for extra in (["--overwrite"], []):
        r = invoke(["sweep", p, "--out", out, "--scheduler", "serial", "--no-progress"]
                   + extra)
        assert r.exit_code == 2, r.output
        assert str(out) in r.output and "not a thermogeo sweep store" in r.output
    assert tree(out) == before
    r = invoke(["export", out, tmp_path / "x.nc"])
    assert r.exit_code == 2 and "not a sweep store" in r.output
    assert not (tmp_path / "x.nc").exists()


def test_overwrite_through_a_symlink_replaces_the_store_and_keeps_the_link(tmp_path, store):
    p, out = store
    link = tmp_path / "link.zarr"
    link.symlink_to(out, target_is_directory=True)
    s = run_sweep(p, link, executor="serial", overwrite=True)
    assert (s.computed, s.ok, s.run) == (4, 4, 1)
    assert link.is_symlink() and out.is_dir()
    assert len(SweepStore(out).runs()) == 1


@pytest.mark.parametrize("overwrite", [True, False])
def test_out_that_is_a_file(tmp_path, overwrite):
    p = write(tmp_path, CYCLE_SWEEP)
    f = tmp_path / "results.txt"
    f.write_text("precious")
    for out in (f, f / "sub.zarr"):
        r = invoke(["sweep", p, "--out", out, "--scheduler", "serial", "--no-progress"]
                   + (["--overwrite"] if overwrite else []))
        assert r.exit_code == 2, r.output
        assert "Traceback" not in r.output and str(out) in r.output and "file" in r.output
    assert f.read_text() == "precious"
    assert sorted(x.name for x in tmp_path.iterdir()) == ["results.txt", "sweep.toml"]


def test_export_refuses_wrong_destinations(tmp_path, store):
    _, out = store
    before = tree(out)
    folder = tmp_path / "exports"
    folder.mkdir()
    text = tmp_path / "notes.txt"
    text.write_text("not NetCDF")
    cases = {folder: "is a folder", out: "is the store", out / "x.nc": "inside the store",
             text: "not a NetCDF file", tmp_path / "nowhere" / "x.nc": "does not exist"}
    for dest, words in cases.items():
        r = invoke(["export", out, dest])
        assert r.exit_code == 2, (dest, r.output)
        assert words in r.output and repr(str(dest.parent if words == "does not exist"
                                                  else dest)) in r.output, r.output
        assert "Traceback" not in r.output
    assert tree(out) == before
    assert list(folder.iterdir()) == [] and text.read_text() == "not NetCDF"
    # a NetCDF file is replaced, atomically (no temporary file left)
    nc = tmp_path / "c.nc"
    for _ in range(2):
        r = invoke(["export", out, nc])
        assert r.exit_code == 0 and "4 ok" in r.output, r.output
    assert sorted(x.name for x in tmp_path.iterdir()) == ["c.nc", "c.zarr", "exports",
                                                          "notes.txt"]


# -- 2. damaged stores: verified on resume and export -------------------------------------

def _garbage(path: Path) -> None:
    path.write_bytes(np.random.default_rng(13).bytes(64))


DAMAGE = {
    # what is done to the store -> (variables named, points of the damaged block)
    "deleted field chunk": (lambda s: (s / "geometric_heat" / "1.0.0").unlink(),
                            ["geometric_heat"]),
    "garbage field chunk": (lambda s: _garbage(s / "geometric_heat" / "0.0.0"),
                            ["geometric_heat"]),
    "truncated text chunk": (lambda s: (s / "mode" / "1.0").write_bytes(
        (s / "mode" / "1.0").read_bytes()[:10]), ["mode"]),
    "deleted empty message chunk": (lambda s: (s / "message" / "0").unlink(), ["message"]),
    "deleted all-NaN chunk": (lambda s: (s / "max_cop" / "1.0").unlink(), ["max_cop"]),
    "garbage status chunk": (lambda s: _garbage(s / "status" / "1"), ["status"]),
    "deleted field .zarray": (lambda s: (s / "geometric_heat" / ".zarray").unlink(),
                              ["geometric_heat"]),
}
BLOCKS = {"deleted field chunk": [0.5, 3.0], "garbage field chunk": [1.0, 2.0],
          "truncated text chunk": [0.5, 3.0], "deleted empty message chunk": [1.0, 2.0],
          "deleted all-NaN chunk": [0.5, 3.0], "garbage status chunk": [0.5, 3.0],
          "deleted field .zarray": [1.0, 2.0, 0.5, 3.0]}


@pytest.mark.parametrize("case", list(DAMAGE))
def test_damaged_store_is_refused_by_export_and_repaired_by_a_resume(tmp_path, store,
                                                                    pristine, counter, case):
    p, out = store
    damage, names = DAMAGE[case]
    damage(out)
    nc = tmp_path / "c.nc"
    r = invoke(["export", out, nc])
    assert r.exit_code == 2, r.output
    assert "is damaged" in r.output and all(n in r.output for n in names), r.output
    assert f"thermogeo sweep SWEEP.toml --out {out}" in r.output  # the repair
    assert "Traceback" not in r.output and not nc.exists()
    with pytest.raises(SweepDamagedError) as e:
        load_result(out)
    assert e.value.damage.names == names

    r = invoke(["sweep", p, "--out", out, "--scheduler", "serial", "--no-progress", "--json"])
    assert r.exit_code == 0, r.output
    summary = json.loads(r.output)
    assert summary["damaged_variables"] == names
    assert sorted(counter.calls) == sorted(BLOCKS[case])  # the damaged blocks, nothing else
    assert summary["computed"] == summary["damaged"] == len(BLOCKS[case])
    assert summary["ok"] == 4
    run = SweepStore(out).runs()[-1]
    assert run["damaged_variables"] == names
    xr.testing.assert_identical(strip(load_result(out)), strip(pristine[2]))
    r = invoke(["export", out, nc])
    assert r.exit_code == 0 and "4 ok, 0 error, 0 missing" in r.output, r.output


def test_resume_reports_the_repair(tmp_path, store):
    p, out = store
    (out / "geometric_heat" / "1.0.0").unlink()
    r = invoke(["sweep", p, "--out", out, "--scheduler", "serial", "--no-progress"])
    assert r.exit_code == 0, r.output
    assert "4 points: 4 ok, 0 error, 0 missing; this run computed 2 (2 already stored)" \
        in r.output
    assert "2 stored point(s) had missing or unreadable data in geometric_heat: their " \
        "blocks were recomputed" in r.output


@pytest.mark.parametrize("victim", ["status/.zarray", "run/.zattrs", "R_strength/0",
                                    "bath/.zarray"])
def test_damage_a_resume_cannot_repair_is_refused_naming_the_variable(tmp_path, store,
                                                                      counter, victim):
    """Bookkeeping metadata and coordinates are rebuilt only by --overwrite: resume and
    export refuse, naming the variable and that command; --overwrite then works."""
    p, out = store
    (out / victim).unlink()
    name = victim.split("/")[0]
    before = tree(out)
    r = invoke(["sweep", p, "--out", out, "--scheduler", "serial", "--no-progress"])
    assert r.exit_code == 2, r.output
    assert "is damaged" in r.output and f"{name}:" in r.output and "--overwrite" in r.output
    assert counter.calls == [] and tree(out) == before
    r = invoke(["export", out, tmp_path / "c.nc"])
    assert r.exit_code == 2 and f"{name}:" in r.output and "--overwrite" in r.output
    r = invoke(["sweep", p, "--out", out, "--scheduler", "serial", "--no-progress",
                "--overwrite"])
    assert r.exit_code == 0 and "4 ok" in r.output, r.output
    assert load_result(out).status.values.tolist() == ["ok"] * 4


def test_every_chunk_of_a_stored_block_is_written(tmp_path, store):
    """Store layout 2: a chunk equal to the fill value (messages of ok points without
    warnings, NaN figures) is written too, so a missing chunk is always damage."""
    _, out = store
    assert json.loads((out / ".zattrs").read_text())["store_layout"] == 2
    for var in ("message", "max_cop", "status", "run", "geometric_heat"):
        chunks = sorted(f.name for f in (out / var).iterdir() if not f.name.startswith("."))
        assert len(chunks) == 2, (var, chunks)
    assert SweepStore(out).verify().ok


def test_store_of_layout_1_is_verified_as_far_as_it_can_be(tmp_path, store, counter):
    """Stores written before layout 2 skipped chunks equal to the fill value: a missing chunk
    there cannot be told from an empty one and is accepted; an unreadable one is damage."""
    p, out = store
    attrs = json.loads((out / ".zattrs").read_text())
    del attrs["store_layout"]
    (out / ".zattrs").write_text(json.dumps(attrs))
    (out / "message" / "0").unlink()  # what layout 1 wrote for messages without warnings
    assert SweepStore(out).verify().ok
    _garbage(out / "heat_leak" / "1.0")
    with pytest.raises(SweepDamagedError, match="heat_leak: 1 unreadable"):
        load_result(out)
    s = run_sweep(p, out, executor="serial")
    assert (s.damaged, s.computed, s.damaged_variables) == (2, 2, ("heat_leak",))
    assert sorted(counter.calls) == [0.5, 3.0]


def test_an_unreadable_lock_file_is_taken_over(tmp_path, store):
    p, out = store
    SweepStore(out).lock_path.write_bytes(b"\x00garbage")
    assert run_sweep(p, out, executor="serial").computed == 0
    assert not SweepStore(out).lock_path.exists()


# -- 3. the lock holds through symbolic links and relative paths --------------------------

def test_lock_holds_through_a_symlink_and_a_relative_path(tmp_path, store, monkeypatch):
    p, out = store
    link = tmp_path / "link.zarr"
    link.symlink_to(out, target_is_directory=True)
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    with SweepStore(out).lock():
        for path in (link, Path("..") / "c.zarr", Path("..") / "link.zarr"):
            for overwrite in (False, True):
                with pytest.raises(ModelError, match="another run"):
                    run_sweep(p, path, executor="serial", overwrite=overwrite)
        assert SweepStore(link).lock_path == SweepStore(out).lock_path
    assert not SweepStore(out).lock_path.exists()
    assert run_sweep(p, link, executor="serial").computed == 0


def test_second_run_through_a_symlink_is_refused_while_the_first_runs(tmp_path):
    """The observed case: two commands on one store, one through a symlink. The second is
    refused while the first (held at the task gate) runs; every point is computed once."""
    text = RESPONSE_SWEEP.replace("chunk = 2", "chunk = 1")
    p = write(tmp_path, text)
    out, link = tmp_path / "r.zarr", tmp_path / "link.zarr"
    link.symlink_to("r.zarr", target_is_directory=True)
    args = ["--no-progress", "--scheduler", "serial"]
    proc = _start_cli(["sweep", str(p), "--out", str(out)] + args, tmp_path / "gate", passes=1)
    try:
        _wait_for_points(proc, out, 1)
        second = _cli(["sweep", str(p), "--out", str(link)] + args)
        _open_gate(tmp_path / "gate")
        o, e = proc.communicate(timeout=WAIT_S)
    finally:
        _stop(proc)
    assert second.returncode == 2 and "another run" in second.stderr, second.stderr
    assert proc.returncode == 0 and "this run computed 6" in o, (o, e)
    assert len(SweepStore(out).runs()) == 1  # the refused run did not even start one
    assert (load_result(out).run.values == 1).all()


# -- 4. workers never outlive a killed driver ---------------------------------------------

@pytest.mark.skipif(not Path("/proc/self").exists(), reason="needs Linux /proc")
def test_pool_workers_end_when_the_driver_is_killed(tmp_path):
    psutil = pytest.importorskip("psutil")
    p = write(tmp_path, RESPONSE_SWEEP.replace("chunk = 2", "chunk = 1"))
    out = tmp_path / "k.zarr"
    # one task passes, the others wait at the gate: the workers are alive and busy
    proc = _start_cli(["sweep", str(p), "--out", str(out), "--no-progress", "--workers", "2"],
                      tmp_path / "gate", passes=1, cli=CLI_SIGINT_DEFAULT)
    kids = []
    try:
        _wait_for_points(proc, out, 1)
        kids = psutil.Process(proc.pid).children(recursive=True)
        workers = [k for k in kids if "spawn_main" in " ".join(k.cmdline())]
        assert len(workers) == 2, [k.cmdline() for k in kids]
        os.kill(proc.pid, signal.SIGKILL)  # the driver only, not its process group
        proc.wait(timeout=WAIT_S)  # not communicate(): surviving workers hold its pipes
        assert proc.returncode == -signal.SIGKILL

        def alive():
            out = []
            for k in kids:
                try:
                    if k.is_running() and k.status() != psutil.STATUS_ZOMBIE:
                        out.append(k)
                except psutil.NoSuchProcess:
                    pass
            return out

        t_end = time.monotonic() + KILL_WAIT_S
        while alive() and time.monotonic() < t_end:
            time.sleep(POLL_S)
        survivors = alive()
        assert not survivors, [(k.pid, k.cmdline()) for k in survivors]
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        for k in kids:
            try:
                k.kill()
            except psutil.NoSuchProcess:
                pass
        proc.communicate(timeout=WAIT_S)
    # the stored point is intact and the rerun computes the others
    s = run_sweep(p, out, executor="serial")
    assert (s.before, s.computed, s.ok) == (1, 5, 6)


# -- 5. sweeps too large are refused before anything is allocated -------------------------

HUGE = {
    "the observed num": ('"R.strength" = { start = 0.1, stop = 2.0, num = 100000000 }',
                         "Bx = [0.7]"),
    "small axes, huge product": ('"R.strength" = { start = 0.1, stop = 2.0, num = 10000 }\n'
                                 '"L.strength" = { start = 0.1, stop = 2.0, num = 10000 }',
                                 "Bx = [0.7]"),
    "too many tasks": ('"R.strength" = { start = 0.1, stop = 2.0, num = 2000000 }',
                       "Bx = [0.7]"),
    "a huge grid at every point": ('"R.strength" = [1.0, 2.0]',
                                   "Bx = { start = 0.1, stop = 2.0, num = 100000000 }"),
}


@pytest.mark.parametrize("case", list(HUGE))
def test_huge_sweep_is_refused_with_the_estimate(tmp_path, monkeypatch, case):
    """Refused from the file's numbers alone, before the values are built (8 GiB available,
    whatever this machine has)."""
    monkeypatch.setattr(sweep_store, "available_memory_bytes", lambda: 8 * 2**30)
    combos, bx = HUGE[case]
    text = (f'model = "{QUBIT}"\nkind = "response"\nchunk = 1\n[combos]\n{combos}\n'
            f"[response]\ngrid = {{ {bx}, Bz = [0.5] }}\n")
    p = write(tmp_path, text)
    out = tmp_path / "big.zarr"
    r = invoke(["sweep", p, "--out", out, "--scheduler", "serial", "--no-progress"])
    assert r.exit_code == 2, r.output
    assert "SweepTooLargeError" in r.output and str(p) in r.output
    assert "points" in r.output and "GiB" in r.output and "tasks" in r.output
    assert sorted(x.name for x in tmp_path.iterdir()) == ["sweep.toml"]  # nothing written


def test_sweep_larger_than_the_available_memory(tmp_path, monkeypatch):
    p = write(tmp_path, RESPONSE_SWEEP)
    monkeypatch.setattr(sweep_store, "available_memory_bytes", lambda: 1000)
    with pytest.raises(SweepTooLargeError, match=r"6 points.*GiB are available"):
        run_sweep(p, tmp_path / "m.zarr", executor="serial")
    assert not (tmp_path / "m.zarr").exists()


def test_fields_too_large_are_refused_before_they_are_created(tmp_path, monkeypatch, counter):
    """The bookkeeping fits, the fields (known from the first block) do not: refused after
    that block, before any field variable is created; the store stays resumable."""
    p = write(tmp_path, RESPONSE_SWEEP)
    # 6 points in 3 tasks with 2000 bytes of fields each: room for the estimate made from the
    # file, not for the 1368 bytes of fields per point (9 fields on the 3 x 3 grid: 8 bytes a
    # node for the entropy production among them) and more
    room = sweep_store.sweep_bytes(6, 3, field_bytes=2000) - 6 * 1000
    monkeypatch.setattr(sweep_store, "available_memory_bytes", lambda: room)
    out = tmp_path / "f.zarr"
    with pytest.raises(SweepTooLargeError, match="fields 1,368 bytes per point"):
        run_sweep(p, out, executor="serial")
    st = SweepStore(out)
    assert st.fields() == set() and (st.status() == "").all()
    assert st.runs()[-1]["computed"] == 0 and not st.lock_path.exists()
    monkeypatch.undo()
    s = run_sweep(p, out, executor="serial")
    assert (s.computed, s.ok) == (6, 6)


def test_cli_reports_a_store_error_without_traceback(tmp_path):
    """The message of a refused --out reaches the user through the subprocess CLI too."""
    p = write(tmp_path, CYCLE_SWEEP)
    (tmp_path / "f.zarr").write_text("x")
    r = _cli(["sweep", str(p), "--out", str(tmp_path / "f.zarr"), "--no-progress"])
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "is an existing file" in r.stderr


def test_store_error_classes():
    assert issubclass(SweepDamagedError, SweepStoreError)
    assert issubclass(SweepStoreError, ModelError) and issubclass(SweepTooLargeError, ModelError)
