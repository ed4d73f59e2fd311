"""Slow-driving expansion of the heat and work per cycle, and along the path.

The rates along the path (``J_a``, ``j1_a``, ``j2_a``, ``p0``, ``p1``: docs/theory.md section
4) are those of :mod:`thermogeo.response.path` (re-exported here); per cycle::

    Q_a(tau) = tau Q_a^(0) + Q_a^geo + Q_a^(2)/tau
        Q_a^geo = int_0^1 j1_a ds  (geometric_heat),  Q_a^(2) = int_0^1 j2_a ds,
        W^(2) = int_0^1 p1 ds      (dissipated_work_coefficient; W_diss = W^(2)/tau)

Names as in the glossary, docs/decisions/0007-names.md.

Balance (exact identities of the expansion, checked in the tests): at equal temperatures
``sum_a j1_a = T dS/ds``; at second order ``sum_a j2_a + p1 = d e1 / ds`` with
``e1 = Tr[H z]`` (the first-order energy), so that ``sum_a Q_a^(2) = -W^(2)`` over a cycle:
the second-order currents balance minus the second-order power up to the total derivative of
the first-order energy, which integrates to zero.

Derivatives along the path are spectral: FFT on smooth loops (equispaced nodes), Legendre
differentiation at the Gauss nodes of every smooth piece otherwise. At a corner of the loop the
velocity jumps, ``z`` jumps by ``Dz`` and the relaxation back to the slow manifold adds
``Tr[H D_a L^D Dz]`` to ``Q_a^(2)`` (the delta function in ``z'``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from thermogeo.dynamics.grid import check_period
from thermogeo.model.machine import Machine
from thermogeo.numerics import Numerics
from thermogeo.response.path import (DEFAULT_NODES_PIECE, DEFAULT_NODES_SMOOTH, PATH_UNITS,
                                     STRUCTURED_PATH_BYTES, PathExpansion, path_expansion)
from thermogeo.response.path import dataset_variables as _dataset_variables

__all__ = ["DEFAULT_NODES_PIECE", "DEFAULT_NODES_SMOOTH", "STRUCTURED_PATH_BYTES",
           "ExpansionCycle", "PathExpansion", "UNITS", "dataset_variables", "expansion_cycle",
           "path_expansion"]

#: Units of the expansion's quantities (k_B = hbar = 1, time = 1/energy; ``s = t / tau`` is
#: dimensionless; docs/decisions/0007-names.md). Shared by the ``to_dataset()`` of the results
#: of :mod:`thermogeo.dynamics`.
UNITS = {
    # per cycle
    "heat": "energy", "work": "energy", "heat_order0": "energy", "geometric_heat": "energy",
    "heat_order2": "energy", "heat_order2_coefficient": "energy time",
    "work_order1": "energy", "dissipated_work": "energy",
    "dissipated_work_coefficient": "energy time",
    "thermodynamic_length": "(energy time)^(1/2)", "entropy_production": "nats",
    "temperatures": "energy", "first_law_residual": "energy", "error_estimate": "energy",
    # along the path, per unit s
    **PATH_UNITS,
    "exact_geometric_heat_rate": "energy", "exact_geometric_heat_rate_sum": "energy",
    "exact_second_order_heat_rate": "energy time",
    "exact_second_order_heat_rate_sum": "energy time",
    "exact_dissipated_power": "energy time", "exact_energy_order1": "energy time",
    # convergence
    "heat_exact": "energy", "work_exact": "energy", "heat_expansion1": "energy",
    "heat_expansion2": "energy", "work_expansion2": "energy", "error_order1": "energy",
    "error_order2": "energy", "steps": "1", "slope_order1": "1", "slope_order2": "1",
}


def dataset_variables(obj, dims: dict) -> dict:
    """``{name: (dims, values, {"units": ...})}`` for ``xarray.Dataset`` from the fields of
    ``obj`` named in ``dims`` (``name -> dims``), units from :data:`UNITS`; fields that are
    None are left out."""
    return _dataset_variables(obj, dims, UNITS)


@dataclass(frozen=True)
class ExpansionCycle:
    """Slow-driving expansion of the heat and work per cycle at period ``tau`` (names as in
    docs/decisions/0007-names.md).

    ``Q_a(tau) = tau Q_a^(0) + Q_a^geo + Q_a^(2)/tau``, ``W(tau) = tau W^(0) + W^(1) + W^(2)/tau``.

    Attributes
    ----------
    period : float
    bath_names : tuple of str
    temperatures : (m,)
    heat_order0 : (m,)            ``tau int J_a ds`` (steady conduction; 0 at equal temperatures)
    geometric_heat : (m,)         ``Q_a^geo = closed int Lambda^a . dlam`` (independent of tau)
    heat_order2 : (m,)            ``Q_a^(2) / tau``
    work_order1 : float           ``W^(1) = closed int Tr[rho_0 dH]``
    dissipated_work : float       ``W_diss = W^(2)/tau = (1/tau) int g(lam', lam') ds >= L^2/tau``
    heat_order2_coefficient : (m,)  ``Q_a^(2)``
    dissipated_work_coefficient : float ``tau W_diss = W^(2)``
    thermodynamic_length : float  ``L = int sqrt(g(lam', lam')) ds``
    """

    period: float
    bath_names: tuple
    temperatures: np.ndarray
    heat_order0: np.ndarray
    geometric_heat: np.ndarray
    heat_order2: np.ndarray
    work_order1: float
    dissipated_work: float
    heat_order2_coefficient: np.ndarray
    dissipated_work_coefficient: float
    thermodynamic_length: float

    @property
    def heat(self) -> np.ndarray:
        """Expansion to second order, ``heat_order0 + geometric_heat + heat_order2``,
        ``(m,)``."""
        return self.heat_order0 + self.geometric_heat + self.heat_order2

    @property
    def work(self) -> float:
        """Expansion to second order, ``-sum_a heat_order0 + work_order1 + dissipated_work``."""
        return float(-self.heat_order0.sum() + self.work_order1 + self.dissipated_work)

    @property
    def entropy_production(self) -> float:
        """``-sum_a Q_a / T_a`` of the expansion to second order (per cycle)."""
        return float(-(self.heat / self.temperatures).sum())

    def to_dict(self) -> dict:
        """Plain dictionary (the ``expansion`` entry of ``thermogeo exact --json``)."""
        def per_bath(x):
            return dict(zip(self.bath_names, map(float, x)))
        return {"heat_order0": per_bath(self.heat_order0),
                "geometric_heat": per_bath(self.geometric_heat),
                "heat_order2": per_bath(self.heat_order2),
                "work_order1": float(self.work_order1),
                "dissipated_work": float(self.dissipated_work),
                "heat": per_bath(self.heat), "work": self.work,
                "entropy_production": self.entropy_production,
                "thermodynamic_length": float(self.thermodynamic_length)}

    def to_dataset(self):
        """``xarray.Dataset`` (coordinate ``bath``): every field and ``heat``, ``work``,
        ``entropy_production``, with ``units`` attributes; ``period`` in the attributes."""
        import xarray as xr

        bath = ("bath",)
        data = dataset_variables(self, {
            "temperatures": bath, "heat_order0": bath, "geometric_heat": bath,
            "heat_order2": bath, "heat_order2_coefficient": bath, "work_order1": (),
            "dissipated_work": (), "dissipated_work_coefficient": (),
            "thermodynamic_length": (), "heat": bath, "work": (), "entropy_production": ()})
        return xr.Dataset(data, coords={"bath": list(self.bath_names)},
                          attrs={"period": float(self.period)})


def expansion_cycle(machine: Machine, loop, period, *, nodes: int | None = None,
                    numerics: Numerics | None = None,
                    path: PathExpansion | None = None) -> ExpansionCycle:
    """First- and second-order heat and work per cycle from the slow-driving expansion.

    Parameters
    ----------
    machine : Machine
    loop : Loop
    period : float
        ``tau > 0``.
    nodes : int, optional
        Quadrature nodes (see :func:`path_expansion`).
    numerics : Numerics, optional
    path : PathExpansion, optional
        Reuse coefficients computed before (they do not depend on ``tau``).

    Returns
    -------
    ExpansionCycle

    Examples
    --------
    >>> from thermogeo import load_model
    >>> from thermogeo.protocols.paths import Circle
    >>> e = expansion_cycle(load_model("models/qubit_pump.toml"),
    ...                     Circle(center=(0.8, 0.6), radius=0.5), 100.0)
    >>> round(float(e.geometric_heat[0]), 10)
    0.272952688
    """
    tau = check_period(period)
    pe = path if path is not None else path_expansion(machine, loop, nodes, numerics)
    w = pe.weights
    Q2 = w @ pe.second_order_heat_rate + pe.jump_heat
    W2 = float(w @ pe.dissipated_power)
    return ExpansionCycle(
        period=tau, bath_names=tuple(machine.bath_names),
        temperatures=np.asarray(machine.temperatures, dtype=float),
        heat_order0=tau * (w @ pe.heat_current), geometric_heat=w @ pe.geometric_heat_rate,
        heat_order2=Q2 / tau, work_order1=float(w @ pe.quasistatic_power),
        dissipated_work=W2 / tau, heat_order2_coefficient=Q2, dissipated_work_coefficient=W2,
        thermodynamic_length=float(w @ np.sqrt(np.clip(pe.dissipated_power, 0, None))))
