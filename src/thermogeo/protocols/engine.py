"""Heat-engine and refrigerator figures of merit of a cycle (docs/theory.md section 5).

At any temperatures, :func:`expansion_figures` takes the per-bath slow-driving expansion of a
loop, ``Q_a(tau) = tau Q_a^(0) + Q_a^geo + Q_a^(2) / tau``, at the baths' own temperatures (or
those a bias sets, :func:`biased_temperatures`) and gives the figures exactly to that order,
with the true Carnot bounds and the dissipation share computed from the second-order heats:
this is what :func:`thermogeo.protocols.cycle.cycle_summary` reports. The closed forms below
(:func:`engine_figures`, :func:`refrigerator_figures`) are their linear-response limit at small
bias, kept as functions.

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

A loop with ``X A < 0`` is not an engine: it consumes work and moves heat against the bias, a
refrigerator; reversing its orientation makes it an engine, and vice versa. With
``a = |A|``, ``x = |X|``, the share ``f`` of the dissipated work released into the cold bath
and the leak ``k = kappa_bar T x`` (heat per unit time from hot to cold), per cycle::

    Q_c(tau)  = a - f L^2 / tau - k tau          heat extracted from the cold bath
    W_in(tau) = x a + L^2 / tau                  work consumed
    J_c(tau)  = Q_c / tau = a / tau - f L^2 / tau^2 - k      cooling power
    J_c,max   = a^2 / (4 f L^2) - k              at  tau_c = 2 f L^2 / a
    COP(tau_c) = f (1 - 4 f x / y) / (1 + 2 f x)
    COP_max   = COP_C (s - 1 - 2 f x) / (s + 1),  s = sqrt(1 + y (1 + f x)),
                at  tau = L^2 (s - 1) / (x a),   COP_C = 1 / x

(derivation and sign conventions: docs/decisions/0306-refrigerator-figures.md). ``f`` is a
property of the loop, not of ``A`` and ``L``; the default ``f = 1`` (all of the dissipated work
ends in the cold bath) makes the cooling figures lower bounds whenever the true share is at
most 1. The exact share of a loop at the constant-dissipation timing is
``-Q_cold^(2) / L^2`` from :func:`thermogeo.dynamics.expansion_cycle`.

In the code ``A`` is ``geometric_heat`` (of the hot bath) and ``L`` ``thermodynamic_length``
(docs/decisions/0007-names.md).

Reference: K. Brandner, K. Saito, PRL 124, 040602 (2020); the dissipation share as in the
minimally nonlinear refrigerator of Y. Izumida et al., EPL 101, 10005 (2013).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

import numpy as np

from thermogeo.model.machine import Machine
from thermogeo.numerics import Numerics
from thermogeo.response.thermal import conductance

#: The figures of an engine (NaN when the loop refrigerates at the bias).
ENGINE_KEYS = ("max_power", "best_period", "work_per_cycle_at_best_period",
               "efficiency_at_max_power", "max_efficiency", "max_efficiency_period")
#: The figures of a refrigerator (NaN, and ``cools`` False, when the loop is an engine).
REFRIGERATOR_KEYS = ("cooling_power_max", "best_cooling_period", "cop_at_max_cooling",
                     "cooling_per_cycle_at_max_cooling", "max_cop", "max_cop_period",
                     "carnot_cop", "dissipation_share", "cools")
MODES = ("engine", "refrigerator")

#: Units of the figures (k_B = hbar = 1; docs/decisions/0007-names.md).
UNITS = {
    "bias": "1", "carnot_efficiency": "1", "heat_leak": "1 / time",
    "figures_dissipated_work_coefficient": "energy time",
    "max_power": "energy / time", "best_period": "time",
    "work_per_cycle_at_best_period": "energy", "efficiency_at_max_power": "1",
    "max_efficiency": "1", "cooling_power_max": "energy / time", "best_cooling_period": "time",
    "cop_at_max_cooling": "1", "cooling_per_cycle_at_max_cooling": "energy", "max_cop": "1",
    "max_cop_period": "time", "carnot_cop": "1", "dissipation_share": "1",
    "hot_temperature": "energy", "cold_temperature": "energy",
    "hot_static_heat_rate": "energy / time", "geometric_work": "energy",
    "max_efficiency_period": "time",
}
NAN = float("nan")


def json_number(v):
    """A float for JSON: NaN (a figure that does not apply, or has no finite value) -> None."""
    v = float(v)
    return v if math.isfinite(v) else None


def _dataset(obj, attrs: dict):
    """``xarray.Dataset`` of the scalar fields of a figures dataclass, units attached."""
    import xarray as xr

    data = {}
    for f in fields(obj):
        v = getattr(obj, f.name)
        data[f.name] = ((), np.asarray(v), {"units": UNITS[f.name]} if f.name in UNITS else {})
    return xr.Dataset(data, attrs=attrs)


@dataclass(frozen=True)
class RefrigeratorFigures:
    """Cooling power, its best period and the COPs of a refrigerating loop
    (:func:`refrigerator_figures`; closed forms in the module docstring).

    Attributes
    ----------
    carnot_cop : float                        ``COP_C = 1 / x``
    dissipation_share : float                 ``f``
    cooling_power_max : float                 ``J_c,max = a^2 / (4 f L^2) - k``
    best_cooling_period : float               ``tau_c = 2 f L^2 / a`` (NaN if ``a = 0``)
    cooling_per_cycle_at_max_cooling : float  ``Q_c(tau_c)`` (NaN if ``a = 0``)
    cop_at_max_cooling : float                ``COP(tau_c)`` (NaN if ``a = 0``)
    max_cop : float                           best COP (``1 / x`` without a leak, a supremum)
    max_cop_period : float                    its period (NaN without a leak: ``tau -> inf``)
    cools : bool                              some period gives a positive cooling power
    """

    carnot_cop: float
    dissipation_share: float
    cooling_power_max: float
    best_cooling_period: float
    cooling_per_cycle_at_max_cooling: float
    cop_at_max_cooling: float
    max_cop: float
    max_cop_period: float
    cools: bool

    def to_dict(self) -> dict:
        """Plain dict for JSON (NaN -> None)."""
        return {k: (bool(self.cools) if k == "cools" else json_number(getattr(self, k)))
                for k in REFRIGERATOR_KEYS}

    def to_dataset(self):
        """``xarray.Dataset`` of scalars with ``units`` attributes."""
        return _dataset(self, {"mode": "refrigerator"})


@dataclass(frozen=True)
class EngineFigures:
    """Figures of a cycle as an engine or a refrigerator: at the baths' own temperatures from
    the per-bath expansion (:func:`expansion_figures`, what
    :func:`thermogeo.protocols.cycle.cycle_summary` reports) or
    in linear response at the bias ``X = dT/T`` (:func:`engine_figures`).

    Every field is present whatever the mode: ``mode`` says which figures apply; the engine
    figures of a refrigerating loop and the refrigerator figures of an engine are NaN (and
    ``cools`` is False for an engine).

    Attributes
    ----------
    mode : str                               ``"engine"`` if ``X A > 0`` else ``"refrigerator"``
    bias : float                             ``X``
    carnot_efficiency : float                ``eta_C = 1 - T_c / T_h`` (expansion) or ``X``
                                             (linear response)
    heat_leak : float                        ``kappa_bar`` (0: no leak)
    max_power, best_period, work_per_cycle_at_best_period, efficiency_at_max_power,
    max_efficiency : float                   engine (:data:`ENGINE_KEYS`)
    cooling_power_max, best_cooling_period, cooling_per_cycle_at_max_cooling,
    cop_at_max_cooling, max_cop, max_cop_period, carnot_cop, dissipation_share : float
    cools : bool                             refrigerator (:class:`RefrigeratorFigures`)
    hot_temperature, cold_temperature : float  the two sides' temperatures
                                             (:func:`expansion_figures`; NaN in linear response)
    hot_static_heat_rate : float             ``Q_h^(0)``, static heat per unit time from the hot
                                             side into the system (the leak)
    geometric_work : float                   ``W_geo = sum_a Q_a^geo``
    max_efficiency_period : float            period of ``max_efficiency`` (NaN: ``tau -> inf``)
    share_source : str                       ``dissipation_share`` "computed" (from the
                                             second-order heats) or "given"
    figures_dissipated_work_coefficient : float  ``B = tau W_diss`` at the figures'
                                             temperatures (with ``--bias`` not the machine's
                                             own; NaN in linear response)
    """

    mode: str
    bias: float
    carnot_efficiency: float
    heat_leak: float
    max_power: float
    best_period: float
    work_per_cycle_at_best_period: float
    efficiency_at_max_power: float
    max_efficiency: float
    cooling_power_max: float
    best_cooling_period: float
    cooling_per_cycle_at_max_cooling: float
    cop_at_max_cooling: float
    max_cop: float
    max_cop_period: float
    carnot_cop: float
    dissipation_share: float
    cools: bool
    hot_temperature: float = NAN
    cold_temperature: float = NAN
    hot_static_heat_rate: float = NAN
    geometric_work: float = NAN
    max_efficiency_period: float = NAN
    share_source: str = "given"
    figures_dissipated_work_coefficient: float = NAN

    def to_dict(self) -> dict:
        """Plain dict for JSON: the figures of the loop's mode only (an engine has no
        refrigerator keys and a refrigerator no engine keys); None where a figure of that mode
        has no value (NaN, e.g. no COP for a loop that does not cool)."""
        skip = set(REFRIGERATOR_KEYS if self.mode == "engine" else ENGINE_KEYS)
        out = {"mode": self.mode}
        for f in fields(self):
            if f.name in ("mode", "share_source") or f.name in skip:
                continue
            v = getattr(self, f.name)
            out[f.name] = bool(v) if f.name == "cools" else json_number(v)
        if self.mode == "refrigerator":
            out["share_source"] = self.share_source
        return out

    def to_dataset(self):
        """``xarray.Dataset`` of scalars with ``units`` attributes; ``mode`` a text
        variable."""
        return _dataset(self, {})


def _check(name: str, value, expected: str, ok) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: expected {expected}, got {value!r}") from None
    if not np.isfinite(v) or not ok(v):
        raise ValueError(f"{name}: expected {expected}, got {value!r}")
    return v


def engine_figures(geometric_heat: float, thermodynamic_length: float, bias: float,
                   heat_leak: float | None, T: float, *,
                   dissipation_share: float = 1.0) -> EngineFigures:
    """Linear-response figures of merit of a cycle, as an engine or as a refrigerator.

    Parameters
    ----------
    geometric_heat : float
        ``A = Q_hot^geo``, the geometric heat pumped out of the hot bath per cycle at equal
        temperatures.
    thermodynamic_length : float
        ``L > 0`` of the loop (``tau W_diss = L^2`` at best timing).
    bias : float
        ``X = dT / T`` (nonzero; negative: the bath of ``A`` is the colder one).
    heat_leak : float or None
        ``kappa_bar``, the cycle-averaged thermal conductance (None or <= 0: no leak, eta at
        P_max = eta_C / 2).
    T : float
        The mean temperature.
    dissipation_share : float
        Refrigerator only: ``f > 0``, the share of the dissipated work ``L^2 / tau`` released
        into the cold bath (default 1: all of it; see the module docstring).

    Returns
    -------
    EngineFigures
        ``mode`` ("engine" if ``X A > 0`` else "refrigerator"), ``bias``,
        ``carnot_efficiency`` ``X``, ``heat_leak``; the engine figures ``max_power``
        ``X^2 A^2 / (4 L^2)``, ``best_period`` ``2 L^2 / (X A)``,
        ``work_per_cycle_at_best_period`` ``X A / 2``, ``efficiency_at_max_power``,
        ``max_efficiency`` (NaN for a refrigerator); the refrigerator figures of
        :func:`refrigerator_figures` (NaN, ``cools`` False, for an engine).

    Examples
    --------
    >>> f = engine_figures(1.0, 2.0, bias=0.1, heat_leak=None, T=1.0)
    >>> round(f.max_power, 6), round(f.best_period, 6), f.efficiency_at_max_power
    (0.000625, 80.0, 0.05)
    >>> r = engine_figures(-1.0, 2.0, bias=0.1, heat_leak=None, T=1.0)
    >>> r.mode, r.cooling_power_max, r.best_cooling_period, r.carnot_cop, r.max_power
    ('refrigerator', 0.0625, 8.0, 10.0, nan)
    """
    X = float(bias)
    if not np.isfinite(X) or X == 0:
        raise ValueError(f"bias: expected a finite nonzero X = dT/T, got {bias}")
    A = _check("geometric_heat", geometric_heat, "a finite number (heat per cycle)",
               lambda v: True)
    length = _check("thermodynamic_length", thermodynamic_length,
                    "a finite thermodynamic length L > 0", lambda v: v > 0)
    xa = X * A
    L2 = length**2
    leak = heat_leak is not None and heat_leak > 0
    kbar = 0.0 if heat_leak is None else float(heat_leak)
    if not leak:
        eff_mp, eff_max, tau_eff = 0.5 * X, X, NAN
    else:
        y = A**2 / (heat_leak * T * L2)
        eff_mp = 0.5 * X * y / (y + 2)
        s = np.sqrt(1 + y)
        eff_max = X * (s - 1) / (s + 1)
        tau_eff = L2 * (1 + s) / xa if xa > 0 else NAN
    if xa > 0:
        eng = dict(max_power=xa**2 / (4 * L2), best_period=2 * L2 / xa,
                   work_per_cycle_at_best_period=0.5 * xa,
                   efficiency_at_max_power=float(eff_mp), max_efficiency=float(eff_max),
                   max_efficiency_period=float(tau_eff))
        fridge = dict.fromkeys(REFRIGERATOR_KEYS, NAN)
        fridge["cools"] = False
    else:
        eng = dict.fromkeys(ENGINE_KEYS, NAN)
        r = refrigerator_figures(A, length, X, heat_leak if leak else None, T,
                                 dissipation_share=dissipation_share)
        fridge = {k: getattr(r, k) for k in REFRIGERATOR_KEYS}
    return EngineFigures(mode="engine" if xa > 0 else "refrigerator", bias=X,
                         carnot_efficiency=X, heat_leak=kbar, **eng, **fridge)


def refrigerator_figures(geometric_heat: float, thermodynamic_length: float, bias: float,
                         heat_leak: float | None, T: float, *,
                         dissipation_share: float = 1.0) -> RefrigeratorFigures:
    """Cooling power, its best period and the coefficients of performance of a refrigerator.

    The loop must refrigerate, ``X A < 0``: with ``a = |A|``, ``x = |X|``, the share ``f`` of
    the dissipated work released into the cold bath and ``k = kappa_bar T x``, the heat taken
    from the cold bath and the work consumed per cycle are
    ``Q_c(tau) = a - f L^2/tau - k tau`` and ``W_in(tau) = x a + L^2/tau``; the figures are the
    maxima over ``tau`` of ``Q_c / tau`` and of ``COP = Q_c / W_in`` (closed forms in the
    module docstring).

    Parameters
    ----------
    geometric_heat, thermodynamic_length, bias, heat_leak, T : float
        As in :func:`engine_figures` (``heat_leak`` None or <= 0: no leak).
    dissipation_share : float
        ``f > 0`` (default 1).

    Returns
    -------
    RefrigeratorFigures
        ``cooling_power_max`` ``a^2 / (4 f L^2) - kappa_bar T x`` (heat per unit time taken
        from the cold bath), ``best_cooling_period`` ``2 f L^2 / a``,
        ``cooling_per_cycle_at_max_cooling`` ``a / 2 - 2 f kappa_bar T x L^2 / a``,
        ``cop_at_max_cooling`` ``f (1 - 4 f x / y) / (1 + 2 f x)``, ``max_cop``
        ``(s - 1 - 2 f x) / (x (s + 1))`` with ``s = sqrt(1 + y (1 + f x))`` (``1 / x``
        without a leak, the supremum as ``tau -> inf``), ``max_cop_period``
        ``L^2 (s - 1) / (x a)`` (NaN without a leak), ``carnot_cop`` ``1 / x`` (linear
        response, as ``eta_C = X``), ``dissipation_share`` ``f`` and ``cools`` (``True`` if
        some period gives a positive cooling power, i.e. ``y > 4 f x``), with
        ``y = A^2 / (kappa_bar T L^2)``. With ``A = 0`` the periods and COPs are NaN.

    Examples
    --------
    >>> r = refrigerator_figures(-1.0, 2.0, 0.1, 0.01, 1.0, dissipation_share=0.5)
    >>> round(r.cooling_power_max, 6), r.best_cooling_period, round(r.max_cop, 4)
    (0.124, 4.0, 6.6239)
    """
    X = _check("bias", bias, "a finite nonzero X = dT/T", lambda v: v != 0)
    A = _check("geometric_heat", geometric_heat, "a finite number (heat per cycle)",
               lambda v: True)
    length = _check("thermodynamic_length", thermodynamic_length,
                    "a finite thermodynamic length L > 0", lambda v: v > 0)
    f = _check("dissipation_share", dissipation_share, "a finite share f > 0 of the "
               "dissipated work released into the cold bath (1 = all of it)", lambda v: v > 0)
    if X * A > 0:
        raise ValueError(f"geometric_heat: the loop is an engine at this bias (X A = "
                         f"{X * A:g} > 0); a refrigerator needs X A <= 0 (reverse the loop)")
    a, x, L2 = abs(A), abs(X), length**2
    kappa = float(heat_leak) if heat_leak is not None and heat_leak > 0 else 0.0
    if kappa > 0:
        T = _check("T", T, "a finite temperature T > 0", lambda v: v > 0)
    k = kappa * T * x
    common = {"carnot_cop": 1.0 / x, "dissipation_share": f}
    if a == 0:
        return RefrigeratorFigures(**common, cooling_power_max=-k, best_cooling_period=NAN,
                                   cop_at_max_cooling=NAN,
                                   cooling_per_cycle_at_max_cooling=NAN, max_cop=NAN,
                                   max_cop_period=NAN, cools=False)
    tau_c = 2 * f * L2 / a
    at_max = dict(cooling_power_max=a**2 / (4 * f * L2) - k, best_cooling_period=tau_c,
                  cooling_per_cycle_at_max_cooling=a / 2 - k * tau_c)
    if kappa > 0:
        y = a**2 / (kappa * T * L2)
        s = float(np.sqrt(1 + y * (1 + f * x)))
        return RefrigeratorFigures(
            **common, **at_max, cop_at_max_cooling=f * (1 - 4 * f * x / y) / (1 + 2 * f * x),
            # (s - 1 - 2 f x) / (x (s + 1)), written so that it never rounds
            # above the Carnot COP 1/x as kappa -> 0
            max_cop=(1 - 2 * (1 + f * x) / (s + 1)) / x,
            max_cop_period=L2 * (s - 1) / (x * a), cools=bool(y > 4 * f * x))
    return RefrigeratorFigures(**common, **at_max, cop_at_max_cooling=f / (1 + 2 * f * x),
                               max_cop=1.0 / x, max_cop_period=NAN, cools=True)


def refrigerator_heats(period, geometric_heat: float, thermodynamic_length: float,
                       bias: float, heat_leak: float | None, T: float, *,
                       dissipation_share: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Heat taken from the cold bath and work consumed per cycle of a refrigerator.

    ``Q_c(tau) = a - f L^2 / tau - kappa_bar T x tau`` and ``W_in(tau) = x a + L^2 / tau``
    (``a = |A|``, ``x = |X|``, ``f`` the share of the dissipated work released into the cold
    bath); the cooling power is ``Q_c / tau`` and the coefficient of performance
    ``Q_c / W_in``. Linear response in ``X`` and best timing (``tau W_diss = L^2``).

    Parameters
    ----------
    period : array (*p,)
        ``tau > 0``.
    geometric_heat, thermodynamic_length, bias, heat_leak, T, dissipation_share
        As in :func:`refrigerator_figures` (``X A <= 0``).

    Returns
    -------
    cooling : (*p,)   ``Q_c``
    work : (*p,)      ``W_in``

    Examples
    --------
    >>> q, w = refrigerator_heats([4.0, 8.0], -1.0, 2.0, 0.1, None, 1.0)
    >>> q.tolist(), w.tolist()
    ([0.0, 0.5], [1.1, 0.6])
    """
    refrigerator_figures(geometric_heat, thermodynamic_length, bias, heat_leak, T,
                         dissipation_share=dissipation_share)
    tau = np.asarray(period, dtype=float)
    if not np.all(np.isfinite(tau) & (tau > 0)):
        raise ValueError(f"period: expected finite periods tau > 0, got {period!r}")
    a, x, L2 = abs(float(geometric_heat)), abs(float(bias)), float(thermodynamic_length) ** 2
    k = float(heat_leak) * T * x if heat_leak is not None and heat_leak > 0 else 0.0
    return (a - float(dissipation_share) * L2 / tau - k * tau, x * a + L2 / tau)


def biased_temperatures(temperatures, bias: float, hot: int) -> np.ndarray:
    """The bath temperatures ``(m,)`` that a bias ``X`` sets: bath ``hot`` at ``T (1 + X/2)``,
    every other bath at ``T (1 - X/2)``, with ``T`` the mean of ``temperatures`` (the
    common temperature when the baths share one).

    ``X`` must be finite with ``0 < |X| < 2``, so that both temperatures stay positive
    (``X < 0``: the bath ``hot`` is the colder one).

    Examples
    --------
    >>> biased_temperatures([2.0, 1.0], 0.2, hot=0).round(12).tolist()
    [1.65, 1.35]
    """
    T = float(np.mean(np.asarray(temperatures, dtype=float)))
    try:
        X = float(bias)
    except (TypeError, ValueError):
        raise ValueError(f"bias: expected a number X = dT/T with 0 < |X| < 2, got "
                         f"{bias!r}") from None
    if not np.isfinite(X) or X == 0 or abs(X) >= 2:
        lo = T * (1 - abs(X) / 2) if np.isfinite(X) else float("nan")
        raise ValueError(
            f"bias: X = dT/T sets the bath temperatures T(1 + X/2) (hot) and T(1 - X/2) (the "
            f"others) around T = {T:g} (the mean of the machine's temperatures), so it must be "
            f"finite with 0 < |X| < 2 (both temperatures positive); got X = {bias!r}"
            + (f", which would make a temperature {lo:g}" if abs(X) >= 2 and np.isfinite(X)
               else ""))
    out = np.full(len(np.atleast_1d(temperatures)), T * (1 - X / 2))
    out[hot] = T * (1 + X / 2)
    return out


def two_sides(temperatures, bath: int) -> bool:
    """Whether the engine figures apply: the bath ``bath`` on one side and every other bath,
    at one common temperature, on the other, the two sides at different temperatures."""
    T = np.asarray(temperatures, dtype=float)
    others = np.delete(T, bath)
    return bool(others.size and np.allclose(others, others[0], rtol=1e-12, atol=0)
                and T[bath] != others[0])


def _sides(temperatures, bath: int, bath_names) -> tuple[float, float]:
    """Temperatures of the bath ``bath`` and of the other baths (which must share one)."""
    T = np.asarray(temperatures, dtype=float)
    others = np.delete(T, bath)
    if others.size == 0:
        raise ValueError("engine figures: need at least two baths")
    if not np.allclose(others, others[0], rtol=1e-12, atol=0):
        raise ValueError(
            "engine figures: the baths other than the bath of A must share one temperature "
            f"(the figures compare two sides), got {dict(zip(bath_names, T.tolist()))}")
    Tb, To = float(T[bath]), float(others[0])
    if Tb == To:
        raise ValueError("engine figures: the bath of A and the others are at the same "
                         f"temperature {Tb:g}; give a bias (X = dT/T) or unequal temperatures")
    return Tb, To


def expansion_figures(heat_rate0, geometric_heat, heat_order2, dissipated_work_coefficient,
                      temperatures, bath: int = 0, *, bath_names=None,
                      dissipation_share: float | None = None) -> EngineFigures:
    """Engine or refrigerator figures of a loop at the baths' own temperatures, from the
    per-bath slow-driving expansion ``Q_a(tau) = tau Q_a^(0) + Q_a^geo + Q_a^(2) / tau``.

    Two sides: the bath ``bath`` and the other baths (at one common temperature). With the
    geometric work ``W_geo = sum_a Q_a^geo`` and ``B = tau W_diss`` (the loop as traversed),
    the work done by the machine per cycle is ``W_out(tau) = W_geo - B / tau`` (first law; the
    static currents sum to zero). A loop with ``W_geo > 0`` is an **engine**::

        P_max = W_geo^2 / (4 B)  at  tau* = 2 B / W_geo,     W_out(tau*) = W_geo / 2
        eta(tau) = W_out(tau) / Q_h(tau),   Q_h(tau) = tau q0 + q1 + q2 / tau (hot side)
        eta_max at the root tau_eta of  W_geo q0 tau^2 - 2 B q0 tau - (W_geo q2 + B q1) = 0
        (q0 = 0: the supremum W_geo / q1 as tau -> inf)

    otherwise a **refrigerator** of the cold side ``c``: with ``a = Q_c^geo``,
    ``k = -Q_c^(0)`` (the static heat leaking into the cold bath per unit time), the share
    ``f = -Q_c^(2) / B`` of the dissipated work released into the cold bath (computed, or
    ``dissipation_share`` given explicitly) and the geometric work consumed ``w = -W_geo``::

        Q_c(tau) = a - f B / tau - k tau,      W_in(tau) = w + B / tau
        J_c,max = a^2 / (4 f B) - k  at  tau_c = 2 f B / a        (f > 0, a > 0)
        COP_max = (a - 2 k tau_e) / w  at  tau_e = (B / w)(s - 1),
                  s = sqrt(1 + w (a + f w) / (k B))
        (k = 0: the supremum a / w as tau -> inf)

    The loop **cools** if some period gives ``Q_c > 0`` (``a > 0`` and ``a^2 > 4 k f B``, or
    ``a > 0`` and ``k = 0``); a loop that does not cool has no COP (NaN). A share ``f <= 0``
    leaves the cooling power without a maximum inside the expansion (NaN). The bounds are
    the true Carnot values ``eta_C = 1 - T_c / T_h`` and ``COP_C = T_c / (T_h - T_c)``.
    docs/theory.md section 5; docs/decisions/0310-unequal-temperature-figures.md.

    Parameters
    ----------
    heat_rate0 : (m,)        ``Q_a^(0)``: the loop average of the steady heat current into
                             the system from bath ``a`` (static heat per cycle ``tau Q_a^(0)``)
    geometric_heat : (m,)    ``Q_a^geo``
    heat_order2 : (m,)       ``Q_a^(2)`` (``sum_a Q_a^(2) = -B``)
    dissipated_work_coefficient : float  ``B = tau W_diss > 0``
    temperatures : (m,)
    bath : int               index of the bath of ``A`` (one side)
    bath_names : sequence of str, optional  for messages
    dissipation_share : float, optional  ``f`` given explicitly (e.g. 1: all of the
                             dissipated work into the cold bath); default: computed

    Returns
    -------
    EngineFigures
        ``bias`` ``X = (T_bath - T_others) / T_mean``; ``heat_leak`` the effective conductance
        ``Q_h^(0) / (T_h - T_c)``; ``hot_static_heat_rate`` ``Q_h^(0)``; ``geometric_work``;
        ``share_source`` "computed" or "given".

    Examples
    --------
    >>> f = expansion_figures([0.0, 0.0], [1.0, -0.9], [-0.5, -0.5], 1.0, [2.0, 1.0])
    >>> f.mode, round(f.max_power, 6), round(f.best_period, 9), round(f.carnot_efficiency, 3)
    ('engine', 0.0025, 20.0, 0.5)
    """
    q0, q1, q2 = (np.asarray(v, dtype=float) for v in (heat_rate0, geometric_heat,
                                                       heat_order2))
    m = len(q1)
    names = tuple(bath_names) if bath_names is not None else tuple(map(str, range(m)))
    B = _check("dissipated_work_coefficient", dissipated_work_coefficient,
               "a positive dissipation coefficient tau W_diss (the loop must dissipate)",
               lambda v: v > 0)
    Tb, To = _sides(temperatures, bath, names)
    mask = np.zeros(m, bool)
    mask[bath] = True
    side_b = (float(q0[bath]), float(q1[bath]), float(q2[bath]))
    side_o = (float(q0[~mask].sum()), float(q1[~mask].sum()), float(q2[~mask].sum()))
    hot, cold = (side_b, side_o) if Tb > To else (side_o, side_b)
    Th, Tc = max(Tb, To), min(Tb, To)
    w1 = float(q1.sum())
    common = dict(bias=(Tb - To) / (0.5 * (Tb + To)), carnot_efficiency=1 - Tc / Th,
                  heat_leak=hot[0] / (Th - Tc), carnot_cop=Tc / (Th - Tc),
                  hot_temperature=Th, cold_temperature=Tc, hot_static_heat_rate=hot[0],
                  geometric_work=w1, figures_dissipated_work_coefficient=B)
    if w1 > 0:
        h0, h1, h2 = hot
        tau_p = 2 * B / w1

        def eta(tau):
            return (w1 - B / tau) / (tau * h0 + h1 + h2 / tau)

        if h0 > 0:
            tau_e = (B * h0 + np.sqrt((B * h0) ** 2 + w1 * h0 * (w1 * h2 + B * h1))) / (w1 * h0)
            tau_e = float(tau_e) if np.isfinite(tau_e) and tau_e > B / w1 else NAN
            eff_max = eta(tau_e) if np.isfinite(tau_e) else NAN
        else:
            tau_e, eff_max = NAN, (w1 / h1 if h1 > 0 else NAN)
        fridge = dict.fromkeys(REFRIGERATOR_KEYS, NAN)
        common.pop("carnot_cop")
        fridge["cools"] = False
        return EngineFigures(mode="engine", **common, max_power=w1**2 / (4 * B),
                             best_period=tau_p, work_per_cycle_at_best_period=0.5 * w1,
                             efficiency_at_max_power=eta(tau_p), max_efficiency=eff_max,
                             max_efficiency_period=tau_e, **fridge)
    c0, a, c2 = cold
    k, w = -c0, -w1
    if dissipation_share is None:
        f, source = -c2 / B, "computed"
    else:
        f = _check("dissipation_share", dissipation_share, "a finite share f > 0 of the "
                   "dissipated work released into the cold bath (1 = all of it)",
                   lambda v: v > 0)
        source = "given"
    fB = f * B

    def q_cold(tau):
        return a - fB / tau - k * tau

    def cop(tau):
        q = q_cold(tau)
        return q / (w + B / tau) if q > 0 else NAN

    cools = bool(a > 0 and (a * a > 4 * k * fB if k > 0 else True))
    if a > 0 and f > 0:
        tau_c = 2 * fB / a
        at_max = dict(cooling_power_max=a**2 / (4 * fB) - k, best_cooling_period=tau_c,
                      cooling_per_cycle_at_max_cooling=q_cold(tau_c),
                      cop_at_max_cooling=cop(tau_c))
    else:
        at_max = dict(cooling_power_max=NAN, best_cooling_period=NAN,
                      cooling_per_cycle_at_max_cooling=NAN, cop_at_max_cooling=NAN)
    if cools and w > 0 and k > 0 and a + f * w > 0:
        s = float(np.sqrt(1 + w * (a + f * w) / (k * B)))
        tau_e = B * (s - 1) / w
        best = dict(max_cop=cop(tau_e), max_cop_period=tau_e)
    elif cools and w > 0 and k <= 0:
        best = dict(max_cop=a / w, max_cop_period=NAN)  # supremum, tau -> inf
    else:
        best = dict(max_cop=NAN, max_cop_period=NAN)
    if not cools:
        at_max["cop_at_max_cooling"] = NAN
    return EngineFigures(mode="refrigerator", **common, **dict.fromkeys(ENGINE_KEYS, NAN),
                         **at_max, **best, dissipation_share=f, cools=cools,
                         share_source=source)


def thermal_conductance(machine: Machine, lam, *, hot: int = 0,
                        numerics: Numerics | None = None) -> np.ndarray:
    """Differential thermal conductance ``kappa(lam)`` from bath ``hot`` to the others.

    ``kappa = dJ_hot / d(dT)`` at the machine's temperatures, when ``T_hot`` rises by
    ``dT/2`` and every other bath falls by ``dT/2`` (``J_hot = Tr[H D_hot rho_0]`` the steady
    heat current into the system), computed exactly from the temperature derivatives of the
    rates (:func:`thermogeo.response.thermal.conductance`). At equal temperatures it is the
    linear-response conductance of the bias ``T +/- dT/2``.

    Parameters
    ----------
    machine : Machine   any temperatures
    lam : array (*b, k)
    hot : int           index of the hot bath

    Returns
    -------
    kappa : (*b,)
    """

    return conductance(machine, lam, hot=hot, numerics=numerics)
