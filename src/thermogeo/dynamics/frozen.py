"""Frozen-parameter quantities along a path, in the lab frame, shared by the exact and the
expanded dynamics.

At path nodes with parameters ``lam (n, k)`` and velocities ``lam' = d lam / ds (n, k)``::

    rho_0            steady state, L rho_0 = 0, Tr rho_0 = 1
    d_s rho_0        = sum_i lam'_i d_i rho_0  (exact: Daleckii-Krein at equal temperatures,
                       -L^D (d_i L) rho_0 otherwise; docs/theory.md section 4)
    z                = L^D d_s rho_0           (first-order state per unit 1/tau: rho_1 = z / tau)

Built from :func:`thermogeo.generator`, :func:`thermogeo.linalg.steady.steady_solve` and
:mod:`thermogeo.response.derivatives` (the same building blocks as
:func:`thermogeo.response`, which does not expose ``z``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from thermogeo.errors import NonUniqueSteadyStateError
from thermogeo.lindblad.generator import Generator, generator
from thermogeo.lindblad.observables import energy_rows
from thermogeo.linalg.steady import SteadySolve, steady_solve
from thermogeo.model.machine import Machine
from thermogeo.numerics import Numerics
from thermogeo.response.derivatives import (dissipator_derivatives, gibbs_derivative,
                                            hamiltonian_derivative, perturbation_generator)


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
    gen = generator(machine, lam, numerics)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        ss = steady_solve(gen.L, numerics.uniqueness_rcond)  # non-unique points are NaN
    if not np.all(ss.unique):
        raise NonUniqueSteadyStateError(
            f"the steady state is not unique at {int((~ss.unique).sum())} node(s) of the path "
            f"(rcond {np.nanmin(ss.rcond):.2e} < {numerics.uniqueness_rcond:.0e}): the "
            "couplings leave part of the state space dark; break the symmetry")
    method = numerics.derivative
    if method == "auto":
        method = "gibbs" if machine.equal_temperatures else "general"
    if method == "gibbs":
        if not machine.equal_temperatures:
            raise ValueError("numerics.derivative: 'gibbs' needs equal bath temperatures")
        drho_i = gibbs_derivative(gen, float(machine.temperatures[0]))
    else:
        k = len(machine.parameters)
        X = perturbation_generator(gen)
        need = list(range(k))
        dL = hamiltonian_derivative(gen, need) + dissipator_derivatives(
            machine, gen, X, need).sum(axis=-3)
        drho_i = -ss.drazin_apply(np.einsum("bnij,bj->bni", dL, ss.rho))
    drho = np.einsum("bk,bkc->bc", vel, drho_i)
    z = ss.drazin_apply(drho)
    U = gen.U
    d = U.shape[-1]
    W = np.einsum("...ac,...bd->...abcd", U, U.conj()).reshape(*U.shape[:-2], d * d, d * d)
    return FrozenPath(gen=gen, ss=ss, W=W, rows=energy_rows(gen.E, gen.D), drho=drho, z=z)
