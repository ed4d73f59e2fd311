"""Dense backend of the frozen generator: ``d^2 x d^2`` superoperators, batched over points.

Builds the secular generator of :mod:`thermogeo.lindblad.generator` at a batch of points, its
steady state and Drazin inverse (:func:`thermogeo.linalg.steady.steady_solve`), and the
eigenframe derivatives of the dissipators along the prepared directions
(docs/theory.md section 4)::

    (d_v D_alpha)~ = S(gamma' dW, A~, A~) + S(gamma, [A~, X], A~) + S(gamma, A~, [A~, X])
                     + [X, D~_alpha]
    (d_v L)~       = -i [V~_v, .] + sum_alpha (d_v D_alpha)~

with ``S`` the map of :func:`thermogeo.lindblad.generator.dissipator_superop` and
``dW[n, m] = V~_mm - V~_nn`` the change of the Bohr frequency of the jump ``m -> n``.
"""

from __future__ import annotations

import numpy as np

from thermogeo.lindblad.frozen import FrozenGenerator
from thermogeo.lindblad.generator import Generator, dissipator_superop, generator
from thermogeo.lindblad.observables import energy_rows, entropy_and_log
from thermogeo.linalg.steady import steady_solve
from thermogeo.linalg.superop import commutator
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
    dD : (b, n, m, d^2, d^2)  ``(d_v D_alpha)~``
    dL : (b, n, d^2, d^2)     ``(d_v L)~``
    """

    def __init__(self, machine: Machine, lam: np.ndarray, numerics: Numerics,
                 directions: np.ndarray | None = None):
        self.machine, self.numerics = machine, numerics
        self.lam = np.asarray(lam, dtype=float).reshape(-1, len(machine.parameters))
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            gen = generator(machine, self.lam, numerics)
            ss = steady_solve(gen.L, numerics.uniqueness_rcond)
        self.gen, self.ss = gen, ss
        self.E, self.U, self.Vt = gen.E, gen.U, gen.V
        self.rcond, self.unique = ss.rcond, ss.unique
        self.rows = energy_rows(gen.E, gen.D)
        self.directions = None
        if directions is not None:
            v = np.asarray(directions, dtype=float)
            self.directions = np.broadcast_to(v, (len(self.lam),) + v.shape[-2:])
            self.Vdir = self.direction_operators(self.directions)
            X = self.perturbation(self.Vdir)
            self.dD = dissipator_derivative(machine, gen, self.Vdir, X)
            self.dL = -1j * commutator(self.Vdir) + self.dD.sum(axis=2)

    @property
    def rho0(self) -> np.ndarray:
        return np.where(self.unique[:, None], self.ss.rho, np.nan)

    def drazin(self, y):
        return self.ss.drazin_apply(y)

    def heat(self, y):
        return np.einsum("bmc,bnc->bnm", self.rows, y).real

    def heat_drazin(self, y):
        return self.heat(self.drazin(y))

    def dgen(self, j, y, zero_only=False):
        return np.einsum("bij,bnj->bni", self.dL[:, j], y)

    def dheat(self, j, y):
        d = self.dim
        VT = np.swapaxes(self.Vdir[:, j], -1, -2).reshape(-1, d * d)
        vrows = np.einsum("bc,bmcx->bmx", VT, self.gen.D) + energy_rows(self.E, self.dD[:, j])
        return np.einsum("bmc,bnc->bnm", vrows, y).real

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

    def dgen_steady(self, j):
        return np.einsum("bij,bj->bi", self.dL[:, j], self.ss.rho)

    def _bohr_gap(self):
        w = np.sort(self.gen.groups.omega.reshape(len(self.lam), -1), axis=-1)
        gaps = np.diff(w, axis=-1)
        return np.where(gaps > 0, gaps, np.inf).min(axis=-1, initial=np.inf)

    def _rate_bound(self):
        L = self.gen.L
        a = np.abs(L)
        diag = np.diagonal(L, axis1=-2, axis2=-1)
        return (a.sum(axis=-2) - np.abs(diag) + np.abs(diag.real)).max(axis=-1)

    def _bohr_order(self):
        lab = self.gen.groups.label
        b = lab.shape[0]
        top = int(lab.max()) + 1
        glab = (lab.reshape(b, -1) + np.arange(b)[:, None] * top).reshape(-1)
        order = np.argsort(glab, kind="stable")
        gs = glab[order]
        starts = np.flatnonzero(np.r_[True, gs[1:] != gs[:-1]])
        return order, starts, gs[starts] // top


def dissipator_derivative(machine: Machine, gen: Generator, Vd: np.ndarray,
                          X: np.ndarray) -> np.ndarray:
    """``(d_v D_alpha)~`` along ``V~_v (b, n, d, d)`` with rotation ``X (b, n, d, d)``:
    ``(b, n, m, d^2, d^2)``."""
    dE = np.real(np.diagonal(Vd, axis1=-2, axis2=-1))
    dW = (dE[..., None, :] - dE[..., :, None])[:, :, None]  # (b, n, 1, d, d)
    label = gen.groups.label[:, None, None]
    drate = np.stack([b.rate_derivative(gen.groups.omega) for b in machine.baths], axis=-3)
    A = gen.A[:, None]  # (b, 1, m, d, d)
    Xi = X[:, :, None]
    dA = A @ Xi - Xi @ A
    rates = gen.rates[:, None]
    dD = dissipator_superop(drate[:, None] * dW, A, A, label)
    dD += dissipator_superop(rates, dA, A, label)
    dD += dissipator_superop(rates, A, dA, label)
    C = commutator(X)[:, :, None]
    D = gen.D[:, None]
    dD += C @ D - D @ C
    return dD
