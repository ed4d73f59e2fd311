"""Frozen-parameter quantities along a path, in the lab frame, for the exact dynamics.

At path nodes with parameters ``lam (n, k)`` and velocities ``lam' = d lam / ds (n, k)``::

    rho_0            steady state, L rho_0 = 0, Tr rho_0 = 1
    d_s rho_0        = sum_i lam'_i d_i rho_0  (exact: Daleckii-Krein at equal temperatures,
                       -L^D (d_s L) rho_0 otherwise; docs/theory.md section 4)
    z                = L^D d_s rho_0           (first-order state per unit 1/tau: rho_1 = z / tau)

A view of the dense backend (:class:`~thermogeo.lindblad.dense.DenseFrozen`) differentiated
along the velocity, through the same :func:`~thermogeo.lindblad.frozen.steady_derivative` as
every other quantity; the exact solvers need its superoperators (``gen.L``, ``gen.D``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from thermogeo import progress
from thermogeo.errors import NonUniqueSteadyStateError
from thermogeo.lindblad.dense import DenseFrozen
from thermogeo.lindblad.frozen import steady_derivative
from thermogeo.lindblad.generator import Generator
from thermogeo.linalg.steady import SteadySolve
from thermogeo.model.machine import Machine
from thermogeo.numerics import Numerics


@dataclass(frozen=True, eq=False)
class FrozenPath:
    """Frozen-generator data at ``n`` path nodes (eigenframe ``~``, lab frame otherwise).

    Attributes
    ----------
    gen : Generator               the secular generator at the nodes (eigenframe)
    ss : SteadySolve              steady state and Drazin solver (eigenframe)
    W : (n, d^2, d^2)             unitary superoperator eigenframe -> lab, ``vec(U x U^+)``
    rows : (n, m, d^2)            ``<<H| D_a`` in the eigenframe
    drho : (n, d^2)               ``d_s rho_0`` in the eigenframe
    z : (n, d^2)                  ``L^D d_s rho_0`` in the eigenframe
    """

    gen: Generator
    ss: SteadySolve
    W: np.ndarray
    rows: np.ndarray
    drho: np.ndarray
    z: np.ndarray

    def lab(self, v: np.ndarray) -> np.ndarray:
        """Eigenframe vectors ``(n, d^2)`` -> lab frame."""
        return np.einsum("nij,nj->ni", self.W, v)

    def eig(self, v: np.ndarray) -> np.ndarray:
        """Lab-frame vectors ``(n, d^2)`` -> eigenframe."""
        return np.einsum("nji,nj->ni", self.W.conj(), v)


def frozen_path(machine: Machine, lam: np.ndarray, vel: np.ndarray,
                numerics: Numerics | None = None) -> FrozenPath:
    """Steady state, its path derivative and the first-order state at nodes ``lam (n, k)``
    with velocities ``vel = d lam/ds (n, k)``.

    Raises :class:`~thermogeo.errors.NonUniqueSteadyStateError` if the steady state is not
    unique at some node.
    """
    numerics = numerics or Numerics()
    lam = np.asarray(lam, dtype=float)
    dirs = np.asarray(vel, dtype=float)[:, None, :]
    method = numerics.derivative_method(machine)
    fg = DenseFrozen(machine, lam, numerics, dirs if method == "general" else None)
    if not np.all(fg.unique):
        raise NonUniqueSteadyStateError.at(machine, lam[~fg.unique], float(np.min(fg.rcond)),
                                           numerics.uniqueness_rcond)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        drho = steady_derivative(fg, fg.direction_operators(dirs), method)
        z = fg.drazin(drho)
    U = fg.U
    d = U.shape[-1]
    W = np.einsum("...ac,...bd->...abcd", U, U.conj()).reshape(*U.shape[:-2], d * d, d * d)
    progress.advance("point", len(lam))
    return FrozenPath(gen=fg.gen, ss=fg.ss, W=W, rows=fg.rows, drho=drho[:, 0], z=z[:, 0])
