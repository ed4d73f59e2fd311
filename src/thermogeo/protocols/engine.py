"""Heat-engine and refrigerator figures of merit of a cycle in linear response (physics.md 5).

With ``T_hot = T + dT/2``, ``T_cold = T - dT/2`` and the bias ``X = dT/T``, Onsager reciprocity
ties the geometric work extracted per cycle to the heat ``A = Q_hot^geo`` the same loop pumps
out of the hot bath at equal temperatures: ``W_out^geo = X A``. With the dissipation
``tau W_diss = L^2`` (best timing along the path)::

    W_out(tau) = X A - L^2 / tau,        P(tau) = X A / tau - L^2 / tau^2
    P_max      = X^2 A^2 / (4 L^2)       at  tau* = 2 L^2 / (X A)

With the static heat leak ``kappa_bar`` (cycle average of the thermal conductance between the
baths), the heat drawn from the hot bath per cycle is ``Q_h(tau) = A + tau kappa_bar T X`` and,
with ``y = A^2 / (kappa_bar T L^2)`` and ``eta_C = X`` (linear response),

    eta(tau*)  = (eta_C / 2) y / (y + 2)                           efficiency at maximum power
    eta_max    = eta_C (sqrt(1 + y) - 1) / (sqrt(1 + y) + 1)        best efficiency over tau

A loop with ``X A < 0`` is not an engine: it consumes work and moves heat against the bias
(refrigerator or heat pump); reversing its orientation makes it an engine, and vice versa.
"""

from __future__ import annotations

import numpy as np

from thermogeo.model.machine import Machine
from thermogeo.numerics import Numerics


def engine_figures(A: float, length: float, bias: float, heat_leak: float | None,
                   T: float) -> dict:
    """Linear-response figures of merit of a cycle.

    Parameters
    ----------
    A : float
        Geometric heat ``Q_hot^geo`` pumped out of the hot bath per cycle at equal temperatures.
    length : float
        Thermodynamic length ``L`` of the loop (``tau W_diss = L^2`` at best timing).
    bias : float
        ``X = dT / T``.
    heat_leak : float or None
        ``kappa_bar``, the cycle-averaged thermal conductance (None: no leak, eta at P_max =
        eta_C / 2).
    T : float
        The mean temperature.

    Returns
    -------
    dict with ``mode`` ("engine" if ``X A > 0`` else "refrigerator"), ``max_power``
    ``X^2 A^2 / (4 L^2)``, ``best_period`` ``2 L^2 / (X A)`` (None if not an engine),
    ``work_per_cycle_at_best_period`` ``X A / 2``, ``efficiency_at_max_power``,
    ``max_efficiency``, ``carnot_efficiency`` ``X``.

    Examples
    --------
    >>> f = engine_figures(A=1.0, length=2.0, bias=0.1, heat_leak=None, T=1.0)
    >>> round(f["max_power"], 6), round(f["best_period"], 6), f["efficiency_at_max_power"]
    (0.000625, 80.0, 0.05)
    """
    X = float(bias)
    if not np.isfinite(X) or X == 0:
        raise ValueError(f"bias: expected a finite nonzero X = dT/T, got {bias}")
    xa = X * A
    L2 = length**2
    out = {"bias": X, "carnot_efficiency": X, "mode": "engine" if xa > 0 else "refrigerator"}
    if heat_leak is None or heat_leak <= 0:
        eff_mp, eff_max = 0.5 * X, X
    else:
        y = A**2 / (heat_leak * T * L2)
        eff_mp = 0.5 * X * y / (y + 2)
        s = np.sqrt(1 + y)
        eff_max = X * (s - 1) / (s + 1)
    if xa > 0:
        out.update(max_power=xa**2 / (4 * L2), best_period=2 * L2 / xa,
                   work_per_cycle_at_best_period=0.5 * xa,
                   efficiency_at_max_power=float(eff_mp), max_efficiency=float(eff_max))
    else:
        out.update(max_power=0.0, best_period=None, work_per_cycle_at_best_period=0.0,
                   efficiency_at_max_power=0.0, max_efficiency=0.0)
    return out


def thermal_conductance(machine: Machine, lam, *, hot: int = 0,
                        numerics: Numerics | None = None) -> np.ndarray:
    """Linear-response thermal conductance ``kappa(lam)`` from bath ``hot`` to the others.

    ``kappa = dJ_hot / d(dT)`` at ``dT = 0``, with ``T_hot = T + dT/2`` and every other bath at
    ``T - dT/2`` (``J_hot = Tr[H D_hot rho_0]`` the steady heat current into the system),
    computed exactly from the temperature derivatives of the rates
    (:func:`thermogeo.response.thermal.conductance`).

    Parameters
    ----------
    machine : Machine   all baths at one temperature ``T``
    lam : array (*b, k)
    hot : int           index of the hot bath

    Returns
    -------
    kappa : (*b,)
    """
    from thermogeo.response.thermal import conductance

    if not machine.equal_temperatures:
        raise ValueError("heat leak: the machine's baths must share one temperature T (the "
                         "bias is applied around it), got "
                         f"{dict(zip(machine.bath_names, machine.temperatures))}")
    return conductance(machine, lam, hot=hot, numerics=numerics)
