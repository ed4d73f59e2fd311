"""Running a sweep: one driver, interchangeable executors, resumable storage.

The driver opens the store, finds the blocks with missing points, submits one task per block
to an executor and writes each block to the store as soon as its task returns. Executors:

``serial``     in this process (debugging, tests);
``processes``  a local pool of spawned processes (the default), BLAS pinned to one thread each;
``dask``       a Dask distributed client: an existing cluster (scheduler address or scheduler
               file) or a :class:`distributed.LocalCluster` (``scheduler="local"``).

All three run the same task function (:func:`thermogeo.sweeps.tasks.run_chunk`) on the same
blocks, so their datasets are identical. A lost Dask worker's tasks are rerun by the scheduler;
a broken local pool is restarted; tasks that still fail leave their points missing, to be
computed by the next run of the same command. Points stored with status "error" are kept
on a resumed run unless ``retry_errors=True`` (CLI ``--retry-errors``) recomputes them.

Safety (docs/decisions/0603-store-safety.md): the size of a sweep is checked before anything of
that size is allocated; the store is locked (through its real path) before it is created,
overwritten or resumed; a resume verifies the store and recomputes the blocks whose stored data
is missing or unreadable; the local pool's workers end when the driver dies, however it dies.
"""

from __future__ import annotations

import contextlib
import ctypes
import math
import multiprocessing
import multiprocessing.connection
import os
import signal
import sys
import threading
import time
import tomllib
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from thermogeo.errors import ModelError
from thermogeo.sweeps.spec import DEFAULT_CHUNK, SweepSpec, load_sweep
from thermogeo.sweeps.store import (SweepDamagedError, SweepStore, _damaged_message,
                                    check_sweep_size)
from thermogeo.sweeps.tasks import (BLAS_ENV, STATUS_ERROR, STATUS_MISSING, STATUS_OK,
                                    ChunkResult, pin_blas_threads, run_chunk)

EXECUTORS = ("serial", "processes", "dask")
POOL_RESTARTS = 2
DASK_RETRIES = 3


@dataclass(frozen=True)
class SweepSummary:
    """What a run did.

    Attributes
    ----------
    path : str
    total : int               points of the sweep grid
    before : int              points already stored (ok or error) when the run started
    computed : int            points computed by this run (missing and retried ones)
    ok, error, missing : int  points of the store by status after the run
    run : int                 number of this run in the store's ``runs_json``
    executor : str
    workers : int
    elapsed : float           wall-clock seconds of the run (worker start-up included)
    task_seconds : float      seconds spent inside tasks, summed over tasks
    lost_chunks : int         tasks that failed as tasks (worker loss...): their points stay
                              missing
    stopped : bool            ``fail_fast`` stopped the run at the first error
    errors : tuple            ``(overrides, message)`` of the first few error points of the run
    error_kinds : dict        exception name -> number of error points in the store
    retry_errors : bool       the run recomputed the points stored with status "error"
    retried : int             error points recomputed by this run (a lost task's points keep
                              their old error and are not counted)
    recovered : int           of those, the points whose status is now "ok"
    damaged : int             stored points whose data was missing or unreadable when the run
                              started (their blocks were recomputed as a whole)
    damaged_variables : tuple the variables where the damage was found
    """

    path: str
    total: int
    before: int
    computed: int
    ok: int
    error: int
    missing: int
    run: int
    executor: str
    workers: int
    elapsed: float
    task_seconds: float = 0.0
    lost_chunks: int = 0
    stopped: bool = False
    errors: tuple = field(default_factory=tuple)
    error_kinds: dict = field(default_factory=dict)
    retry_errors: bool = False
    retried: int = 0
    recovered: int = 0
    damaged: int = 0
    damaged_variables: tuple = ()

    @property
    def rate(self) -> float:
        """Points computed per second of this run."""
        return self.computed / self.elapsed if self.elapsed > 0 else float("nan")

    @property
    def complete(self) -> bool:
        return self.missing == 0

    def to_dict(self) -> dict:
        return {"path": self.path, "total": self.total, "before": self.before,
                "computed": self.computed, "ok": self.ok, "error": self.error,
                "missing": self.missing, "run": self.run, "executor": self.executor,
                "workers": self.workers, "elapsed": self.elapsed,
                "task_seconds": self.task_seconds, "rate": self.rate,
                "lost_chunks": self.lost_chunks, "stopped": self.stopped,
                "errors": [{"at": a, "message": m} for a, m in self.errors],
                "error_kinds": dict(self.error_kinds), "retry_errors": self.retry_errors,
                "retried": self.retried, "recovered": self.recovered,
                "damaged": self.damaged, "damaged_variables": list(self.damaged_variables)}


# -- executors ---------------------------------------------------------------------------

class _Serial:
    name = "serial"

    def __init__(self, spec):
        self.spec, self.workers = spec, 1

    def run(self, jobs) -> Iterator[tuple[tuple, ChunkResult | None, BaseException | None]]:
        for block, todo in jobs:
            with _one_blas_thread():
                res = run_chunk(self.spec, block, todo)
            yield block, res, None

    def close(self, cancel=False):
        pass


class _Pool:
    name = "processes"

    def __init__(self, spec, workers):
        self.spec, self.workers, self.restarts = spec, workers, 0
        self.pool = self._new()

    def _new(self):
        return ProcessPoolExecutor(max_workers=self.workers, initializer=_worker_init,
                                   initargs=(os.getpid(),),
                                   mp_context=multiprocessing.get_context("spawn"))

    def run(self, jobs):
        pending = {self.pool.submit(run_chunk, self.spec, b, t): (b, t) for b, t in jobs}
        while pending:
            broken = False
            for f in as_completed(list(pending)):
                b, t = pending.pop(f)
                try:
                    yield b, f.result(), None
                except BrokenProcessPool:
                    pending[f] = (b, t)
                    broken = True
                    break
                except Exception as e:  # noqa: BLE001 - reported as a lost chunk
                    yield b, None, e
            if broken:
                jobs = list(pending.values())
                self.pool.shutdown(wait=True, cancel_futures=True)
                if self.restarts >= POOL_RESTARTS:
                    for b, _ in jobs:
                        yield b, None, BrokenProcessPool("the local process pool broke "
                                                         f"{self.restarts + 1} times")
                    return
                self.restarts += 1
                self.pool = self._new()
                pending = {self.pool.submit(run_chunk, self.spec, b, t): (b, t)
                           for b, t in jobs}

    def close(self, cancel=False):
        self.pool.shutdown(wait=not cancel, cancel_futures=cancel)


class _Dask:
    name = "dask"

    def __init__(self, spec, client=None, scheduler="local", workers=None):
        from distributed import Client, LocalCluster

        self.spec, self._own = spec, []
        if client is None:
            if scheduler == "local":
                # loopback only; HTTP servers on free ports (8787 may be taken)
                cluster = LocalCluster(n_workers=workers or _cpu_count(), threads_per_worker=1,
                                       processes=True, host="127.0.0.1",
                                       dashboard_address="127.0.0.1:0",
                                       worker_dashboard_address="127.0.0.1:0")
                self._own.append(cluster)
                client = Client(cluster)
            else:
                try:
                    if str(scheduler).endswith(".json") and Path(scheduler).is_file():
                        client = Client(scheduler_file=str(scheduler))
                    else:
                        client = Client(scheduler)
                except (OSError, TimeoutError, ValueError) as e:
                    raise ModelError(f"scheduler: cannot connect to {scheduler!r} ({e}); "
                                     "expected 'local', a scheduler address such as "
                                     "tcp://127.0.0.1:8786, or a scheduler file (*.json)"
                                     ) from None
            self._own.insert(0, client)
        self.client = client
        self.workers = len(client.nthreads()) or (workers or 0)
        self.futures = []

    def run(self, jobs):
        from distributed import as_completed as dask_completed

        index = {}
        for b, t in jobs:
            f = self.client.submit(run_chunk, self.spec, b, t, pure=False,
                                   retries=DASK_RETRIES)
            index[f.key] = b
            self.futures.append(f)
        for f in dask_completed(self.futures):
            b = index[f.key]
            try:
                yield b, f.result(), None
            except Exception as e:  # noqa: BLE001 - KilledWorker etc.: a lost chunk
                yield b, None, e
            f.release()

    def close(self, cancel=False):
        if cancel and self.futures:
            with contextlib.suppress(Exception):
                self.client.cancel(self.futures)
        for x in self._own:
            with contextlib.suppress(Exception):
                x.close()


PR_SET_PDEATHSIG = 1  # linux/prctl.h


def _worker_init(parent_pid: int) -> None:
    """Initializer of the local pool's workers: one BLAS thread, and end with the driver.

    A worker blocks on the pool's queue, whose pipe it holds both ends of, so a killed
    driver (SIGKILL, out of memory) would leave it waiting forever, and with it the resource
    tracker. Two guards: on Linux the kernel sends SIGKILL when the driver dies
    (``prctl(PR_SET_PDEATHSIG)``); everywhere, a thread waits on the pipe that only the
    driver holds open (``multiprocessing.parent_process().sentinel``) and exits the process
    when it closes.
    """
    _die_with_parent(parent_pid)
    pin_blas_threads()


def _die_with_parent(parent_pid: int) -> None:
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
        except (OSError, AttributeError):  # pragma: no cover - no usable libc
            pass
    if os.getppid() != parent_pid:  # the driver died before the guard was set
        os._exit(1)
    parent = multiprocessing.parent_process()
    sentinel = getattr(parent, "sentinel", None)
    if sentinel is not None:
        threading.Thread(target=_exit_with, args=(sentinel,), daemon=True,
                         name="thermogeo-driver-watch").start()


def _exit_with(sentinel) -> None:
    """Wait until the driver's end of the pipe closes (it died), then end this process."""
    multiprocessing.connection.wait([sentinel])
    os._exit(1)


def _cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


@contextlib.contextmanager
def _one_blas_thread():
    """One BLAS thread inside (like the workers), restored afterwards."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - optional
        yield
        return
    with threadpool_limits(1):
        yield


@contextlib.contextmanager
def _blas_env():
    """One BLAS thread in every process started inside (spawned pool workers)."""
    old = {k: os.environ.get(k) for k in BLAS_ENV}
    os.environ.update({k: "1" for k in BLAS_ENV})
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


# -- the driver --------------------------------------------------------------------------

def run_sweep(sweep: SweepSpec | str | Path, out: str | Path, *, executor: str = "processes",
              scheduler: str | None = None, workers: int | None = None, client=None,
              overwrite: bool = False, fail_fast: bool = False, retry_errors: bool = False,
              progress: bool = False) -> SweepSummary:
    """Run (or resume) a sweep into a Zarr store.

    Parameters
    ----------
    sweep : SweepSpec or path of a sweep file
    out : str or Path
        The ``RESULT.zarr`` store. Existing points are kept and only missing points computed
        (plus the error points if ``retry_errors``); a store made by another sweep/model file
        is refused unless ``overwrite``.
    executor : {"serial", "processes", "dask"}
        Where tasks run. ``scheduler`` or ``client`` imply ``"dask"``.
    scheduler : str, optional
        ``"local"`` (start a LocalCluster of ``workers`` processes), a scheduler address
        (``tcp://127.0.0.1:8786``) or the path of a scheduler file (``*.json``). Connecting
        and reconnecting after a lost scheduler wait ``distributed.comm.timeouts.connect``
        (Dask config, e.g. ``DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT=10s``); then the run
        ends with the unfinished points missing.
    workers : int, optional
        Worker processes of the local pool or LocalCluster (default: available cores).
    client : distributed.Client, optional
        Use this client (not closed at the end).
    overwrite : bool
        Discard an existing store.
    fail_fast : bool
        Stop at the first point with status "error" (pending tasks are cancelled; the points
        done so far stay stored).
    retry_errors : bool
        Also recompute the points stored with status "error" (a transient failure, or a
        cause fixed outside the sweep and model files). Points with status "ok" are never
        recomputed; a retried point that fails again is stored with its new message. The
        point set of one run is ``todo = (status == "") | (retry_errors & (status == "error"))``.
    progress : bool
        Show a progress bar (points done, rate, time left) on stderr.

    Returns
    -------
    SweepSummary

    Raises
    ------
    SweepMismatchError
        The store was made by a different sweep or model file.
    KeyboardInterrupt
        After recording the run as interrupted; finished blocks stay stored.
    """
    if not isinstance(sweep, SweepSpec):
        size = _points_in_file(sweep)  # before parsing: the values themselves take memory
        if size is not None:
            n, tasks, shape, inner, values = size
            check_sweep_size(n, tasks, field_bytes=INNER_BYTES * inner,
                             extra_bytes=VALUE_BYTES * values,
                             shape=shape, where=str(sweep))
    spec = sweep if isinstance(sweep, SweepSpec) else load_sweep(sweep)
    check_sweep_size(spec.n_points, _n_tasks(spec), shape=spec.shape,
                     where=str(getattr(spec, "source", "sweep")) if not isinstance(
                         sweep, (str, Path)) else str(sweep))
    if scheduler is not None or client is not None:
        executor = "dask"
    if executor not in EXECUTORS:
        raise ModelError(f"executor: expected one of {', '.join(EXECUTORS)}, got {executor!r}")
    if workers is not None and (isinstance(workers, bool) or int(workers) < 1):
        raise ModelError(f"workers: expected a positive integer, got {workers!r}")
    if not isinstance(retry_errors, (bool, np.bool_)):
        raise ModelError(f"retry_errors: expected True or False, got {retry_errors!r}")
    store = SweepStore(out)
    store.check_target(overwrite=overwrite)  # refuse a wrong --out before taking the lock
    with store.lock():
        store.prepare(spec, overwrite=overwrite)
        return _run(spec, store, out, executor, scheduler, workers, client, fail_fast,
                    bool(retry_errors), progress)


def _n_tasks(spec: SweepSpec) -> int:
    return math.prod(math.ceil(n / c) for n, c in zip(spec.shape, spec.chunk_shape))


#: Bytes of one swept value while a sweep file is parsed (a Python float in a tuple and the
#: array it came from).
VALUE_BYTES = 40
#: Stored bytes per inner point (response grid point, exact-kind period) at least: eight
#: floats (entropy, two levels, rotor, metric, heat response, current, gradient of one bath
#: and one parameter; an exact cycle has more).
INNER_BYTES = 64


def _points_in_file(path) -> tuple[int, int, tuple, int, int] | None:
    """``(points, tasks at least, shape, inner points, values)`` of a sweep file read from
    its TOML without building the values (a ``num`` of 10^8 would take gigabytes): inner
    points are those of the response grid and the exact kind's periods (every point stores
    at least :data:`INNER_BYTES` per inner point), values all the numbers the file asks to
    build. None when the file does not say (``load_sweep`` then reports what is wrong)."""
    try:
        data = tomllib.loads(Path(path).read_text())
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return None

    def count(v):
        if isinstance(v, list):
            return len(v)
        num = v.get("num") if isinstance(v, dict) else None
        return num if isinstance(num, int) and not isinstance(num, bool) and num > 0 else None

    combos, cases = data.get("combos", {}), data.get("cases", {})
    if not isinstance(combos, dict) or not isinstance(cases, dict):
        return None
    shape = [count(v) for v in combos.values()]
    if cases:
        shape.append(count(next(iter(cases.values()))))
    chunk = data.get("chunk", DEFAULT_CHUNK)
    if not shape or None in shape or isinstance(chunk, bool) or not isinstance(chunk, int) \
            or chunk < 1:
        return None
    inner = []
    grid = data.get("response", {}).get("grid", {}) if isinstance(data.get("response"),
                                                                   dict) else {}
    if isinstance(grid, dict):
        inner += [count(v) or 0 for v in grid.values()]
    if isinstance(data.get("exact"), dict) and "periods" in data["exact"]:
        inner.append(count(data["exact"]["periods"]) or 0)
    values = sum(shape) + sum(count(v) or 0 for v in cases.values()) + sum(inner)
    n = math.prod(shape)
    return n, -(-n // chunk), tuple(shape), math.prod(inner), values


def _run(spec, store, out, executor, scheduler, workers, client, fail_fast, retry_errors,
         progress) -> SweepSummary:
    damage = store.verify()
    if damage.fatal:
        raise SweepDamagedError(_damaged_message(store.path, damage, spec.dims), damage)
    store.drop_fields(damage.variables)  # fields without usable metadata: made anew
    status, hurt = damage.status, damage.points
    before = int(np.sum((status != STATUS_MISSING) & ~hurt))
    redo = (STATUS_MISSING, STATUS_ERROR) if retry_errors else (STATUS_MISSING,)
    cs = spec.chunk_shape
    jobs = []
    for b in spec.blocks():
        if tuple(s.start // c for s, c in zip(b, cs)) in damage.blocks:
            todo = np.ones(status[b].shape, bool)  # damaged: the whole block anew
        else:
            todo = np.isin(status[b], redo)
        if todo.any():
            jobs.append((b, todo))
    n_todo = sum(int(t.sum()) for _, t in jobs)
    n_retry = int(np.sum((status == STATUS_ERROR) & ~hurt)) if retry_errors else 0
    n_damaged = int(hurt.sum())
    sized = bool(store.fields())
    t0 = time.perf_counter()
    counts = {"computed": 0, "ok": 0, "error": 0, "lost": 0, "task_seconds": 0.0,
              "retried": 0, "recovered": 0}
    errors: list = []
    stopped = interrupted = False
    ex = None
    run = 0
    bar = _progress(progress, spec.n_points, before)
    try:
        with _blas_env():
            if not jobs:
                ex_name, n_workers = executor, 0
            else:
                if executor == "serial":
                    ex = _Serial(spec)
                elif executor == "processes":
                    ex = _Pool(spec, workers or _cpu_count())
                else:
                    ex = _Dask(spec, client=client, scheduler=scheduler or "local",
                               workers=workers)
                ex_name, n_workers = ex.name, ex.workers
            run = store.start_run({"executor": ex_name, "workers": n_workers,
                                   "missing_at_start": n_todo - n_retry - n_damaged,
                                   "retry_errors": retry_errors,
                                   "errors_to_retry": n_retry,
                                   "damaged_points": n_damaged,
                                   "damaged_variables": damage.names})
            with bar:
                for block, res, exc in (ex.run(jobs) if ex else ()):
                    if exc is not None:
                        counts["lost"] += 1
                        continue
                    if res.schema and not sized:  # the first fields: is the whole sweep too big?
                        n = len(spec.shape)
                        per_point = sum(v.dtype.itemsize * math.prod(v.shape[n:])
                                        for v in res.values.values())
                        check_sweep_size(spec.n_points, _n_tasks(spec), field_bytes=per_point,
                                         shape=spec.shape, where=str(out))
                        sized = True
                    _store_block(store, spec, res, run)
                    counts["task_seconds"] += res.elapsed
                    done = int(res.computed.sum())
                    counts["computed"] += done
                    counts["ok"] += int(np.sum(res.status == STATUS_OK))
                    counts["error"] += res.n_errors
                    was_error = (status[block] == STATUS_ERROR) & ~hurt[block]
                    counts["retried"] += int(np.sum(res.computed & was_error))
                    counts["recovered"] += int(np.sum(was_error & (res.status == STATUS_OK)))
                    if res.n_errors and len(errors) < 5:
                        for local in zip(*np.nonzero(res.status == STATUS_ERROR)):
                            idx = tuple(int(s.start + i) for s, i in zip(block, local))
                            errors.append((spec.values_at(idx), str(res.message[local])))
                    bar.advance(done)
                    if fail_fast and res.n_errors:
                        stopped = True
                        break
    except KeyboardInterrupt:
        interrupted = True
        raise
    finally:
        if ex is not None:
            ex.close(cancel=stopped or interrupted)
        elapsed = time.perf_counter() - t0
        if run:
            store.finish_run(run, {"computed": counts["computed"], "ok": counts["ok"],
                                   "error": counts["error"], "lost_chunks": counts["lost"],
                                   "elapsed": elapsed, "task_seconds": counts["task_seconds"],
                                   "stopped": stopped, "retried": counts["retried"],
                                   "recovered": counts["recovered"],
                                   "pool_restarts": getattr(ex, "restarts", 0),
                                   "interrupted": interrupted})
    final = store.status()
    kinds: dict[str, int] = {}
    if np.any(final == STATUS_ERROR):
        for m in store.messages()[final == STATUS_ERROR]:
            k = str(m).split(":", 1)[0] or "unknown"
            kinds[k] = kinds.get(k, 0) + 1
    return SweepSummary(
        path=str(out), total=spec.n_points, before=before, computed=counts["computed"],
        ok=int(np.sum(final == STATUS_OK)), error=int(np.sum(final == STATUS_ERROR)),
        missing=int(np.sum(final == STATUS_MISSING)), run=run, executor=ex_name,
        workers=n_workers, elapsed=elapsed, task_seconds=counts["task_seconds"],
        lost_chunks=counts["lost"], stopped=stopped,
        errors=tuple(errors[:5]), error_kinds=kinds, retry_errors=retry_errors,
        retried=counts["retried"], recovered=counts["recovered"], damaged=n_damaged,
        damaged_variables=tuple(damage.names))


def _store_block(store: SweepStore, spec: SweepSpec, res: ChunkResult, run: int) -> None:
    """Write a block; a block whose fields do not fit the store becomes errors."""
    try:
        store.ensure_fields(spec, res)
        store.write(spec, res, run)
    except ValueError as e:
        ok = res.status == STATUS_OK
        res.status[ok] = STATUS_ERROR
        res.message[ok] = f"ValueError: {e}"[:res.message.dtype.itemsize // 4]
        res.schema, res.values = {}, {}
        store.write(spec, res, run)


class _NoBar:
    def __enter__(self):
        return self

    def __exit__(self, *a):
        return False

    def advance(self, n):
        pass


class _Bar:
    """A rich progress bar: points done / total, points per second, time left."""

    def __init__(self, total, done):
        from rich.console import Console
        from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                                   TimeElapsedColumn, TimeRemainingColumn)

        self.progress = Progress(TextColumn("sweep"), BarColumn(), MofNCompleteColumn(),
                                 TextColumn("{task.fields[rate]}"), TimeElapsedColumn(),
                                 TextColumn("left"), TimeRemainingColumn(),
                                 console=Console(stderr=True))
        self.task = self.progress.add_task("sweep", total=total, completed=done, rate="")
        self.t0, self.done0, self.done = time.perf_counter(), done, done

    def __enter__(self):
        self.progress.__enter__()
        return self

    def __exit__(self, *a):
        return self.progress.__exit__(*a)

    def advance(self, n):
        self.done += n
        dt = time.perf_counter() - self.t0
        rate = f"{(self.done - self.done0) / dt:.2f} pt/s" if dt > 0 else ""
        self.progress.update(self.task, advance=n, rate=rate)


def _progress(show: bool, total: int, done: int):
    return _Bar(total, done) if show else _NoBar()
