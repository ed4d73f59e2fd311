"""Sweep files: a parameter study described once, as data.

A sweep file (TOML) names a model file, the numbers of that model to vary and what to compute
at every point of the study::

    model = "../heisenberg_dimer.toml"    # relative to the sweep file
    kind = "response"                      # response | optimal | cycle | exact | fluctuations
    chunk = 4                              # sweep points per task (default 4)

    [combos]                               # cartesian product, one dimension each
    J = [1.0, 2.0, 3.0]
    b = { start = 1.5, stop = 3.0, num = 4 }

    [cases]                                # zipped: equal lengths, one shared dimension "case"
    "L.temperature" = [1.0, 1.1]
    "R.temperature" = [1.0, 0.9]

    [constants]                            # fixed overrides for the whole study
    "L.strength" = 0.002

    [response]                             # options of the kind named above
    grid = { Bx = [0.2, 0.6, 1.0], Bz = { start = 0.1, stop = 1.0, num = 4 } }

A name is anything :meth:`thermogeo.Machine.with_values` accepts: a constant (``J``), a
parameter (its default value) or ``<bath>.temperature`` / ``<bath>.strength``. The sweep grid
has the combos' dimensions in file order, then ``case``; a point of the grid is the machine
``base.with_values(**constants, **combo_values, **case_values)``.

Kind options:

``[response]``  ``grid`` (one or more driving parameters -> values), ``plane`` (two parameter
names for the rotor; default: the two grid axes when there are two), ``correlations`` (a list
of correlation measures, e.g. ``["concurrence:0,1", "negativity:0|1@thermal"]``: one variable
each, see :mod:`thermogeo.response.correlations`).
``[optimal]``   ``plane``, ``bath``, and optionally ``region`` (a table) and ``resolution``.
``[cycle]``     ``loops`` (name -> loop table) and optionally ``timing``, ``bias``, ``bath``.
``[exact]``     ``loops`` (name -> loop table), ``periods`` (values).
``[fluctuations]`` ``loops``; optional ``periods`` (values) and ``exact`` (bool).

A loop table is ``{ kind = "circle" | "ellipse" | "polygon" | "rectangle" | "sector" |
"fourier", plane = ["Bx", "Bz"], ... }`` with the fields of the matching class of
:mod:`thermogeo.protocols.paths`, or ``{ file = "best.toml" }``: a loop file (written by
``thermogeo optimal/optimize/map --save-loop``; relative to the sweep file), whose text is part
of the sweep's hash (a changed loop file is a changed sweep).
"""

from __future__ import annotations

import hashlib
import itertools
import math
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np

from thermogeo.errors import ModelError
from thermogeo.io.model_file import machine_from_dict
from thermogeo.model.machine import Machine
from thermogeo.protocols import paths
from thermogeo.protocols import optimal
from thermogeo.protocols.cycle import TIMINGS
from thermogeo.response.correlations import parse_requests

KINDS = ("response", "optimal", "cycle", "exact", "fluctuations")
TOP_FIELDS = ("model", "kind", "chunk", "combos", "cases", "constants") + KINDS
KIND_FIELDS = {
    "response": ("grid", "plane", "correlations"),
    "optimal": ("plane", "bath", "region", "resolution"),
    "cycle": ("loops", "timing", "bias", "bath"),
    "exact": ("loops", "periods"),
    "fluctuations": ("loops", "periods", "exact"),
}
KIND_REQUIRED = {"response": ("grid",), "optimal": ("plane", "bath"), "cycle": ("loops",),
                 "exact": ("loops", "periods"), "fluctuations": ("loops",)}
LOOP_FIELDS = paths.LOOP_FIELDS
CASE_DIM = "case"
DEFAULT_CHUNK = 4
_DIM_NAME = re.compile(r"[^A-Za-z0-9_]")


def dim_name(name: str) -> str:
    """Dataset dimension of a swept name: ``"L.temperature"`` -> ``"L_temperature"``."""
    return _DIM_NAME.sub("_", name)


def values_from_toml(x, where: str) -> tuple[float, ...]:
    """Values of one swept name: a list of numbers, ``{start, stop, num}`` (linear) or
    ``{start, stop, num, scale = "log"}`` (geometric).

    Examples
    --------
    >>> values_from_toml({"start": 1, "stop": 2, "num": 3}, "combos.J")
    (1.0, 1.5, 2.0)
    """
    if isinstance(x, Mapping):
        extra = set(x) - {"start", "stop", "num", "scale"}
        if extra or not {"start", "stop", "num"} <= set(x):
            raise ModelError(f"{where}: expected a list of numbers or a table with start, stop, "
                             f"num (and optional scale = 'linear' | 'log'), got {dict(x)}")
        num, scale = x["num"], x.get("scale", "linear")
        if isinstance(num, bool) or not isinstance(num, int) or num < 1:
            raise ModelError(f"{where}.num: expected a positive integer, got {num!r}")
        if scale not in ("linear", "log"):
            raise ModelError(f"{where}.scale: expected 'linear' or 'log', got {scale!r}")
        a, b = _number(x["start"], f"{where}.start"), _number(x["stop"], f"{where}.stop")
        if scale == "log":
            if a <= 0 or b <= 0:
                raise ModelError(f"{where}: a log scale needs start, stop > 0, got {a}, {b}")
            vals = np.geomspace(a, b, num)
        else:
            vals = np.linspace(a, b, num)
        return tuple(float(v) for v in vals)
    if isinstance(x, list) and x:
        vals = tuple(_number(v, f"{where}[{i}]") for i, v in enumerate(x))
        if len(set(vals)) != len(vals):
            raise ModelError(f"{where}: values must be distinct, got {list(vals)}")
        return vals
    raise ModelError(f"{where}: expected a non-empty list of numbers or a table with start, "
                     f"stop, num; got {x!r}")


def _number(v, where: str) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        raise ModelError(f"{where}: expected a finite number, got {v!r}")
    return float(v)


@dataclass(frozen=True)
class Axis:
    """One swept name and its values."""

    name: str
    values: tuple[float, ...]

    @property
    def dim(self) -> str:
        return dim_name(self.name)


@dataclass(frozen=True, eq=False)
class SweepSpec:
    """A parameter study: base model, swept values, and what to compute.

    Attributes
    ----------
    model_text : str
        The model file's TOML text (the machine is rebuilt from it on every worker).
    model_name : str
    sweep_text : str
        The sweep file's TOML text (stored with the results; its hash guards resumption).
    kind : {"response", "optimal", "cycle", "exact", "fluctuations"}
    options : mapping
        The kind's table, validated.
    combos : tuple of Axis
        Cartesian axes, one dimension each, in file order.
    cases : tuple of Axis
        Zipped axes of equal length, sharing the dimension ``case``.
    constants : mapping name -> float
    chunk : int
        Target number of sweep points per task.
    source : str
        Where the spec came from (for messages).
    inputs : tuple of (str, str)
        ``(loop name, text)`` of the loop files the loops name (in the hash; their tables
        replace ``{ file = ... }`` in ``options``).
    """

    model_text: str
    model_name: str
    sweep_text: str
    kind: str
    options: Mapping
    combos: tuple[Axis, ...] = ()
    cases: tuple[Axis, ...] = ()
    constants: Mapping[str, float] = field(default_factory=dict)
    chunk: int = DEFAULT_CHUNK
    source: str = "<sweep>"
    inputs: tuple[tuple[str, str], ...] = ()

    # -- the grid ------------------------------------------------------------------------
    @property
    def dims(self) -> tuple[str, ...]:
        """Sweep dimensions: one per combo, then ``case`` if there are cases."""
        return tuple(a.dim for a in self.combos) + ((CASE_DIM,) if self.cases else ())

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(len(a.values) for a in self.combos) + (
            (len(self.cases[0].values),) if self.cases else ())

    @property
    def n_points(self) -> int:
        return int(np.prod(self.shape))

    def coords(self) -> dict:
        """Coordinates of the sweep dimensions (cases as coordinates along ``case``)."""
        out = {a.dim: (a.dim, np.array(a.values), self._attrs(a.name)) for a in self.combos}
        if self.cases:
            n = len(self.cases[0].values)
            out[CASE_DIM] = (CASE_DIM, np.arange(n), {"long_name": "index of the zipped cases"})
            out.update({a.dim: (CASE_DIM, np.array(a.values), self._attrs(a.name))
                        for a in self.cases})
        return out

    def _attrs(self, name: str) -> dict:
        """Coordinate attributes of a swept name (units in k_B = hbar = 1)."""
        if name.endswith(".temperature"):
            units = "energy (k_B = 1)"
        elif name.endswith(".strength"):
            units = "1 (ohmic coupling strength kappa)"
        elif name in self.machine.parameters:
            units = "energy (default of a driving parameter)"
        else:
            units = "as in the model file (a constant)"
        return {"sweep_name": name, "units": units}

    def values_at(self, index: tuple[int, ...]) -> dict[str, float]:
        """The overrides of the point at grid ``index`` (constants included)."""
        out = dict(self.constants)
        for a, i in zip(self.combos, index):
            out[a.name] = a.values[i]
        if self.cases:
            i = index[-1]
            out.update({a.name: a.values[i] for a in self.cases})
        return out

    @property
    def chunk_shape(self) -> tuple[int, ...]:
        """Block shape of one task (and one Zarr chunk): filled from the last dimension."""
        left, out = max(1, self.chunk), []
        for n in reversed(self.shape):
            c = min(n, left)
            out.append(c)
            left = max(1, left // c)
        return tuple(reversed(out))

    def blocks(self) -> list[tuple[slice, ...]]:
        """All task blocks, as tuples of slices of the sweep grid, in C order."""
        cs = self.chunk_shape
        ranges = [range(0, n, c) for n, c in zip(self.shape, cs)]
        return [tuple(slice(s, min(s + c, n)) for s, c, n in zip(start, cs, self.shape))
                for start in itertools.product(*ranges)]

    # -- identity ------------------------------------------------------------------------
    @property
    def sha256(self) -> str:
        """Hash of the sweep, model and loop-file texts: a changed file gives a different
        hash."""
        h = hashlib.sha256()
        h.update(self.sweep_text.encode())
        h.update(b"\0")
        h.update(self.model_text.encode())
        for name, text in self.inputs:  # loop files: a changed loop file is a changed sweep
            h.update(b"\0" + name.encode() + b"\0" + text.encode())
        return h.hexdigest()

    @cached_property
    def machine(self) -> Machine:
        """The base machine of the model file (without the sweep's overrides)."""
        return machine_from_text(self.model_text, self.model_name)


_MACHINES: dict[str, Machine] = {}


def machine_from_text(text: str, name: str) -> Machine:
    """Machine of a model file's text (cached per process: workers rebuild it once)."""
    key = hashlib.sha256(text.encode()).hexdigest() + name
    if key not in _MACHINES:
        data = tomllib.loads(text)
        data.setdefault("name", name)
        _MACHINES[key] = machine_from_dict(data, source=name)
    return _MACHINES[key]


def load_sweep(path: str | Path) -> SweepSpec:
    """Read and validate a sweep file.

    Parameters
    ----------
    path : str or Path
        The sweep TOML file; its ``model`` is resolved relative to the file's folder.

    Returns
    -------
    SweepSpec
    """
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as e:
        raise ModelError(f"{path}: cannot read sweep file ({e.strerror})") from None
    return sweep_from_text(text, base_dir=path.parent, source=str(path))


def sweep_from_text(text: str, *, base_dir: str | Path = ".", source: str = "<sweep>"
                    ) -> SweepSpec:
    """Validate the TOML text of a sweep file (see the module docstring for the format)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ModelError(f"{source}: malformed TOML: {e}") from None
    try:
        return _spec_from_dict(data, text, Path(base_dir))
    except ModelError as e:
        raise ModelError(f"{source}: {e}") from None


def _spec_from_dict(data: dict, text: str, base_dir: Path) -> SweepSpec:
    extra = set(data) - set(TOP_FIELDS)
    if extra:
        raise ModelError(f"unknown field(s) {sorted(extra)}; accepted: {', '.join(TOP_FIELDS)}")
    if "model" not in data or not isinstance(data["model"], str):
        raise ModelError("model: expected the path of a model TOML file (relative to the sweep "
                         "file)")
    mpath = base_dir / data["model"]
    try:
        model_text = mpath.read_text()
    except OSError as e:
        raise ModelError(f"model: cannot read {str(mpath)!r} ({e.strerror})") from None
    kind = data.get("kind")
    if kind not in KINDS:
        raise ModelError(f"kind: expected one of {', '.join(KINDS)}, got {kind!r}")
    other = [k for k in KINDS if k != kind and k in data]
    if other:
        raise ModelError(f"kind is {kind!r} but the file also has table(s) {other}; remove them")
    chunk = data.get("chunk", DEFAULT_CHUNK)
    if isinstance(chunk, bool) or not isinstance(chunk, int) or chunk < 1:
        raise ModelError(f"chunk: expected a positive integer (sweep points per task), got "
                         f"{chunk!r}")
    tables = {}
    for t in ("combos", "cases", "constants"):
        v = data.get(t, {})
        if not isinstance(v, Mapping):
            raise ModelError(f"{t}: expected a table of name = values")
        tables[t] = v
    combos = tuple(Axis(n, values_from_toml(v, f"combos.{n}")) for n, v in tables["combos"].items())
    cases = tuple(Axis(n, values_from_toml(v, f"cases.{n}")) for n, v in tables["cases"].items())
    if cases and len({len(a.values) for a in cases}) != 1:
        raise ModelError("cases: all lists must have the same length (they are zipped), got "
                         + ", ".join(f"{a.name}: {len(a.values)}" for a in cases))
    constants = {n: _number(v, f"constants.{n}") for n, v in tables["constants"].items()}
    if not combos and not cases:
        raise ModelError("nothing to vary: give a [combos] or a [cases] table")
    names = [a.name for a in combos + cases] + list(constants)
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ModelError(f"{dup} appear in more than one of combos, cases, constants")
    dims = [a.dim for a in combos + cases]
    if len(set(dims)) != len(dims) or CASE_DIM in dims:
        raise ModelError(f"swept names must give distinct dimension names other than "
                         f"{CASE_DIM!r}; got {dims}")
    model_name = mpath.stem
    try:
        machine = machine_from_text(model_text, model_name)
    except tomllib.TOMLDecodeError as e:
        raise ModelError(f"model: {str(mpath)!r} is not a TOML model file ({e})") from None
    for a in combos + cases:
        _check_name(machine, a.name, a.values[0])
    for n, v in constants.items():
        _check_name(machine, n, v)
    opts = data.get(kind, {})
    if not isinstance(opts, Mapping):
        raise ModelError(f"{kind}: expected a table of options")
    inputs: list = []
    options = _validate_options(kind, dict(opts), machine, set(dims), base_dir, inputs)
    return SweepSpec(model_text=model_text, model_name=model_name, sweep_text=text, kind=kind,
                     options=options, combos=combos, cases=cases, constants=constants,
                     chunk=chunk, source=str(base_dir), inputs=tuple(inputs))


def _check_name(machine: Machine, name: str, value: float) -> None:
    try:
        machine.with_values(**{name: value})
    except ModelError as e:
        raise ModelError(f"swept name {name!r}: {e}") from None


def _validate_options(kind: str, opts: dict, machine: Machine, sweep_dims: set,
                      base_dir: Path = Path("."), inputs: list | None = None) -> dict:
    extra = set(opts) - set(KIND_FIELDS[kind])
    missing = [f for f in KIND_REQUIRED[kind] if f not in opts]
    if extra or missing:
        raise ModelError(f"[{kind}]: missing {missing}, unknown {sorted(extra)}; fields are "
                         f"{', '.join(KIND_FIELDS[kind])}")
    if kind == "response":
        grid = opts["grid"]
        if not isinstance(grid, Mapping) or not grid:
            raise ModelError("[response].grid: expected a table parameter = values, e.g. "
                             "{ Bx = [0.1, 0.5], Bz = [0.2, 0.4] }")
        g = {}
        for n, v in grid.items():
            _known(machine.parameter_index, n, "[response].grid")
            if n in sweep_dims:
                raise ModelError(f"[response].grid: {n!r} is also swept; a name is either a "
                                 "grid axis or a sweep variable")
            g[n] = values_from_toml(v, f"[response].grid.{n}")
        opts["grid"] = g
        plane = opts.get("plane", list(g) if len(g) == 2 else None)
        opts["plane"] = _plane(plane, machine, "[response].plane") if plane else None
        corr = opts.get("correlations")
        if corr is not None:
            if isinstance(corr, str) or not all(isinstance(c, str) for c in corr):
                raise ModelError("[response].correlations: expected a list of strings, e.g. "
                                 '["concurrence:0,1", "mutual:0|1@thermal"]')
            try:  # validated before any work, with the file's field in the message
                parse_requests(list(corr), machine)
            except ModelError as e:
                raise ModelError(f"[response].{e}") from None
            opts["correlations"] = list(corr)
    elif kind == "optimal":
        opts["plane"] = _plane(opts["plane"], machine, "[optimal].plane")
        _known(machine.bath_index, opts["bath"], "[optimal].bath")
        if "region" in opts:
            make_region(opts["region"])
    else:
        loops = opts["loops"]
        if not isinstance(loops, Mapping) or not loops:
            raise ModelError(f"[{kind}].loops: expected a table name = {{ kind = 'circle', "
                             "... }")
        opts["loops"] = {}
        for n, v in loops.items():
            table, text = _loop_table(v, f"[{kind}].loops.{n}", base_dir)
            opts["loops"][str(n)] = table
            if text and inputs is not None:
                inputs.append((f"loops.{n}", text))
        for n, v in opts["loops"].items():
            loop = make_loop(v, f"[{kind}].loops.{n}")
            _known(loop.indices, machine, f"[{kind}].loops.{n}.plane")
            base = dict(loop.base or {})
            in_plane = [k for k in base if k in loop.plane]
            if in_plane:
                raise ModelError(f"[{kind}].loops.{n}.base: {', '.join(in_plane)} is set by the "
                                 f"loop (plane {', '.join(loop.plane)}); base sets only the "
                                 "other parameters")
            swept_base = sorted(k for k in base if dim_name(k) in sweep_dims)
            if swept_base:
                raise ModelError(f"[{kind}].loops.{n}.base: sets {', '.join(swept_base)}, which "
                                 "the sweep also varies (the base would win for every value); "
                                 "remove it from one of them")
            set_by_loop = sorted(sweep_dims & {dim_name(p) for p in loop.plane})
            if set_by_loop:  # the loop sets these: every swept value would give one result
                raise ModelError(f"[{kind}].loops.{n}: the loop sets {', '.join(set_by_loop)} "
                                 f"(plane {', '.join(loop.plane)}), which the sweep also "
                                 "varies; sweep only names off the loop's plane (constants, "
                                 "bath fields, other parameters)")
        if kind == "cycle" and "timing" in opts and opts["timing"] not in TIMINGS:
            raise ModelError(f"[cycle].timing: expected one of {', '.join(TIMINGS)}, got "
                             f"{opts['timing']!r}")
        if kind == "cycle" and "bias" in opts:
            x = opts["bias"]
            if (isinstance(x, bool) or not isinstance(x, (int, float)) or not math.isfinite(x)
                    or not 0 < abs(x) < 2):
                raise ModelError(f"[cycle].bias: expected X = dT/T with 0 < |X| < 2 (the hot "
                                 "bath at T(1 + X/2), the others at T(1 - X/2), both > 0), got "
                                 f"{x!r}")
        if kind == "exact":
            per = values_from_toml(opts["periods"], "[exact].periods")
            if min(per) <= 0:
                raise ModelError(f"[exact].periods: must be > 0, got {list(per)}")
            opts["periods"] = per
        if kind == "cycle" and "bath" in opts:
            _known(machine.bath_index, opts["bath"], "[cycle].bath")
        if kind == "fluctuations":
            per = values_from_toml(opts.get("periods", []), "[fluctuations].periods") \
                if opts.get("periods") else ()
            if per and min(per) <= 0:
                raise ModelError(f"[fluctuations].periods: must be > 0, got {list(per)}")
            opts["periods"] = per
            if not isinstance(opts.get("exact", False), bool):
                raise ModelError(f"[fluctuations].exact: expected true or false, got "
                                 f"{opts['exact']!r}")
            if opts.get("exact") and not per:
                raise ModelError("[fluctuations].exact: needs periods")
    return opts


def _known(lookup, name, where: str) -> None:
    try:
        lookup(name)
    except ModelError as e:
        raise ModelError(f"{where}: {e}") from None


def _plane(p, machine: Machine, where: str) -> tuple[str, str]:
    if not isinstance(p, (list, tuple)) or len(p) != 2 or p[0] == p[1]:
        raise ModelError(f"{where}: expected two different parameter names, got {p!r}")
    for n in p:
        _known(machine.parameter_index, n, where)
    return (str(p[0]), str(p[1]))


def make_loop(table, where: str = "loop"):
    """A :class:`thermogeo.protocols.paths.Loop` from a loop table of a sweep file
    (:func:`thermogeo.protocols.paths.loop_from_table`).

    Examples
    --------
    >>> make_loop({"kind": "circle", "plane": ["Bx", "Bz"], "center": [0.8, 0.6],
    ...            "radius": 0.5}).radius
    0.5
    """
    return paths.loop_from_table(table, where)


def _loop_table(value, where: str, base_dir: Path) -> tuple[dict, str]:
    """A loop of ``[cycle].loops`` / ``[exact].loops``: a loop table, or ``{ file = "..." }``
    naming a loop file (relative to the sweep file) whose table replaces it. Returns the
    table and the file's text (empty for an inline table)."""
    if not isinstance(value, Mapping):
        raise ModelError(f"{where}: expected a loop table {{ kind = 'circle', ... }} or "
                         f"{{ file = 'loop.toml' }}, got {value!r}")
    if "file" not in value:
        return dict(value), ""
    if set(value) != {"file"} or not isinstance(value["file"], str):
        raise ModelError(f"{where}: a loop read from a file is {{ file = 'loop.toml' }} alone "
                         f"(the file holds the kind, plane and base), got {dict(value)}")
    fpath = base_dir / value["file"]
    try:
        text = fpath.read_text()
    except OSError as e:
        raise ModelError(f"{where}.file: cannot read {str(fpath)!r} ({e.strerror})") from None
    try:
        loop = paths.load_loop(fpath)
    except ModelError as e:
        raise ModelError(f"{where}.file: {e}") from None
    return paths.loop_to_table(loop), text


def make_region(table: Mapping):
    """``{kind = "polar", center, radius, resolution, stretch}`` or ``{kind = "rectangle", x,
    y, resolution}`` -> the region object of :mod:`thermogeo.protocols.optimal`."""

    classes = {"polar": "PolarRegion", "rectangle": "RectRegion"}
    if not isinstance(table, Mapping) or table.get("kind") not in classes:
        raise ModelError(f"[optimal].region.kind: expected one of {', '.join(classes)}, got "
                         f"{table.get('kind') if isinstance(table, Mapping) else table!r}")
    fields = {k: tuple(v) if isinstance(v, list) else v for k, v in table.items()
              if k != "kind"}
    try:
        return getattr(optimal, classes[table["kind"]])(**fields)
    except TypeError as e:
        raise ModelError(f"[optimal].region: {e}") from None
