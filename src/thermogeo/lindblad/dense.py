"""Dense backend of the frozen generator: ``d^2 x d^2`` superoperators, batched over points.

Builds the secular generator of :mod:`thermogeo.lindblad.generator` at a batch of points, its
steady state and Drazin inverse (:func:`thermogeo.linalg.steady.steady_solve`), and the
eigenframe derivatives of the dissipators along the prepared directions
(docs/theory.md section 4), applied to operators without forming them::

    (d_v D_alpha)~ y = S(gamma' dW, A~, A~) y + S(gamma, [A~, X], A~) y
                       + S(gamma, A~, [A~, X]) y + [X, D~_alpha y] - D~_alpha [X, y]
    (d_v L)~ y       = -i [V~_v, y] + sum_alpha (d_v D_alpha)~ y

with ``S`` the map of :func:`thermogeo.lindblad.generator.dissipator_superop` (applied by
:func:`~thermogeo.lindblad.generator.dissipator_apply`) and ``dW[n, m] = V~_mm - V~_nn`` the
change of the Bohr frequency of the jump ``m -> n``. Applying them costs ``O(d^4)`` per
point, direction and bath; forming the superoperators and their commutator with ``X`` cost
``O(d^6)``.
"""

from __future__ import annotations

import math

import numpy as np

from thermogeo.lindblad.family import jump_apply, jump_sandwich, local_part
from thermogeo.lindblad.frozen import FrozenGenerator, bohr_gap, label_order, tilt_order
from thermogeo.lindblad.generator import Spectrum, dissipator_apply, generator, group_mask
from thermogeo.lindblad.observables import energy_rows, entropy_and_log
from thermogeo.linalg.steady import steady_solve
from thermogeo.model.machine import Machine
from thermogeo.numerics import Numerics


class DenseFrozen(FrozenGenerator):
    """:class:`~thermogeo.lindblad.frozen.FrozenGenerator` on dense superoperators.

    Parameters
    ----------
    machine : Machine
    lam : (b, k)
    numerics : Numerics
    directions : (b, n, k) or (n, k), optional
        Directions of :meth:`dgen` / :meth:`dheat`.

    Attributes (besides the interface's)
    ------------------------------------
    gen : Generator         the eigenframe generator (``D (b, m, d^2, d^2)``, ``L``)
    ss : SteadySolve        steady state and ``(L + |w>><<1|)^{-1}``
    rows : (b, m, d^2)      ``<<H| D_alpha``
    Vdir : (b, n, d, d)     ``V~_v`` of the directions
    X : (b, n, d, d)        their eigenvector rotations
    """

    def __init__(self, machine: Machine, lam: np.ndarray, numerics: Numerics,
                 directions: np.ndarray | None = None, spec: Spectrum | None = None):
        self.machine, self.numerics = machine, numerics
        self.lam = np.asarray(lam, dtype=float).reshape(-1, len(machine.parameters))
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            gen = generator(machine, self.lam, numerics, spec)
            ss = steady_solve(gen.L, numerics.uniqueness_rcond)
        self.gen, self.ss = gen, ss
        self.E, self.U, self.Vt = gen.E, gen.U, gen.V
        self.rcond, self.unique = ss.rcond, ss.unique
        self.rows = energy_rows(gen.E, gen.D)
        self.directions = None
        self._same = self._last = self._left = None
        if directions is not None:
            v = np.asarray(directions, dtype=float)
            self.directions = np.broadcast_to(v, (len(self.lam),) + v.shape[-2:])
            self.Vdir = self.direction_operators(self.directions)
            self.X = self.perturbation(self.Vdir)
            if gen.jumps is None:
                self._drate = np.stack([b.rate_derivative(gen.groups.omega)
                                        for b in machine.baths], axis=-3)
            else:  # the change of the dissipator Hamiltonian K along each direction
                J = gen.jumps
                Vk = local_part(machine.V, machine.qubits) if J.local else machine.V
                self._dK = J.k_frame(np.einsum("bnk,kij->bnij", self.directions, Vk))

    @property
    def rho0(self) -> np.ndarray:
        return np.where(self.unique[:, None], self.ss.rho, np.nan)

    def drazin(self, y):
        return self.ss.drazin_apply(y)

    def heat(self, y):
        return np.einsum("bmc,bnc->bnm", self.rows, y).real

    def heat_drazin(self, y):
        if self.ss.Minv is not None:
            return self.heat(self.drazin(y))
        if self._left is None:  # <<H| D_alpha L^D by one transposed solve
            self._left = self.ss.drazin_rows(self.rows)
        return np.einsum("bmc,bnc->bnm", self._left, y).real

    def _dissipator_derivative(self, j: int, y: np.ndarray) -> np.ndarray:
        """``(d_v D_alpha)~ y`` along direction ``j``: ``(b, n, m, d, d)`` (the last result is
        kept: the rotor asks for it twice)."""
        if self._last is not None and self._last[0] == j and self._last[1] is y:
            return self._last[2]
        gen, d = self.gen, self.dim
        Y = y.reshape(y.shape[:-1] + (d, d))
        if gen.jumps is not None:  # family: S(dL, L) + S(L, dL), docs/theory.md section 13
            L = gen.jumps.ops
            dL = gen.jumps.derivative(self._dK[:, j:j + 1])[:, 0]
            out = jump_apply(dL, L, Y) + jump_apply(L, dL, Y)
            self._last = (j, y, out)
            return out
        Vd, X = self.Vdir[:, j], self.X[:, j]
        dE = np.real(np.diagonal(Vd, axis1=-2, axis2=-1))
        dW = (dE[:, None, :] - dE[:, :, None])[:, None]
        A, lab = gen.A, gen.groups.label
        XA = X[:, None] @ A
        dA = A @ X[:, None] - XA
        if self._same is None:
            self._same = group_mask(lab)
        out = dissipator_apply([(self._drate * dW, A, A), (gen.rates, dA, A),
                                (gen.rates, A, dA)], lab, Y, self._same)
        DY = np.einsum("bmij,bnj->bnmi", gen.D, y).reshape(out.shape)
        DXY = np.einsum("bmij,bnj->bnmi", gen.D,
                        (X[:, None] @ Y - Y @ X[:, None]).reshape(y.shape)).reshape(out.shape)
        Xb = X[:, None, None]
        out += Xb @ DY - DY @ Xb - DXY
        self._last = (j, y, out)
        return out

    def dgen(self, j, y, zero_only=False):
        d = self.dim
        Y = y.reshape(y.shape[:-1] + (d, d))
        V = self.Vdir[:, j, None]
        out = -1j * (V @ Y - Y @ V) + self._dissipator_derivative(j, y).sum(axis=2)
        return out.reshape(y.shape)

    def dgen_steady(self, j):
        return self.dgen(j, self.ss.rho[:, None])[:, 0]

    def dheat(self, j, y):
        d = self.dim
        VT = np.swapaxes(self.Vdir[:, j], -1, -2).reshape(-1, d * d)
        vrows = np.einsum("bc,bmcx->bmx", VT, self.gen.D)  # Tr[V D_alpha .]
        dDy = self._dissipator_derivative(j, y)  # (b, n, m, d, d)
        fixed = np.einsum("ba,bnmaa->bnm", self.E, dDy)  # Tr[H (d_v D_alpha) y]
        return (np.einsum("bmc,bnc->bnm", vrows, y) + fixed).real

    def same_level(self):
        return self.gen.groups.degenerate_levels()

    def entropy(self):
        d = self.dim
        rho = self.ss.rho.reshape(-1, d, d)
        finite = np.isfinite(rho).all(axis=(-2, -1))
        S, log = entropy_and_log(np.where(finite[:, None, None], rho, np.eye(d) / d))
        return np.where(self.unique, S, np.nan), log

    def entropy_gradient(self, log, drho):
        return -self.trace(log[:, None], drho)[:, 0, :].real

    def _bohr_gap(self):
        return bohr_gap(self.gen.groups)

    def _rate_bound(self):
        L = self.gen.L
        a = np.abs(L)
        diag = np.diagonal(L, axis1=-2, axis2=-1)
        return (a.sum(axis=-2) - np.abs(diag) + np.abs(diag.real)).max(axis=-1)

    def _bohr_order(self):
        return label_order(self.gen.groups.label)

    def differentiable(self, Vd, tol):
        if self.gen.jumps is None:
            return super().differentiable(Vd, tol)
        # the family's jump operators are smooth in H away from cluster boundaries
        return np.ones(Vd.shape[:2], dtype=bool)

    def tilt(self, y, k):
        """``L_alpha^(k) y = sum_w (-w)^k gamma_alpha(w) A(w) y A(w)^+`` (the contract of
        :meth:`FrozenGenerator.tilt`), applied without forming a superoperator:
        ``(b, n, m, d*d)``."""
        k = tilt_order(k)
        gen, d = self.gen, self.dim
        if gen.jumps is not None:  # (-1/2)^k sum_j C(k, j) sum_c B_j y B_{k-j}^+
            Y = np.asarray(y).reshape(y.shape[:-1] + (d, d))
            B = [gen.jumps.weighted(j) for j in range(k + 1)]
            out = sum(math.comb(k, j) * jump_sandwich(B[j], Y, B[k - j])
                      for j in range(k + 1))
            return (-0.5) ** k * out.reshape(out.shape[:-2] + (d * d,))
        if self._same is None:
            self._same = group_mask(gen.groups.label)
        gB = gen.rates * (-gen.groups.omega[:, None]) ** k * gen.A
        Y = np.asarray(y).reshape(y.shape[:-1] + (d, d))
        out = np.einsum("pmac,pvcf,pmef,pacef->pvmae", gB, Y, gen.A.conj(), self._same)
        return out.reshape(out.shape[:-2] + (d * d,))

