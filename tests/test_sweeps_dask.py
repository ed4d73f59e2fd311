"""Sweeps on Dask: a LocalCluster and a real scheduler with worker processes on 127.0.0.1.

Every wait is bounded; every process started here is killed at the end.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from conftest import MODELS

from thermogeo.sweeps import SweepStore, load_result, run_sweep
from thermogeo.sweeps.tasks import GATE_ENV, GATE_OPEN, GATE_PASS_ENV

distributed = pytest.importorskip("distributed")

WAIT_S = 90.0
POLL_S = 0.05
CLI = [sys.executable, "-c", "from thermogeo.cli import main; main()"]
DASK = [sys.executable, "-m", "dask"]  # the `dask scheduler` / `dask worker` commands

SWEEP = f"""
model = "{(MODELS / 'qubit_pump.toml').as_posix()}"
kind = "response"
chunk = 1
[combos]
"R.strength" = [0.5, 1.0, 2.0]
"L.temperature" = [0.5, 1.0]
[constants]
"R.temperature" = 0.75
[response]
grid = {{ Bx = [0.7, -0.3], Bz = [0.4, 1.2] }}
"""


def strip(ds: xr.Dataset) -> xr.Dataset:
    return ds.drop_vars("run").drop_attrs()


def _gate(tmp_path: Path, passes: int) -> tuple[Path, dict]:
    """A task gate (docs/decisions/0602-sweep-executors.md): the first ``passes`` tasks run,
    the others wait until the test creates ``GATE_OPEN``. No timing: the test decides."""
    gate = tmp_path / "gate"
    gate.mkdir()
    return gate, {GATE_ENV: str(gate), GATE_PASS_ENV: str(passes)}


@pytest.fixture
def sweep_file(tmp_path) -> Path:
    p = tmp_path / "sweep.toml"
    p.write_text(SWEEP)
    return p


@pytest.fixture
def serial_result(tmp_path, sweep_file) -> xr.Dataset:
    run_sweep(sweep_file, tmp_path / "serial.zarr", executor="serial")
    return load_result(tmp_path / "serial.zarr")


def test_local_cluster_matches_serial(tmp_path, sweep_file, serial_result):
    s = run_sweep(sweep_file, tmp_path / "dask.zarr", scheduler="local", workers=2)
    assert s.executor == "dask" and s.workers == 2 and s.ok == s.total == 6
    xr.testing.assert_identical(strip(load_result(tmp_path / "dask.zarr")),
                                strip(serial_result))


def _popen(args, env=None, log=None):
    return subprocess.Popen(args, stdout=log or subprocess.DEVNULL, stderr=subprocess.STDOUT
                            if log else subprocess.DEVNULL, text=True,
                            env={**os.environ, **(env or {})}, start_new_session=True)


def _kill(proc):
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=WAIT_S)


def _until(cond, what):
    t_end = time.monotonic() + WAIT_S
    while time.monotonic() < t_end:
        if cond():
            return
        time.sleep(POLL_S)
    raise AssertionError(f"timed out waiting for {what}")


def _stored(out: Path) -> int:
    try:
        return int(np.sum(SweepStore(out).status() != "")) if SweepStore(out).exists else 0
    except (KeyError, ValueError, OSError):
        return 0


def test_external_cluster_survives_a_killed_worker(tmp_path, sweep_file, serial_result):
    """Scheduler and two workers as separate processes on 127.0.0.1; one worker is killed
    while the sweep runs; the scheduler reruns its tasks and the dataset is complete."""
    sched_file = tmp_path / "scheduler.json"
    gate, gate_env = _gate(tmp_path, passes=1)
    procs = []
    try:
        procs.append(_popen(DASK + ["scheduler", "--host", "127.0.0.1", "--port", "0",
                                    "--no-dashboard", "--dashboard-address", "127.0.0.1:0",
                               "--scheduler-file", str(sched_file)]))
        _until(sched_file.exists, "the scheduler file")
        workers = [_popen(DASK + ["worker", "--scheduler-file", str(sched_file), "--host",
                                  "127.0.0.1", "--nthreads", "1", "--no-nanny", "--no-dashboard",
                                  "--dashboard-address", "127.0.0.1:0", "--name", f"w{i}"],
                          env=gate_env)
                   for i in range(2)]
        procs += workers
        with distributed.Client(scheduler_file=str(sched_file), timeout="30s") as c:
            c.wait_for_workers(2, timeout=WAIT_S)
        out = tmp_path / "ext.zarr"
        log = open(tmp_path / "sweep.log", "w")
        run = _popen(CLI + ["sweep", str(sweep_file), "--out", str(out), "--scheduler",
                            str(sched_file), "--no-progress"], log=log)
        procs.append(run)
        _until(lambda: _stored(out) >= 1 or run.poll() is not None, "a first stored block")
        # the other tasks wait at the gate: the run cannot have ended
        assert run.poll() is None, "the sweep ended before a worker could be killed"
        os.killpg(workers[0].pid, signal.SIGKILL)
        (gate / GATE_OPEN).touch()
        run.wait(timeout=WAIT_S)
        log.close()
        text = (tmp_path / "sweep.log").read_text()
        assert run.returncode == 0, text
        assert "6 ok, 0 error, 0 missing" in text
        assert workers[0].poll() is not None and workers[1].poll() is None
        xr.testing.assert_identical(strip(load_result(out)), strip(serial_result))
    finally:
        for p in reversed(procs):
            _kill(p)


def test_killed_scheduler_run_resumes(tmp_path, sweep_file, serial_result):
    """The scheduler dies mid-run: the run ends (bounded by the connect timeout) with the
    unfinished points missing, and rerunning the command computes exactly those."""
    sched_file = tmp_path / "scheduler.json"
    _, gate_env = _gate(tmp_path, passes=1)
    procs = []
    try:
        sched = _popen(DASK + ["scheduler", "--host", "127.0.0.1", "--port", "0",
                               "--no-dashboard", "--dashboard-address", "127.0.0.1:0",
                               "--scheduler-file", str(sched_file)])
        procs.append(sched)
        _until(sched_file.exists, "the scheduler file")
        procs.append(_popen(DASK + ["worker", "--scheduler-file", str(sched_file), "--host",
                                    "127.0.0.1", "--nthreads", "1", "--no-nanny",
                                    "--no-dashboard", "--dashboard-address", "127.0.0.1:0",
                                    "--death-timeout", "5s"],
                            env=gate_env))
        with distributed.Client(scheduler_file=str(sched_file), timeout="30s") as c:
            c.wait_for_workers(1, timeout=WAIT_S)
        out = tmp_path / "ks.zarr"
        log = open(tmp_path / "sweep.log", "w")
        run = _popen(CLI + ["sweep", str(sweep_file), "--out", str(out), "--scheduler",
                            str(sched_file), "--no-progress"], log=log,
                     env={"DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT": "3s"})
        procs.append(run)
        _until(lambda: _stored(out) >= 1 or run.poll() is not None, "a first stored block")
        assert run.poll() is None, "the sweep ended before the scheduler could be killed"
        os.killpg(sched.pid, signal.SIGKILL)
        run.wait(timeout=WAIT_S)
        log.close()
        text = (tmp_path / "sweep.log").read_text()
        assert run.returncode == 1, text
        status = SweepStore(out).status()
        missing = int(np.sum(status == ""))
        assert missing == status.size - 1  # one task passed the gate before the kill
        s = run_sweep(sweep_file, out, executor="serial")
        assert s.computed == missing and s.missing == 0
        xr.testing.assert_identical(strip(load_result(out)), strip(serial_result))
    finally:
        for p in reversed(procs):
            _kill(p)


def test_bad_scheduler_address_is_a_clear_error(tmp_path, sweep_file):
    r = subprocess.run(CLI + ["sweep", str(sweep_file), "--out", str(tmp_path / "b.zarr"),
                              "--scheduler", "not-an-address", "--no-progress"],
                       capture_output=True, text=True, timeout=WAIT_S)
    assert r.returncode == 2 and "scheduler: cannot connect" in r.stderr
