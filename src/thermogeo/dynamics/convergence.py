"""Convergence of the exact heat per cycle to the slow-driving expansion.

For periods ``tau_j`` the exact heat ``Q_a(tau)`` (:func:`exact_cycle`) is compared with the
expansion truncated at first order, ``tau Q^(0) + Q^geo``, and at second order,
``+ Q^(2)/tau``. The errors are absolute (exact minus expansion, in units of energy) and should
fall as ``tau^-1`` and ``tau^-2`` once the expansion is asymptotic: the slopes of
``log|error|`` against ``log tau`` are fitted by least squares over the periods of the
*asymptotic regime* of each bath and order (docs/decisions/0323-convergence-periods.md), where
the error is accounted for by its leading term to a few per cent:

* order 1: the leading term of the first-order error is the second-order term ``Q^(2)/tau``
  of the expansion, so ``|error_order2| <= ASYMPTOTIC_RATIO |error_order1|``;
* order 2: the leading term ``Q^(3)/tau^2`` is not computed; its coefficient is estimated at
  each period as ``c = error_order2 tau^2`` and the regime is where that estimate has settled:
  ``|c(tau) - c(tau')| <= SETTLED_RATIO |c(tau')|`` for the next period ``tau'`` (the last
  period counts when its predecessor does). It does not need the order-1 regime: a bath whose
  ``Q^(2)`` is accidentally small has its first-order error dominated by the third-order term
  for long, and no order-1 regime at the periods computed, but a clean order-2 one;
* both: the error is above ``FLOOR_FACTOR`` times the solver's error estimate (noise floor).

Without periods, :func:`convergence` chooses them: doubling from ``slow_factor`` relaxation
times (:func:`relaxation_time`) until every requested bath has ``MIN_FIT_PERIODS`` periods in
the asymptotic regime of order 2 (usually reached after that of order 1), its errors reach the
noise floor, or ``max_periods`` periods are done.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from thermogeo import progress
from thermogeo.dynamics.expansion import dataset_variables, expansion_cycle, path_expansion
from thermogeo.dynamics.grid import check_period
from thermogeo.dynamics.methods import ExactMethod, ExactOptions, as_method
from thermogeo.dynamics.periodic import _relaxation_time, exact_cycle
from thermogeo.errors import AccuracyWarning
from thermogeo.model.machine import Machine

FLOOR_FACTOR = 10.0
"""Errors below ``FLOOR_FACTOR`` times the integrator's error estimate are left out of fits."""

ASYMPTOTIC_RATIO = 0.05
"""A period is in the asymptotic regime of a bath when ``|error_order2| <= ASYMPTOTIC_RATIO
|error_order1|``: the second-order term explains the first-order error to 5 %."""

SETTLED_RATIO = 0.05
"""The estimate ``error_order2 tau^2`` of the third-order coefficient has settled when two
successive periods agree to 5 %."""

MIN_FIT_PERIODS = 3
"""Periods in the asymptotic regime (of each order) that end the automatic choice."""

MAX_PERIODS = 12
"""Default budget of periods of the automatic choice."""


def relaxation_time(machine: Machine, loop, method: str | ExactMethod | None = None) -> float:
    """``1 / min_s`` of the smallest non-zero decay rate of ``L(lam(s))`` along ``loop`` (the
    time scale the period must exceed for slow driving)."""
    return float(_relaxation_time(machine, loop, as_method(method)))


def asymptotic_mask(periods, error_order1, error_order2, error_estimate
                    ) -> tuple[np.ndarray, np.ndarray]:
    """``(p, m)`` bool masks of the periods in the asymptotic regime of orders 1 and 2 of each
    bath (module docstring); ``periods`` increasing."""
    tau = np.asarray(periods, float)[:, None]
    e1, e2 = np.abs(np.asarray(error_order1, float)), np.asarray(error_order2, float)
    est = np.asarray(error_estimate, float)[:, None]
    above = (np.abs(e2) > FLOOR_FACTOR * est) & (e2 != 0)
    one = (np.abs(e2) <= ASYMPTOTIC_RATIO * e1) & above
    c = e2 * tau**2
    settled = np.zeros_like(one)
    if len(tau) > 1:
        ok = (np.abs(c[:-1] - c[1:]) <= SETTLED_RATIO * np.abs(c[1:])) & above[:-1] & above[1:]
        settled[:-1] |= ok
        settled[1:] |= ok
    return one, settled

@dataclass(frozen=True, eq=False)
class Convergence:
    """Exact heat and work per cycle against the slow-driving expansion over periods
    ``tau (p,)`` (names as in docs/decisions/0007-names.md).

    Attributes
    ----------
    periods : (p,)                   ``tau``
    bath_names : tuple of str        ``(m,)``
    heat_exact : (p, m)              ``Q_a(tau)`` of :func:`exact_cycle`
    work_exact : (p,)                ``W(tau)``
    first_law_residual : (p,)        ``W + sum_a Q_a``
    error_estimate : (p,)            the exact solver's error estimate
    steps : (p,) int                 its steps (or collocation nodes)
    heat_expansion1 : (p, m)         ``tau Q^(0) + Q^geo`` (expansion to first order)
    heat_expansion2 : (p, m)         ``heat_expansion1 + Q^(2)/tau`` (to second order)
    work_expansion2 : (p,)           ``W^(1) + W^(2)/tau``
    error_order1, error_order2 : (p, m)  exact minus expansion to first and second order
    geometric_heat : (m,)            ``Q^geo``
    heat_order2_coefficient : (m,)   ``Q^(2)``
    dissipated_work_coefficient : float  ``W^(2) = tau W_diss``
    slope_order1, slope_order2 : (m,)    fitted log-log slopes (expected -1 and -2) over
                                     the periods of ``asymptotic`` (NaN with fewer than two)
    asymptotic, asymptotic2 : (p, m) bool  the periods in the asymptotic regime of orders 1
                                     and 2 of each bath (the fits)
    relaxation_time : float          ``1 / (smallest decay rate along the loop)``
    error_kind : str                 ``"absolute"``: errors in units of energy
    rtol : float                     the exact solver's ``rtol``
    method, order : str              method and order of the exact solver that ran
                                     (comma-separated if they differed between periods)
    """

    periods: np.ndarray
    bath_names: tuple[str, ...]
    heat_exact: np.ndarray
    work_exact: np.ndarray
    first_law_residual: np.ndarray
    error_estimate: np.ndarray
    steps: np.ndarray
    heat_expansion1: np.ndarray
    heat_expansion2: np.ndarray
    work_expansion2: np.ndarray
    error_order1: np.ndarray
    error_order2: np.ndarray
    geometric_heat: np.ndarray
    heat_order2_coefficient: np.ndarray
    dissipated_work_coefficient: float
    slope_order1: np.ndarray
    slope_order2: np.ndarray
    rtol: float
    method: str
    order: str
    asymptotic: np.ndarray | None = None
    asymptotic2: np.ndarray | None = None
    relaxation_time: float = float("nan")
    error_kind: str = "absolute"

    def to_dataset(self):
        """``xarray.Dataset``: coordinates ``period``, ``bath``; every array field and
        ``dissipated_work_coefficient`` as variables with a ``units`` attribute; ``rtol``,
        ``method``, ``order`` in the attributes."""
        import xarray as xr

        pb = ("period", "bath")
        data = dataset_variables(self, {
            "heat_exact": pb, "work_exact": ("period",), "first_law_residual": ("period",),
            "error_estimate": ("period",), "steps": ("period",), "heat_expansion1": pb,
            "heat_expansion2": pb, "work_expansion2": ("period",), "error_order1": pb,
            "error_order2": pb, "geometric_heat": ("bath",),
            "heat_order2_coefficient": ("bath",), "dissipated_work_coefficient": (),
            "slope_order1": ("bath",), "slope_order2": ("bath",)})
        for k, n in (("asymptotic", 1), ("asymptotic2", 2)):
            if getattr(self, k) is not None:
                data[k] = (pb, np.asarray(getattr(self, k)), {
                    "units": "1",
                    "long_name": f"period in the asymptotic regime of order {n} (its fit)"})
        for k in ("error_order1", "error_order2"):
            dims, values, attrs = data[k]
            data[k] = (dims, values, {**attrs, "error_kind": self.error_kind})
        return xr.Dataset(data, coords={"period": ("period", self.periods, {"units": "time"}),
                                        "bath": list(self.bath_names)},
                          attrs={"rtol": self.rtol, "method": self.method, "order": self.order,
                                 "relaxation_time": self.relaxation_time,
                                 "error_kind": self.error_kind})


def convergence(machine: Machine, loop, periods=None, *,
                method: str | ExactMethod | None = None, options: ExactOptions | None = None,
                nodes: int | None = None, baths=None, max_periods: int = MAX_PERIODS
                ) -> Convergence:
    """Exact heat and work per cycle against the expansion over a range of periods.

    Parameters
    ----------
    machine : Machine
    loop : Loop
    periods : sequence of float, optional
        Periods ``tau > 0`` (at least two distinct; sorted here). Default: chosen here
        (module docstring), doubling from ``slow_factor`` relaxation times.
    method : str or ExactMethod, optional
        The exact solver (:func:`~thermogeo.dynamics.exact_cycle`; its ``rtol`` should be well
        below the second-order error at the longest period). Default ``Auto()``.
    options : ExactOptions, optional
        The same as one object of all options (backward compatible; give ``method`` or
        ``options``).
    nodes : int, optional
        Quadrature nodes of the expansion.
    baths : sequence of str, optional
        The baths whose asymptotic regime ends the automatic choice of periods (default:
        all; the slopes are fitted for every bath).
    max_periods : int
        Budget of the automatic choice.

    Returns
    -------
    Convergence
        :meth:`Convergence.to_dataset` gives the ``xarray.Dataset`` over ``period``. Each
        finished period is reported to :func:`thermogeo.progress.advance` (unit ``"period"``).
    """
    chosen = as_method(method, options)
    if periods is not None:
        # increasing and distinct: the regime tests compare successive periods
        taus = np.unique([check_period(t) for t in np.atleast_1d(periods)]).astype(float)
        if len(taus) < 2:
            raise ValueError(f"periods: expected at least two distinct periods, got "
                             f"{len(taus)}")
    if not (isinstance(max_periods, int) and max_periods >= 2):
        raise ValueError(f"max_periods: expected an integer >= 2, got {max_periods!r}")
    watch = (np.arange(len(machine.baths)) if baths is None
             else np.array([machine.bath_index(b) for b in baths], dtype=int))
    t_rel = relaxation_time(machine, loop, chosen)
    pe = path_expansion(machine, loop, nodes, chosen.numerics)
    rows = []

    def run(tau):
        ex = exact_cycle(machine, loop, tau, method=chosen, expansion=False)
        e = expansion_cycle(machine, loop, tau, path=pe)
        e1 = e.heat_order0 + e.geometric_heat
        rows.append((tau, ex, e1, e1 + e.heat_order2, e.work_order1 + e.dissipated_work))
        progress.advance("period", 1, f"tau = {tau:.4g}")

    if periods is not None:
        for tau in taus:
            run(float(tau))
    else:
        if not np.isfinite(t_rel):
            raise ValueError("periods: the generator has no decaying mode along the loop (no "
                             "relaxation time to start from); give the periods")
        tau = max(chosen.slow_factor, 1.0) * t_rel
        while len(rows) < max_periods:
            run(tau)
            tau *= 2.0
            if len(rows) >= 2 and _enough(rows, watch):
                break
    taus = np.array([r[0] for r in rows])
    Q = np.array([r[1].heat for r in rows])
    E1, E2 = np.array([r[2] for r in rows]), np.array([r[3] for r in rows])
    est = np.array([r[1].error_estimate for r in rows])
    err1, err2 = Q - E1, Q - E2
    fit1, fit2 = asymptotic_mask(taus, err1, err2, est)
    m = len(machine.baths)
    s1 = np.array([_fit(taus[fit1[:, a]], err1[fit1[:, a], a]) for a in range(m)])
    s2 = np.array([_fit(taus[fit2[:, a]], err2[fit2[:, a], a]) for a in range(m)])
    short = [f"{machine.bath_names[a]} (order {n})" for a in watch
             for n, sl in ((1, s1), (2, s2)) if np.isnan(sl[a])]
    if short:
        warnings.warn(
            f"convergence: fewer than two of the periods {taus.min():.4g}..{taus.max():.4g} are "
            f"in the asymptotic regime of bath {', '.join(short)}: those slopes are NaN; use "
            "longer periods (more of them) or a lower rtol", AccuracyWarning, stacklevel=2)
    e0 = expansion_cycle(machine, loop, taus[0], path=pe)
    methods = sorted({r[1].method for r in rows})
    orders = sorted({str(r[1].order) for r in rows})
    return Convergence(
        periods=taus, bath_names=tuple(machine.bath_names), heat_exact=Q,
        work_exact=np.array([r[1].work for r in rows]),
        first_law_residual=np.array([r[1].first_law_residual for r in rows]),
        error_estimate=est, steps=np.array([r[1].steps for r in rows], dtype=int),
        heat_expansion1=E1, heat_expansion2=E2, work_expansion2=np.array([r[4] for r in rows]),
        error_order1=err1, error_order2=err2, geometric_heat=e0.geometric_heat,
        heat_order2_coefficient=e0.heat_order2_coefficient,
        dissipated_work_coefficient=float(e0.dissipated_work_coefficient),
        slope_order1=s1, slope_order2=s2, rtol=chosen.rtol, method=",".join(methods),
        order=",".join(orders), asymptotic=fit1, asymptotic2=fit2, relaxation_time=t_rel)


def _fit(x: np.ndarray, y: np.ndarray) -> float:
    """Least-squares slope of ``log|y|`` against ``log x``; NaN with fewer than two points."""
    if len(x) < 2:
        return float("nan")
    return float(np.polyfit(np.log(x), np.log(np.abs(y)), 1)[0])


def _enough(rows, watch) -> bool:
    """The automatic choice may stop: every watched bath has ``MIN_FIT_PERIODS`` periods in
    the asymptotic regime of order 2, or its second-order error is
    down at the noise floor at the longest period (longer periods cannot help)."""
    Q = np.array([r[1].heat for r in rows])
    err1 = Q - np.array([r[2] for r in rows])
    err2 = Q - np.array([r[3] for r in rows])
    est = np.array([r[1].error_estimate for r in rows])
    _, fit2 = asymptotic_mask([r[0] for r in rows], err1, err2, est)
    floor = np.abs(err2[-1]) <= FLOOR_FACTOR * est[-1]
    return bool(all(fit2[:, a].sum() >= MIN_FIT_PERIODS or floor[a] for a in watch))
