"""Convergence of the exact heat per cycle to the slow-driving expansion.

For periods ``tau_j`` the exact heat ``Q_a(tau)`` (:func:`exact_cycle`) is compared with the
expansion truncated at first order, ``tau Q^(0) + Q^geo``, and at second order,
``+ Q^(2)/tau``. The errors should fall as ``tau^-1`` and ``tau^-2``: the slopes of
``log|error|`` against ``log tau`` are fitted by least squares over the periods whose error is
above ten times the integrator's error estimate (the noise floor).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from thermogeo.dynamics.expansion import dataset_variables, expansion_cycle, path_expansion
from thermogeo.dynamics.grid import check_period
from thermogeo.dynamics.methods import ExactMethod, ExactOptions, as_method
from thermogeo.dynamics.periodic import exact_cycle
from thermogeo.model.machine import Machine

FLOOR_FACTOR = 10.0
"""Errors below ``FLOOR_FACTOR`` times the integrator's error estimate are left out of fits."""


def loglog_slope(x: np.ndarray, y: np.ndarray, floor: np.ndarray | None = None) -> float:
    """Least-squares slope of ``log|y|`` against ``log x`` over points with
    ``|y| > FLOOR_FACTOR * floor`` (all if ``floor`` is None); NaN with fewer than two."""
    x, y = np.asarray(x, float), np.abs(np.asarray(y, float))
    ok = y > 0
    if floor is not None:
        ok &= y > FLOOR_FACTOR * np.asarray(floor, float)
    if ok.sum() < 2:
        return float("nan")
    return float(np.polyfit(np.log(x[ok]), np.log(y[ok]), 1)[0])


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
    slope_order1, slope_order2 : (m,)    fitted log-log slopes (expected -1 and -2)
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
        return xr.Dataset(data, coords={"period": ("period", self.periods, {"units": "time"}),
                                        "bath": list(self.bath_names)},
                          attrs={"rtol": self.rtol, "method": self.method, "order": self.order})


def convergence(machine: Machine, loop, periods, *,
                method: str | ExactMethod | None = None, options: ExactOptions | None = None,
                nodes: int | None = None) -> Convergence:
    """Exact heat and work per cycle against the expansion over a range of periods.

    Parameters
    ----------
    machine : Machine
    loop : Loop
    periods : sequence of float
        Periods ``tau > 0`` (at least two).
    method : str or ExactMethod, optional
        The exact solver (:func:`~thermogeo.dynamics.exact_cycle`; its ``rtol`` should be well
        below the second-order error at the longest period). Default ``Auto()``.
    options : ExactOptions, optional
        The same as one object of all options (backward compatible; give ``method`` or
        ``options``).
    nodes : int, optional
        Quadrature nodes of the expansion.

    Returns
    -------
    Convergence
        :meth:`Convergence.to_dataset` gives the ``xarray.Dataset`` over ``period``.
    """
    chosen = as_method(method, options)
    taus = np.array([check_period(t) for t in np.atleast_1d(periods)], dtype=float)
    if len(taus) < 2:
        raise ValueError(f"periods: expected at least two periods, got {len(taus)}")
    pe = path_expansion(machine, loop, nodes, chosen.numerics)
    m = len(machine.baths)
    Q = np.empty((len(taus), m))
    Wx = np.empty(len(taus))
    flr, est, steps = (np.empty(len(taus)) for _ in range(3))
    methods, orders = set(), set()
    E1, E2 = np.empty((len(taus), m)), np.empty((len(taus), m))
    W2 = np.empty(len(taus))
    for i, tau in enumerate(taus):
        ex = exact_cycle(machine, loop, tau, method=chosen, expansion=False)
        e = expansion_cycle(machine, loop, tau, path=pe)
        Q[i], Wx[i], flr[i] = ex.heat, ex.work, ex.first_law_residual
        est[i], steps[i] = ex.error_estimate, ex.steps
        methods.add(ex.method)
        orders.add(str(ex.order))
        E1[i] = e.heat_order0 + e.geometric_heat
        E2[i] = E1[i] + e.heat_order2
        W2[i] = e.work_order1 + e.dissipated_work
    err1, err2 = Q - E1, Q - E2
    s1 = np.array([loglog_slope(taus, err1[:, a], est) for a in range(m)])
    s2 = np.array([loglog_slope(taus, err2[:, a], est) for a in range(m)])
    if np.isnan(s2).any() or np.isnan(s1).any():
        warnings.warn("convergence: fewer than two periods above the integrator's noise floor "
                      "for some bath; the slope is NaN (lower rtol or use shorter periods)",
                      RuntimeWarning, stacklevel=2)
    e0 = expansion_cycle(machine, loop, taus[0], path=pe)
    return Convergence(
        periods=taus, bath_names=tuple(machine.bath_names), heat_exact=Q, work_exact=Wx,
        first_law_residual=flr, error_estimate=est, steps=steps.astype(int),
        heat_expansion1=E1, heat_expansion2=E2, work_expansion2=W2, error_order1=err1,
        error_order2=err2, geometric_heat=e0.geometric_heat,
        heat_order2_coefficient=e0.heat_order2_coefficient,
        dissipated_work_coefficient=float(e0.dissipated_work_coefficient),
        slope_order1=s1, slope_order2=s2, rtol=chosen.rtol,
        method=",".join(sorted(methods)), order=",".join(sorted(orders)))
