"""The computation of one task: a block of sweep points, each one machine variant.

A task receives the spec and a block of the sweep grid, builds each point's machine
``base.with_values(**overrides)`` and computes the spec's kind there:

``response``  one batched :func:`thermogeo.response` call on the driving grid
              (``Lambda^alpha_i``, rotor ``Omega^alpha``, metric ``g_ij``, heat currents...);
``optimal``   :func:`thermogeo.protocols.optimal.optimal_region` (best single-sign region of
              the rotor, its geometric heat and the ``N T ln 2`` bound);
``cycle``     :func:`thermogeo.protocols.cycle.cycle_summary` for every named loop;
``exact``     :func:`thermogeo.dynamics.periodic.exact_cycle` for every loop and period;
``fluctuations`` :func:`thermogeo.protocols.fluctuations.cycle_fluctuations` for every loop
              and, with ``periods``, the per-cycle cumulants there (``exact = true``: also
              :func:`thermogeo.dynamics.counting.exact_fluctuations`).

The last three modules are imported lazily, so the response kind works without them. Every
point ends with a status, ``"ok"`` or ``"error"``, and a message (the exception, or the warnings
raised while computing an ok point): errors are data, never a silent NaN.
"""

from __future__ import annotations

import os
import socket
import sys
import time
import traceback
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from thermogeo.sweeps.spec import SweepSpec, make_loop, make_region
from thermogeo.response import response
from thermogeo.protocols.optimal import optimal_region
from thermogeo.protocols.cycle import cycle_summary
from thermogeo.dynamics.periodic import exact_cycle
from thermogeo.dynamics.counting import exact_fluctuations
from thermogeo.protocols.fluctuations import cycle_fluctuations

#: Seconds every task sleeps before computing. A fault-injection knob for demos of
#: interruption and worker loss (read from the environment of the worker process).
DELAY_ENV = "THERMOGEO_SWEEP_TASK_DELAY"
#: Fault injection without timing (tests): a directory shared by all workers. Every task takes
#: a numbered ticket there (a file created exclusively); the first ``GATE_PASS_ENV`` tickets
#: run, later tasks wait until the file ``GATE_OPEN`` exists in the directory. A worker
#: interrupted (SIGINT) while it waits lets every later task of that process through, so an
#: interrupted pool can drain the tasks already queued to it and exit.
GATE_ENV = "THERMOGEO_SWEEP_TASK_GATE"
GATE_PASS_ENV = "THERMOGEO_SWEEP_TASK_GATE_PASS"
GATE_OPEN = "open"
GATE_POLL_S = 0.01
BLAS_ENV = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
            "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")
MESSAGE_CHARS = 400
#: Width of the text fields of a result (e.g. the engine ``mode``).
TEXT_CHARS = 16
STATUS_OK, STATUS_ERROR, STATUS_MISSING = "ok", "error", ""

_pinned = False


def pin_blas_threads() -> None:
    """Limit BLAS/OpenMP to one thread in this process (once): the workers already run in
    parallel, and nested BLAS threads would oversubscribe the cores.

    Sets the usual environment variables (for processes started from here) and, when
    ``threadpoolctl`` is installed, limits the already loaded BLAS libraries.
    """
    global _pinned
    if _pinned:
        return
    for k in BLAS_ENV:
        os.environ[k] = "1"
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - env vars set before numpy loaded still apply
        pass
    else:
        threadpool_limits(1)
    _pinned = True


def _in_worker() -> bool:
    """True in a pool process or a Dask worker (never pin the user's own process)."""
    import multiprocessing

    if multiprocessing.parent_process() is not None:
        return True
    if "distributed" not in sys.modules:  # not imported: cannot be a Dask worker
        return False
    try:
        from distributed import get_worker

        get_worker()
    except (ImportError, ValueError):
        return False
    return True


@dataclass
class ChunkResult:
    """What a task sends back: the values of one block of the sweep grid.

    Attributes
    ----------
    block : tuple of slice          the block of the sweep grid
    computed : (*c,) bool           points of the block computed by this task
    status : (*c,) str              "ok" / "error" ("" where not computed)
    message : (*c,) str
    values : name -> (*c, *inner)   results (NaN where status is not "ok")
    schema : name -> (inner dims, attrs)
    coords : name -> (dims, values, attrs)   coordinates of the inner dimensions
    elapsed : float                 seconds spent in the task
    worker : str                    host:pid of the process that ran it
    """

    block: tuple
    computed: np.ndarray
    status: np.ndarray
    message: np.ndarray
    values: dict = field(default_factory=dict)
    schema: dict = field(default_factory=dict)
    coords: dict = field(default_factory=dict)
    elapsed: float = 0.0
    worker: str = ""

    @property
    def n_errors(self) -> int:
        return int(np.sum(self.status == STATUS_ERROR))


def run_chunk(spec: SweepSpec, block: tuple, todo: np.ndarray | None = None) -> ChunkResult:
    """Compute the points ``todo`` (default: all) of ``block`` of the sweep grid.

    Parameters
    ----------
    spec : SweepSpec
    block : tuple of slice, one per sweep dimension
    todo : (*c,) bool, optional
        Which points of the block to compute (the missing ones on a resumed run).

    Returns
    -------
    ChunkResult
    """
    t0 = time.perf_counter()
    if _in_worker():
        pin_blas_threads()
    delay = float(os.environ.get(DELAY_ENV, "0") or 0)
    if delay > 0:
        time.sleep(delay)
    _gate()
    shape = tuple(s.stop - s.start for s in block)
    todo = np.ones(shape, bool) if todo is None else np.asarray(todo, bool)
    status = np.full(shape, STATUS_MISSING, dtype=f"<U{len(STATUS_ERROR)}")
    message = np.full(shape, "", dtype=f"<U{MESSAGE_CHARS}")
    res = ChunkResult(block=block, computed=todo.copy(), status=status, message=message,
                      worker=f"{socket.gethostname()}:{os.getpid()}")
    base = spec.machine
    for local in zip(*np.nonzero(todo)):
        index = tuple(int(s.start + i) for s, i in zip(block, local))
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                machine = base.with_values(**spec.values_at(index))
                fields, coords = compute_point(spec, machine)
            _merge(res, local, shape, fields, coords)
            status[local] = STATUS_OK
            notes = sorted({f"{w.category.__name__}: {w.message}" for w in caught})
            message[local] = _clip("; ".join(notes))
        except Exception as e:  # noqa: BLE001 - every failure becomes the point's status
            status[local] = STATUS_ERROR
            message[local] = _clip(f"{type(e).__name__}: {e}" if str(e) else
                                   traceback.format_exc(limit=2))
    res.elapsed = time.perf_counter() - t0
    return res


_gate_interrupted = False


def _gate() -> None:
    """Take a ticket of the :data:`GATE_ENV` directory; wait for ``GATE_OPEN`` unless the
    ticket is among the first :data:`GATE_PASS_ENV` (no-op when the variable is unset)."""
    global _gate_interrupted
    gate = os.environ.get(GATE_ENV, "")
    if not gate or _gate_interrupted:
        return
    passes = int(os.environ.get(GATE_PASS_ENV, "0") or 0)
    ticket = 0
    while True:
        try:
            os.close(os.open(os.path.join(gate, f"ticket-{ticket}"),
                             os.O_CREAT | os.O_EXCL | os.O_WRONLY))
            break
        except FileExistsError:
            ticket += 1
    if ticket < passes:
        return
    try:
        while not os.path.exists(os.path.join(gate, GATE_OPEN)):
            time.sleep(GATE_POLL_S)
    except KeyboardInterrupt:
        _gate_interrupted = True
        raise


def _clip(text: str) -> str:
    return text if len(text) <= MESSAGE_CHARS else text[:MESSAGE_CHARS - 3] + "..."


def _merge(res: ChunkResult, local, shape, fields, coords) -> None:
    """Put one point's fields into the block arrays (first ok point fixes the schema).
    Fields are float, bool (fill False) or text of at most :data:`TEXT_CHARS` characters
    (fill "")."""
    if not res.schema:
        for name, (dims, arr, attrs) in fields.items():
            arr = np.asarray(arr)
            kind = arr.dtype.kind
            dtype = bool if kind == "b" else f"<U{TEXT_CHARS}" if kind in "US" else float
            fill = False if kind == "b" else "" if kind in "US" else np.nan
            res.values[name] = np.full(shape + arr.shape, fill, dtype=dtype)
            res.schema[name] = (tuple(dims), dict(attrs))
        res.coords = {k: (tuple(d), np.asarray(v), dict(a)) for k, (d, v, a) in coords.items()}
    if set(fields) != set(res.schema):
        raise ValueError(f"result fields {sorted(fields)} differ from the block's first point "
                         f"{sorted(res.schema)}")
    for name, (dims, arr, _) in fields.items():
        target = res.values[name]
        arr = np.asarray(arr)
        if tuple(dims) != res.schema[name][0] or arr.shape != target.shape[len(shape):]:
            raise ValueError(f"result field {name!r} has dims {dims} shape {arr.shape}, the "
                             f"block's first point {res.schema[name][0]} "
                             f"{target.shape[len(shape):]}")
        if arr.dtype.kind in "US" and arr.size and max(map(len, arr.ravel())) > TEXT_CHARS:
            raise ValueError(f"result field {name!r}: text longer than {TEXT_CHARS} "
                             "characters")
        target[local] = arr


# -- the kinds ---------------------------------------------------------------------------

def compute_point(spec: SweepSpec, machine) -> tuple[dict, dict]:
    """Fields ``name -> (inner dims, array, attrs)`` and inner coordinates
    ``name -> (dims, values, attrs)`` of the spec's kind at one machine."""
    return _KINDS[spec.kind](spec.options, machine)


def _response(opts: Mapping, machine) -> tuple[dict, dict]:
    names = list(opts["grid"])
    axes = [np.asarray(v, float) for v in opts["grid"].values()]
    mesh = np.meshgrid(*axes, indexing="ij")
    lam = np.broadcast_to(machine.point(), mesh[0].shape + (len(machine.parameters),)).copy()
    for n, m in zip(names, mesh):
        lam[..., machine.parameter_index(n)] = m
    r = response(machine, lam, plane=opts.get("plane"), correlations=opts.get("correlations"))
    ds = r.to_dataset(coords=dict(zip(names, axes)))
    fields = {k: (v.dims, v.values, dict(v.attrs)) for k, v in ds.data_vars.items()
              if k not in ("unique", "valid")}  # sweep points are validated up front
    coords = {k: (v.dims, v.values, {"units": "parameter unit"} if k in names else {})
              for k, v in ds.coords.items()}
    return fields, coords


def _from_dataset(ds) -> tuple[dict, dict]:
    """Fields and coordinates of a result's ``to_dataset()``."""
    fields = {k: (v.dims, v.values, dict(v.attrs)) for k, v in ds.data_vars.items()}
    coords = {k: (v.dims, v.values, dict(v.attrs)) for k, v in ds.coords.items()}
    return fields, coords


def _optimal(opts: Mapping, machine) -> tuple[dict, dict]:
    kw = {k: opts[k] for k in ("region", "resolution") if k in opts}
    if "region" in kw:
        kw["region"] = make_region(kw["region"])
    out = optimal_region(machine, tuple(opts["plane"]), opts["bath"], **kw)
    return _from_dataset(out.to_dataset(grid=False))


def _cycle(opts: Mapping, machine) -> tuple[dict, dict]:
    kw = {k: opts[k] for k in ("timing", "bias", "bath") if k in opts}
    # engine figures only with a bias: every point of a sweep has the same fields, also when
    # it varies the temperatures through equal ones (docs/decisions/0310)
    kw["figures"] = "bias" in opts
    per_loop = []
    for name, table in opts["loops"].items():
        loop = make_loop(table, f"loops.{name}")
        per_loop.append(_from_dataset(cycle_summary(machine, loop, **kw).to_dataset()))
    return _stack(per_loop, [("loop", list(opts["loops"]))])


def _exact(opts: Mapping, machine) -> tuple[dict, dict]:
    per = []
    for name, table in opts["loops"].items():
        loop = make_loop(table, f"loops.{name}")
        for tau in opts["periods"]:
            f, c = _flatten(exact_cycle(machine, loop, tau).to_dict(), machine)
            per.append(({EXACT_NAMES.get(k, k): v for k, v in f.items()}, c))
    return _stack(per, [("loop", list(opts["loops"])), ("period", list(opts["periods"]))])


def _fluctuations(opts: Mapping, machine) -> tuple[dict, dict]:
    """Slow-driving counting statistics per loop and, with ``periods``, the cumulants per
    cycle there (slow driving, prefix ``slow_driving_``; with ``exact``, prefix ``exact_``)."""
    per_loop, per_period = [], []
    periods = list(opts.get("periods") or ())
    for name, table in opts["loops"].items():
        loop = make_loop(table, f"loops.{name}")
        f = cycle_fluctuations(machine, loop)
        per_loop.append(_from_dataset(f.to_dataset()))
        for tau in periods:
            parts = [("slow_driving_", f.at(tau).to_dataset())]
            if opts.get("exact"):
                parts.append(("exact_", exact_fluctuations(machine, loop, tau).to_dataset()))
            fields, coords = {}, {}
            for prefix, ds in parts:
                fi, co = _from_dataset(ds.drop_vars("period"))
                fields.update({prefix + k: v for k, v in fi.items()})
                coords.update(co)
            per_period.append((fields, coords))
    fields, coords = _stack(per_loop, [("loop", list(opts["loops"]))])
    if periods:
        f2, c2 = _stack(per_period, [("loop", list(opts["loops"])), ("period", periods)])
        fields.update(f2)
        coords.update(c2)
    return fields, coords


_KINDS = {"response": _response, "optimal": _optimal, "cycle": _cycle, "exact": _exact,
          "fluctuations": _fluctuations}


#: Units of the fields of the exact kind (k_B = hbar = 1); the cycle and optimal kinds take
#: theirs from the results' ``to_dataset()``.
UNITS = {
    "heat": "energy", "work": "energy", "geometric_heat": "energy",
    "dissipated_work": "energy", "first_law_residual": "energy", "entropy_production": "nats",
    "thermodynamic_length": "(energy time)^(1/2)", "relaxation_time": "time",
    "error_estimate": "energy",
}
#: Renames of the exact kind's fields to the glossary (docs/decisions/0007-names.md): none,
#: :mod:`thermogeo.dynamics` uses the glossary names itself (the flattened
#: ``ExactCycle.to_dict()`` gives ``expansion_geometric_heat``, ``expansion_dissipated_work``);
#: stores written with the older names are read through ``thermogeo.sweeps.store.LEGACY_NAMES``.
EXACT_NAMES: dict[str, str] = {}


def _flatten(d: Mapping, machine, prefix: str = "") -> tuple[dict, dict]:
    """``to_dict()`` of a result -> fields: numbers become scalars, ``{bath: number}`` tables
    a ``bath`` dimension, other tables are flattened with ``parent_child`` names; text, None
    and objects (e.g. a loop) are left out."""
    fields, coords = {}, {}
    baths = list(machine.bath_names)
    for k, v in d.items():
        name = f"{prefix}{k}"
        if isinstance(v, (bool, np.bool_, int, float, np.integer, np.floating)):
            fields[name] = ((), np.asarray(v), _units(name))
        elif isinstance(v, Mapping) and v and set(v) <= set(baths) and all(
                isinstance(x, (int, float, np.integer, np.floating)) for x in v.values()):
            fields[name] = (("bath",), np.array([float(v.get(b, np.nan)) for b in baths]),
                            _units(name))
            coords["bath"] = (("bath",), np.array(baths), {})
        elif isinstance(v, Mapping):
            f, c = _flatten(v, machine, prefix=f"{name}_")
            fields.update(f)
            coords.update(c)
    return fields, coords


def _units(name: str) -> dict:
    base = name.split("_order")[0].removeprefix("expansion_")
    u = UNITS.get(name, UNITS.get(base))
    return {"units": u} if u else {}


def _stack(items: list[tuple[dict, dict]], outer: list[tuple[str, list]]) -> tuple[dict, dict]:
    """Stack per-(loop, period) fields along outer dimensions."""
    keys = set(items[0][0])
    for f, _ in items[1:]:
        if set(f) != keys:
            raise ValueError(f"results differ in their fields: {sorted(keys)} vs {sorted(f)}")
    odims = tuple(n for n, _ in outer)
    oshape = tuple(len(v) for _, v in outer)
    fields = {}
    for k in items[0][0]:
        if k in odims:  # e.g. the period echoed by a result: it is the coordinate
            continue
        dims, _, attrs = items[0][0][k]
        arr = np.stack([np.asarray(f[k][1]) for f, _ in items]).reshape(
            oshape + np.shape(items[0][0][k][1]))
        fields[k] = (odims + tuple(dims), arr, attrs)
    coords = dict(items[0][1])
    for n, v in outer:
        coords[n] = ((n,), np.asarray(v), {})
    return fields, coords
