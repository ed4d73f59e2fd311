"""Closed paths in a plane of two driving parameters.

A :class:`Loop` maps the cycle coordinate ``s in [0, 1)`` (``s = t/period``) to a point
``(x(s), y(s))`` of the plane ``(x, y)`` of two named parameters; the other parameters stay at
a base point (the machine's defaults unless given). Orientation is explicit: a loop traversed
counter-clockwise in the ``(x, y)`` plane has positive :meth:`Loop.signed_area`.

Smooth periodic loops (circle, ellipse, Fourier) are integrated to spectral accuracy by the
trapezoidal rule; loops with corners (polygons, sectors) report their corners in
:meth:`Loop.breakpoints` so quadrature can be done piece by piece with Gauss-Legendre rules.
:meth:`Loop.reversed` is the same loop traversed the other way (``lam(1 - s)``).

A loop is also data: a *loop table* ``{kind, plane, <fields>, base}`` (:func:`loop_to_table`,
:func:`loop_from_table`), used by sweep files, and a *loop file*, the same table in TOML
(:func:`save_loop`, :func:`load_loop`), which ``thermogeo optimal``, ``optimize`` and ``map``
write and every command taking a loop reads (docs/decisions/0320-loop-files.md).
"""

from __future__ import annotations

import json
import tomllib
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from thermogeo.errors import ModelError


@dataclass(frozen=True)
class Loop(ABC):
    """A closed path ``s -> (x(s), y(s))``, ``s in [0, 1]``, ``x(0) = x(1)``.

    Attributes
    ----------
    plane : (str, str)
        Names of the parameters on the two axes.
    base : mapping name -> value, optional
        Values of the other parameters (default: the machine's defaults).
    """

    plane: tuple[str, str] = ("Bx", "Bz")
    base: Mapping[str, float] | None = field(default=None, kw_only=True)

    @abstractmethod
    def xy(self, s: np.ndarray) -> np.ndarray:
        """``(*s, 2)`` points of the plane."""

    @abstractmethod
    def dxy(self, s: np.ndarray) -> np.ndarray:
        """``(*s, 2)`` derivative ``d(x, y)/ds``."""

    def breakpoints(self) -> np.ndarray:
        """Values of ``s`` in ``[0, 1]`` where the loop has corners (always includes 0 and 1).

        Smooth periodic loops return ``[0, 1]``.
        """
        return np.array([0.0, 1.0])

    @property
    def smooth(self) -> bool:
        """True for a smooth periodic loop (trapezoidal rule is spectrally accurate)."""
        return len(self.breakpoints()) == 2

    def points(self, machine, s) -> np.ndarray:
        """Full parameter vectors ``lam (*s, k)`` along the loop."""
        s = np.asarray(s, dtype=float)
        ix, iy = self.indices(machine)
        lam = np.broadcast_to(machine.point(self.base or {}), s.shape + (len(machine.parameters),)
                              ).copy()
        p = self.xy(s)
        lam[..., ix], lam[..., iy] = p[..., 0], p[..., 1]
        return lam

    def velocity(self, machine, s) -> np.ndarray:
        """``d lam / ds``, ``(*s, k)`` (zero outside the plane)."""
        s = np.asarray(s, dtype=float)
        ix, iy = self.indices(machine)
        v = np.zeros(s.shape + (len(machine.parameters),))
        dp = self.dxy(s)
        v[..., ix], v[..., iy] = dp[..., 0], dp[..., 1]
        return v

    def indices(self, machine) -> tuple[int, int]:
        """Indices of the plane's parameters in ``machine``; a clear error if unknown."""
        if len(self.plane) != 2 or self.plane[0] == self.plane[1]:
            raise ModelError(f"plane: expected two different parameter names, got {self.plane}")
        return machine.parameter_index(self.plane[0]), machine.parameter_index(self.plane[1])

    def signed_area(self, n: int = 4096) -> float:
        """Enclosed area, positive for counter-clockwise loops (shoelace on a fine sampling
        of every smooth piece)."""
        x, w = self.quadrature(n)
        p, dp = self.xy(x), self.dxy(x)
        return float(0.5 * np.sum(w * (p[:, 0] * dp[:, 1] - p[:, 1] * dp[:, 0])))

    def quadrature(self, n: int = 256) -> tuple[np.ndarray, np.ndarray]:
        """Nodes and weights in ``s`` for integrals over one cycle.

        Smooth loops: ``n`` equispaced nodes (trapezoid, spectral). Otherwise Gauss-Legendre
        with ``n`` nodes on every smooth piece between :meth:`breakpoints`.
        """
        bp = self.breakpoints()
        if len(bp) == 2:
            return np.arange(n) / n, np.full(n, 1.0 / n)
        g, gw = np.polynomial.legendre.leggauss(n)
        xs, ws = [], []
        for a, b in zip(bp[:-1], bp[1:]):
            xs.append(0.5 * (b - a) * (g + 1) + a)
            ws.append(0.5 * (b - a) * gw)
        return np.concatenate(xs), np.concatenate(ws)

    def reversed(self) -> Loop:
        """The same loop traversed the other way."""
        return Reparametrized(loop=self, phi=lambda s: 1.0 - s, dphi=lambda s: -np.ones_like(s),
                              plane=self.plane, base=self.base)


def _pt(p, name) -> tuple[float, float]:
    p = tuple(float(v) for v in p)
    if len(p) != 2:
        raise ModelError(f"{name}: expected two numbers (x, y), got {p}")
    return p


@dataclass(frozen=True)
class Circle(Loop):
    """Circle of ``radius`` around ``center``; ``clockwise=False`` is counter-clockwise."""

    center: tuple[float, float] = (0.0, 0.0)
    radius: float = 1.0
    clockwise: bool = False

    def __post_init__(self):
        object.__setattr__(self, "center", _pt(self.center, "center"))
        if not self.radius > 0:
            raise ModelError(f"radius: must be > 0, got {self.radius}")

    def _phase(self, s):
        return 2 * np.pi * np.asarray(s, dtype=float) * (-1 if self.clockwise else 1)

    def xy(self, s):
        t = self._phase(s)
        return np.stack([self.center[0] + self.radius * np.cos(t),
                         self.center[1] + self.radius * np.sin(t)], axis=-1)

    def dxy(self, s):
        t = self._phase(s)
        w = 2 * np.pi * (-1 if self.clockwise else 1) * self.radius
        return np.stack([-w * np.sin(t), w * np.cos(t)], axis=-1)

    def reversed(self) -> Circle:
        """The same circle traversed the other way (from the same starting point)."""
        return replace(self, clockwise=not self.clockwise)


@dataclass(frozen=True)
class Ellipse(Loop):
    """Ellipse with semi-axes ``(a, b)`` rotated by ``angle`` (radians) around ``center``."""

    center: tuple[float, float] = (0.0, 0.0)
    semi_axes: tuple[float, float] = (1.0, 1.0)
    angle: float = 0.0
    clockwise: bool = False

    def __post_init__(self):
        object.__setattr__(self, "center", _pt(self.center, "center"))
        object.__setattr__(self, "semi_axes", _pt(self.semi_axes, "semi_axes"))
        if min(self.semi_axes) <= 0:
            raise ModelError(f"semi_axes: both must be > 0, got {self.semi_axes}")

    def _rot(self):
        c, s = np.cos(self.angle), np.sin(self.angle)
        return np.array([[c, -s], [s, c]])

    def xy(self, s):
        t = 2 * np.pi * np.asarray(s, float) * (-1 if self.clockwise else 1)
        p = np.stack([self.semi_axes[0] * np.cos(t), self.semi_axes[1] * np.sin(t)], -1)
        return p @ self._rot().T + np.array(self.center)

    def dxy(self, s):
        sg = -1 if self.clockwise else 1
        t = 2 * np.pi * np.asarray(s, float) * sg
        p = 2 * np.pi * sg * np.stack([-self.semi_axes[0] * np.sin(t),
                                       self.semi_axes[1] * np.cos(t)], -1)
        return p @ self._rot().T

    def reversed(self) -> Ellipse:
        """The same ellipse traversed the other way (from the same starting point)."""
        return replace(self, clockwise=not self.clockwise)


@dataclass(frozen=True)
class Polygon(Loop):
    """Closed polygon through ``vertices`` (in order; the last joins the first), each side
    traversed at uniform speed in an equal share of the cycle."""

    vertices: Sequence[tuple[float, float]] = ()

    def __post_init__(self):
        v = np.asarray(self.vertices, dtype=float)
        if v.ndim != 2 or v.shape[1] != 2 or len(v) < 3:
            raise ModelError(f"vertices: expected at least three (x, y) pairs, got {v.shape}")
        _check_finite(v, "vertices", "vertex")
        object.__setattr__(self, "vertices", tuple(map(tuple, v.tolist())))
        _check_simple(np.vstack([v, v[:1]]), "polygon")

    def _v(self):
        return np.asarray(self.vertices)

    def breakpoints(self):
        return np.linspace(0, 1, len(self.vertices) + 1)

    def _seg(self, s):
        n = len(self.vertices)
        u = np.mod(np.asarray(s, float), 1.0) * n
        i = np.minimum(np.floor(u).astype(int), n - 1)
        return i, u - i, n

    def xy(self, s):
        v = self._v()
        i, f, n = self._seg(s)
        return v[i] + f[..., None] * (v[(i + 1) % n] - v[i])

    def dxy(self, s):
        v = self._v()
        i, _, n = self._seg(s)
        return n * (v[(i + 1) % n] - v[i])

    def reversed(self) -> Polygon:
        """The same polygon traversed the other way from the same first vertex (each side
        still in an equal share of the cycle: ``lam_reversed(s) = lam(1 - s)``)."""
        v = self.vertices
        return replace(self, vertices=(v[0],) + tuple(v[:0:-1]))


def Rectangle(x: tuple[float, float], y: tuple[float, float], plane=("Bx", "Bz"),
              clockwise: bool = False, base=None) -> Polygon:
    """Axis-aligned rectangle ``[x0, x1] x [y0, y1]`` as a :class:`Polygon`."""
    (x0, x1), (y0, y1) = _pt(x, "x"), _pt(y, "y")
    if not (x1 > x0 and y1 > y0):
        raise ModelError(f"rectangle: need x0 < x1 and y0 < y1, got x={x}, y={y}")
    v = [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]
    return Polygon(plane, vertices=v[::-1] if clockwise else v, base=base)


@dataclass(frozen=True)
class Sector(Loop):
    """Annular sector between radii ``r_in < r_out`` and polar angles ``theta0 < theta1``
    (radians, measured from the +x axis of the plane towards +y) around ``center``.

    Counter-clockwise: outwards along ``theta0``, the outer arc, inwards along ``theta1``, the
    inner arc back (the inner arc degenerates to a point when ``r_in = 0``). The four pieces
    share the cycle equally. ``r_out`` may be large (the "quadrant" loop of docs/theory.md
    section 7).
    """

    r_in: float = 0.0
    r_out: float = 1.0
    theta0: float = 0.0
    theta1: float = np.pi / 2
    center: tuple[float, float] = (0.0, 0.0)
    clockwise: bool = False

    def __post_init__(self):
        object.__setattr__(self, "center", _pt(self.center, "center"))
        if not 0 <= self.r_in < self.r_out:
            raise ModelError(f"sector: need 0 <= r_in < r_out, got {self.r_in}, {self.r_out}")
        if not 0 < self.theta1 - self.theta0 <= 2 * np.pi:
            raise ModelError("sector: need theta0 < theta1 <= theta0 + 2 pi, got "
                             f"{self.theta0}, {self.theta1}")

    def breakpoints(self):
        return np.linspace(0, 1, 5)

    def _polar(self, s):
        s = np.mod(np.asarray(s, float), 1.0)
        if self.clockwise:
            s = np.where(s == 0, 0.0, 1.0 - s)
        u = 4 * s
        i = np.minimum(np.floor(u).astype(int), 3)
        f = u - i
        a, b, t0, t1 = self.r_in, self.r_out, self.theta0, self.theta1
        r = np.choose(i, [a + f * (b - a), np.full_like(f, b), b - f * (b - a),
                          np.full_like(f, a)])
        th = np.choose(i, [np.full_like(f, t0), t0 + f * (t1 - t0), np.full_like(f, t1),
                           t1 - f * (t1 - t0)])
        dr = np.choose(i, [np.full_like(f, b - a), 0 * f, np.full_like(f, a - b), 0 * f])
        dth = np.choose(i, [0 * f, np.full_like(f, t1 - t0), 0 * f, np.full_like(f, t0 - t1)])
        sg = -4.0 if self.clockwise else 4.0
        return r, th, sg * dr, sg * dth

    def xy(self, s):
        r, th, _, _ = self._polar(s)
        return np.stack([self.center[0] + r * np.cos(th), self.center[1] + r * np.sin(th)], -1)

    def dxy(self, s):
        r, th, dr, dth = self._polar(s)
        return np.stack([dr * np.cos(th) - r * np.sin(th) * dth,
                         dr * np.sin(th) + r * np.cos(th) * dth], -1)

    def reversed(self) -> Sector:
        """The same sector traversed the other way (from the same starting point)."""
        return replace(self, clockwise=not self.clockwise)


@dataclass(frozen=True)
class FourierLoop(Loop):
    """``(x, y)(s) = c0 + sum_n a_n cos(2 pi n s) + b_n sin(2 pi n s)``.

    ``coefficients`` has shape ``(2 * harmonics + 1, 2)``: ``c0``, then ``a_1, b_1, a_2, ...``.
    """

    coefficients: np.ndarray = field(default_factory=lambda: np.array(
        [[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]]))

    def __post_init__(self):
        c = np.asarray(self.coefficients, dtype=float)
        if c.ndim != 2 or c.shape[1] != 2 or c.shape[0] % 2 != 1:
            raise ModelError("coefficients: expected shape (2*harmonics + 1, 2), got "
                             f"{c.shape}")
        c.setflags(write=False)
        object.__setattr__(self, "coefficients", c)

    @property
    def harmonics(self) -> int:
        return (self.coefficients.shape[0] - 1) // 2

    def _basis(self, s, deriv):
        s = np.asarray(s, float)[..., None]
        n = np.arange(1, self.harmonics + 1)
        w = 2 * np.pi * n
        if deriv:
            cols = [np.zeros_like(s)] + [f for k in range(len(n)) for f in
                                         (-w[k] * np.sin(w[k] * s), w[k] * np.cos(w[k] * s))]
        else:
            cols = [np.ones_like(s)] + [f for k in range(len(n)) for f in
                                        (np.cos(w[k] * s), np.sin(w[k] * s))]
        return np.concatenate(cols, axis=-1)

    def xy(self, s):
        return self._basis(s, False) @ self.coefficients

    def dxy(self, s):
        return self._basis(s, True) @ self.coefficients

    def reversed(self) -> FourierLoop:
        """``lam(1 - s)``: the sine coefficients change sign."""
        c = np.array(self.coefficients)
        c[2::2] *= -1
        return replace(self, coefficients=c)


def _check_finite(p: np.ndarray, where: str, what: str) -> None:
    """Refuse NaN or infinite coordinates, naming the first such row (0-based) and column."""
    bad = np.argwhere(~np.isfinite(p))
    if len(bad):
        i, j = bad[0]
        raise ModelError(f"{where}: {what} {i} has {'xy'[j]} = {p[i, j]}; every coordinate "
                         f"must be a finite number ({len(bad)} non-finite in all)")


def SampledLoop(samples, plane=("Bx", "Bz"), harmonics: int | None = None, base=None
                ) -> FourierLoop:
    """A loop through sampled points ``(n, 2)`` (equispaced in ``s``; the closing point may be
    repeated or omitted), interpolated by a truncated Fourier series (default: all
    resolvable harmonics, ``(n - 1) // 2``)."""
    p = np.asarray(samples, dtype=float)
    if p.ndim != 2 or p.shape[1] != 2 or len(p) < 3:
        raise ModelError(f"loop samples: expected an (n, 2) array with n >= 3, got {p.shape}")
    _check_finite(p, "loop samples", "sample")
    if np.allclose(p[0], p[-1]):
        p = p[:-1]
    n = len(p)
    h = (n - 1) // 2 if harmonics is None else int(harmonics)
    if not 1 <= h <= (n - 1) // 2:
        raise ModelError(f"harmonics: expected 1..{(n - 1) // 2} for {n} samples, got {h}")
    F = np.fft.rfft(p, axis=0) / n
    c = [F[0].real]
    for k in range(1, h + 1):
        c += [2 * F[k].real, -2 * F[k].imag]
    return FourierLoop(plane, coefficients=np.array(c), base=base)


@dataclass(frozen=True)
class Reparametrized(Loop):
    """``loop`` traversed with the timing ``s -> phi(s)`` (``phi`` monotone, ``phi(0), phi(1)``
    the two ends of the cycle); ``dphi`` is its derivative."""

    loop: Loop | None = None
    phi: Callable | None = None
    dphi: Callable | None = None

    def xy(self, s):
        return self.loop.xy(self.phi(np.asarray(s, float)))

    def dxy(self, s):
        s = np.asarray(s, float)
        return self.loop.dxy(self.phi(s)) * self.dphi(s)[..., None]

    def breakpoints(self):
        bp = self.loop.breakpoints()
        if len(bp) == 2:
            return bp
        # corners of the inner loop, pulled back through phi (monotone, so bisection works)
        out = []
        for b in bp:
            lo, hi = 0.0, 1.0
            inc = float(self.phi(np.array(1.0))) > float(self.phi(np.array(0.0)))
            for _ in range(60):
                mid = 0.5 * (lo + hi)
                if (float(self.phi(np.array(mid))) < b) == inc:
                    lo = mid
                else:
                    hi = mid
            out.append(0.5 * (lo + hi))
        return np.unique(np.clip(np.round(np.concatenate([[0.0, 1.0], out]), 14), 0, 1))


def _check_simple(p: np.ndarray, what: str) -> None:
    """Raise if a closed polyline ``p (n+1, 2)`` (first point repeated) self-intersects."""
    i, j = first_crossing(p)
    if i is not None:
        raise ModelError(f"{what}: the loop intersects itself (sides {i} and {j}); a simple "
                         "closed loop is required")


def first_crossing(p: np.ndarray) -> tuple[int | None, int | None]:
    """First pair ``(i, j)`` of properly crossing, non-adjacent chords of the closed polyline
    ``p (n+1, 2)`` (``p[-1] == p[0]``), or ``(None, None)``.

    Nearly collinear triples (cross product below ``1e-12`` of the squared extent) count as not
    crossing, so that round-off on a common line (two sides along one axis) is no crossing.
    """
    a, b = p[:-1], p[1:]
    n = len(a)
    keep = np.linalg.norm(b - a, axis=1) > 0
    idx = np.flatnonzero(keep)
    a, b = a[keep], b[keep]
    tol = 1e-12 * max(float(np.ptp(p[:, 0])), float(np.ptp(p[:, 1])), 1e-300) ** 2

    def orient(p, q, r):
        x = ((q[..., 0] - p[..., 0]) * (r[..., 1] - p[..., 1])
             - (q[..., 1] - p[..., 1]) * (r[..., 0] - p[..., 0]))
        return np.where(np.abs(x) <= tol, 0.0, np.sign(x))

    A, B = a[:, None], b[:, None]
    C, D = a[None], b[None]
    cross = (orient(A, B, C) * orient(A, B, D) < 0) & (orient(C, D, A) * orient(C, D, B) < 0)
    ii, jj = np.meshgrid(idx, idx, indexing="ij")
    gap = np.abs(ii - jj)
    cross &= (gap > 1) & (gap < n - 1) & (ii < jj)
    hit = np.argwhere(cross)
    if hit.size == 0:
        return None, None
    return int(idx[hit[0, 0]]), int(idx[hit[0, 1]])


# ---------------------------------------------------------------------------------------
# loop tables and loop files (docs/decisions/0320-loop-files.md)
LOOP_FIELDS = {
    "circle": ("center", "radius", "clockwise"),
    "ellipse": ("center", "semi_axes", "angle", "clockwise"),
    "polygon": ("vertices",),
    "rectangle": ("x", "y", "clockwise"),
    "sector": ("r_in", "r_out", "theta0", "theta1", "center", "clockwise"),
    "fourier": ("coefficients",),
}
"""Fields of a loop table by ``kind`` (besides ``kind``, ``plane`` and the optional ``base``)."""

LOOP_FILE_FORMAT = "thermogeo-loop"
LOOP_FILE_VERSION = 1
_FILE_KEYS = ("format", "version", "about")


def loop_from_table(table: Mapping, where: str = "loop") -> Loop:
    """A :class:`Loop` from a loop table ``{kind, plane, <fields of the kind>, base}`` (the
    tables of sweep files and loop files; fields as in the classes of this module).

    Examples
    --------
    >>> loop_from_table({"kind": "circle", "plane": ["Bx", "Bz"], "center": [0.8, 0.6],
    ...                  "radius": 0.5}).radius
    0.5
    """
    if not isinstance(table, Mapping) or table.get("kind") not in LOOP_FIELDS:
        got = table.get("kind") if isinstance(table, Mapping) else table
        raise ModelError(f"{where}.kind: expected one of {', '.join(LOOP_FIELDS)}, got {got!r}")
    kind = table["kind"]
    fields = {k: v for k, v in table.items() if k != "kind"}
    plane = fields.pop("plane", ("Bx", "Bz"))
    if (isinstance(plane, str) or not isinstance(plane, Sequence) or len(plane) != 2
            or not all(isinstance(p, str) for p in plane)):
        raise ModelError(f"{where}.plane: expected two parameter names, e.g. ['Bx', 'Bz'], "
                         f"got {plane!r}")
    plane = (plane[0], plane[1])
    base = fields.pop("base", None)
    if base is not None and not isinstance(base, Mapping):
        raise ModelError(f"{where}.base: expected a table name = value, got {base!r}")
    extra = set(fields) - set(LOOP_FIELDS[kind])
    if extra:
        raise ModelError(f"{where}: unknown field(s) {sorted(extra)} for a {kind}; accepted: "
                         f"plane, base, {', '.join(LOOP_FIELDS[kind])}")
    try:
        if kind == "rectangle":
            return Rectangle(plane=plane, base=base, **fields)
        cls = {"circle": Circle, "ellipse": Ellipse, "polygon": Polygon, "sector": Sector,
               "fourier": FourierLoop}[kind]
        return cls(plane, base=base, **fields)
    except (ModelError, TypeError, ValueError) as e:
        raise ModelError(f"{where}: {e}") from None


def loop_to_table(loop: Loop) -> dict:
    """The loop table of ``loop`` (inverse of :func:`loop_from_table`): circles, ellipses,
    sectors, polygons (rectangles are polygons) and Fourier loops; a re-timed loop has no table.

    Examples
    --------
    >>> t = loop_to_table(Circle(("Bx", "Bz"), center=(0.8, 0.6), radius=0.5).reversed())
    >>> t["kind"], t["clockwise"]
    ('circle', True)
    >>> loop_from_table(t) == Circle(("Bx", "Bz"), center=(0.8, 0.6), radius=0.5,
    ...                              clockwise=True)
    True
    """
    kinds = {Circle: "circle", Ellipse: "ellipse", Polygon: "polygon", Sector: "sector",
             FourierLoop: "fourier"}
    kind = kinds.get(type(loop))
    if kind is None:
        raise ModelError(f"loop: a {type(loop).__name__} has no loop table (only "
                         f"{', '.join(kinds.values())}); sample it with SampledLoop first")
    out = {"kind": kind, "plane": list(loop.plane)}
    for f in LOOP_FIELDS[kind]:
        v = getattr(loop, f)
        out[f] = np.asarray(v).tolist() if isinstance(v, (tuple, list, np.ndarray)) else v
    if loop.base:
        out["base"] = {str(k): float(v) for k, v in loop.base.items()}
    return out


def save_loop(loop: Loop, path: str | Path, *, about: Mapping | None = None) -> Path:
    """Write ``loop`` as a loop file: TOML with ``format = "thermogeo-loop"``, ``version``,
    the loop table (:func:`loop_to_table`) and an optional ``[about]`` table (where the loop
    came from: command, model, bath, figures; numbers and strings), which readers ignore.

    Examples
    --------
    >>> import tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "loop.toml")
    >>> sq = Polygon(("Bx", "Bz"), vertices=[(0.2, 0.1), (1, 0.1), (1, 0.9), (0.2, 0.9)])
    >>> load_loop(save_loop(sq, p, about={"command": "doctest"})) == sq
    True
    """
    table = loop_to_table(loop)
    lines = ["# A closed loop of thermogeo (read by --loop and by the loops of sweep files).",
             f'format = "{LOOP_FILE_FORMAT}"', f"version = {LOOP_FILE_VERSION}"]
    for k, v in table.items():
        if k in ("vertices", "coefficients"):
            rows = ",\n".join(f"    {_toml(list(r))}" for r in v)
            lines.append(f"{k} = [\n{rows},\n]")
        else:
            lines.append(f"{k} = {_toml(v)}")
    if about:
        lines += ["", "[about]"] + [f"{_toml_key(k)} = {_toml(v)}" for k, v in about.items()]
    path = Path(path)
    path.write_text("\n".join(lines) + "\n")
    return path


def load_loop(path: str | Path) -> Loop:
    """Read a loop file (:func:`save_loop`; ``format`` and ``version`` may be left out of a
    file written by hand).

    Raises
    ------
    ModelError
        Not TOML, not a loop table, or a later format version; the message names the file and
        the field.
    """
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as e:
        raise ModelError(f"{path}: not a TOML loop file ({e})") from None
    fmt, version = data.get("format", LOOP_FILE_FORMAT), data.get("version", LOOP_FILE_VERSION)
    if fmt != LOOP_FILE_FORMAT or version != LOOP_FILE_VERSION:
        raise ModelError(f"{path}: format {fmt!r} version {version!r}; expected "
                         f"{LOOP_FILE_FORMAT!r} version {LOOP_FILE_VERSION}")
    return loop_from_table({k: v for k, v in data.items() if k not in _FILE_KEYS}, str(path))


def _toml_key(k: str) -> str:
    return k if k.replace("_", "").replace("-", "").isalnum() and k.isascii() else _toml(k)


def _toml(v) -> str:
    """A TOML value of the plain data of a loop table (floats written to round-trip)."""
    if isinstance(v, bool | np.bool_):
        return "true" if v else "false"
    if isinstance(v, int | np.integer):
        return str(int(v))
    if isinstance(v, float | np.floating):
        v = float(v)
        return repr(v) if np.isfinite(v) else ("nan" if np.isnan(v) else
                                               ("inf" if v > 0 else "-inf"))
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, Mapping):
        return "{ " + ", ".join(f"{_toml_key(str(k))} = {_toml(x)}" for k, x in v.items()) + " }"
    if isinstance(v, (list, tuple, np.ndarray)):
        return "[" + ", ".join(_toml(x) for x in v) + "]"
    raise TypeError(f"cannot write {type(v).__name__} to a loop file")


def best_region_loop(x, y, field_xy, plane: tuple[str, str], *, base=None,
                     max_vertices: int = 240) -> tuple[Polygon | None, float]:
    """Boundary of the connected single-sign region of ``field_xy`` with the largest
    ``|integral|`` on a grid, as a :class:`Polygon` along which the integral is positive.

    Parameters
    ----------
    x, y : (n_x,), (n_y,)
        Increasing grid coordinates.
    field_xy : (n_x, n_y)
        E.g. the rotor ``Omega^alpha`` of a response map (NaN: no value, outside every
        region).
    plane : (str, str)
    base : mapping, optional
        The other parameters of the loop.
    max_vertices : int
        The boundary is thinned to at most this many vertices.

    Returns
    -------
    loop : Polygon or None
        Counter-clockwise for a positive region, clockwise for a negative one (so that Stokes
        gives ``+|integral|``); None if no region has a simple boundary inside the grid
        (then ``integral`` is NaN).
    integral : float
        The integral of ``field_xy`` over the grid nodes inside the loop, by the trapezoidal
        rule, signed along the loop (an estimate of the line integral along it; a region with
        holes is enclosed by its outer boundary, holes included).

    Examples
    --------
    >>> xs = ys = np.linspace(-1, 1, 81)
    >>> f = np.exp(-8 * ((xs[:, None] - 0.2) ** 2 + ys[None, :] ** 2)) - 0.05
    >>> loop, q = best_region_loop(xs, ys, f, ("Bx", "Bz"))
    >>> bool(loop.signed_area() > 0), round(q, 2)  # the bump: pi/8 - 0.05 * its area
    (True, 0.31)
    """
    import contourpy
    from scipy import ndimage

    x, y, f = (np.asarray(a, dtype=float) for a in (x, y, field_xy))
    if f.shape != (len(x), len(y)) or min(f.shape) < 2:
        raise ModelError(f"field: expected shape ({len(x)}, {len(y)}) (x, y) with at least two "
                         f"nodes per axis, got {f.shape}")
    w = np.outer(np.gradient(x) if len(x) > 1 else [1.0], np.gradient(y))
    w[[0, -1], :] *= 0.5  # trapezoid: np.gradient gives full cells at the edges, halve them
    w[:, [0, -1]] *= 0.5
    ok = np.isfinite(f)
    fz = np.where(ok, f, 0.0)
    best, sign, mask = 0.0, 0, None
    for sg in (1, -1):
        lab, n = ndimage.label(ok & (sg * fz > 0))
        if n == 0:
            continue
        sums = ndimage.sum_labels(fz * w, lab, index=np.arange(1, n + 1))
        k = int(np.argmax(np.abs(sums)))
        if abs(sums[k]) > best:
            best, sign, mask = float(abs(sums[k])), sg, lab == k + 1
    if mask is None:
        return None, float("nan")
    g = np.where(mask, np.abs(fz), -np.abs(fz) - 1e-300)
    gp = np.full((len(x) + 2, len(y) + 2), -1.0)  # closed contours: outside the grid is out
    gp[1:-1, 1:-1] = g
    xp = np.concatenate([[x[0] - 1e-9 * (x[-1] - x[0])], x, [x[-1] + 1e-9 * (x[-1] - x[0])]])
    yp = np.concatenate([[y[0] - 1e-9 * (y[-1] - y[0])], y, [y[-1] + 1e-9 * (y[-1] - y[0])]])
    lines = contourpy.contour_generator(yp, xp, gp, name="serial").lines(0.0)
    if not lines:
        return None, float("nan")
    polys = [np.asarray(line)[:, ::-1] for line in lines]

    def area(p):
        q = np.vstack([p, p[:1]])
        return 0.5 * np.sum(q[:-1, 0] * q[1:, 1] - q[1:, 0] * q[:-1, 1])

    p = max(polys, key=lambda q: abs(area(q)))
    if np.allclose(p[0], p[-1]):
        p = p[:-1]
    keep = np.concatenate([[True], np.any(np.abs(np.diff(p, axis=0)) > 1e-12, axis=1)])
    p = p[keep]
    if len(p) > max_vertices:
        p = p[np.unique(np.linspace(0, len(p), max_vertices, endpoint=False).astype(int))]
    if len(p) < 3:
        return None, float("nan")
    if (area(p) > 0) != (sign > 0):
        p = p[::-1]
    try:
        loop = Polygon((plane[0], plane[1]), vertices=p, base=base)
    except ModelError:  # the thinned boundary touches itself
        return None, float("nan")
    from matplotlib.path import Path as Outline

    X, Y = np.meshgrid(x, y, indexing="ij")
    inside = Outline(p).contains_points(np.stack([X.ravel(), Y.ravel()], -1)).reshape(f.shape)
    return loop, float(sign * np.sum(fz * w * inside))


def smoothed(loop: Loop, harmonics: int, samples: int = 1024) -> FourierLoop:
    """A smooth :class:`FourierLoop` with ``harmonics`` harmonics through ``loop`` sampled at
    ``samples`` points equally spaced in arc length (corners are rounded off; the direction and
    the starting point are kept).

    Examples
    --------
    >>> sq = Polygon(("Bx", "Bz"), vertices=[(0, 0), (1, 0), (1, 1), (0, 1)])
    >>> f = smoothed(sq, 8)
    >>> f.smooth, bool(abs(f.signed_area() - 1) < 0.02)  # the unit square, corners rounded
    (True, True)
    """
    h = int(harmonics)
    if not 1 <= h <= samples // 4:
        raise ModelError(f"harmonics: expected 1..{samples // 4}, got {harmonics}")
    s = np.unique(np.concatenate([np.linspace(0, 1, 8 * samples + 1), loop.breakpoints()]))
    p = loop.xy(s)
    arc = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(p, axis=0), axis=1))])
    u = np.arange(samples) / samples * arc[-1]
    q = np.stack([np.interp(u, arc, p[:, 0]), np.interp(u, arc, p[:, 1])], -1)
    return SampledLoop(q, plane=loop.plane, harmonics=h, base=loop.base)
