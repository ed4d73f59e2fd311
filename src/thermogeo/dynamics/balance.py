"""Energy-entropy balance along a path, from the expansion and from the exact dynamics.

All rates are per unit of the path coordinate ``s = t / tau`` and scaled to be independent of
``tau`` (docs/theory.md sections 3-4; :mod:`thermogeo.dynamics.expansion`; names as in
docs/decisions/0007-names.md)::

    geometric_heat_rate[a]     j1_a = Lambda^a . lam'          sum_a j1_a = T dS/ds
    second_order_heat_rate[a]  j2_a = Tr[H D_a L^D z']         sum_a j2_a = -p1 + d e1/ds
    dissipated_power           p1   = g(lam', lam')

so that the first-order current of bath ``a`` in time units is ``J_a^(1) = j1_a / tau`` and the
second-order one ``J_a^(2) = j2_a / tau^2``. From the exact limit cycle at period ``tau``
(``rho(s)``, ``q_a = tau Tr[H D_a rho]`` the heat per unit ``s``, ``p = Tr[rho dH/ds]``)::

    exact_geometric_heat_rate    = q_a - tau J_a                  = j1_a + O(1/tau)
    exact_second_order_heat_rate = tau (q_a - tau J_a - j1_a)     = j2_a + O(1/tau)
    exact_dissipated_power       = tau (p - p0)                   = p1   + O(1/tau)
    exact_energy_order1          = tau Tr[H (rho - rho_0)]        = e1   + O(1/tau)

On loops with corners the exact rates also show the relaxation layer after each corner (width
``relaxation_time / tau`` in ``s``), which the expansion carries as the corner terms
``jump_heat`` instead.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from thermogeo.dynamics.expansion import PathExpansion, dataset_variables, path_expansion
from thermogeo.dynamics.frozen import frozen_path
from thermogeo.dynamics.methods import ExactMethod, ExactOptions, as_method
from thermogeo.dynamics.periodic import exact_cycle, periodic_states
from thermogeo.model.machine import Machine
from thermogeo.numerics import Numerics


@dataclass(frozen=True, eq=False)
class Balance:
    """Energy-entropy balance along a loop: the expansion rates and, with a period, the same
    rates estimated from the exact limit cycle (module docstring).

    Attributes
    ----------
    path : PathExpansion             the expansion at the nodes ``s (n,)`` (its rates, names
                                     and units are those of :meth:`to_dataset`)
    smooth : bool                    the loop has no corners
    period : float                   ``tau`` of the exact side (NaN without one)
    exact_geometric_heat_rate : (n, m) or None      ``q_a - tau J_a``
    exact_second_order_heat_rate : (n, m) or None   ``tau (q_a - tau J_a - j1_a)``
    exact_dissipated_power : (n,) or None           ``tau (p - p0)``
    exact_energy_order1 : (n,) or None              ``tau Tr[H (rho - rho_0)]``
    steps : int or None              steps (or nodes) of the exact solver that ran
    error_estimate : float           its error estimate of the heats per cycle (NaN without)
    method : str or None             its name (``"magnus"`` or ``"spectral"``)
    order : str or None              its order as text
    """

    path: PathExpansion
    smooth: bool
    period: float = math.nan
    exact_geometric_heat_rate: np.ndarray | None = None
    exact_second_order_heat_rate: np.ndarray | None = None
    exact_dissipated_power: np.ndarray | None = None
    exact_energy_order1: np.ndarray | None = None
    steps: int | None = None
    error_estimate: float = math.nan
    method: str | None = None
    order: str | None = None

    @property
    def geometric_heat_rate_sum(self) -> np.ndarray:
        """``sum_a j1_a``, ``(n,)`` (equals ``T dS/ds`` at equal temperatures)."""
        return self.path.geometric_heat_rate.sum(axis=1)

    @property
    def second_order_heat_rate_sum(self) -> np.ndarray:
        """``sum_a j2_a``, ``(n,)`` (equals ``-p1 + d e1/ds``)."""
        return self.path.second_order_heat_rate.sum(axis=1)

    @property
    def exact_geometric_heat_rate_sum(self) -> np.ndarray | None:
        """``sum_a`` of :attr:`exact_geometric_heat_rate`, ``(n,)`` (None without a period)."""
        x = self.exact_geometric_heat_rate
        return None if x is None else x.sum(axis=1)

    @property
    def exact_second_order_heat_rate_sum(self) -> np.ndarray | None:
        """``sum_a`` of :attr:`exact_second_order_heat_rate`, ``(n,)`` (None without a
        period)."""
        x = self.exact_second_order_heat_rate
        return None if x is None else x.sum(axis=1)

    def to_dataset(self):
        """``xarray.Dataset`` over ``s``: coordinates ``s``, ``bath``, ``parameter``;
        variables ``weights``, ``parameters (s, parameter)``, ``heat_current (s, bath)``
        (zeroth order, per unit time), ``geometric_heat_rate (s, bath)`` and its
        ``geometric_heat_rate_sum``, ``T_dS_ds``, ``second_order_heat_rate (s, bath)`` and its
        ``second_order_heat_rate_sum``, ``dissipated_power``, ``energy_order1``,
        ``energy_order1_ds``, the corner terms ``jump_heat (bath)``, and with a period the
        ``exact_*`` rates (and sums); each with a ``units`` attribute. Attributes ``smooth``
        and, with a period, ``period``, ``steps``, ``error_estimate``, ``method``,
        ``order``."""
        import xarray as xr

        pe = self.path
        data = dataset_variables(pe, {
            "weights": ("s",), "parameters": ("s", "parameter"), "heat_current": ("s", "bath"),
            "geometric_heat_rate": ("s", "bath"), "T_dS_ds": ("s",),
            "second_order_heat_rate": ("s", "bath"), "dissipated_power": ("s",),
            "energy_order1": ("s",), "energy_order1_ds": ("s",), "jump_heat": ("bath",)})
        data.update(dataset_variables(self, {
            "geometric_heat_rate_sum": ("s",), "second_order_heat_rate_sum": ("s",),
            "exact_geometric_heat_rate": ("s", "bath"), "exact_geometric_heat_rate_sum": ("s",),
            "exact_second_order_heat_rate": ("s", "bath"),
            "exact_second_order_heat_rate_sum": ("s",), "exact_dissipated_power": ("s",),
            "exact_energy_order1": ("s",)}))
        attrs = {"smooth": int(bool(self.smooth)),
                 "note": "rates per unit s scaled to be tau-independent: J^(1) = j1/tau, "
                         "J^(2) = j2/tau^2; sum_a j2_a + p1 = d e1/ds"}
        if self.exact_geometric_heat_rate is not None:
            attrs.update(period=self.period, steps=self.steps,
                         error_estimate=self.error_estimate, method=self.method,
                         order=self.order)
        return xr.Dataset(data, coords={"s": ("s", pe.s, {"units": "1"}),
                                        "bath": list(pe.bath_names),
                                        "parameter": list(pe.parameter_names)}, attrs=attrs)


def balance_along(machine: Machine, loop, *, period=None, nodes: int | None = None,
                  method: str | ExactMethod | None = None, options: ExactOptions | None = None,
                  numerics: Numerics | None = None) -> Balance:
    """Energy-entropy balance along ``loop``.

    Parameters
    ----------
    machine : Machine
    loop : Loop
    period : float, optional
        If given, add the same rates estimated from the exact limit cycle at this period
        (fields ``exact_*``; the step count is chosen by :func:`exact_cycle`).
    nodes : int, optional
        Quadrature nodes of the loop (see :func:`~thermogeo.dynamics.path_expansion`).
    method : str or ExactMethod, optional
        The exact solver (:func:`exact_cycle`); its states along the path come from
        :func:`periodic_states`, so it must resolve to ``"magnus"`` or ``"spectral"``.
    options : ExactOptions, optional
        The same as one object of all options (backward compatible; give ``method`` or
        ``options``).
    numerics : Numerics, optional
        Default: the exact solver's.

    Returns
    -------
    Balance
        :meth:`Balance.to_dataset` gives the ``xarray.Dataset`` over ``s``.

    Examples
    --------
    >>> from thermogeo import load_model
    >>> from thermogeo.protocols.paths import Circle
    >>> b = balance_along(load_model("models/qubit_pump.toml"),
    ...                   Circle(center=(0.8, 0.6), radius=0.5), nodes=64)
    >>> bool(abs(b.geometric_heat_rate_sum - b.path.T_dS_ds).max() < 1e-10)
    True
    """
    chosen = as_method(method, options)
    numerics = numerics or chosen.numerics
    pe = path_expansion(machine, loop, nodes, numerics)
    if period is None:
        return Balance(path=pe, smooth=bool(loop.smooth))
    ex = exact_cycle(machine, loop, period, method=chosen, expansion=False)
    tau = ex.period
    rho = periodic_states(machine, loop, tau, pe.s, steps=ex.steps, method=ex.solver)
    fp = frozen_path(machine, pe.lam, pe.velocity, numerics)
    d = machine.dim
    r_eig = fp.eig(rho.reshape(len(pe.s), d * d))
    J = np.einsum("nmc,nc->nm", fp.rows, r_eig).real  # per unit time
    dH = np.einsum("nk,kab->nab", pe.velocity, machine.V)
    p = np.einsum("nab,nba->n", dH, rho).real
    diag = np.arange(d) * (d + 1)
    energy = np.einsum("na,na->n", fp.gen.E, (r_eig - fp.ss.rho)[:, diag]).real
    q1 = tau * (J - pe.heat_current)
    return Balance(path=pe, smooth=bool(loop.smooth), period=tau,
                   exact_geometric_heat_rate=q1,
                   exact_second_order_heat_rate=tau * (q1 - pe.geometric_heat_rate),
                   exact_dissipated_power=tau * (p - pe.quasistatic_power),
                   exact_energy_order1=tau * energy, steps=int(ex.steps),
                   error_estimate=float(ex.error_estimate), method=ex.method,
                   order=str(ex.order))
