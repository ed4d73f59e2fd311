"""Static thermal response: how the steady heat currents change with the bath temperatures.

At frozen parameters, with ``J_beta = Tr[H D_beta rho_0]`` and ``L rho_0 = 0``::

    K_{beta alpha} = d J_beta / d T_alpha
                   = delta_{beta alpha} Tr[H (d_T D_alpha) rho_0] + Tr[H D_beta d_{T_alpha} rho_0]
    d_{T_alpha} rho_0 = -L^D (d_T D_alpha) rho_0

where ``d_T D_alpha`` is the dissipator built with the rates' temperature derivatives
``d gamma_alpha / dT`` (for a non-secular master equation ``S(d_T L, L) + S(L, d_T L)`` of
the jump operators, docs/theory.md section 13). Exact (no finite differences). The
linear-response conductance of a bias ``T_hot = T + dT/2``, others ``T - dT/2``, is
``kappa = (K_{hot,hot} - sum_{alpha != hot} K_{hot,alpha}) / 2`` (:func:`conductance`).
"""

from __future__ import annotations

import numpy as np

from thermogeo.lindblad.family import jump_superop
from thermogeo.lindblad.generator import dissipator_superop, generator
from thermogeo.lindblad.observables import energy_rows
from thermogeo.linalg.steady import steady_solve
from thermogeo.linalg.superop import apply
from thermogeo.model.machine import Machine
from thermogeo.numerics import Numerics


def thermal_response(machine: Machine, lam, numerics: Numerics | None = None) -> np.ndarray:
    """``K (*b, m, m)``: ``K[..., beta, alpha] = dJ_beta / dT_alpha`` at points ``lam (*b, k)``.

    Dense kernels; points with a non-unique steady state are NaN.

    Examples
    --------
    >>> from thermogeo import load_model
    >>> K = thermal_response(load_model("models/qubit_pump.toml"), [0.7, 0.4])
    >>> bool(abs(K.sum(axis=0)).max() < 1e-12)   # energy conservation: sum_beta dJ_beta = 0
    True
    """
    numerics = numerics or Numerics()
    lam = np.asarray(lam, dtype=float)
    flat = lam.reshape(-1, lam.shape[-1])
    gen = generator(machine, flat, numerics)
    ss = steady_solve(gen.L, numerics.uniqueness_rcond)
    label = gen.groups.label
    if gen.jumps is None:
        dD = np.stack([dissipator_superop(b.rate_temperature_derivative(gen.groups.omega),
                                          gen.A[:, a], gen.A[:, a], label)
                       for a, b in enumerate(machine.baths)], axis=1)  # (b, m, d2, d2)
    else:
        L, dL = gen.jumps.ops, gen.jumps.temperature_derivative(machine)
        dD = jump_superop(dL, L) + jump_superop(L, dL)
    dDrho = apply(dD, ss.rho[:, None, :])  # (b, m, d2)
    drho = -ss.drazin_apply(dDrho)  # (b, alpha, d2)
    rows = energy_rows(gen.E, gen.D)  # (b, beta, d2)
    K = np.einsum("bmc,bac->bma", rows, drho).real
    direct = np.einsum("bac,bac->ba", energy_rows(gen.E, dD), ss.rho[:, None, :]).real
    m = len(machine.baths)
    K[:, np.arange(m), np.arange(m)] += direct
    K[~ss.unique] = np.nan
    return K.reshape(lam.shape[:-1] + (m, m))


def conductance(machine: Machine, lam, hot: int = 0, numerics: Numerics | None = None
                ) -> np.ndarray:
    """Linear-response thermal conductance ``d J_hot / d(dT)`` for ``T_hot = T + dT/2`` and every
    other bath at ``T - dT/2``: ``(K_hh - sum_{a != h} K_ha) / 2``, shape ``(*b,)``."""
    K = thermal_response(machine, lam, numerics)
    sign = -np.ones(K.shape[-1])
    sign[hot] = 1.0
    return 0.5 * np.einsum("...a,a->...", K[..., hot, :], sign)
