"""Solvers of the exact periodic dynamics as method objects.

:func:`~thermogeo.dynamics.exact_cycle` takes its solver as a small frozen object, in the style
of ``scipy.integrate`` and diffrax: the object names the method, states its order and holds
only the options the method uses, validated when it is made (docs/decisions/0403)::

    exact_cycle(machine, loop, tau, method=Spectral(rtol=1e-10))
    exact_cycle(machine, loop, tau, method=Magnus(steps=256))
    exact_cycle(machine, loop, tau, method="krylov")          # METHODS["krylov"]()

* :class:`Magnus` (``"magnus"``, ``order = 4``): fixed point of the Magnus-4 one-period
  propagator (dense ``d^2 x d^2``; any loop, steps never straddle a corner;
  docs/decisions/0400);
* :class:`Spectral` (``"spectral"``, ``order = "spectral"``: exponential convergence in the
  number of nodes): Fourier collocation of the periodic deviation (smooth loops only; dense
  collocation system; docs/decisions/0402);
* :class:`Krylov` (``"krylov"``, ``order = 4``): the Magnus-4 steps applied to the state vector
  by ``expm_multiply``, whole cycles until the state repeats (docs/decisions/0402);
* :class:`Eigenframe` (``"eigenframe"``, ``order = 2`` for the raw passes, the results are
  Richardson-extrapolated): exponential midpoint steps in the instantaneous eigenframe, block by
  block, never a ``d^2 x d^2`` matrix (many qubits; docs/decisions/0705);
* :class:`Auto` (``"auto"``, the default): chooses one of the above for the loop and machine.

Every method takes ``rtol`` (relative accuracy of the heats and work per cycle),
``slow_factor`` (warn below that many relaxation times per period) and ``numerics`` (options of
the generator). Setting an option that has no effect -- ``min_steps`` beside a fixed ``steps``,
or, through the backward-compatible :class:`ExactOptions`, ``steps`` for the spectral method --
warns with :class:`IgnoredOptionWarning`; nothing is dropped silently.
"""

from __future__ import annotations

import math
import os
import sys
import warnings
from dataclasses import dataclass, field, fields
from typing import ClassVar

import numpy as np

from thermogeo.errors import IgnoredOptionWarning
from thermogeo.numerics import Numerics

MAGNUS_ORDER = 4
"""Order of the Magnus-Gauss integrator (:class:`Magnus`, :class:`Krylov`)."""
EIGENFRAME_ORDER = 2
"""Order of the exponential midpoint steps of :class:`Eigenframe` (before extrapolation)."""
SPECTRAL_ORDER = "spectral"
"""The ``order`` of :class:`Spectral`: exponential convergence in the number of nodes."""

MAX_STEPS = 2**22
"""Largest step count per cycle any stepping method accepts."""


_HERE = os.path.dirname(os.path.abspath(__file__))


def _stacklevel() -> int:
    """``stacklevel`` for :func:`warnings.warn`, called from this package, that points at the
    first frame outside it (and outside generated dataclass code): the user's call."""
    frame, level = sys._getframe(2), 2
    while frame is not None and (frame.f_code.co_filename.startswith(_HERE)
                                 or frame.f_code.co_filename.startswith("<")):
        frame, level = frame.f_back, level + 1
    return level


def warn_ignored(names: dict, why: str) -> None:
    """Warn (:class:`IgnoredOptionWarning`) that the options ``names`` (name -> value) have no
    effect, ``why`` saying with what."""
    if names:
        text = ", ".join(f"{k}={v!r}" for k, v in names.items())
        warnings.warn(f"{text} {'is' if len(names) == 1 else 'are'} ignored {why}",
                      IgnoredOptionWarning, stacklevel=_stacklevel())


def _is_int(x) -> bool:
    return isinstance(x, (int, np.integer)) and not isinstance(x, bool)


def _check_int(name: str, value, lo: int, hi: int | None = None, *, optional=False,
               lo_text: str | None = None, hi_text: str | None = None) -> None:
    """``ValueError`` naming ``name`` unless ``value`` is an integer in ``[lo, hi]``."""
    if optional and value is None:
        return
    if _is_int(value) and value >= lo and (hi is None or value <= hi):
        return
    lo_s = lo_text or str(lo)
    rng = f"an integer >= {lo_s}" if hi is None else f"an integer in [{lo_s}, {hi_text or hi}]"
    raise ValueError(f"{name}: expected {'None or ' if optional else ''}{rng}, got {value!r}")


@dataclass(frozen=True, kw_only=True)
class ExactMethod:
    """Base class of the exact solvers: the options every method uses.

    Parameters
    ----------
    rtol : float
        Target relative accuracy of the heats and work per cycle, judged by the method's error
        estimate against ``rtol * max(|Q_a|, |W|)``. Accepted range ``[1e-13, 1e-2]``.
        Default ``1e-8``.
    slow_factor : float
        Warn with :class:`~thermogeo.errors.SlowDrivingWarning` when the period is shorter than
        ``slow_factor`` relaxation times (the inverse smallest decay rate of ``L`` on the
        path). ``>= 0``. Default 5.
    numerics : Numerics
        Options of the generator (degeneracy tolerance, uniqueness threshold, kernel).

    Notes
    -----
    Class attributes: ``name`` (the key in :data:`METHODS`), ``order`` (convergence order in
    the step, or ``"spectral"``), ``step_unit`` (what ``ExactCycle.steps`` counts).
    """

    rtol: float = 1e-8
    slow_factor: float = 5.0
    numerics: Numerics = field(default_factory=Numerics)

    name: ClassVar[str] = ""
    order: ClassVar[int | str | None] = None
    step_unit: ClassVar[str] = "steps"

    def __post_init__(self):
        if not (isinstance(self.rtol, (int, float)) and not isinstance(self.rtol, bool)
                and 1e-13 <= self.rtol <= 1e-2):
            raise ValueError(f"rtol: expected a number in [1e-13, 1e-2], got {self.rtol!r}")
        if not (isinstance(self.slow_factor, (int, float)) and self.slow_factor >= 0):
            raise ValueError(f"slow_factor: expected a number >= 0, got {self.slow_factor!r}")
        if not isinstance(self.numerics, Numerics):
            raise ValueError(f"numerics: expected a thermogeo.numerics.Numerics, got "
                             f"{self.numerics!r}")

    @classmethod
    def option_names(cls) -> tuple[str, ...]:
        """Names of the options this method takes (its dataclass fields)."""
        return tuple(f.name for f in fields(cls))

    def _set(self, *names: str) -> dict:
        """Those of ``names`` whose value differs from the default (set by the user)."""
        out = {}
        for f in fields(self):
            if f.name in names and getattr(self, f.name) != f.default:
                out[f.name] = getattr(self, f.name)
        return out

    def resolve(self, loop, dim: int, dense: bool | None = None) -> ExactMethod:
        """The concrete method that runs on ``loop`` for Hilbert-space dimension ``dim``
        (itself, after checking that it applies). ``dense``: whether the dense kernels serve
        the machine (:func:`thermogeo.lindblad.backend.uses_dense`; default from
        ``numerics`` and ``dim``)."""
        return self


@dataclass(frozen=True, kw_only=True)
class _Stepping(ExactMethod):
    """Options of the methods with steps per cycle.

    Parameters
    ----------
    steps : int or None
        Fixed number of steps per cycle (the error estimate then compares with
        ``steps // 2``; ``min_steps`` and ``max_steps`` are ignored). ``None`` (default): start
        at ``min_steps`` and double (or jump to the predicted count) until ``rtol`` is reached
        or ``max_steps`` is exceeded. Accepted: ``[2, 2**22]``.
    min_steps, max_steps : int
        Bounds of the adaptive step count, ``2 <= min_steps <= max_steps <= 2**22``. Defaults
        32 and ``2**16``.
    """

    steps: int | None = None
    min_steps: int = 32
    max_steps: int = 2**16

    def __post_init__(self):
        super().__post_init__()
        _check_int("steps", self.steps, 2, MAX_STEPS, optional=True, hi_text="2**22")
        _check_int("min_steps", self.min_steps, 2)
        _check_int("max_steps", self.max_steps, self.min_steps, MAX_STEPS,
                   lo_text=f"min_steps={self.min_steps}", hi_text="2**22")
        if self.steps is not None:
            warn_ignored(self._set("min_steps", "max_steps"),
                         f"by {type(self).__name__}: steps={self.steps} fixes the step count")


@dataclass(frozen=True, kw_only=True)
class Magnus(_Stepping):
    """Fourth-order Magnus-Gauss propagator of the deviation from the steady state and the
    fixed point of its one-period propagator (any loop; steps never straddle a corner;
    dense ``(d^2 + m + 2)``-square matrices; docs/decisions/0400).

    Parameters
    ----------
    rtol, slow_factor, numerics
        See :class:`ExactMethod`.
    steps : int or None
        Fixed Magnus steps per cycle (the error estimate ``|X_n - X_n/2| / 15`` then compares
        with ``steps // 2``; ``min_steps`` and ``max_steps`` are ignored). ``None`` (default):
        from ``min_steps``, doubled (or jumped to the ``n^-4``-predicted count) until the
        estimate is below ``rtol``, at most ``max_steps``. Accepted: ``[2, 2**22]``.
    min_steps, max_steps : int
        Bounds of the adaptive step count, ``2 <= min_steps <= max_steps <= 2**22``. Defaults
        32 and ``2**16``.
    chunk : int
        Steps whose generators are built in one batch (memory). ``>= 1``. Default 2048.

    Examples
    --------
    >>> Magnus(steps=64).order, Magnus.name
    (4, 'magnus')
    """

    chunk: int = 2048

    name: ClassVar[str] = "magnus"
    order: ClassVar[int] = MAGNUS_ORDER
    step_unit: ClassVar[str] = "Magnus-4 steps"

    def __post_init__(self):
        super().__post_init__()
        _check_int("chunk", self.chunk, 1)


@dataclass(frozen=True, kw_only=True)
class Krylov(_Stepping):
    """The Magnus-4 steps applied to the state vector by ``expm_multiply`` (no step
    propagators are formed), the limit cycle reached by propagating whole cycles until the
    state repeats to ``rtol`` (opt-in; still builds the dense generator at each node;
    docs/decisions/0402).

    Parameters
    ----------
    rtol, slow_factor, numerics
        See :class:`ExactMethod`.
    steps, min_steps, max_steps
        Magnus steps per cycle, fixed or adaptive (as :class:`Magnus`, doubling).
    chunk : int
        Generators built in one batch are ``chunk // 16`` steps. ``>= 1``. Default 2048.
    max_cycles : int
        Cycles the propagation may take towards the limit cycle. ``>= 1``. Default 200.
    """

    chunk: int = 2048
    max_cycles: int = 200

    name: ClassVar[str] = "krylov"
    order: ClassVar[int] = MAGNUS_ORDER
    step_unit: ClassVar[str] = "Magnus-4 steps"

    def __post_init__(self):
        super().__post_init__()
        _check_int("chunk", self.chunk, 1)
        _check_int("max_cycles", self.max_cycles, 1)


@dataclass(frozen=True, kw_only=True)
class Eigenframe(_Stepping):
    """Exponential midpoint steps in the instantaneous eigenframe, block by block, never
    forming a ``d^2 x d^2`` matrix (many qubits; :mod:`thermogeo.dynamics.eigenframe`,
    docs/decisions/0705). ``order`` is that of the raw passes; the reported heats and work are
    Richardson-extrapolated from ``steps // 2`` and ``steps``, and the error estimate includes
    the missing third order of the adiabatic series while the steps are stiff.

    Parameters
    ----------
    rtol, slow_factor, numerics
        See :class:`ExactMethod`.
    steps, min_steps, max_steps
        Steps per cycle, fixed or adaptive (as :class:`Magnus`, doubling; the estimate is
        ``|X_n - X_n/2| / 3``).
    max_cycles : int
        Cycles the propagation may take towards the limit cycle. ``>= 1``. Default 200.
    """

    max_cycles: int = 200

    name: ClassVar[str] = "eigenframe"
    order: ClassVar[int] = EIGENFRAME_ORDER
    step_unit: ClassVar[str] = "exponential midpoint steps"

    def __post_init__(self):
        super().__post_init__()
        _check_int("max_cycles", self.max_cycles, 1)


@dataclass(frozen=True, kw_only=True)
class Spectral(ExactMethod):
    """Fourier collocation of the smooth periodic deviation ``delta(s) = rho(s) - rho_0(s)``
    at ``N`` equispaced nodes (smooth loops only; dense system of ``N d^2`` real unknowns;
    docs/decisions/0402). It converges exponentially in ``N``: ``order = "spectral"``.

    Parameters
    ----------
    rtol, slow_factor, numerics
        See :class:`ExactMethod`.
    nodes : int or None
        Fixed number of collocation nodes (the error estimate is then the change from the next
        smaller count of the sequence 4, 6, 8, 12, 16, 24, ...; ``min_nodes`` and ``max_nodes``
        are ignored). ``None`` (default): the counts 16, 24, 32, 48, 64, ... from
        ``min_nodes`` to ``max_nodes`` until two successive results agree to ``rtol`` (that
        change is the error estimate, conservative). Accepted: ``[6, 2**14]``.
    min_nodes, max_nodes : int
        Bounds of the adaptive node count, ``4 <= min_nodes <= max_nodes``. Defaults 16, 512.
    max_unknowns : int
        Largest collocation system ``nodes * d^2`` (a real matrix of ``8 max_unknowns^2``
        bytes). ``>= 16``. Default 4096 (3 qubits: up to 64 nodes). A fixed ``nodes`` above
        it is refused.

    Examples
    --------
    >>> Spectral(nodes=48).order
    'spectral'
    """

    nodes: int | None = None
    min_nodes: int = 16
    max_nodes: int = 512
    max_unknowns: int = 4096

    name: ClassVar[str] = "spectral"
    order: ClassVar[str] = SPECTRAL_ORDER
    step_unit: ClassVar[str] = "collocation nodes"

    def __post_init__(self):
        super().__post_init__()
        _check_int("nodes", self.nodes, 6, 2**14, optional=True, hi_text="2**14")
        _check_int("min_nodes", self.min_nodes, 4)
        _check_int("max_nodes", self.max_nodes, self.min_nodes,
                   lo_text=f"min_nodes={self.min_nodes}")
        _check_int("max_unknowns", self.max_unknowns, 16)
        if self.nodes is not None:
            warn_ignored(self._set("min_nodes", "max_nodes"),
                         f"by Spectral: nodes={self.nodes} fixes the node count")

    def resolve(self, loop, dim: int, dense: bool | None = None) -> ExactMethod:
        if not loop.smooth:
            raise ValueError("method: 'spectral' needs a smooth periodic loop (this one has "
                             "corners); use 'magnus' or 'auto'")
        if self.nodes is not None and self.nodes * dim * dim > self.max_unknowns:
            raise ValueError(f"nodes: {self.nodes} collocation nodes make "
                             f"{self.nodes * dim * dim} unknowns for d = {dim}, above "
                             f"max_unknowns={self.max_unknowns}; lower nodes or raise "
                             "max_unknowns")
        return self


@dataclass(frozen=True, kw_only=True)
class Auto(ExactMethod):
    """Choose the method for the loop and the machine (then ``ExactCycle.method`` names it).

    * ``steps`` set: :class:`Magnus` with those steps while ``numerics`` picks the dense
      kernels (``Numerics.use_dense``), :class:`Eigenframe` beyond;
    * else :class:`Spectral` on smooth loops while the dense collocation system at twice the
      default ``min_nodes`` fits the default ``max_unknowns`` (up to 3 qubits);
    * else :class:`Magnus` (dense kernels) or :class:`Eigenframe`, adaptive.

    The chosen method gets ``rtol``, ``slow_factor``, ``numerics`` (and ``steps``) and its
    defaults otherwise; to set its other options, pass that method itself.

    Parameters
    ----------
    rtol, slow_factor, numerics
        See :class:`ExactMethod`.
    steps : int or None
        Fixed step count of the chosen stepping method. Accepted: ``[2, 2**22]``.
    """

    steps: int | None = None

    name: ClassVar[str] = "auto"

    def __post_init__(self):
        super().__post_init__()
        _check_int("steps", self.steps, 2, MAX_STEPS, optional=True, hi_text="2**22")

    def resolve(self, loop, dim: int, dense: bool | None = None) -> ExactMethod:
        common = dict(rtol=self.rtol, slow_factor=self.slow_factor, numerics=self.numerics)
        if dense is None:
            dense = self.numerics.use_dense(int(round(math.log2(dim))))
        stepper = Magnus if dense else Eigenframe
        if self.steps is not None:
            return stepper(steps=self.steps, **common)
        spectral = Spectral(**common)
        if loop.smooth and 2 * spectral.min_nodes * dim * dim <= spectral.max_unknowns:
            return spectral
        return stepper(**common)


METHODS: dict[str, type[ExactMethod]] = {
    "auto": Auto, "magnus": Magnus, "spectral": Spectral, "krylov": Krylov,
    "eigenframe": Eigenframe}
"""Method name -> class: ``exact_cycle(..., method="spectral")`` is ``method=Spectral()``."""


def make_method(method: str | ExactMethod = "auto", **options) -> ExactMethod:
    """A method object from its name (or an object) and options; options given as ``None``
    count as not set. Options the method does not take warn (:class:`IgnoredOptionWarning`)
    and are left out; given an object, options are applied with :func:`dataclasses.replace`.

    Examples
    --------
    >>> make_method("magnus", steps=64, nodes=None).steps
    64
    """
    import dataclasses

    obj = method_object(method)
    given = {k: v for k, v in options.items() if v is not None}
    names = obj.option_names()
    warn_ignored({k: v for k, v in given.items() if k not in names},
                 f"by method {obj.name!r} (its options: {', '.join(names)})")
    used = {k: v for k, v in given.items() if k in names}
    return dataclasses.replace(obj, **used) if used else obj


def method_object(method) -> ExactMethod:
    """``method`` as a method object: a name in :data:`METHODS` or an :class:`ExactMethod`
    (``ValueError`` naming the accepted values otherwise)."""
    if isinstance(method, ExactMethod):
        return method
    if isinstance(method, str) and method in METHODS:
        return METHODS[method]()
    raise ValueError(f"method: expected one of {tuple(METHODS)} or a method object "
                     f"({', '.join(c.__name__ for c in METHODS.values())}), got {method!r}")


#: ExactOptions fields consulted by the automatic choice itself (never reported as ignored).
_AUTO_CHOICE = ("steps", "min_nodes", "max_unknowns")


@dataclass(frozen=True)
class ExactOptions:
    """Options of the exact periodic solvers in one object (backward-compatible front of the
    method objects :class:`Magnus`, :class:`Spectral`, :class:`Krylov`, :class:`Eigenframe`,
    :class:`Auto`).

    ``method`` names the solver (a key of :data:`METHODS`); the options that solver takes are
    passed to its object (:meth:`resolve`). Any other option set to a value other than its
    default has no effect and warns (:class:`IgnoredOptionWarning`): at construction for a
    named method, when the method is chosen for ``"auto"``.

    Parameters
    ----------
    rtol : float
        Target relative accuracy of the heats and work per cycle. Accepted range
        ``[1e-13, 1e-2]``. Default ``1e-8``. (All methods.)
    steps : int or None
        Fixed number of steps per cycle (the error estimate then compares with
        ``steps // 2``). ``None`` (default): start at ``min_steps`` and double until ``rtol``
        is reached or ``max_steps`` is exceeded. (magnus, krylov, eigenframe; auto: chooses
        a stepping method.)
    min_steps, max_steps : int
        Bounds of the adaptive step count. Defaults 32 and 2**16. (magnus, krylov,
        eigenframe.)
    slow_factor : float
        Warn with :class:`~thermogeo.errors.SlowDrivingWarning` when the period is shorter
        than ``slow_factor`` relaxation times. Default 5. (All methods.)
    chunk : int
        Steps whose generators are built in one batch. Default 2048. (magnus, krylov.)
    method : {"auto", "magnus", "spectral", "krylov", "eigenframe"}
        See :class:`Magnus`, :class:`Spectral`, :class:`Krylov`, :class:`Eigenframe`,
        :class:`Auto` (``"auto"``, default: spectral for smooth loops while the dense
        collocation system at ``2 min_nodes`` nodes stays below ``max_unknowns`` and ``steps``
        is not set; otherwise magnus while ``numerics`` picks the dense kernels, eigenframe
        beyond).
    min_nodes, max_nodes : int
        Collocation nodes per cycle. Defaults 16 and 512. (spectral.)
    max_unknowns : int
        Largest dense collocation system ``nodes * d^2``. Default 4096. (spectral.)
    max_cycles : int
        Cycles the propagation may take towards the limit cycle. Default 200. (krylov,
        eigenframe.)
    numerics : Numerics
        Options of the generator. (All methods.)
    """

    rtol: float = 1e-8
    steps: int | None = None
    min_steps: int = 32
    max_steps: int = 2**16
    slow_factor: float = 5.0
    chunk: int = 2048
    method: str = "auto"
    min_nodes: int = 16
    max_nodes: int = 512
    max_unknowns: int = 4096
    max_cycles: int = 200
    numerics: Numerics = field(default_factory=Numerics)

    def __post_init__(self):
        if not (isinstance(self.rtol, (int, float)) and 1e-13 <= self.rtol <= 1e-2):
            raise ValueError(f"rtol: expected a number in [1e-13, 1e-2], got {self.rtol!r}")
        _check_int("steps", self.steps, 2, MAX_STEPS, optional=True, hi_text="2**22")
        _check_int("min_steps", self.min_steps, 2)
        _check_int("max_steps", self.max_steps, self.min_steps, MAX_STEPS,
                   lo_text=f"min_steps={self.min_steps}", hi_text="2**22")
        if not (isinstance(self.slow_factor, (int, float)) and self.slow_factor >= 0):
            raise ValueError(f"slow_factor: expected a number >= 0, got {self.slow_factor!r}")
        _check_int("chunk", self.chunk, 1)
        if not (isinstance(self.method, str) and self.method in METHODS):
            raise ValueError(f"method: expected one of {tuple(METHODS)}, got {self.method!r}")
        _check_int("min_nodes", self.min_nodes, 4)
        _check_int("max_nodes", self.max_nodes, self.min_nodes,
                   lo_text=f"min_nodes={self.min_nodes}")
        _check_int("max_cycles", self.max_cycles, 1)
        _check_int("max_unknowns", self.max_unknowns, 16)
        if self.method != "auto":
            object.__setattr__(self, "_named", self._build(METHODS[self.method]))

    def _build(self, cls: type[ExactMethod], choice: tuple = ()) -> ExactMethod:
        """``cls`` with the options it takes; warn about the other options that were set."""
        mine = {f.name for f in fields(self)}
        takes = cls.option_names()
        ignored = {f.name: getattr(self, f.name) for f in fields(self)
                   if f.name not in takes and f.name not in choice and f.name != "method"
                   and getattr(self, f.name) != f.default}
        warn_ignored(ignored, f"by method {cls.name!r} (it takes {', '.join(takes)})")
        return cls(**{k: getattr(self, k) for k in takes if k in mine})

    def resolve_method(self, loop, dim: int, dense: bool | None = None) -> str:
        """Name of the method that runs for this loop and Hilbert-space dimension."""
        if self.method == "spectral" and not loop.smooth:
            raise ValueError("method: 'spectral' needs a smooth periodic loop (this one has "
                             "corners); use 'magnus' or 'auto'")
        if self.method != "auto":
            return self.method
        if dense is None:
            dense = self.numerics.use_dense(int(round(math.log2(dim))))
        if self.steps is not None:
            return "magnus" if dense else "eigenframe"
        fits = 2 * self.min_nodes * dim * dim <= self.max_unknowns
        if loop.smooth and fits:
            return "spectral"
        return "magnus" if dense else "eigenframe"

    def resolve(self, loop, dim: int, dense: bool | None = None) -> ExactMethod:
        """The method object that runs for this loop and Hilbert-space dimension, with the
        options it takes (warns about set options it ignores when ``method="auto"``)."""
        name = self.resolve_method(loop, dim, dense)
        if self.method != "auto":
            return self._named.resolve(loop, dim, dense)
        return self._build(METHODS[name], _AUTO_CHOICE).resolve(loop, dim, dense)


def as_method(method=None, options: ExactOptions | None = None) -> ExactMethod | ExactOptions:
    """Normalise the ``method`` / ``options`` arguments of the exact solvers: a method name,
    a method object or (legacy) :class:`ExactOptions`; neither: :class:`Auto`. Both:
    ``ValueError`` (the options would be dropped)."""
    if method is not None and options is not None:
        raise ValueError("method, options: give one of them (ExactOptions.method names the "
                         "method; a method object holds its options)")
    if options is not None:
        if not isinstance(options, ExactOptions):
            raise ValueError(f"options: expected ExactOptions, got {options!r}")
        return options
    if isinstance(method, ExactOptions):
        return method
    return Auto() if method is None else method_object(method)
