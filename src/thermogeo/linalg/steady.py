"""Steady state and Drazin inverse of a trace-preserving generator.

For a generator ``L`` with ``<<1| L = 0`` and a one-dimensional kernel spanned by ``rho_0``
(``Tr rho_0 = 1``), take any ``w`` with ``Tr w = 1`` and ``M = L + |w>><<1|``. Then ``M`` is
invertible, ``rho_0 = M^{-1} w``, and for traceless ``y`` the solution ``x = M^{-1} y`` is
traceless and solves ``L x = y``, i.e. ``x = L^D y`` (Drazin inverse: ``L^D rho_0 = 0``,
``Tr L^D y = 0``). In general ``L^D = M^{-1} (1 - |rho_0>><<1|)``.

Uniqueness is judged by the reciprocal 1-norm condition number of ``M``: below
``uniqueness_rcond`` the kernel of ``L`` is taken to be more than one-dimensional.

Small generators (``d^2 <= LU_MIN``, many points at once) are inverted in one batched call and
the condition number is exact; larger ones (the dense backend of 4 qubits and more) are
LU-factorised point by point (a third of the cost of an inverse) with LAPACK's 1-norm
condition estimate.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import scipy.linalg as sla

from thermogeo.linalg.superop import apply, trace_row


@dataclass(frozen=True)
class SteadySolve:
    """Result of :func:`steady_solve`.

    Attributes
    ----------
    rho : (*b, d*d) complex
        Vectorised steady state (trace one).
    Minv : (*b, d*d, d*d) complex or None
        ``(L + |w>><<1|)^{-1}`` with ``w = 1/d``: equals ``L^D`` on traceless vectors (None
        when ``lu`` holds the factors instead).
    rcond : (*b,) float
        Reciprocal 1-norm condition number of ``L + |w>><<1|``.
    unique : (*b,) bool
        ``rcond >= uniqueness_rcond``.
    lu : tuple or None
        Per point, the real LU factors of ``M`` in :attr:`basis` (None where singular), when
        ``Minv`` is None.
    basis : HermitianBasis or None
        The Hermitian basis of those factors.
    """

    rho: np.ndarray
    Minv: np.ndarray | None
    rcond: np.ndarray
    unique: np.ndarray
    lu: tuple | None = None
    basis: HermitianBasis | None = None

    def solve(self, y: np.ndarray, trans: int = 0) -> np.ndarray:
        """``M^{-1} y`` (``trans=1``: ``M^{-+} y``) for ``y (b, n, d*d)``."""
        if self.Minv is not None:
            Mi = self.Minv if trans == 0 else np.conj(np.swapaxes(self.Minv, -1, -2))
            return np.einsum("...ij,...nj->...ni", Mi, y)
        basis = self.basis
        out = np.full(np.broadcast_shapes(y.shape, self.rho.shape[:1] + y.shape[1:]), np.nan,
                      dtype=complex)
        for i, f in enumerate(self.lu):
            if f is not None:
                out[i] = _lu_apply(f, basis, y[i if len(y) > 1 else 0], trans)
        return out

    def drazin_apply(self, y: np.ndarray) -> np.ndarray:
        """``L^D y`` for ``y (*b, d*d)`` (or ``(*b, n, d*d)`` with ``n`` vectors)."""
        d2 = self.rho.shape[-1]
        one = trace_row(int(round(np.sqrt(d2))))
        if y.ndim == self.rho.ndim:
            y = y - self.rho * (y @ one)[..., None]
            if self.Minv is not None:
                return apply(self.Minv, y)
            return self.solve(y[..., None, :])[..., 0, :]
        y = y - self.rho[..., None, :] * (y @ one)[..., None]
        return self.solve(y)

    def drazin_rows(self, rows: np.ndarray) -> np.ndarray:
        """``R = rows L^D`` for row vectors ``rows (b, m, d*d)``: ``R y = rows (L^D y)`` for
        every ``y`` (one solve with ``M^T`` instead of one per right-hand side)."""
        d2 = self.rho.shape[-1]
        one = trace_row(int(round(np.sqrt(d2))))
        R0 = np.conj(self.solve(np.conj(rows), trans=1))  # (M^{-+} rows^+)^+ = rows M^{-1}
        return R0 - np.einsum("bmc,bc->bm", R0, self.rho)[..., None] * one

    def drazin(self) -> np.ndarray:
        """The full Drazin inverse ``L^D = M^{-1}(1 - |rho_0>><<1|)``, ``(*b, d*d, d*d)``."""
        d2 = self.rho.shape[-1]
        one = trace_row(int(round(np.sqrt(d2))))
        P = self.rho[..., :, None] * one[None, :]
        Minv = self.Minv
        if Minv is None:
            eye = np.broadcast_to(np.eye(d2, dtype=complex), self.rho.shape[:1] + (d2, d2))
            Minv = np.swapaxes(self.solve(eye), -1, -2)
        return Minv - Minv @ P


def steady_solve(L: np.ndarray, uniqueness_rcond: float) -> SteadySolve:
    """Steady state and Drazin solver of batched generators ``L (*b, d*d, d*d)``.

    Exactly singular points (no inverse at all) get ``rcond = 0`` and NaN results; the caller
    decides whether to raise :class:`~thermogeo.errors.NonUniqueSteadyStateError`.
    """
    d2 = L.shape[-1]
    d = int(round(np.sqrt(d2)))
    one = trace_row(d)
    w = one / d
    M = L + w[:, None] * one[None, :]
    if d2 > LU_MIN and M.ndim == 3:
        return _steady_lu(M, w, d, uniqueness_rcond)
    Minv = inverse(M)
    norm = np.abs(M).sum(axis=-2).max(axis=-1)
    norm_inv = np.abs(Minv).sum(axis=-2).max(axis=-1)
    with np.errstate(invalid="ignore"):
        rcond = np.nan_to_num(1.0 / (norm * norm_inv), nan=0.0)
    rho = apply(Minv, np.broadcast_to(w.astype(Minv.dtype), Minv.shape[:-1]))
    # Remove round-off from the trace and Hermiticity of the steady state.
    r = rho.reshape(*rho.shape[:-1], d, d)
    r = 0.5 * (r + np.conj(np.swapaxes(r, -1, -2)))
    r = r / np.trace(r, axis1=-2, axis2=-1)[..., None, None]
    return SteadySolve(rho=r.reshape(rho.shape), Minv=Minv, rcond=rcond,
                       unique=rcond >= uniqueness_rcond)


LU_MIN = 64
"""Largest ``d^2`` inverted in one batched call; larger generators are LU-factorised."""


class HermitianBasis:
    """The orthonormal basis of Hermitian matrices ``E_aa``, ``(E_ab + E_ba)/sqrt 2`` and
    ``i (E_ab - E_ba)/sqrt 2`` (``a < b``) of the row-major vectorisation: a map ``M`` that
    preserves Hermiticity is the real matrix ``T^+ M T`` there (a quarter of the cost of a
    complex LU)."""

    def __init__(self, d: int):
        a, b = np.triu_indices(d, 1)
        self.ab, self.ba, self.aa = a * d + b, b * d + a, np.arange(d) * (d + 1)
        self.n = d * d

    def coordinates(self, y: np.ndarray) -> np.ndarray:
        """``T^+ y`` for vectors ``y (..., d*d)`` (complex coordinates of any ``y``)."""
        r = np.sqrt(0.5)
        return np.concatenate([y[..., self.aa], r * (y[..., self.ab] + y[..., self.ba]),
                               -1j * r * (y[..., self.ab] - y[..., self.ba])], axis=-1)

    def operators(self, x: np.ndarray) -> np.ndarray:
        """``T x``: coordinates ``x (..., d*d)`` back to vectorised operators."""
        d = len(self.aa)
        k = len(self.ab)
        r = np.sqrt(0.5)
        xs, xa = x[..., d:d + k], x[..., d + k:]
        out = np.empty(x.shape[:-1] + (self.n,), dtype=complex)
        out[..., self.aa] = x[..., :d]
        out[..., self.ab] = r * (xs + 1j * xa)
        out[..., self.ba] = r * (xs - 1j * xa)
        return out

    def real_matrix(self, M: np.ndarray) -> np.ndarray:
        """``T^+ M T`` of a Hermiticity-preserving ``M (d*d, d*d)``: real."""
        cols = self.coordinates(M.T).T  # T^+ applied to every column
        return self.coordinates(cols.conj()).conj().real  # (T^+ (T^+ M)^+)^+ = T^+ M T


def _lu_apply(f, basis: HermitianBasis, y: np.ndarray, trans: int = 0) -> np.ndarray:
    """``M^{-1} y`` (``trans=0``) or ``M^{-+} y`` (``trans=1``; ``M_r`` is real) for vectors
    ``y (n, d*d)`` from the real factors ``f`` of ``M_r = T^+ M T``."""
    c = basis.coordinates(y)
    x = sla.lu_solve(f, np.concatenate([c.real, c.imag]).T, trans=trans,
                     check_finite=False).T
    return basis.operators(x[:len(c)] + 1j * x[len(c):])


HAGER_STARTS = 4
"""Starting vectors of the 1-norm estimate: the uniform vector and fixed (seeded) random
sign vectors; more starts make an underestimate (a too-large rcond) rarer."""


def _inverse_norm1(f, basis: HermitianBasis) -> float:
    """Estimate (a lower bound) of ``||M^{-1}||_1`` by Hager's iteration (as LAPACK's
    ``zlacn2``) from :data:`HAGER_STARTS` deterministic starting vectors at once, from the
    real factors ``f``."""
    n = basis.n
    x = np.empty((HAGER_STARTS, n), dtype=complex)
    x[0] = 1.0 / n
    x[1:] = np.random.default_rng(0).choice([-1.0, 1.0], (HAGER_STARTS - 1, n)) / n
    active = np.ones(HAGER_STARTS, bool)
    last = np.full(HAGER_STARTS, -1)
    est = 0.0
    for _ in range(5):
        y = _lu_apply(f, basis, x[active])
        est = max(est, float(np.abs(y).sum(axis=-1).max()))
        a = np.abs(y)
        xi = np.where(a > 0, y / np.where(a > 0, a, 1.0), 1.0)
        z = _lu_apply(f, basis, xi, trans=1)
        j = np.argmax(np.abs(z), axis=-1)
        zj = np.abs(z[np.arange(len(z)), j])
        done = (j == last[active]) | (zj <= np.einsum("si,si->s", z.conj(), x[active]).real)
        idx = np.flatnonzero(active)
        x[idx] = 0.0
        x[idx, j] = 1.0
        last[idx] = j
        active[idx[done]] = False
        if not active.any():
            break
    return est


def _steady_lu(M: np.ndarray, w: np.ndarray, d: int, uniqueness_rcond: float) -> SteadySolve:
    """:func:`steady_solve` by real LU factors in the Hermitian basis, point by point
    (``M (b, d*d, d*d)`` preserves Hermiticity). ``rcond`` is ``1 / (||M||_1 ||M^{-1}||_1)``
    in the vectorisation of the dense inverse, with ``||M^{-1}||_1`` estimated."""
    b, d2 = M.shape[0], M.shape[-1]
    basis = HermitianBasis(d)
    factors, rcond = [], np.zeros(b)
    rho = np.full((b, d2), np.nan, dtype=complex)
    for i in range(b):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", sla.LinAlgWarning)  # singular: rcond says so
            lu, piv = sla.lu_factor(basis.real_matrix(M[i]), check_finite=False)
        finite = bool(np.all(np.isfinite(lu)) and np.all(np.diagonal(lu) != 0))
        factors.append((lu, piv) if finite else None)
        if finite:
            with np.errstate(over="ignore", invalid="ignore"):
                inv_norm = _inverse_norm1((lu, piv), basis)
                rcond[i] = np.nan_to_num(1.0 / (np.abs(M[i]).sum(axis=0).max() * inv_norm))
            rho[i] = _lu_apply((lu, piv), basis, w.astype(complex)[None])[0]
    r = rho.reshape(b, d, d)
    r = 0.5 * (r + np.conj(np.swapaxes(r, -1, -2)))
    r = r / np.trace(r, axis1=-2, axis2=-1)[..., None, None]
    return SteadySolve(rho=r.reshape(b, d2), Minv=None, rcond=rcond,
                       unique=rcond >= uniqueness_rcond, lu=tuple(factors), basis=basis)


def inverse(M: np.ndarray) -> np.ndarray:
    """Batched inverse of ``M (*b, n, n)``; exactly singular matrices give NaN (the caller
    reads ``rcond = 0`` there) instead of failing the whole batch."""
    try:
        return np.linalg.inv(M)
    except np.linalg.LinAlgError:
        return _inv_pointwise(M)


def _inv_pointwise(M: np.ndarray) -> np.ndarray:
    flat = M.reshape(-1, *M.shape[-2:])
    out = np.full_like(flat, np.nan)
    for i, m in enumerate(flat):
        try:
            out[i] = np.linalg.inv(m)
        except np.linalg.LinAlgError:
            pass
    return out.reshape(M.shape)
