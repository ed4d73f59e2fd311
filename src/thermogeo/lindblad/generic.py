"""Bohr-block backend batched over points with a generic spectrum.

Where the levels are non-degenerate and distinct Bohr frequencies never coincide (random or
site-dependent fields), the Bohr blocks of the secular generator (docs/theory.md section 10)
are the populations (the zero block: a classical ``d x d`` rate matrix) and one block of size
one per coherence. Per bath ``alpha``, with ``P[a, c] = gamma(omega_ac) |A~_ac|^2``::

    Z_alpha[a, c]   = P[a, c] - delta_ac sum_e P[e, a]                       (zero block)
    S_alpha[a, b]   = gamma(0) A~_aa conj(A~_bb) - (K_aa + K_bb)/2,  K_aa = sum_e P[e, a]

and ``L = -i nu + sum_alpha D_alpha`` on the coherences. Every operation of
:class:`~thermogeo.lindblad.frozen.FrozenGenerator` is then a few ``d x d`` array operations
per point, batched over the points (no Python loop), which is why
:func:`thermogeo.lindblad.backend.frozen_chunks` sends such points here rather than to
:class:`~thermogeo.lindblad.structured.BlockFrozen` one by one. The derivative of the
dissipators along a direction keeps the blocks (the grouping is constant nearby), so only its
zero block ``F0 = sum_alpha Z(gamma' dW, A~, A~) + Z(gamma, dA~, A~) + Z(gamma, A~, dA~)`` with
``dA~ = [A~, X]`` is needed, as in the general block backend.
"""

from __future__ import annotations

import numpy as np

from thermogeo.lindblad.frozen import FrozenGenerator, bohr_gap, label_order, tilt_order
from thermogeo.lindblad.generator import Spectrum, spectrum
from thermogeo.linalg.bohr import BohrGroups, bohr_groups
from thermogeo.linalg.steady import inverse
from thermogeo.model.machine import Machine
from thermogeo.numerics import Numerics


def generic_points(machine: Machine, lam: np.ndarray, numerics: Numerics) -> np.ndarray:
    """``(b,)`` bool: the spectrum at each point is generic (non-degenerate levels, every
    Bohr frequency but zero of its own group)."""
    E = np.linalg.eigvalsh(machine.hamiltonian_at(lam))
    return generic_spectra(bohr_groups(E, numerics.degeneracy_tol))


def generic_spectra(groups: BohrGroups) -> np.ndarray:
    """``(b,)`` bool: the Bohr groups of each spectrum are generic (see
    :func:`generic_points`)."""
    d = groups.label.shape[-1]
    lab = np.sort(groups.label.reshape(len(groups.label), -1), axis=-1)
    distinct = 1 + (np.diff(lab, axis=-1) != 0).sum(axis=-1)
    levels = np.sort(groups.level_label, axis=-1)
    return (distinct == d * d - d + 1) & np.all(np.diff(levels, axis=-1) != 0, axis=-1)


def _zero(g: np.ndarray, B: np.ndarray, C: np.ndarray) -> np.ndarray:
    """Zero block ``g[a,c] B[a,c] conj(C[a,c]) - delta_ac sum_e g[e,a] conj(C[e,a]) B[e,a]``
    of the map ``S(g, B, C)`` for generic spectra, ``(..., d, d)``."""
    out = g * B * C.conj()
    d = out.shape[-1]
    idx = np.arange(d)
    out[..., idx, idx] -= out.sum(axis=-2)
    return out


class GenericFrozen(FrozenGenerator):
    """:class:`~thermogeo.lindblad.frozen.FrozenGenerator` for generic spectra, batched;
    built like :class:`~thermogeo.lindblad.dense.DenseFrozen` (``machine``, points
    ``lam (b, k)``, ``numerics``, optional ``directions``).

    Raises ``ValueError`` if some point is not generic (:func:`generic_points`).
    """

    def __init__(self, machine: Machine, lam, numerics: Numerics, directions=None,
                 spec: Spectrum | None = None):
        self.machine, self.numerics = machine, numerics
        self.lam = np.asarray(lam, dtype=float).reshape(-1, len(machine.parameters))
        spec = spec or spectrum(machine, self.lam, numerics)
        E, U, groups = spec.E, spec.U, spec.groups
        self.groups = groups
        if not np.all(generic_spectra(groups)):
            raise ValueError("GenericFrozen: some point has degenerate levels or Bohr "
                             "frequencies (use BlockFrozen)")
        d = E.shape[-1]
        Ud = np.conj(np.swapaxes(U, -1, -2))[:, None]
        A = Ud @ machine.couplings @ U[:, None]  # (b, m, d, d)
        self.E, self.U, self.Vt = E, U, Ud @ machine.V @ U[:, None]
        g = np.stack([bath.rate(groups.omega) for bath in machine.baths], axis=1)
        Zm = _zero(g, A, A).real  # (b, m, d, d)
        self.Z = Zm.sum(axis=1)
        Ad = np.diagonal(A, axis1=-2, axis2=-1)
        g0 = np.diagonal(g, axis1=-2, axis2=-1)
        K = (g * np.abs(A) ** 2).sum(axis=-2)  # (b, m, d)
        self.S = (np.einsum("bma,bmc->bac", g0 * Ad, Ad.conj())
                  - 0.5 * (K.sum(1)[:, :, None] + K.sum(1)[:, None, :]))
        nu = E[:, :, None] - E[:, None, :]
        self.Lcoh = self.S - 1j * nu
        self.rows = np.einsum("ba,bmac->bmc", E, Zm)  # <<H| D_alpha on the populations
        M0 = self.Z + 1.0 / d
        self.M0inv = inverse(M0)  # NaN where exactly singular (a dark sector)
        self.p = np.einsum("bij,j->bi", self.M0inv, np.full(d, 1.0 / d))
        self.p /= self.p.sum(axis=-1, keepdims=True)
        off = ~np.eye(d, dtype=bool)
        with np.errstate(divide="ignore", invalid="ignore"):
            inv_coh = np.where(off, 1.0 / np.where(off, self.Lcoh, 1.0), 0.0)
            norm = np.maximum(np.abs(M0).sum(axis=-2).max(-1),
                              np.abs(np.where(off, self.Lcoh, 0)).max(axis=(-2, -1)))
            inv_norm = np.maximum(np.abs(self.M0inv).sum(axis=-2).max(-1),
                                  np.abs(inv_coh).max(axis=(-2, -1)))
            self.rcond = np.nan_to_num(1.0 / (norm * inv_norm), nan=0.0)
        self.inv_coh = inv_coh
        self.unique = self.rcond >= numerics.uniqueness_rcond
        self.Zm = Zm
        self.directions = None
        if directions is not None:
            v = np.asarray(directions, dtype=float)
            self.directions = np.broadcast_to(v, (len(self.lam),) + v.shape[-2:])
            self.Vdir = Vd = self.direction_operators(self.directions)  # (b, n, d, d)
            self.X = X = self.perturbation(Vd)
            dE = np.real(np.diagonal(Vd, axis1=-2, axis2=-1))
            dW = dE[..., None, :] - dE[..., :, None]  # (b, n, d, d)
            drate = np.stack([bath.rate_derivative(groups.omega) for bath in machine.baths],
                             axis=1)
            An, gn = A[:, None], g[:, None]  # (b, 1, m, d, d)
            dA = An @ X[:, :, None] - X[:, :, None] @ An
            F = (_zero(drate[:, None] * dW[:, :, None], An, An) + _zero(gn, dA, An)
                 + _zero(gn, An, dA))  # (b, n, m, d, d)
            self.F0 = F.sum(axis=2)
            self.rfix = np.einsum("ba,bnmac->bnmc", E, F)
            Vdiag = np.real(np.diagonal(Vd, axis1=-2, axis2=-1))
            self.q = np.einsum("bna,bmac->bnmc", Vdiag, Zm)

    # --- helpers on vectors (b, n, d*d) -------------------------------------------------
    def _pops(self, y):
        d = self.dim
        return np.diagonal(np.asarray(y).reshape(y.shape[:-1] + (d, d)), axis1=-2, axis2=-1)

    def _zero_drazin(self, y0):
        y0 = y0 - self.p[:, None] * y0.sum(axis=-1, keepdims=True)
        return np.einsum("bij,bnj->bni", self.M0inv, y0)

    def _comm_diag(self, X, Y):
        """``[X, Y]_aa`` for ``X (b, d, d)``, ``Y (b, n, d, d)``: ``(b, n, d)``."""
        return (np.einsum("bac,bnca->bna", X, Y) - np.einsum("bnac,bca->bna", Y, X))

    # --- the interface -------------------------------------------------------------------
    @property
    def rho0(self):
        d = self.dim
        out = np.zeros((len(self.lam), d, d), complex)
        out[:, np.arange(d), np.arange(d)] = self.p
        out[~self.unique] = np.nan
        return out.reshape(-1, d * d)

    def drazin(self, y):
        d = self.dim
        Y = np.asarray(y).reshape(y.shape[:-1] + (d, d))
        out = Y * self.inv_coh[:, None]
        idx = np.arange(d)
        out[..., idx, idx] = self._zero_drazin(self._pops(y))
        return out.reshape(y.shape)

    def heat(self, y):
        return np.einsum("bmc,bnc->bnm", self.rows, self._pops(y)).real

    def heat_drazin(self, y):
        return np.einsum("bmc,bnc->bnm", self.rows, self._zero_drazin(self._pops(y))).real

    def _dissipate(self, Y):
        """``D Y`` for ``Y (b, n, d, d)``: the rate matrix on the populations, ``S`` on the
        coherences."""
        d = self.dim
        idx = np.arange(d)
        out = Y * self.S[:, None]
        out[..., idx, idx] = np.einsum("bij,bnj->bni", self.Z, Y[..., idx, idx])
        return out

    def dgen(self, j, y, zero_only=False):
        d = self.dim
        Y = np.asarray(y).reshape(y.shape[:-1] + (d, d))
        V, X = self.Vdir[:, j], self.X[:, j]
        pops = (-1j * self._comm_diag(V, Y)
                + np.einsum("bij,bnj->bni", self.F0[:, j], self._pops(y))
                + self._comm_diag(X, self._dissipate(Y))
                - np.einsum("bij,bnj->bni", self.Z, self._comm_diag(X, Y)))
        if not zero_only:
            raise NotImplementedError("GenericFrozen.dgen: only zero_only=True (use "
                                      "dgen_steady for (d_v L) rho_0)")
        out = np.zeros(Y.shape, complex)
        idx = np.arange(d)
        out[..., idx, idx] = pops
        return out.reshape(y.shape)

    def dgen_steady(self, j):
        d = self.dim
        idx = np.arange(d)
        V, X = self.Vdir[:, j], self.X[:, j]
        R = np.zeros((len(self.lam), d, d), complex)
        R[:, idx, idx] = self.p
        DR = np.zeros_like(R)
        DR[:, idx, idx] = np.einsum("bij,bj->bi", self.Z, self.p)
        XR = X @ R - R @ X
        y = -1j * (V @ R - R @ V) + (X @ DR - DR @ X) - XR * self.S
        y[:, idx, idx] += np.einsum("bij,bj->bi", self.F0[:, j], self.p)
        return y.reshape(-1, d * d)

    def dheat(self, j, y):
        d = self.dim
        Y = np.asarray(y).reshape(y.shape[:-1] + (d, d))
        y0 = self._pops(y)
        fixed = np.einsum("bmc,bnc->bnm", self.q[:, j] + self.rfix[:, j], y0)
        cz = self._comm_diag(self.X[:, j], Y)
        return (fixed - np.einsum("bmc,bnc->bnm", self.rows, cz)).real

    def same_level(self):
        return self.groups.degenerate_levels()

    def entropy(self):
        logp = np.log(np.clip(self.p, 1e-300, None))
        S = -(np.clip(self.p, 1e-300, None) * logp).sum(axis=-1)
        return np.where(self.unique, S, np.nan), logp

    def entropy_gradient(self, log, drho):
        return -np.einsum("ba,bna->bn", log, self._pops(drho)).real

    def _bohr_gap(self):
        return bohr_gap(self.groups)

    def _rate_bound(self):
        a = np.abs(self.Z)
        d = self.dim
        col = (a.sum(axis=-2) - np.diagonal(a, axis1=-2, axis2=-1)
               + np.abs(np.diagonal(self.Z, axis1=-2, axis2=-1))).max(axis=-1)
        off = ~np.eye(d, dtype=bool)
        return np.maximum(col, np.where(off, np.abs(self.S.real), 0).max(axis=(-2, -1)))

    def _bohr_order(self):
        return label_order(self.groups.label)

    def tilt(self, y, k):
        """``L_alpha^(k) y`` (the contract of :meth:`FrozenGenerator.tilt`): on a generic
        spectrum only the population jumps carry heat, ``(L_alpha^(k) y)_aa =
        sum_c (E_a - E_c)^k P_alpha[a, c] y_cc``; the coherences of the result are zero.
        ``(b, n, m, d*d)``."""
        k = tilt_order(k)
        d = self.dim
        W = (-self.groups.omega[:, None]) ** k * self.Zm  # diagonal: omega = 0
        pops = np.einsum("bmac,bnc->bnma", W, self._pops(y))
        out = np.zeros(pops.shape + (d,), complex)
        idx = np.arange(d)
        out[..., idx, idx] = pops
        return out.reshape(out.shape[:-2] + (d * d,))
