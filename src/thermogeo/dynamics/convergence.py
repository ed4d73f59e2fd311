"""Convergence of the exact heat per cycle to the slow-driving expansion.

For periods ``tau_j`` the exact heat ``Q_a(tau)`` (:func:`exact_cycle`) is compared with the
expansion truncated at first order, ``tau Q^(0) + Q^geo``, and at second order,
``+ Q^(2)/tau``. The errors should fall as ``tau^-1`` and ``tau^-2``: the slopes of
``log|error|`` against ``log tau`` are fitted by least squares over the periods whose error is
above ten times the integrator's error estimate (the noise floor).
"""

from __future__ import annotations

import warnings

import numpy as np

from thermogeo.dynamics.expansion import expansion_cycle, path_expansion
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


def convergence(machine: Machine, loop, periods, *,
                method: str | ExactMethod | None = None, options: ExactOptions | None = None,
                nodes: int | None = None):
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
    xarray.Dataset
        Coordinates ``period``, ``bath``. Variables: ``heat_exact (period, bath)``,
        ``work_exact``, ``first_law_residual``, ``error_estimate``, ``steps``,
        ``heat_expansion1`` / ``heat_expansion2 (period, bath)`` (expansion to first and
        second order), ``error_order1`` / ``error_order2 (period, bath)`` (exact minus
        expansion), ``heat_order1 (bath)`` (``Q^geo``), ``heat_order2_coefficient (bath)``,
        ``work_order2_coefficient``, and the fitted ``slope_order1`` / ``slope_order2 (bath)``
        (expected -1 and -2). ``attrs``: ``method`` and ``order`` of the exact solver used
        (comma-separated if it differed between periods), ``rtol``.
    """
    import xarray as xr

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
        E1[i] = e.heat_order0 + e.heat_order1
        E2[i] = E1[i] + e.heat_order2
        W2[i] = e.work_order1 + e.work_order2
    err1, err2 = Q - E1, Q - E2
    s1 = np.array([loglog_slope(taus, err1[:, a], est) for a in range(m)])
    s2 = np.array([loglog_slope(taus, err2[:, a], est) for a in range(m)])
    if np.isnan(s2).any() or np.isnan(s1).any():
        warnings.warn("convergence: fewer than two periods above the integrator's noise floor "
                      "for some bath; the slope is NaN (lower rtol or use shorter periods)",
                      RuntimeWarning, stacklevel=2)
    e0 = expansion_cycle(machine, loop, taus[0], path=pe)
    return xr.Dataset(
        {"heat_exact": (("period", "bath"), Q), "work_exact": (("period",), Wx),
         "first_law_residual": (("period",), flr), "error_estimate": (("period",), est),
         "steps": (("period",), steps.astype(int)),
         "heat_expansion1": (("period", "bath"), E1), "heat_expansion2": (("period", "bath"), E2),
         "work_expansion2": (("period",), W2),
         "error_order1": (("period", "bath"), err1), "error_order2": (("period", "bath"), err2),
         "heat_order1": (("bath",), e0.heat_order1),
         "heat_order2_coefficient": (("bath",), e0.heat_order2_coefficient),
         "work_order2_coefficient": ((), e0.work_order2_coefficient),
         "slope_order1": (("bath",), s1), "slope_order2": (("bath",), s2)},
        coords={"period": taus, "bath": list(machine.bath_names)},
        attrs={"rtol": chosen.rtol, "method": ",".join(sorted(methods)),
               "order": ",".join(sorted(orders))})
