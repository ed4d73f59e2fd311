"""Frozen points of the structured backend: the steady state alone, and the slow-driving
states along one direction (docs/theory.md section 4), without any ``d^2 x d^2`` matrix.

* :func:`steady_state`: ``rho_0`` from the zero Bohr block only (the other blocks are never
  built);
* :func:`frozen_point`: a :class:`~thermogeo.lindblad.structured.BlockFrozen` at one point with
  ``d_v rho_0`` and ``z = L^D d_v rho_0`` along a direction ``v`` (the states the exact and
  expanded dynamics need), computed by the same
  :func:`~thermogeo.lindblad.frozen.steady_derivative` as every other quantity.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from thermogeo.errors import NonUniqueSteadyStateError
from thermogeo.lindblad.dense import DenseFrozen
from thermogeo.lindblad.blocks import BlockOperator, BlockStructure, block_structure, zero_block
from thermogeo.lindblad.levels import LevelBlock, LevelOperator
from thermogeo.lindblad.structured import (BlockFrozen, BlockSolve, _eigh, _sparse_operators,
                                           _to_eigenframe, check_memory, matrix_free)
from thermogeo.lindblad.frozen import steady_derivative
from thermogeo.linalg.bohr import bohr_groups
from thermogeo.model.machine import Machine
from thermogeo.numerics import Numerics


def steady_state(machine: Machine, lam=None, *, numerics: Numerics | None = None,
                 check: bool = True) -> np.ndarray:
    """Steady state ``rho_0`` (lab frame) at points ``lam (*b, k)``: ``(*b, d, d)``.

    Solves ``L rho_0 = 0, Tr rho_0 = 1`` on the zero Bohr block only (populations and
    coherences inside degenerate levels), then returns ``U rho~_0 U^+``.

    Parameters
    ----------
    machine : Machine
    lam : array (*b, k), optional
        Default: the machine's default point.
    numerics : Numerics, optional
    check : bool
        Raise :class:`NonUniqueSteadyStateError` where the steady state is not unique
        (default); otherwise such points are NaN.

    Examples
    --------
    >>> from thermogeo.io import load_model
    >>> rho = steady_state(load_model("models/qubit_pump.toml"), [0.7, 0.4])
    >>> round(float(rho.trace().real), 12)
    1.0
    """
    numerics = numerics or Numerics()
    lam = machine.as_points(lam)
    k = len(machine.parameters)
    if not machine.master_equation.secular:  # no Bohr-block structure: the dense backend
        flat = lam.reshape(-1, k)
        fg = DenseFrozen(machine, flat, numerics)
        if check and not fg.unique.all():
            raise NonUniqueSteadyStateError.at(machine, flat[~fg.unique],
                                               float(np.min(fg.rcond)),
                                               numerics.uniqueness_rcond)
        d = machine.dim
        return fg.to_lab(fg.rho0.reshape(-1, d, d)).reshape(lam.shape[:-1] + (d, d))
    _, _, As = _sparse_operators(machine)
    out = []
    for p in lam.reshape(-1, k):
        E, U = _eigh(machine, p)
        groups = bohr_groups(E, numerics.degeneracy_tol)
        st = block_structure(E, groups)
        check_memory(machine, st, 0, numerics)
        Z = (LevelOperator(LevelBlock(st, st.zero))
             if matrix_free(st, st.zero, numerics.dense_block_max)
             else np.zeros((st.d0, st.d0)))
        for alpha, bath in enumerate(machine.baths):
            At = _to_eigenframe(U, As[alpha])
            if isinstance(Z, np.ndarray):
                Z = Z + zero_block(st, [(bath.rate(groups.omega), At, At)])
            else:
                Z.add_term(bath.rate(groups.omega), At, At)
        solver = BlockSolve(BlockOperator(st, Z, np.zeros(0), ()), numerics, zero_only=True)
        if not solver.unique:
            if check:
                raise NonUniqueSteadyStateError.at(machine, p, solver.rcond,
                                                   numerics.uniqueness_rcond)
            out.append(np.full((machine.dim, machine.dim), np.nan, complex))
            continue
        d = machine.dim
        R = np.zeros((d, d), complex)
        R.reshape(-1)[st.zero] = solver.rho0
        out.append(U @ R @ np.conj(U.T))
    return np.stack(out).reshape(lam.shape[:-1] + (machine.dim, machine.dim))


@dataclass(frozen=True, eq=False)
class FrozenPoint:
    """The frozen generator at one point with the slow-driving states along a direction
    ``v``: a :class:`~thermogeo.lindblad.structured.BlockFrozen` plus ``d_v rho_0`` and ``z``.

    Attributes
    ----------
    fg : BlockFrozen               the backend (``E``, ``U``, blocks ``D``, solver, rows)
    Vt : (d, d)                    ``U^+ (sum_i v_i V_i) U``
    drho : (d, d)                  ``d_v rho_0`` (eigenframe)
    z : (d, d)                     ``L^D d_v rho_0`` (eigenframe; ``rho_1 = z / tau``)
    differentiable : bool          the secular generator is differentiable along ``v``
    """

    fg: BlockFrozen
    Vt: np.ndarray
    drho: np.ndarray
    z: np.ndarray
    differentiable: bool = True

    @property
    def E(self) -> np.ndarray:
        return self.fg.E[0]

    @property
    def U(self) -> np.ndarray:
        return self.fg.U[0]

    @property
    def D(self) -> BlockOperator:
        return self.fg.D

    @property
    def solver(self) -> BlockSolve:
        return self.fg.solver

    @property
    def rows(self) -> np.ndarray:
        """``(m, d0)``: energy rows ``<<H| D_alpha`` on the zero block."""
        return self.fg.rows

    @property
    def structure(self) -> BlockStructure:
        return self.fg.st

    @property
    def rho0(self) -> np.ndarray:
        """``(d0,)``: zero-block elements of the steady state (eigenframe)."""
        return self.fg.rho_zero

    def to_lab(self, x: np.ndarray) -> np.ndarray:
        """Eigenframe ``(d, d)`` -> lab frame ``U x U^+``."""
        return self.fg.to_lab(x[None, None])[0, 0]

    def to_eig(self, x: np.ndarray) -> np.ndarray:
        """Lab frame ``(d, d)`` -> eigenframe ``U^+ x U``."""
        return self.fg.to_eig(x[None, None])[0, 0]

    def entropy_rate(self) -> float:
        """``d_v S = -Tr[ln rho_0 d_v rho_0]`` along the point's direction."""
        _, log = self.fg.entropy()
        return float(self.fg.entropy_gradient(log, self.drho.reshape(1, 1, -1))[0, 0])

    def left_drazin_rows(self) -> np.ndarray:
        """``(m, d0)``: the rows ``<<H| D_alpha L^D`` on the zero block, so that
        ``Tr[H D_alpha L^D y] = left_drazin_rows[alpha] . y[zero]`` for traceless ``y``."""
        return self.fg.left_heat_drazin_rows()

    def state(self) -> np.ndarray:
        """``(d, d)``: the steady state in the eigenframe (dense)."""
        return self.fg.state_matrix().toarray()


def frozen_point(machine: Machine, lam, velocity, numerics: Numerics | None = None, *,
                 check: bool = False) -> FrozenPoint:
    """Frozen generator, steady state, ``d_v rho_0`` and ``z = L^D d_v rho_0`` at one point.

    ``d_v rho_0`` by Daleckii-Krein at equal temperatures, ``-L^D (d_v L) rho_0`` otherwise
    (``numerics.derivative``), differentiated along the single direction ``v = velocity``.

    Parameters
    ----------
    machine : Machine
    lam, velocity : (k,) float
    numerics : Numerics, optional
    check : bool
        Raise :class:`~thermogeo.errors.NonUniqueSteadyStateError` if the steady state is not
        unique (else only ``solver.unique`` says so and the states are NaN).

    Returns
    -------
    FrozenPoint
    """
    numerics = numerics or Numerics()
    if not machine.master_equation.secular:
        raise ValueError(f"frozen_point: the Bohr blocks exist for the secular generator only; "
                         f"the {machine.master_equation.kind!r} master equation is served by "
                         "the dense backend (thermogeo.response or DenseFrozen)")
    lam = np.asarray(lam, dtype=float)
    v = np.asarray(velocity, dtype=float).reshape(1, -1)
    method = numerics.derivative_method(machine)
    fg = BlockFrozen(machine, lam, numerics, v if method == "general" else None,
                     keep_inverses=False)
    Vd = fg.direction_operators(v)
    d = machine.dim
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        if method == "gibbs":  # L^D d rho_0 in the pass that inverts the small blocks
            drho = steady_derivative(fg, Vd, "gibbs")
            z = fg.drazin(drho)
        if fg.unique[0] and method == "general":
            drho = steady_derivative(fg, Vd, "general")
            z = fg.drazin(drho)
    if not fg.unique[0]:
        if check:
            raise NonUniqueSteadyStateError.at(machine, lam, float(fg.rcond[0]),
                                               numerics.uniqueness_rcond)
        nan = np.full((d, d), np.nan, complex)
        return FrozenPoint(fg=fg, Vt=Vd[0, 0], drho=nan, z=nan.copy())
    diff = bool(fg.differentiable(Vd, 1e3 * numerics.degeneracy_tol)[0, 0])
    return FrozenPoint(fg=fg, Vt=Vd[0, 0], drho=drho.reshape(d, d), z=z.reshape(d, d),
                       differentiable=diff)
