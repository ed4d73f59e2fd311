"""Optimisation of a driving loop (docs/theory.md section 5).

Objectives, for the geometric heat ``A = Q_bath^geo`` and the thermodynamic length ``L`` of a
loop (:mod:`thermogeo.protocols.cycle`):

* ``"power_figure_of_merit"``: maximise ``A^2 / L^2`` (``P_max = X^2 A^2/4L^2``);
* ``"geometric_heat"``: maximise ``sigma A`` (``sigma = sign(A)`` of the starting loop, i.e. the
  geometric heat at the start's orientation);
* ``"geometric_heat_at_length"``: maximise ``sigma A`` at fixed ``L`` (the start's length).

(names as in docs/decisions/0007-names.md)

Families: circles, parametrised by ``(x_c, y_c, ln r)``, and Fourier loops with ``h``
harmonics (``2 (2h + 1)`` coefficients). Each evaluation of the objective and its gradient
evaluates the trapezoidal nodes of the current loop AND of the ``2p`` loops displaced by
``+/- step`` along each of the ``p`` shape parameters in ONE batched
:func:`thermogeo.response.response` call (central differences in the *shape* parameters, the
step a visible option; the response itself is exact). scipy's L-BFGS-B (SLSQP for the
constrained objective) does the rest.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from thermogeo.errors import ModelError
from thermogeo.model.machine import Machine
from thermogeo.numerics import Numerics
from thermogeo.protocols.cycle import CycleSummary
from thermogeo.protocols.paths import Circle, FourierLoop, Loop
from thermogeo.response import response
from thermogeo.protocols.cycle import check_loop, cycle_summary

OBJECTIVES = ("power_figure_of_merit", "geometric_heat", "geometric_heat_at_length")
FAMILIES = ("circle", "fourier")


@dataclass(frozen=True, eq=False)
class OptimizationResult:
    """Outcome of :func:`optimize_protocol`.

    Attributes
    ----------
    loop : Loop             the optimised loop
    start : Loop            the starting loop
    objective, family : str
    before, after : CycleSummary   :func:`cycle_summary` (without the area integral) of the
                            start and of the result (if the result is not a simple loop, its
                            ``bath_geometric_heat``, ``thermodynamic_length`` and
                            ``power_figure_of_merit`` at the optimiser's fixed nodes, the
                            other figures NaN and ``converged`` False)
    success : bool
    message : str
    evaluations : int       batched response calls
    x : (p,)                the shape parameters found
    """

    loop: Loop
    start: Loop
    objective: str
    family: str
    before: CycleSummary
    after: CycleSummary
    success: bool
    message: str
    evaluations: int
    x: np.ndarray = field(repr=False)

    def to_dict(self) -> dict:
        """Plain dict for JSON (``before``/``after`` as :meth:`CycleSummary.to_dict`)."""
        return {"objective": self.objective, "family": self.family, "success": self.success,
                "message": self.message, "evaluations": self.evaluations,
                "before": self.before.to_dict(), "after": self.after.to_dict(),
                "loop": loop_to_dict(self.loop)}

    def to_dataset(self):
        """``xarray.Dataset``: the figures of :meth:`CycleSummary.to_dataset` of the start and
        of the result along ``stage = ["before", "after"]``, the shape parameters
        ``x (shape_parameter)``, ``success`` and ``evaluations``; objective, family, message
        and the loops (JSON) in the attributes."""
        import json

        import xarray as xr

        parts = [c.to_dataset().drop_attrs(deep=False) for c in (self.before, self.after)]
        ds = xr.concat(parts, dim="stage").assign_coords(stage=["before", "after"])
        ds["x"] = ("shape_parameter", np.asarray(self.x))
        ds["success"] = ((), np.asarray(self.success))
        ds["evaluations"] = ((), np.asarray(self.evaluations))
        ds.attrs.update(objective=self.objective, family=self.family, message=self.message,
                        bath=self.before.bath, plane=",".join(self.loop.plane),
                        loop=json.dumps(loop_to_dict(self.loop)),
                        start=json.dumps(loop_to_dict(self.start)))
        return ds


def loop_to_dict(loop: Loop) -> dict:
    """A plain description of a circle, Fourier loop or polygon."""
    if isinstance(loop, Circle):
        return {"kind": "circle", "plane": list(loop.plane), "center": list(loop.center),
                "radius": loop.radius, "clockwise": loop.clockwise}
    if isinstance(loop, FourierLoop):
        return {"kind": "fourier", "plane": list(loop.plane),
                "coefficients": np.asarray(loop.coefficients).tolist()}
    if hasattr(loop, "vertices"):
        return {"kind": "polygon", "plane": list(loop.plane),
                "vertices": np.asarray(loop.vertices).tolist()}
    return {"kind": type(loop).__name__, "plane": list(loop.plane)}


class _Family:
    """Shape parameters <-> loop points, vectorised over a batch of parameter vectors."""

    def __init__(self, family, plane, harmonics, start: Loop, base):
        self.family, self.plane, self.base = family, plane, base
        if family == "circle":
            if not isinstance(start, Circle):
                raise ModelError(f"start: the circle family needs a Circle, got "
                                 f"{type(start).__name__}")
            self.sign = -1.0 if start.clockwise else 1.0
            self.x0 = np.array([*start.center, np.log(start.radius)])
        else:
            if isinstance(start, Circle):
                c = np.zeros((2 * harmonics + 1, 2))
                c[0] = start.center
                c[1] = (start.radius, 0.0)
                c[2] = (0.0, -start.radius if start.clockwise else start.radius)
            elif isinstance(start, FourierLoop):
                c = np.zeros((2 * harmonics + 1, 2))
                k = min(len(start.coefficients), len(c))
                c[:k] = start.coefficients[:k]
            else:
                raise ModelError(f"start: the fourier family needs a Circle or FourierLoop, "
                                 f"got {type(start).__name__}")
            self.shape = c.shape
            self.x0 = c.ravel()

    def xy(self, X, s):
        """``X (b, p)``, ``s (n,)`` -> points and derivatives ``(b, n, 2)``."""
        if self.family == "circle":
            t = self.sign * 2 * np.pi * s
            r = np.exp(X[:, 2])[:, None]
            p = np.stack([X[:, :1] + r * np.cos(t), X[:, 1:2] + r * np.sin(t)], -1)
            dp = 2 * np.pi * self.sign * np.stack([-r * np.sin(t), r * np.cos(t)], -1)
            return p, dp
        C = X.reshape(len(X), *self.shape)
        ref = FourierLoop(self.plane, coefficients=np.zeros(self.shape))
        B, dB = ref._basis(s, False), ref._basis(s, True)
        return np.einsum("nj,bjc->bnc", B, C), np.einsum("nj,bjc->bnc", dB, C)

    def loop(self, x) -> Loop:
        if self.family == "circle":
            return Circle(self.plane, center=(x[0], x[1]), radius=float(np.exp(x[2])),
                          clockwise=self.sign < 0, base=self.base)
        return FourierLoop(self.plane, coefficients=np.asarray(x).reshape(self.shape),
                           base=self.base)


def optimize_protocol(machine: Machine, plane: tuple[str, str] = ("Bx", "Bz"), *,
                      objective: str = "power_figure_of_merit", family: str = "circle",
                      harmonics: int = 3, start: Loop | None = None, bath: str | None = None,
                      nodes: int = 128, step: float = 1e-5, maxiter: int = 100,
                      base: dict | None = None, numerics: Numerics | None = None,
                      radius: float | None = None) -> OptimizationResult:
    """Optimise a loop in ``plane`` for ``objective`` over circles or Fourier loops.

    Parameters
    ----------
    machine : Machine
    plane : (str, str)
    objective : {"power_figure_of_merit", "geometric_heat", "geometric_heat_at_length"}
        ``A^2/L^2``; ``sigma Q_bath^geo``; ``sigma Q_bath^geo`` at the start's length ``L``.
    family : {"circle", "fourier"}
    harmonics : int
        Harmonics of the Fourier family.
    start : Circle or FourierLoop, optional
        Default: a counter-clockwise circle around the default point of the machine in
        ``plane`` with radius ``max(T, |point|) / 4``.
    bath : str, optional
        Bath of ``A`` (default: the first).
    nodes : int
        Trapezoidal nodes per loop during the optimisation (the figures reported in
        ``before``/``after`` are adaptive, see :func:`cycle_summary`).
    step : float
        Step of the central differences in the shape parameters.
    maxiter : int
    base : dict, optional
        Values of the other parameters.
    radius : float, optional
        The search stays in a box: circle centres and Fourier coefficients within
        ``+-radius``, circle radii at most ``radius`` (default ``15 T``, ``T`` the highest bath
        temperature: the region :func:`~thermogeo.protocols.optimal.optimal_region` searches).
        At unequal temperatures the metric can be indefinite and ``A^2/L^2`` unbounded: without
        a box the optimiser can run off to infinity.

    Returns
    -------
    OptimizationResult
    """
    from scipy.optimize import minimize


    if objective not in OBJECTIVES:
        raise ModelError(f"objective: expected one of {OBJECTIVES}, got {objective!r}")
    if family not in FAMILIES:
        raise ModelError(f"family: expected one of {FAMILIES}, got {family!r}")
    if family == "fourier" and not 1 <= int(harmonics) <= 32:
        raise ModelError(f"harmonics: expected an integer in 1..32, got {harmonics}")
    if nodes < 8:
        raise ModelError(f"nodes: expected >= 8, got {nodes}")
    if not 0 < step < 1e-1:
        raise ModelError(f"step: expected a number in (0, 0.1), got {step}")
    plane = (str(plane[0]), str(plane[1]))
    if len(set(plane)) != 2:
        raise ModelError(f"plane: expected two different parameter names, got {plane!r}")
    ix, iy = machine.parameter_index(plane[0]), machine.parameter_index(plane[1])
    bi = machine.bath_index(bath) if bath is not None else 0
    numerics = numerics or Numerics()
    lam0 = machine.point(base or {})
    if start is None:
        T = float(np.max(machine.temperatures))
        c = (float(lam0[ix]), float(lam0[iy]))
        start = Circle(plane, center=c, radius=0.25 * max(T, float(np.hypot(*c))), base=base)
    if tuple(start.plane) != plane:
        raise ModelError(f"start: its plane {tuple(start.plane)} differs from plane {plane}")
    check_loop(start, machine)
    fam = _Family(family, plane, int(harmonics), start, base)
    R = 15.0 * float(np.max(machine.temperatures)) if radius is None else float(radius)
    if not 0 < R < np.inf:
        raise ModelError(f"radius: expected a finite number > 0, got {radius!r}")
    outside = (np.abs(fam.x0[:2]).max() > R or fam.x0[2] > np.log(R) if family == "circle"
               else np.abs(fam.x0).max() > R)
    if outside:
        raise ModelError(f"start: the starting loop leaves the search box of radius {R:g} "
                         "(radius option)")
    bounds = ([(-R, R), (-R, R), (np.log(R) - 30.0, np.log(R))] if family == "circle"
              else [(-R, R)] * len(fam.x0))
    s = np.arange(nodes) / nodes
    p = len(fam.x0)
    calls = [0]

    def figures(X):
        """A (b,) and L (b,) of the loops with shape parameters X (b, p), one response call."""
        P, dP = fam.xy(X, s)
        lam = np.broadcast_to(lam0, P.shape[:2] + lam0.shape).copy()
        lam[..., ix], lam[..., iy] = P[..., 0], P[..., 1]
        r = response(machine, lam, numerics=numerics)
        calls[0] += 1
        v = np.zeros(lam.shape)
        v[..., ix], v[..., iy] = dP[..., 0], dP[..., 1]
        A = np.einsum("bnk,bnk->b", r.heat_response[..., bi, :], v) / nodes
        g = np.einsum("bnij,bni,bnj->bn", r.metric, v, v)
        L = np.sqrt(np.clip(g, 0, None)).sum(axis=1) / nodes
        return A, L

    A0, L0 = (float(a[0]) for a in figures(fam.x0[None]))
    sigma = 1.0 if A0 >= 0 else -1.0

    def values(A, L):
        if objective == "power_figure_of_merit":
            return -(A**2) / L**2
        return -sigma * A

    cache: dict = {}

    def evaluate(x):
        key = x.tobytes()
        if key not in cache:
            h = step * np.maximum(1.0, np.abs(x))
            X = np.vstack([x, x + np.diag(h), x - np.diag(h)])
            A, L = figures(X)
            f = values(A, L)
            c = L - L0
            cache.clear()
            cache[key] = (f[0], (f[1:p + 1] - f[p + 1:]) / (2 * h), c[0],
                          (c[1:p + 1] - c[p + 1:]) / (2 * h))
        return cache[key]

    def fun(x):
        f, g, _, _ = evaluate(np.asarray(x, float))
        if not np.isfinite(f):
            return 1e3, np.zeros_like(g)
        return f, g

    if objective == "geometric_heat_at_length":
        cons = [{"type": "eq", "fun": lambda x: evaluate(np.asarray(x, float))[2],
                 "jac": lambda x: evaluate(np.asarray(x, float))[3]}]
        res = minimize(fun, fam.x0, jac=True, method="SLSQP", constraints=cons,
                       bounds=bounds, options={"maxiter": maxiter})
    else:
        res = minimize(fun, fam.x0, jac=True, method="L-BFGS-B", bounds=bounds,
                       options={"maxiter": maxiter})
    loop = fam.loop(res.x)
    success, message = bool(res.success), str(res.message)
    try:
        check_loop(loop, machine)
    except ModelError as e:
        success, message = False, f"the optimised loop is not simple: {e}"
    bname = machine.bath_names[bi]
    before = cycle_summary(machine, start, bath=bname, area=False, numerics=numerics)
    try:
        after = cycle_summary(machine, loop, bath=bname, area=False, numerics=numerics)
    except ModelError:
        A1, L1 = (float(a[0]) for a in figures(np.asarray(res.x)[None]))
        q = np.full(len(machine.bath_names), np.nan)
        q[bi] = A1
        after = CycleSummary(loop=loop, bath_names=tuple(machine.bath_names), geometric_heat=q,
                             geometric_heat_area=np.full_like(q, np.nan),
                             dissipated_work_coefficient=np.nan, thermodynamic_length=L1,
                             bath=bname, bath_geometric_heat=A1,
                             power_figure_of_merit=A1**2 / L1**2, timing="uniform",
                             nodes=nodes, converged=False)
    return OptimizationResult(loop=loop, start=start, objective=objective, family=family,
                              before=before, after=after, success=success, message=message,
                              evaluations=calls[0], x=np.asarray(res.x))
