"""Energy-entropy balance along a path, from the expansion and from the exact dynamics.

All rates are per unit of the path coordinate ``s = t / tau`` and scaled to be independent of
``tau`` (docs/theory.md sections 3-4; :mod:`thermogeo.dynamics.expansion`)::

    heat_rate_order1[a]   j1_a = Lambda^a . lam'          sum_a j1_a = T dS/ds
    heat_rate_order2[a]   j2_a = Tr[H D_a L^D z']         sum_a j2_a = -p1 + d e1/ds
    power_order2          p1   = g(lam', lam')

so that the first-order current of bath ``a`` in time units is ``J_a^(1) = j1_a / tau`` and the
second-order one ``J_a^(2) = j2_a / tau^2``. From the exact limit cycle at period ``tau``
(``rho(s)``, ``q_a = tau Tr[H D_a rho]`` the heat per unit ``s``, ``p = Tr[rho dH/ds]``)::

    exact_heat_rate_order1 = q_a - tau J_a                  = j1_a + O(1/tau)
    exact_heat_rate_order2 = tau (q_a - tau J_a - j1_a)     = j2_a + O(1/tau)
    exact_power_order2     = tau (p - p0)                   = p1   + O(1/tau)
    exact_energy_order1    = tau Tr[H (rho - rho_0)]        = e1   + O(1/tau)

On loops with corners the exact rates also show the relaxation layer after each corner (width
``relaxation_time / tau`` in ``s``), which the expansion carries as the corner terms
``jump_heat_order2`` instead.
"""

from __future__ import annotations

import numpy as np

from thermogeo.dynamics.expansion import path_expansion
from thermogeo.dynamics.frozen import frozen_path
from thermogeo.dynamics.methods import ExactMethod, ExactOptions, as_method
from thermogeo.dynamics.periodic import exact_cycle, periodic_states
from thermogeo.model.machine import Machine
from thermogeo.numerics import Numerics


def balance_along(machine: Machine, loop, *, period=None, nodes: int | None = None,
                  method: str | ExactMethod | None = None, options: ExactOptions | None = None,
                  numerics: Numerics | None = None):
    """Energy-entropy balance along ``loop`` as an ``xarray.Dataset`` over ``s``.

    Parameters
    ----------
    machine : Machine
    loop : Loop
    period : float, optional
        If given, add the same rates estimated from the exact limit cycle at this period
        (variables ``exact_*``; the step count is chosen by :func:`exact_cycle`).
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
    xarray.Dataset
        Coordinates ``s`` and ``bath``; variables ``heat_rate_order1 (s, bath)``,
        ``heat_rate_order1_sum``, ``T_dS_ds``, ``heat_rate_order2 (s, bath)``,
        ``heat_rate_order2_sum``, ``power_order2``, ``energy_order1``, ``energy_order1_ds``,
        ``heat_current (s, bath)`` (zeroth order, per unit time), ``weights``, and with a
        period the ``exact_*`` rates. Corner contributions of loops with corners are in
        ``jump_heat_order2 (bath)``.

    Examples
    --------
    >>> from thermogeo import load_model
    >>> from thermogeo.protocols.paths import Circle
    >>> ds = balance_along(load_model("models/qubit_pump.toml"),
    ...                    Circle(center=(0.8, 0.6), radius=0.5), nodes=64)
    >>> bool(abs(ds.heat_rate_order1_sum - ds.T_dS_ds).max() < 1e-10)
    True
    """
    import xarray as xr

    chosen = as_method(method, options)
    numerics = numerics or chosen.numerics
    pe = path_expansion(machine, loop, nodes, numerics)
    baths = list(machine.bath_names)
    data = {
        "weights": (("s",), pe.weights),
        "parameters": (("s", "parameter"), pe.lam),
        "heat_current": (("s", "bath"), pe.heat_current),
        "heat_rate_order1": (("s", "bath"), pe.j1),
        "heat_rate_order1_sum": (("s",), pe.j1.sum(axis=1)),
        "T_dS_ds": (("s",), pe.T_dS_ds),
        "heat_rate_order2": (("s", "bath"), pe.j2),
        "heat_rate_order2_sum": (("s",), pe.j2.sum(axis=1)),
        "power_order2": (("s",), pe.p1),
        "energy_order1": (("s",), pe.e1),
        "energy_order1_ds": (("s",), pe.de1),
        "jump_heat_order2": (("bath",), pe.jump_heat),
    }
    attrs = {"smooth": int(bool(loop.smooth)),
             "note": "rates per unit s scaled to be tau-independent: J^(1) = j1/tau, "
                     "J^(2) = j2/tau^2; sum_a j2_a + p1 = d e1/ds"}
    if period is not None:
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
        data.update({
            "exact_heat_rate_order1": (("s", "bath"), q1),
            "exact_heat_rate_order1_sum": (("s",), q1.sum(axis=1)),
            "exact_heat_rate_order2": (("s", "bath"), tau * (q1 - pe.j1)),
            "exact_heat_rate_order2_sum": (("s",), tau * (q1 - pe.j1).sum(axis=1)),
            "exact_power_order2": (("s",), tau * (p - pe.p0)),
            "exact_energy_order1": (("s",), tau * energy),
        })
        attrs.update(period=tau, steps=ex.steps, error_estimate=ex.error_estimate,
                     method=ex.method, order=str(ex.order))
    ds = xr.Dataset(data, coords={"s": pe.s, "bath": baths,
                                  "parameter": list(machine.parameter_names)}, attrs=attrs)
    return ds
