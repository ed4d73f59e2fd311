"""The best pumping loop of a bath in a plane (docs/theory.md sections 4 and 6).

By Stokes the heat pumped out of bath ``alpha`` by a loop is the integral of the rotor
``Omega^alpha`` over the enclosed area, so the loop that pumps the most encloses exactly one
connected region where ``Omega^alpha`` has one sign::

    Q_best = max over connected single-sign regions R of | int int_R Omega^alpha dx dy |

The rotor is computed exactly (:func:`thermogeo.response.response` with ``plane=``) on a tensor
grid of quadrature nodes over a region of the plane: a polar region (default, centred on the
origin of the plane, radius ``15 T``, nodes concentrated near the centre where the spectrum of
field-driven qubits is degenerate) or a rectangle. Nodes carry the weights of a composite
Gauss-Legendre rule (in ``u`` with ``r = R sinh(a u) / sinh(a)`` and in the angle for the polar
region; in ``x`` and ``y`` for the rectangle). Connected regions are found with
``scipy.ndimage.label`` on the node grid (periodic in the angle). The boundary of the best
region is the zero contour of ``+|Omega|`` inside and ``-|Omega|`` outside, returned as a
heat out of the bath). At equal temperatures the result is compared with the
non-interacting bound ``N T ln 2``; at unequal temperatures the rotor is that of the machine's
own temperatures (pumping out of any chosen bath), the bound does not apply (NaN) and the
static heat flow of the bath along the boundary loop is reported beside the geometric part
(``loop_static_heat_rate``: ``tau`` times it is the static heat per cycle).

The part of the boundary where the secular generator is not smooth (where a change of the
parameters splits degenerate Bohr frequencies, e.g. along ``Bx = 0`` or ``Bz = 0`` for
field-driven interacting qubits) is reported (``nonsmooth_vertices``,
``nonsmooth_fraction``): the boundary points are tested, and so are their projections on the
coordinate axes of the plane when they lie within one grid cell of an axis (a contour vertex
interpolated between grid nodes is never exactly on the axis).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np

from thermogeo.errors import ModelError, SecularApproximationWarning, ThermogeoWarning
from thermogeo.model.machine import Machine
from thermogeo.numerics import Numerics
from thermogeo.protocols.engine import json_number
from thermogeo.protocols.paths import Loop, Polygon
from thermogeo.response import response
from thermogeo.protocols.cycle import cycle_summary


@dataclass(frozen=True)
class PolarRegion:
    """Disc of ``radius`` around ``center`` (default radius ``15 T``).

    ``resolution = (n_r, n_theta)`` Gauss-Legendre nodes in ``u`` (``r = R sinh(a u)/sinh(a)``,
    ``a = stretch``) and in the angle (in 8 panels with edges at multiples of ``pi/4``).
    """

    center: tuple[float, float] = (0.0, 0.0)
    radius: float | None = None
    resolution: tuple[int, int] = (160, 192)
    stretch: float = 5.0

    def __post_init__(self):
        object.__setattr__(self, "center", tuple(float(c) for c in self.center))
        if self.radius is not None and not self.radius > 0:
            raise ModelError(f"region radius: must be > 0, got {self.radius}")
        n_r, n_t = _resolution(self.resolution)
        if n_t % 8:
            raise ModelError(f"region resolution: the angular count must be a multiple of 8, "
                             f"got {n_t}")
        object.__setattr__(self, "resolution", (n_r, n_t))
        if not self.stretch > 0:
            raise ModelError(f"region stretch: must be > 0, got {self.stretch}")

    def grid(self, T: float):
        """Nodes ``(n_r, n_t, 2)``, weights ``(n_r, n_t)``, periodic axis 1."""
        n_r, n_t = self.resolution
        R = self.radius if self.radius is not None else 15.0 * T
        u, uw = _composite(0.0, 1.0, n_r, 4)
        a = self.stretch
        r = R * np.sinh(a * u) / np.sinh(a)
        dr = R * a * np.cosh(a * u) / np.sinh(a)
        th, tw = _composite(0.0, 2 * np.pi, n_t, 8)
        Rr, Th = np.meshgrid(r, th, indexing="ij")
        pts = np.stack([self.center[0] + Rr * np.cos(Th), self.center[1] + Rr * np.sin(Th)], -1)
        w = (uw * dr * r)[:, None] * tw[None, :]
        return pts, w, True

    def describe(self, T: float) -> dict:
        return {"kind": "polar", "center": list(self.center),
                "radius": self.radius if self.radius is not None else 15.0 * T,
                "resolution": list(self.resolution)}


@dataclass(frozen=True)
class RectRegion:
    """Rectangle ``x in [x0, x1]``, ``y in [y0, y1]`` with ``resolution = (n_x, n_y)``
    Gauss-Legendre nodes (4 panels per axis)."""

    x: tuple[float, float] = (-3.0, 3.0)
    y: tuple[float, float] = (-3.0, 3.0)
    resolution: tuple[int, int] = (200, 200)

    def __post_init__(self):
        x, y = tuple(map(float, self.x)), tuple(map(float, self.y))
        if len(x) != 2 or len(y) != 2 or not (x[1] > x[0] and y[1] > y[0]):
            raise ModelError(f"rectangle region: need x0 < x1 and y0 < y1, got x={self.x}, "
                             f"y={self.y}")
        object.__setattr__(self, "x", x)
        object.__setattr__(self, "y", y)
        object.__setattr__(self, "resolution", _resolution(self.resolution))

    def grid(self, T: float):
        xs, xw = _composite(*self.x, self.resolution[0], 4)
        ys, yw = _composite(*self.y, self.resolution[1], 4)
        X, Y = np.meshgrid(xs, ys, indexing="ij")
        return np.stack([X, Y], -1), xw[:, None] * yw[None, :], False

    def describe(self, T: float) -> dict:
        return {"kind": "rectangle", "x": list(self.x), "y": list(self.y),
                "resolution": list(self.resolution)}


def _resolution(res) -> tuple[int, int]:
    r = (int(res), int(res)) if np.isscalar(res) else tuple(int(v) for v in res)
    if len(r) != 2 or min(r) < 8:
        raise ModelError(f"resolution: expected one or two integers >= 8, got {res!r}")
    return r


def _composite(a: float, b: float, n: int, panels: int):
    """Composite Gauss-Legendre nodes/weights: ``panels`` equal panels, ``n`` nodes in all
    (``n // panels`` per panel, at least 2)."""
    panels = max(1, min(panels, n // 2))
    p = n // panels
    g, gw = np.polynomial.legendre.leggauss(p)
    edges = np.linspace(a, b, panels + 1)
    h = 0.5 * np.diff(edges)
    x = (edges[:-1, None] + h[:, None] * (g + 1)).ravel()
    w = (h[:, None] * gw).ravel()
    return x, w


#: Units of the optimal-region figures (k_B = hbar = 1; docs/decisions/0007-names.md).
UNITS = {"max_geometric_heat": "energy", "max_geometric_heat_over_T": "1",
         "positive_part": "energy", "negative_part": "energy", "bound": "energy",
         "loop_geometric_heat": "energy", "temperature": "energy", "bound_rtol": "1",
         "region_radius": "parameter unit", "points": "parameter unit",
         "weights": "parameter unit^2", "rotor": "energy per parameter unit^2",
         "loop_vertices": "parameter unit", "loop_static_heat_rate": "energy / time",
         "nonsmooth_fraction": "1"}


@dataclass(frozen=True, eq=False)
class OptimalRegion:
    """The rotor map of one bath and its best single-sign region (names as in
    docs/decisions/0007-names.md).

    Attributes
    ----------
    bath : str
    plane : (str, str)
    max_geometric_heat : float   largest ``|int_R Omega|`` over connected single-sign regions
    region_sign : int         sign of ``Omega`` on the best region
    positive_part : float     integral of ``max(Omega, 0)`` over the whole grid region
    negative_part : float     integral of ``min(Omega, 0)`` (a negative number)
    bound : float             ``N T ln 2`` (NaN at unequal temperatures: it does not apply)
    exceeds_bound : bool      ``max_geometric_heat > bound (1 + bound_rtol)`` (False when the
                              bound does not apply)
    loop : Loop or None       boundary of the best region (``Q_bath^geo > 0`` along it)
    loop_geometric_heat : float  ``Q_bath^geo`` of ``loop`` (line integral, 4 Gauss nodes per
                              side): a check of the boundary against ``max_geometric_heat``
                              (NaN without a loop)
    points : (n1, n2, 2)      grid nodes in the plane
    weights : (n1, n2)        area weights
    rotor : (n1, n2)          ``Omega^bath`` at the nodes
    labels : (n1, n2) int     connected region labels (positive ids: Omega > 0, negative ids:
                              Omega < 0)
    best_label : int          label of the best region (0: none); ``best_mask`` its nodes
    region : dict             the region's description
    regions : int             number of connected single-sign regions
    temperature : float       ``T`` of the bath (the common ``T`` at equal temperatures)
    temperatures : dict       every bath's temperature
    loop_static_heat_rate : float  the steady heat current from the bath into the system
                              averaged along the boundary loop (uniform timing): the static
                              heat per cycle of period ``tau`` is ``tau`` times it (0 at equal
                              temperatures; NaN without a loop)
    nonsmooth_vertices : (n,) bool  the boundary loop's vertices where the secular generator
                              is not smooth (see the module docstring)
    nonsmooth_fraction : float  share of the boundary's length between two such vertices
    """

    bath: str
    plane: tuple[str, str]
    max_geometric_heat: float
    region_sign: int
    positive_part: float
    negative_part: float
    bound: float
    exceeds_bound: bool
    bound_rtol: float
    loop: Loop | None
    points: np.ndarray = field(repr=False)
    weights: np.ndarray = field(repr=False)
    rotor: np.ndarray = field(repr=False)
    labels: np.ndarray = field(repr=False)
    region: dict = field(default_factory=dict)
    regions: int = 0
    temperature: float = 1.0
    loop_geometric_heat: float = float("nan")
    best_label: int = 0
    temperatures: dict = field(default_factory=dict)
    loop_static_heat_rate: float = float("nan")
    nonsmooth_vertices: np.ndarray | None = field(default=None, repr=False)
    nonsmooth_fraction: float = float("nan")

    def nonsmooth_points(self) -> np.ndarray:
        """``(n, 2)``: the flagged vertices of the boundary loop (isolated points such as the
        origin, and the vertices of :meth:`nonsmooth_runs`)."""
        if self.loop is None or self.nonsmooth_vertices is None:
            return np.zeros((0, 2))
        return np.asarray(self.loop.vertices)[np.asarray(self.nonsmooth_vertices)]

    def nonsmooth_runs(self) -> list[np.ndarray]:
        """The parts of the boundary loop along which the generator is not smooth: a list of
        vertex runs ``(n_i, 2)`` (consecutive flagged vertices, at least two)."""
        if self.loop is None or self.nonsmooth_vertices is None:
            return []
        v, flag = np.asarray(self.loop.vertices), np.asarray(self.nonsmooth_vertices)
        if flag.all():
            return [np.vstack([v, v[:1]])]
        start = int(np.argmin(flag))  # a smooth vertex: runs do not wrap past it
        v, flag = np.roll(v, -start, axis=0), np.roll(flag, -start)
        runs, cur = [], []
        for p, f in zip(np.vstack([v, v[:1]]), np.append(flag, flag[0])):
            if f:
                cur.append(p)
            else:
                if len(cur) >= 2:
                    runs.append(np.asarray(cur))
                cur = []
        return runs

    @property
    def best_mask(self) -> np.ndarray:
        """``(n1, n2)`` bool: the nodes of the best region (none if no region was found)."""
        return (self.labels == self.best_label) & (self.best_label != 0)

    @property
    def max_geometric_heat_over_T(self) -> float:
        return self.max_geometric_heat / self.temperature

    def to_dict(self) -> dict:
        """Plain dict for JSON; the loop as its vertices ``[[x, y], ...]`` (None if no simple
        loop)."""
        return {
            "bath": self.bath, "plane": list(self.plane),
            "max_geometric_heat": self.max_geometric_heat, "region_sign": self.region_sign,
            "positive_part": self.positive_part, "negative_part": self.negative_part,
            "bound": json_number(self.bound), "exceeds_bound": self.exceeds_bound,
            "temperatures": self.temperatures,
            "loop_static_heat_rate": json_number(self.loop_static_heat_rate),
            "nonsmooth_boundary": {"fraction": json_number(self.nonsmooth_fraction),
                                   "runs": [r.tolist() for r in self.nonsmooth_runs()],
                                   "points": self.nonsmooth_points().tolist()},
            "max_geometric_heat_over_T": self.max_geometric_heat_over_T,
            "regions": self.regions, "region": self.region,
            "loop_geometric_heat": json_number(self.loop_geometric_heat),
            "loop": ({"kind": "polygon", "orientation": "ccw" if _shoelace(
                np.asarray(self.loop.vertices)) > 0 else "cw",
                      "vertices": np.asarray(self.loop.vertices).tolist()}
                     if self.loop is not None else None),
        }

    def to_dataset(self, grid: bool = True):
        """``xarray.Dataset`` of the figures (``units`` attributes; ``region_radius`` for a
        polar region) and, with ``grid``, the node grid ``points (node1, node2, axis)``,
        ``weights``, ``rotor``, ``labels`` and the boundary ``loop_vertices (vertex, axis)``.
        The bath, plane and region description are attributes."""
        import json

        import xarray as xr

        def var(name, dims, value):
            return (dims, np.asarray(value), {"units": UNITS[name]} if name in UNITS else {})

        data = {k: var(k, (), getattr(self, k)) for k in (
            "max_geometric_heat", "max_geometric_heat_over_T", "region_sign", "positive_part",
            "negative_part", "bound", "exceeds_bound", "bound_rtol", "regions", "temperature",
            "loop_geometric_heat", "loop_static_heat_rate", "nonsmooth_fraction")}
        if self.region.get("kind") == "polar":
            data["region_radius"] = var("region_radius", (), float(self.region["radius"]))
        coords = {}
        if grid:
            g2 = ("node1", "node2")
            data.update(points=var("points", g2 + ("axis",), self.points),
                        weights=var("weights", g2, self.weights),
                        rotor=var("rotor", g2, self.rotor),
                        labels=var("labels", g2, self.labels))
            coords["axis"] = list(self.plane)
            if self.loop is not None:
                data["loop_vertices"] = var("loop_vertices", ("vertex", "axis"),
                                            np.asarray(self.loop.vertices))
                if self.nonsmooth_vertices is not None:
                    data["nonsmooth_vertices"] = (("vertex",),
                                                  np.asarray(self.nonsmooth_vertices))
        return xr.Dataset(data, coords=coords,
                          attrs={"bath": self.bath, "plane": ",".join(self.plane),
                                 "region": json.dumps(self.region)})


def _shoelace(p: np.ndarray) -> float:
    """Signed area of the closed polygon through the vertices ``p (n, 2)``."""
    q = np.roll(p, -1, axis=0)
    return float(0.5 * np.sum(p[:, 0] * q[:, 1] - q[:, 0] * p[:, 1]))


def _label_regions(mask: np.ndarray, periodic: bool) -> tuple[np.ndarray, int]:
    from scipy import ndimage

    lab, n = ndimage.label(mask)
    if periodic and n:
        parent = np.arange(n + 1)

        def find(i):
            while parent[i] != i:
                parent[i] = parent[parent[i]]
                i = parent[i]
            return i

        for a, b in zip(lab[:, 0], lab[:, -1]):
            if a and b:
                ra, rb = find(a), find(b)
                if ra != rb:
                    parent[max(ra, rb)] = min(ra, rb)
        roots = np.array([find(i) for i in range(n + 1)])
        uniq, new = np.unique(roots, return_inverse=True)
        lab = new[lab]
        n = len(uniq) - 1
    return lab, n


def optimal_region(machine: Machine, plane: tuple[str, str] = ("Bx", "Bz"),
                   bath: str | None = None, *, region: PolarRegion | RectRegion | None = None,
                   resolution=None, base: dict | None = None,
                   numerics: Numerics | None = None, bound_rtol: float = 1e-3,
                   max_vertices: int = 240) -> OptimalRegion:
    """Rotor map of ``bath`` over a region of ``plane`` and its best single-sign region.

    Parameters
    ----------
    machine : Machine
        Any temperatures: the rotor is that of the machine's own temperatures. The bound
        ``N T ln 2`` applies only when all baths share one temperature ``T``.
    plane : (str, str)
        Parameters on the axes; the others stay at ``base`` (default: the machine's values).
    bath : str, optional
        The bath to pump out of (default: the first); the boundary loop takes heat out of it.
    region : PolarRegion or RectRegion, optional
        Default ``PolarRegion()`` (disc of radius ``15 T`` around the origin, ``T`` the
        highest bath temperature).
    resolution : int or (int, int), optional
        Overrides the region's resolution.
    numerics : Numerics, optional
    bound_rtol : float
        Relative margin of the comparison with the bound, to absorb the quadrature error
        of the grid (default 1e-3).
    max_vertices : int
        The boundary polygon is thinned to at most this many vertices.

    Returns
    -------
    OptimalRegion

    Examples
    --------
    >>> from thermogeo.io import load_model
    >>> o = optimal_region(load_model("models/qubit_pump.toml"), ("Bx", "Bz"), "L",
    ...                    resolution=(48, 64))
    >>> round(o.max_geometric_heat, 4), o.exceeds_bound
    (0.6931, False)
    """

    numerics = numerics or Numerics()
    if len(plane) != 2 or plane[0] == plane[1]:
        raise ModelError(f"plane: expected two different parameter names, got {plane!r}")
    ix, iy = machine.parameter_index(plane[0]), machine.parameter_index(plane[1])
    bi = machine.bath_index(bath) if bath is not None else 0
    T = float(machine.temperatures[bi])
    T_scale = float(np.max(machine.temperatures))  # the default region's radius, 15 T
    region = region if region is not None else PolarRegion()
    if not isinstance(region, (PolarRegion, RectRegion)):
        raise ModelError(f"region: expected a PolarRegion or RectRegion, got {region!r}")
    if resolution is not None:
        from dataclasses import replace
        region = replace(region, resolution=_resolution(resolution))
    pts, w, periodic = region.grid(T_scale)
    lam = np.broadcast_to(machine.point(base or {}), pts.shape[:-1] + (len(machine.parameters),)
                          ).copy()
    lam[..., ix], lam[..., iy] = pts[..., 0], pts[..., 1]
    r = response(machine, lam, plane=(plane[0], plane[1]), numerics=numerics)
    om = r.rotor[..., bi]
    ok = np.isfinite(om)
    omz = np.where(ok, om, 0.0)
    pos_part = float(np.sum(np.clip(omz, 0, None) * w))
    neg_part = float(np.sum(np.clip(omz, None, 0) * w))
    labels = np.zeros(om.shape, dtype=int)
    best, best_val, best_lab = 0.0, 0, None
    count = 0
    for sg in (1, -1):
        lab, n = _label_regions(ok & (sg * omz > 0), periodic)
        if n == 0:
            continue
        sums = np.bincount(lab.ravel(), weights=(omz * w).ravel(), minlength=n + 1)[1:]
        labels = np.where(lab > 0, sg * lab, labels)
        k = int(np.argmax(np.abs(sums)))
        if abs(sums[k]) > best:
            best, best_val, best_lab = float(abs(sums[k])), sg, (sg, k + 1)
        count += n
    loop = None
    if best_lab is not None:
        mask = labels == best_lab[0] * best_lab[1]
        loop = _boundary_loop(region, T_scale, pts,
                              np.where(mask, np.abs(omz), -np.abs(omz)), mask, periodic, plane,
                              base, best_val, max_vertices)
    loop_heat = static = frac = float("nan")
    flags = None
    if loop is not None:
        with warnings.catch_warnings():  # the length is not used here
            warnings.filterwarnings("ignore", message=".*negative on part of the loop",
                                    category=ThermogeoWarning)
            c = cycle_summary(machine, loop, bath=machine.bath_names[bi], nodes=4, area=False,
                              numerics=numerics, figures=False)
        loop_heat, static = c.bath_geometric_heat, float(c.static_heat_rate[bi])
        flags, frac = _nonsmooth(machine, loop, pts, base, numerics)
    N = machine.qubits
    bound = N * T * np.log(2) if machine.equal_temperatures else float("nan")
    return OptimalRegion(bath=machine.bath_names[bi], plane=(plane[0], plane[1]),
                         max_geometric_heat=best, region_sign=int(best_val),
                         positive_part=pos_part, negative_part=neg_part, bound=float(bound),
                         exceeds_bound=bool(np.isfinite(bound) and best > bound * (1 + bound_rtol)),
                         bound_rtol=bound_rtol, loop=loop, points=pts, weights=w, rotor=om,
                         labels=labels, region=region.describe(T_scale), regions=count,
                         temperature=T, loop_geometric_heat=loop_heat,
                         temperatures=dict(zip(machine.bath_names,
                                               map(float, machine.temperatures))),
                         loop_static_heat_rate=static, nonsmooth_vertices=flags,
                         nonsmooth_fraction=frac,
                         best_label=best_lab[0] * best_lab[1] if best_lab is not None else 0)


def _nonsmooth(machine, loop, pts, base, numerics) -> tuple[np.ndarray, float]:
    """Flags ``(n,)`` of the loop's vertices where the secular generator is not smooth, and
    the share of the loop's length between two flagged vertices.

    A vertex is flagged if the generator is not differentiable along one of the machine's
    parameters at the vertex, or at its projection on a coordinate axis of the plane when
    the vertex lies within one grid cell of it (the cell: the distance to the fourth
    nearest grid node; near both axes or closer to the origin than twice the nearest node:
    the origin), or if the steady state is not unique there.
    """
    from scipy.spatial import cKDTree

    v = np.asarray(loop.vertices, dtype=float)
    nodes = pts.reshape(-1, 2)
    h = cKDTree(nodes).query(v, k=4)[0][:, -1]
    near = np.abs(v) <= h[:, None]
    # the origin's own cell: a polar grid has no node closer than its first ring
    origin = near.all(axis=1) | (np.hypot(*v.T) <= max(2 * float(np.hypot(*nodes.T).min()),
                                                        0.0))
    near[origin] = True
    cand = [v]
    for snap in (near[:, 0], near[:, 1], origin):  # x = 0, y = 0, the origin
        p = v.copy()
        p[snap & near[:, 0], 0] = 0.0
        p[snap & near[:, 1], 1] = 0.0
        cand.append(np.where(snap[:, None], p, v))
    c = np.concatenate(cand)
    ix, iy = loop.indices(machine)
    lam = np.broadcast_to(machine.point(base or {}), (len(c), len(machine.parameters))).copy()
    lam[:, ix], lam[:, iy] = c[:, 0], c[:, 1]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SecularApproximationWarning)
        r = response(machine, lam, numerics=numerics, check=False)
    bad = ~np.all(np.asarray(r.differentiable), axis=-1) | ~np.asarray(r.unique)
    flags = bad.reshape(len(cand), len(v)).any(axis=0)
    seg = np.linalg.norm(np.roll(v, -1, axis=0) - v, axis=1)
    both = flags & np.roll(flags, -1)
    return flags, float(seg[both].sum() / seg.sum())


def _boundary_loop(region, T, pts, f, mask, periodic, plane, base, sign, max_vertices):
    """Zero contour of ``f`` (> 0 on the region) as a Polygon with ``Q^geo > 0``."""
    import contourpy

    if periodic:
        cols = np.flatnonzero(~mask.any(axis=0))
        if cols.size == 0:
            return None  # the region surrounds the centre: no simple boundary loop
        shift = int(cols[0])
        f = np.roll(f, -shift, axis=1)
        pts = np.roll(pts, -shift, axis=1)
        # parameter grid (i, j) -> plane point by bilinear interpolation in (u, theta) space;
        # pad: centre row (r = 0) and outer rim, both outside the region
        n_r, n_t = f.shape
        fp = np.full((n_r + 2, n_t), -1.0)
        fp[1:-1] = f
        R = region.radius if region.radius is not None else 15.0 * T
        ang = np.unwrap(np.arctan2(pts[0, :, 1] - region.center[1],
                                   pts[0, :, 0] - region.center[0]))
        rad = np.hypot(pts[:, 0, 0] - region.center[0], pts[:, 0, 1] - region.center[1])
        rad = np.concatenate([[0.0], rad, [R]])
        fp = np.concatenate([fp, fp[:, :1]], axis=1)  # close the angle: column 0 is outside
        ang = np.concatenate([ang, [ang[0] + 2 * np.pi]])
        lines = contourpy.contour_generator(ang, rad, fp, name="serial").lines(0.0)

        def to_xy(line):
            return np.stack([region.center[0] + line[:, 1] * np.cos(line[:, 0]),
                             region.center[1] + line[:, 1] * np.sin(line[:, 0])], -1)
    else:
        n1, n2 = f.shape
        fp = np.full((n1 + 2, n2 + 2), -1.0)
        fp[1:-1, 1:-1] = f
        xs = np.concatenate([[region.x[0]], pts[:, 0, 0], [region.x[1]]])
        ys = np.concatenate([[region.y[0]], pts[0, :, 1], [region.y[1]]])
        lines = contourpy.contour_generator(ys, xs, fp, name="serial").lines(0.0)

        def to_xy(line):
            return line[:, ::-1]

    if not lines:
        return None
    xy = [to_xy(np.asarray(line)) for line in lines]

    def area(p):
        return 0.5 * np.sum(p[:-1, 0] * p[1:, 1] - p[1:, 0] * p[:-1, 1])

    p = max(xy, key=lambda q: abs(area(np.vstack([q, q[:1]]))))
    keep = np.concatenate([[True], np.any(np.abs(np.diff(p, axis=0)) > 1e-12, axis=1)])
    p = p[keep]
    if np.allclose(p[0], p[-1]):
        p = p[:-1]
    if len(p) > max_vertices:
        p = p[np.unique(np.linspace(0, len(p), max_vertices, endpoint=False).astype(int))]
    if len(p) < 3:
        return None
    ccw = area(np.vstack([p, p[:1]])) > 0
    if ccw != (sign > 0):
        p = p[::-1]
    try:
        return Polygon((plane[0], plane[1]), vertices=p, base=base)
    except ModelError:
        if not periodic:
            return None
    # A region touching the centre of a polar grid: contour points closer to the centre than
    # the first grid radius come from many angles and may cross; merge each run of them into
    # the centre itself.
    near = np.hypot(p[:, 0] - region.center[0], p[:, 1] - region.center[1]) < rad[1]
    keep = ~near | np.concatenate([[True], ~near[:-1]])
    q = np.where(near[:, None], np.asarray(region.center, dtype=float)[None, :], p)[keep]
    try:
        return Polygon((plane[0], plane[1]), vertices=q, base=base)
    except ModelError:
        return None
