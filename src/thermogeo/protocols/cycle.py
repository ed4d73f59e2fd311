"""Per-cycle figures of a closed protocol (docs/theory.md sections 4-5).

For a loop ``s -> lam(s)``, ``s = t/tau in [0, 1]``::

    Q_alpha^geo = closed integral Lambda^alpha(lam) . lam'(s) ds          (line integral)
                = integral over the enclosed area of Omega^alpha dx dy     (Stokes, ccw positive)
    tau W_diss  = integral_0^1 g(lam', lam') ds                           (dissipation)
    L           = integral_0^1 sqrt(g(lam', lam')) ds                     (thermodynamic length)

with ``tau W_diss >= L^2`` and equality for the constant-dissipation timing, in which the loop
is traversed at constant ``g(lam', lam')``. ``A = Q^geo`` of one bath and ``A^2 / L^2`` is the
power figure of merit of the cycle as an engine (:mod:`thermogeo.protocols.engine`). Code names
(docs/decisions/0007-names.md): ``Q^geo`` ``geometric_heat``, ``tau W_diss``
``dissipated_work_coefficient``, ``L`` ``thermodynamic_length``, ``A``
``bath_geometric_heat``, ``A^2 / L^2`` ``power_figure_of_merit``.

Accuracy: all quadrature nodes of one refinement level are evaluated in ONE batched
:func:`thermogeo.response.response` call. Smooth periodic loops use the trapezoidal rule
(spectral), loops with corners Gauss-Legendre per smooth piece; the number of nodes is doubled
until two successive levels agree to ``rtol``. The area integral maps the enclosed region to
a product domain (polar coordinates for an annular sector, the cone ``c + t (lam(s) - c)``
from the loop's centroid otherwise, exact for any simple loop by the winding number) and uses
Gauss-Legendre in the radial variable.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field, replace

import numpy as np

from thermogeo.errors import (ModelError, NonUniqueSteadyStateError, QuadratureWarning,
                              SecularApproximationWarning, ThermogeoWarning)
from thermogeo.model.machine import Machine
from thermogeo.numerics import Numerics
from thermogeo.protocols.correlations import LoopCorrelations, loop_correlations
from thermogeo.protocols.engine import (EngineFigures, biased_temperatures, expansion_figures,
                                        json_number, two_sides)
from thermogeo.protocols.paths import Loop, Polygon, Reparametrized, Sector, first_crossing
from thermogeo.response import response
from thermogeo.response.path import DEFAULT_NODES_PIECE, DEFAULT_NODES_SMOOTH, path_expansion
from thermogeo.response.correlations import parse_requests

TIMINGS = ("uniform", "constant_dissipation")


@dataclass(frozen=True)
class CycleQuadrature:
    """Adaptive quadrature settings of the cycle integrals.

    Parameters
    ----------
    rtol : float
        Stop doubling the nodes when two successive levels agree to ``rtol``, each figure
        relative to itself (floored at 1e-6 of the largest figure). Default 1e-10.
    start : int
        Initial nodes (smooth loops: in total; piecewise loops: per piece). Default 32.
    max_nodes : int
        Budget (smooth loops: in total; piecewise: per piece). Default 4096.
    radial_nodes : int
        Initial Gauss-Legendre nodes of the radial variable of the area integral. Default 16.
    max_area_points : int
        Budget of rotor evaluations of one level of the area integral. Default 2**17.
    """

    rtol: float = 1e-10
    start: int = 32
    max_nodes: int = 4096
    radial_nodes: int = 16
    max_area_points: int = 2**17

    def __post_init__(self):
        if not 0 < self.rtol < 1:
            raise ModelError(f"rtol: expected a number in (0, 1), got {self.rtol}")
        if not 4 <= self.start <= self.max_nodes:
            raise ModelError(f"start/max_nodes: need 4 <= start <= max_nodes, got "
                             f"{self.start}, {self.max_nodes}")
        if self.radial_nodes < 2:
            raise ModelError(f"radial_nodes: expected >= 2, got {self.radial_nodes}")


#: Units of the cycle figures (k_B = hbar = 1; docs/decisions/0007-names.md).
UNITS = {"geometric_heat": "energy", "geometric_heat_area": "energy",
         "bath_geometric_heat": "energy", "dissipated_work_coefficient": "energy time",
         "thermodynamic_length": "(energy time)^(1/2)", "power_figure_of_merit": "energy / time",
         "static_heat_rate": "energy / time", "nodes": "1"}


@dataclass(frozen=True, eq=False)
class CycleSummary:
    """Figures of one cycle (see the module docstring for the equations; names as in
    docs/decisions/0007-names.md).

    Attributes
    ----------
    loop : Loop                  the loop as traversed (reparametrised for constant dissipation)
    bath_names : tuple of str
    geometric_heat : (m,)        ``Q_alpha^geo``, line integral (heat INTO the system per cycle)
    geometric_heat_area : (m,)   area integral of the rotor ``Omega^alpha`` (NaN if skipped)
    dissipated_work_coefficient : float  ``tau W_diss = W^(2)`` at ``timing``
    thermodynamic_length : float ``L``
    bath : str                   bath of ``A``
    bath_geometric_heat : float  ``A = Q_bath^geo``
    power_figure_of_merit : float  ``A^2 / L^2`` (NaN if ``L = 0``)
    timing : str
    nodes : int                  quadrature nodes of the line integrals (last level)
    converged : bool
    engine : EngineFigures or None   engine or refrigerator figures at the temperatures a
                                 ``bias`` sets, or at the machine's own unequal temperatures
                                 (:func:`~thermogeo.protocols.engine.expansion_figures`)
    correlations : LoopCorrelations or None  requested measures along the loop
    static_heat_rate : (m,)      ``Q_alpha^(0)``: the steady heat current into the system
                                 from each bath averaged over the loop as traversed; the static
                                 heat per cycle is ``tau Q_alpha^(0)`` (zero at equal
                                 temperatures)
    """

    loop: Loop
    bath_names: tuple[str, ...]
    geometric_heat: np.ndarray
    geometric_heat_area: np.ndarray
    dissipated_work_coefficient: float
    thermodynamic_length: float
    bath: str
    bath_geometric_heat: float
    power_figure_of_merit: float
    timing: str
    nodes: int
    converged: bool
    engine: EngineFigures | None = field(default=None)
    correlations: LoopCorrelations | None = field(default=None)
    static_heat_rate: np.ndarray | None = field(default=None)

    def to_dict(self) -> dict:
        """Plain dict for JSON: ``geometric_heat`` and ``geometric_heat_area`` map bath ->
        float (None: skipped); with a bias also every key of :class:`EngineFigures` (None
        where a figure does not apply)."""
        out = {
            "geometric_heat": dict(zip(self.bath_names, map(float, self.geometric_heat))),
            "geometric_heat_area": {b: json_number(q)
                                    for b, q in zip(self.bath_names, self.geometric_heat_area)},
            "dissipated_work_coefficient": self.dissipated_work_coefficient,
            "thermodynamic_length": self.thermodynamic_length, "bath": self.bath,
            "bath_geometric_heat": self.bath_geometric_heat,
            "power_figure_of_merit": json_number(self.power_figure_of_merit),
            "timing": self.timing, "nodes": self.nodes, "converged": self.converged,
        }
        if self.static_heat_rate is not None:
            out["static_heat_rate"] = dict(zip(self.bath_names,
                                               map(float, self.static_heat_rate)))
        if self.engine is not None:
            out.update(self.engine.to_dict())
        if self.correlations is not None:
            out["correlations"] = self.correlations.extremes()
        return out

    def to_dataset(self):
        """``xarray.Dataset``: ``geometric_heat (bath)``, ``geometric_heat_area (bath)``, the
        scalars (``units`` attributes) and, with a bias, the :class:`EngineFigures` fields
        (``mode`` a text variable); ``bath``, ``timing`` and the plane in the attributes."""
        import xarray as xr

        def var(name, dims, value):
            return (dims, np.asarray(value), {"units": UNITS[name]} if name in UNITS else {})

        data = {
            "geometric_heat": var("geometric_heat", ("bath",), self.geometric_heat),
            "geometric_heat_area": var("geometric_heat_area", ("bath",),
                                       self.geometric_heat_area),
        }
        if self.static_heat_rate is not None:
            data["static_heat_rate"] = var("static_heat_rate", ("bath",),
                                           self.static_heat_rate)
        for k in ("dissipated_work_coefficient", "thermodynamic_length", "bath_geometric_heat",
                  "power_figure_of_merit", "nodes", "converged"):
            data[k] = var(k, (), getattr(self, k))
        ds = xr.Dataset(data, coords={"bath": list(self.bath_names)},
                        attrs={"bath": self.bath, "timing": self.timing,
                               "plane": ",".join(self.loop.plane)})
        if self.engine is not None:
            ds = ds.merge(self.engine.to_dataset())
        if self.correlations is not None:
            ds = ds.merge(self.correlations.to_dataset())
        return ds


# ---------------------------------------------------------------------------------------
# loop checks
def check_loop(loop: Loop, machine: Machine | None = None, *, simple: bool = True,
               samples: int = 512) -> None:
    """Raise :class:`ModelError` if ``loop`` is open, or (``simple``) intersects itself.

    Closure: ``lam(0) = lam(1)``. Simplicity: no two non-adjacent chords of the polyline
    through ``samples`` points (and the corners) cross.
    """
    if not isinstance(loop, Loop):
        raise ModelError(f"loop: expected a thermogeo Loop, got {type(loop).__name__}")
    if machine is not None:
        loop.indices(machine)
    p0, p1 = loop.xy(np.array([0.0, 1.0]))
    scale = max(1.0, float(np.abs(loop.xy(np.linspace(0, 1, 33))).max()))
    if not np.allclose(p0, p1, rtol=0, atol=1e-9 * scale):
        raise ModelError(f"loop: not closed, starts at {p0.tolist()} and ends at {p1.tolist()}")
    if simple:
        s = np.unique(np.concatenate([np.linspace(0, 1, samples + 1), loop.breakpoints()]))
        p = loop.xy(s)
        i, j = first_crossing(p)
        if i is not None:
            raise ModelError(f"loop: intersects itself near {p[i].round(6).tolist()} (s = "
                             f"{s[i]:.4f} and s = {s[j]:.4f}); a simple closed loop is required")
        turns = _turning_number(p)
        if turns != 1:
            raise ModelError(f"loop: intersects itself or retraces itself (its tangent turns "
                             f"{turns} times; a simple closed loop turns once); a simple closed "
                             "loop is required")


def _turning_number(p: np.ndarray) -> int:
    """``|total turning of the chords of the closed polyline p (n+1, 2)| / 2 pi``."""
    d = np.diff(p, axis=0)
    d = d[np.linalg.norm(d, axis=1) > 1e-14 * max(1.0, float(np.abs(p).max()))]
    a = np.arctan2(d[:, 1], d[:, 0])
    turn = np.angle(np.exp(1j * (np.roll(a, -1) - a)))
    return int(round(abs(turn.sum()) / (2 * np.pi)))


# ---------------------------------------------------------------------------------------
# line integrals
def _line_level(machine, loop, n, numerics, bath_index):
    """Q^geo (m,), tau W_diss, L and (nodes, weights, speed) at one quadrature level."""

    s, w = loop.quadrature(n)
    # nodes where the loop stands still (the degenerate inner arc of a sector with r_in = 0)
    # contribute nothing and may sit on a degenerate point: not evaluated
    moving = np.any(loop.dxy(s) != 0, axis=-1)
    s, w = s[moving], w[moving]
    lam, v = loop.points(machine, s), loop.velocity(machine, s)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SecularApproximationWarning)  # re-issued below
        r = loop_response(machine, loop, lam, numerics=numerics, where="of the loop")
    _check_nodes(machine, loop, s, r)
    Q = np.einsum("nmk,nk,n->m", r.heat_response, v, w)
    g = np.einsum("nij,ni,nj->n", r.metric, v, v)
    speed = np.sqrt(np.clip(g, 0, None))
    indefinite = bool(np.any(g < -1e-12 * np.abs(g).max()))
    return Q, float(w @ g), float(w @ speed), (s, w, speed, lam, w @ r.heat_current,
                                               indefinite)


def loop_response(machine: Machine, loop: Loop, lam: np.ndarray, *,
                  numerics: Numerics | None = None, plane=None, where: str = "of the loop"):
    """:func:`thermogeo.response.response` at points ``lam (n, k)`` of (or inside) ``loop``;
    points without a unique steady state are refused by name.

    When some points have a unique steady state and others not, the cause is the points
    (e.g. zero field, where the levels of interacting qubits are degenerate and the couplings
    cannot fix one stationary state), not the machine: the
    :class:`~thermogeo.errors.NonUniqueSteadyStateError` names them (in the loop's plane) and
    asks to move the loop off them. When no point is unique, the machine's couplings leave a
    sector dark everywhere and the usual message applies.
    """
    numerics = numerics or Numerics()
    r = response(machine, lam, plane=plane, numerics=numerics, check=False)
    if not np.all(r.valid):
        ix, iy = loop.indices(machine)
        pts = lam[~np.asarray(r.valid)][:3][:, [ix, iy]].round(8).tolist()
        raise ModelError(f"loop: {int((~r.valid).sum())} point(s) {where} are not finite or "
                         f"out of the machine's range, e.g. {loop.plane} = {pts}")
    bad = ~np.asarray(r.unique) & np.asarray(r.valid)
    if np.any(bad):
        rcond = float(np.nanmin(np.asarray(r.rcond)[bad]))
        if np.all(bad):
            raise NonUniqueSteadyStateError.at(machine, lam[bad], rcond,
                                               numerics.uniqueness_rcond)
        err = NonUniqueSteadyStateError.at(machine, lam[bad], rcond,
                                           numerics.uniqueness_rcond, elsewhere_unique=True)
        raise NonUniqueSteadyStateError(f"loop: {int(bad.sum())} of {bad.size} point(s) "
                                        f"{where}: {err}")
    return r


def _check_nodes(machine, loop, s, r) -> None:
    """Name the loop points where the response is not finite (error) or the secular
    generator has a kink (warning)."""
    names = loop.plane
    bad = ~np.all(np.isfinite(r.heat_response), axis=(-1, -2)) | ~np.all(
        np.isfinite(r.metric), axis=(-1, -2))
    if np.any(bad):
        pts = loop.xy(s[bad][:3]).round(8).tolist()
        raise ModelError(f"loop: the response is not finite at {int(bad.sum())} point(s) of the "
                         f"loop, e.g. {names} = {pts}; move the loop off these points")
    kink = ~np.all(r.differentiable, axis=-1)
    if np.any(kink):
        pts = loop.xy(s[kink][:3]).round(8).tolist()
        warnings.warn(f"loop: at {int(kink.sum())} point(s) of the loop, e.g. {names} = {pts}, "
                      "degenerate Bohr frequencies split: the secular generator has a kink "
                      "there and the quadrature converges slowly", SecularApproximationWarning,
                      stacklevel=4)


def _agree(cur, prev, rtol) -> bool:
    """Every figure agrees to ``rtol`` relative to itself (figures smaller than 1e-6 of the
    largest, e.g. a heat that vanishes by symmetry, relative to that floor)."""
    big = max(float(np.abs(cur).max()), np.finfo(float).tiny)
    scale = np.maximum(np.abs(cur), 1e-6 * big)
    return bool(np.all(np.abs(cur - prev) <= rtol * scale))


def _adaptive_line(machine, loop, numerics, quad, nodes):
    bidx = None
    if nodes is not None:
        Q, diss, L, extra = _line_level(machine, loop, int(nodes), numerics, bidx)
        return Q, diss, L, extra, int(nodes), True
    n = quad.start
    prev = prev_definite = None
    while True:
        Q, diss, L, extra = _line_level(machine, loop, n, numerics, bidx)
        # away from equilibrium g can be indefinite: then sqrt(max(g, 0)) has kinks and L is
        # only a diagnostic, not part of the convergence test. The vector compared always has
        # the same length; L takes part only when g is definite at both levels (a level may
        # find a negative node, e.g. near a level crossing, that the previous one missed).
        cur = np.concatenate([Q, [diss, L]])
        definite = not extra[-1]
        if prev is not None:
            k = len(cur) if definite and prev_definite else len(cur) - 1
            if _agree(cur[:k], prev[:k], quad.rtol):
                return Q, diss, L, extra, n, True
        if 2 * n > quad.max_nodes:
            diff = (np.abs(cur - prev) if prev is not None else np.full(len(cur), np.nan))
            names = [f"Q_geo[{b}]" for b in machine.bath_names] + ["tau W_diss", "L"]
            worst = names[int(np.nanargmax(diff))] if prev is not None else names[0]
            warnings.warn(f"cycle integrals: not converged to rtol {quad.rtol:g} with {n} "
                          "nodes (per piece for loops with corners); the estimate of the last "
                          f"level is returned (largest change between the last two levels: "
                          f"{worst}). A loop close to a level crossing needs more nodes "
                          "(CycleQuadrature.max_nodes) or a loop further from it",
                          QuadratureWarning, stacklevel=3)
            return Q, diss, L, extra, n, False
        prev, prev_definite, n = cur, definite, 2 * n


# ---------------------------------------------------------------------------------------
# area integral of the rotor
def _unwrap(loop: Loop) -> tuple[Loop, float]:
    """The underlying loop of nested reparametrisations and the orientation factor."""
    sign = 1.0
    while isinstance(loop, Reparametrized):
        ph = loop.phi(np.array([0.0, 1.0]))
        sign *= 1.0 if ph[1] > ph[0] else -1.0
        loop = loop.loop
    return loop, sign


def centroid(loop: Loop, n: int = 1024) -> np.ndarray:
    """Area centroid ``(2,)`` of a simple loop: ``c = (1/A) int int (x, y) dx dy``."""
    if isinstance(loop, Polygon):
        p = np.asarray(loop.vertices)
        q = np.roll(p, -1, axis=0)
        cr = p[:, 0] * q[:, 1] - q[:, 0] * p[:, 1]
        return (p + q).T @ cr / (3 * cr.sum())
    n = max(8, n // max(1, len(loop.breakpoints()) - 1))
    s, w = loop.quadrature(n)
    p, dp = loop.xy(s), loop.dxy(s)
    A = 0.5 * np.sum(w * (p[:, 0] * dp[:, 1] - p[:, 1] * dp[:, 0]))
    cx = 0.5 * np.sum(w * p[:, 0] ** 2 * dp[:, 1]) / A
    cy = -0.5 * np.sum(w * p[:, 1] ** 2 * dp[:, 0]) / A
    return np.array([cx, cy])


def _area_points(loop: Loop, ns: int, nt: int):
    """Points ``(N, 2)`` and signed weights ``(N,)`` with ``sum w f(p) = int int f dx dy``
    over the region enclosed by ``loop`` (counter-clockwise positive)."""
    base, sign = _unwrap(loop)
    g, gw = np.polynomial.legendre.leggauss(nt)
    t, tw = 0.5 * (g + 1), 0.5 * gw
    if isinstance(base, Sector):
        sg = -1.0 if base.clockwise else 1.0
        r = base.r_in + (base.r_out - base.r_in) * t
        rw = (base.r_out - base.r_in) * tw * r
        a, aw = np.polynomial.legendre.leggauss(ns)
        th = base.theta0 + 0.5 * (base.theta1 - base.theta0) * (a + 1)
        thw = 0.5 * (base.theta1 - base.theta0) * aw
        R, TH = np.meshgrid(r, th, indexing="ij")
        pts = np.stack([base.center[0] + R * np.cos(TH), base.center[1] + R * np.sin(TH)], -1)
        return pts.reshape(-1, 2), (sign * sg * rw[:, None] * thw[None, :]).ravel()
    c = centroid(base)
    s, sw = base.quadrature(ns)
    p, dp = base.xy(s) - c, base.dxy(s)
    jac = p[:, 0] * dp[:, 1] - p[:, 1] * dp[:, 0]
    pts = c + t[:, None, None] * p[None]
    wts = (tw * t)[:, None] * (sw * jac)[None, :]
    return pts.reshape(-1, 2), sign * wts.ravel()


def area_integral(machine: Machine, loop: Loop, *, numerics: Numerics | None = None,
                  quadrature: CycleQuadrature | None = None, nodes: int | None = None
                  ) -> tuple[np.ndarray, bool]:
    """Area integral of the rotor of every bath over the region enclosed by ``loop``.

    ``Q_alpha^area = int int Omega^alpha dx dy`` (counter-clockwise loops positive), with
    ``Omega^alpha = d_x Lambda^alpha_y - d_y Lambda^alpha_x`` computed exactly by
    :func:`thermogeo.response.response` at all nodes of one level in one call.

    Returns
    -------
    Q_area : (m,)
    converged : bool
    """

    quad = quadrature or CycleQuadrature()
    base, _ = _unwrap(loop)
    smooth = base.smooth

    def level(ns, nt):
        pts, w = _area_points(loop, ns, nt)
        lam = _plane_points(machine, loop, pts)
        r = loop_response(machine, loop, lam, plane=loop.plane, numerics=numerics,
                          where="inside the loop (area integral; area=False skips it)")
        return np.einsum("nm,n->m", r.rotor, w)

    if nodes is not None:
        return level(int(nodes), max(quad.radial_nodes, int(nodes) // 4)), True
    ns = quad.start if smooth or isinstance(base, Sector) else max(4, quad.start // 2)
    nt = quad.radial_nodes
    prev = level(ns, nt)
    def w_of(ns, nt):
        return _area_points(loop, ns, nt)[1]

    while True:
        ns2, nt2 = 2 * ns, 2 * nt
        cur = level(ns2, nt2)
        if _agree(cur, prev, quad.rtol):
            return cur, True
        if 4 * len(w_of(ns2, nt2)) > quad.max_area_points:
            warnings.warn(f"area integral of the rotor: not converged to rtol {quad.rtol:g} "
                          f"with {ns2} x {nt2} nodes", QuadratureWarning, stacklevel=2)
            return cur, False
        prev, ns, nt = cur, ns2, nt2


def _plane_points(machine: Machine, loop: Loop, pts: np.ndarray) -> np.ndarray:
    ix, iy = loop.indices(machine)
    lam = np.broadcast_to(machine.point(loop.base or {}),
                          pts.shape[:-1] + (len(machine.parameters),)).copy()
    lam[..., ix], lam[..., iy] = pts[..., 0], pts[..., 1]
    return lam


# ---------------------------------------------------------------------------------------
# constant-dissipation timing
def constant_dissipation_loop(machine: Machine, loop: Loop, *, n: int = 256,
                              numerics: Numerics | None = None) -> Reparametrized:
    """``loop`` re-timed so that ``g(lam', lam')`` is constant along the cycle.

    With the speed ``v(u) = sqrt(g(lam'(u), lam'(u)))`` and the cumulative length
    ``l(u) = int_0^u v``, ``L = l(1)``, the new timing is ``u = phi(s) = l^{-1}(s L)``,
    ``phi'(s) = L / v(phi(s))``: then ``g = L^2`` at every ``s`` and ``tau W_diss = L^2``.
    ``v`` is interpolated spectrally from ``n`` nodes (a trigonometric series for smooth
    loops, a Legendre series on every smooth piece otherwise); the inverse is found by
    bisection. The loop's speed must not vanish.
    """

    s, w = loop.quadrature(n)
    still = ~np.any(loop.dxy(s) != 0, axis=-1)  # e.g. the inner arc of a sector at r_in = 0
    r = loop_response(machine, loop, loop.points(machine, s[~still]), numerics=numerics)
    v = np.zeros(len(s))
    vel = loop.velocity(machine, s[~still])
    v[~still] = np.sqrt(np.clip(np.einsum("nij,ni,nj->n", r.metric, vel, vel), 0, None))
    small = (v <= 1e-9 * v.max()) & ~still
    if np.any(small):
        raise ModelError("timing 'constant_dissipation': the dissipation speed "
                         "sqrt(g(lam', lam')) vanishes (relative to its maximum) at "
                         f"{loop.xy(s[small][:1]).round(6).tolist()[0]} where the loop moves "
                         "(e.g. far out where the metric decays); no finite re-timing exists")
    bp = loop.breakpoints()
    if len(bp) == 2:
        F = np.fft.rfft(v) / n
        K = np.arange(1, len(F))
        if n % 2 == 0:
            F[-1] *= 0.5
        a, b = 2 * F[1:].real, -2 * F[1:].imag
        c0 = F[0].real

        def speed(u):
            ang = 2 * np.pi * np.multiply.outer(u, K)
            return c0 + np.cos(ang) @ a + np.sin(ang) @ b

        def cum(u):
            ang = 2 * np.pi * np.multiply.outer(u, K)
            return c0 * u + (np.sin(ang) @ (a / (2 * np.pi * K))
                             + (1 - np.cos(ang)) @ (b / (2 * np.pi * K)))
    else:
        Leg = np.polynomial.legendre.Legendre
        pieces, offs, acc = [], [], 0.0
        for i, (lo, hi) in enumerate(zip(bp[:-1], bp[1:])):
            sl = slice(i * n, (i + 1) * n)
            p = Leg.fit(s[sl], v[sl], n - 1, domain=[lo, hi])
            q = p.integ(lbnd=lo)
            pieces.append((p, q))
            offs.append(acc)
            acc += float(q(hi))

        def _piece(u):
            return np.clip(np.searchsorted(bp, u, side="right") - 1, 0, len(bp) - 2)

        def speed(u):
            u = np.asarray(u, float)
            k = _piece(u)
            out = np.empty_like(u)
            for i, (p, _) in enumerate(pieces):
                out[k == i] = p(u[k == i])
            return out

        def cum(u):
            u = np.asarray(u, float)
            k = _piece(u)
            out = np.empty_like(u)
            for i, (_, q) in enumerate(pieces):
                out[k == i] = offs[i] + q(u[k == i])
            return out

    total = float(cum(np.array(1.0)))

    def phi(x):
        x = np.asarray(x, float)
        lo, hi = np.zeros_like(x), np.ones_like(x)
        target = x * total
        for _ in range(14):  # bracket, then Newton (l' = v > 0)
            mid = 0.5 * (lo + hi)
            below = cum(mid) < target
            lo, hi = np.where(below, mid, lo), np.where(below, hi, mid)
        u = 0.5 * (lo + hi)
        for _ in range(6):
            sp = speed(u)
            ok = sp > 0
            step = np.where(ok, cum(u) - target, 0.0) / np.where(ok, sp, 1.0)
            u = np.clip(u - step, lo, hi)
        return np.where(x <= 0, 0.0, np.where(x >= 1, 1.0, u))

    def dphi(x):
        return total / speed(phi(x))

    corners = np.clip(np.asarray(cum(np.asarray(bp, float))) / total, 0.0, 1.0)
    corners[0], corners[-1] = 0.0, 1.0
    corners = np.unique(np.round(corners, 14))  # pieces where the loop stands still vanish
    return Retimed(loop.plane, loop=loop, phi=phi, dphi=dphi, base=loop.base,
                   corners=tuple(corners.tolist()))


@dataclass(frozen=True)
class Retimed(Reparametrized):
    """A :class:`Reparametrized` loop whose corners (in the new timing) are known."""

    corners: tuple[float, ...] = (0.0, 1.0)

    def breakpoints(self):
        return np.asarray(self.corners)


# ---------------------------------------------------------------------------------------
def cycle_summary(machine: Machine, loop: Loop, *, bias: float | None = None,
                  timing: str = "uniform", bath: str | None = None, nodes: int | None = None,
                  numerics: Numerics | None = None, quadrature: CycleQuadrature | None = None,
                  area: bool = True, correlations=None,
                  dissipation_share: float | None = None, figures: bool = True
                  ) -> CycleSummary:
    """Geometric heat, dissipation, thermodynamic length and engine figures of one cycle.

    Parameters
    ----------
    machine : Machine
    loop : Loop
        A simple closed loop in a plane of two of the machine's parameters.
    bias : float, optional
        ``X = dT/T`` with ``0 < |X| < 2``: engine or refrigerator figures with the bath
        ``bath`` at ``T (1 + X/2)`` and the others at ``T (1 - X/2)``, ``T`` the mean of the
        machine's temperatures (:func:`~thermogeo.protocols.engine.biased_temperatures`).
        Without a bias, a machine whose baths are at unequal temperatures (the bath ``bath``
        against the others at one common temperature) gets the figures at its own
        temperatures. The figures come from the per-bath slow-driving expansion of the loop
        as traversed at those temperatures
        (:func:`~thermogeo.protocols.engine.expansion_figures`, docs/theory.md section 5),
        with the static heat leak and the true Carnot bounds.
    timing : {"uniform", "constant_dissipation"}
        Traverse the loop as parametrised, or re-timed at constant ``g(lam', lam')``
        (:func:`constant_dissipation_loop`); then ``tau W_diss = L^2``.
    bath : str, optional
        Bath of ``A = Q_bath^geo`` (default: the first bath).
    nodes : int, optional
        Fixed number of nodes (smooth loops: in total, otherwise per piece) instead of the
        adaptive doubling.
    numerics : Numerics, optional
    quadrature : CycleQuadrature, optional
    area : bool
        Also compute the area integral of the rotor (default True).
    correlations : list of str, optional
        Correlation measures to follow along the loop (:func:`loop_correlations`: 64 samples;
        values and extremes in ``CycleSummary.correlations``).
    dissipation_share : float, optional
        Refrigerator figures only: the share ``f`` of the dissipated work released into the
        cold bath, given explicitly (e.g. 1). Default: computed from the second-order heats,
        ``f = -Q_cold^(2) / (tau W_diss)``.
    figures : bool
        False: no engine or refrigerator figures, even with a bias or at unequal
        temperatures (default True).

    Returns
    -------
    CycleSummary

    Examples
    --------
    >>> from thermogeo.io import load_model
    >>> from thermogeo.protocols import Circle
    >>> m = load_model("models/qubit_pump.toml")
    >>> c = cycle_summary(m, Circle(("Bx", "Bz"), center=(0.8, 0.6), radius=0.5), area=False)
    >>> round(c.bath_geometric_heat, 10)
    0.272952688
    """
    if timing not in TIMINGS:
        raise ModelError(f"timing: expected one of {TIMINGS}, got {timing!r}")
    numerics = numerics or Numerics()
    quad = quadrature or CycleQuadrature()
    check_loop(loop, machine, simple=True)
    parse_requests(correlations, machine)  # a bad request fails before any work
    bi = machine.bath_index(bath) if bath is not None else 0
    if bias is not None:  # a bias that makes a temperature non-positive fails before any work
        biased_temperatures(machine.temperatures, bias, bi)
    if timing == "constant_dissipation":
        n0 = int(nodes) if nodes is not None else (256 if loop.smooth else 64)
        loop = constant_dissipation_loop(machine, loop, n=n0, numerics=numerics)
    Q, diss, L, (s, w, _, lam, J0, indefinite), n, conv = _adaptive_line(machine, loop,
                                                                         numerics, quad, nodes)
    if indefinite:
        warnings.warn("the metric g(lam', lam') is negative on part of the loop (baths at "
                      "different temperatures): the length uses max(g, 0) and is not a "
                      "thermodynamic length; tau W_diss may be negative", ThermogeoWarning,
                      stacklevel=2)
    if area:
        Qa, conv_a = area_integral(machine, loop, numerics=numerics, quadrature=quad,
                                   nodes=nodes)
        conv = conv and conv_a
    else:
        Qa = np.full_like(Q, np.nan)
    A = float(Q[bi])
    engine = (_figures(machine, loop, bias, bi, n if nodes is None else int(nodes), numerics,
                       dissipation_share) if figures else None)
    return CycleSummary(loop=loop, bath_names=tuple(machine.bath_names), geometric_heat=Q,
                        geometric_heat_area=Qa, dissipated_work_coefficient=diss,
                        thermodynamic_length=L, bath=machine.bath_names[bi],
                        bath_geometric_heat=A,
                        power_figure_of_merit=A**2 / L**2 if L > 0 else np.nan, timing=timing,
                        nodes=n, converged=bool(conv), engine=engine, static_heat_rate=J0,
                        correlations=(loop_correlations(machine, loop, correlations,
                                                        numerics=numerics)
                                      if correlations else None))


#: Fewest nodes of the path expansion behind the engine figures: {smooth loop: in total,
#: loop with corners: per piece}.
FIGURE_NODES = {True: 128, False: 16}


def _figures(machine: Machine, loop: Loop, bias, bi: int, nodes: int, numerics,
             share) -> EngineFigures | None:
    """Engine or refrigerator figures at the temperatures ``bias`` sets, or at the machine's
    own unequal temperatures (None at equal temperatures without a bias, or when the baths
    other than ``bi`` do not share one temperature)."""
    if bias is None:
        if not two_sides(machine.temperatures, bi):
            return None
        fm = machine
    else:
        temps = biased_temperatures(machine.temperatures, bias, bi)
        fm = machine.with_values(**{f"{b}.temperature": float(t)
                                    for b, t in zip(machine.bath_names, temps)})
    # the line integrals' node count resolves the integrands; the second-order heats need
    # their derivative too: at least FIGURE_NODES, at most the path expansion's defaults (a
    # polygon of 100 straight sides is exact with 8 nodes per side, and its many pieces make
    # the defaults costly; measured in docs/decisions/0310)
    lo, hi = FIGURE_NODES[loop.smooth], (DEFAULT_NODES_SMOOTH if loop.smooth
                                         else DEFAULT_NODES_PIECE)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SecularApproximationWarning)  # issued by the line
        pe = path_expansion(fm, loop, min(max(int(nodes), lo), hi), numerics)
    w = pe.weights
    B = float(w @ pe.dissipated_power)
    if not B > 0:
        temps = ", ".join(f"{t:g}" for t in fm.temperatures)
        where = ("the machine's own temperatures" if bias is None else
                 f"the temperatures of bias {bias:g} ({temps})")
        warnings.warn(f"engine figures: not computed at {where}, the loop's dissipation "
                      f"coefficient there tau W_diss = {B:.4g} is not positive (the metric is "
                      "indefinite away from equilibrium)", ThermogeoWarning, stacklevel=3)
        return None
    q1 = w @ pe.geometric_heat_rate
    if abs(q1.sum()) <= 1e-10 * max(np.abs(q1).max(), float(np.max(fm.temperatures))):
        warnings.warn(f"engine figures: not computed, the loop's geometric work W_geo = "
                      f"{q1.sum():.3g} is zero to rounding (neither an engine nor a "
                      "refrigerator)", ThermogeoWarning, stacklevel=3)
        return None
    fig = expansion_figures(w @ pe.heat_current, w @ pe.geometric_heat_rate,
                            w @ pe.second_order_heat_rate + pe.jump_heat, B, fm.temperatures,
                            bi, bath_names=fm.bath_names, dissipation_share=share)
    return fig if bias is None else replace(fig, bias=float(bias))  # X as given
