"""Observables of a state under the secular generator: heat currents and entropy.

* Heat current from bath alpha into the system: ``J_alpha = Tr[H D_alpha rho]``.
* von Neumann entropy ``S = -Tr rho ln rho`` and its derivative ``dS = -Tr[d rho ln rho]``.
"""

from __future__ import annotations

import numpy as np

from thermogeo.linalg.superop import apply


def energy_rows(E: np.ndarray, D: np.ndarray) -> np.ndarray:
    """Rows ``<<H| D_alpha`` in the eigenframe: ``(*b, m, d*d)``.

    ``<<H| D v>> = Tr[H D v]`` for any vectorised ``v``; ``E (*b, d)``, ``D (*b, m, d*d, d*d)``.
    """
    d = E.shape[-1]
    diag = np.arange(d) * (d + 1)
    return np.einsum("...a,...mac->...mc", E, D[..., diag, :])


def heat_current(E: np.ndarray, D: np.ndarray, rho: np.ndarray) -> np.ndarray:
    """``J_alpha = Tr[H D_alpha rho]``, ``(*b, m)``, for eigenframe ``rho (*b, d*d)``."""
    return np.einsum("...mc,...c->...m", energy_rows(E, D), rho).real


def entropy_and_log(rho: np.ndarray, floor: float = 1e-300) -> tuple[np.ndarray, np.ndarray]:
    """``S(rho)`` ``(*b,)`` and ``ln rho`` ``(*b, d, d)`` of density matrices ``(*b, d, d)``.

    Eigenvalues below ``floor`` are clipped (their contribution ``p ln p`` vanishes).
    """
    q, W = np.linalg.eigh(rho)
    q = np.clip(q, floor, None)
    lq = np.log(q)
    S = -(q * lq).sum(axis=-1)
    logrho = (W * lq[..., None, :]) @ np.conj(np.swapaxes(W, -1, -2))
    return S, logrho


def trace_with(O: np.ndarray, v: np.ndarray) -> np.ndarray:
    """``Tr[O x]`` for operators ``O (*b, n, d, d)`` and vectorised ``v (*b, p, d*d)``:
    ``(*b, n, p)``."""
    d = O.shape[-1]
    OT = np.swapaxes(O, -1, -2).reshape(*O.shape[:-2], d * d)
    return np.einsum("...nc,...pc->...np", OT, v)


__all__ = ["energy_rows", "heat_current", "entropy_and_log", "trace_with", "apply"]
