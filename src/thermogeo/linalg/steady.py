"""Steady state and Drazin inverse of a trace-preserving generator.

For a generator ``L`` with ``<<1| L = 0`` and a one-dimensional kernel spanned by ``rho_0``
(``Tr rho_0 = 1``), take any ``w`` with ``Tr w = 1`` and ``M = L + |w>><<1|``. Then ``M`` is
invertible, ``rho_0 = M^{-1} w``, and for traceless ``y`` the solution ``x = M^{-1} y`` is
traceless and solves ``L x = y``, i.e. ``x = L^D y`` (Drazin inverse: ``L^D rho_0 = 0``,
``Tr L^D y = 0``). In general ``L^D = M^{-1} (1 - |rho_0>><<1|)``.

Uniqueness is judged by the reciprocal 1-norm condition number of ``M``: below
``uniqueness_rcond`` the kernel of ``L`` is taken to be more than one-dimensional.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from thermogeo.linalg.superop import apply, trace_row


@dataclass(frozen=True)
class SteadySolve:
    """Result of :func:`steady_solve`.

    Attributes
    ----------
    rho : (*b, d*d) complex
        Vectorised steady state (trace one).
    Minv : (*b, d*d, d*d) complex
        ``(L + |w>><<1|)^{-1}`` with ``w = 1/d``: equals ``L^D`` on traceless vectors.
    rcond : (*b,) float
        Reciprocal 1-norm condition number of ``L + |w>><<1|``.
    unique : (*b,) bool
        ``rcond >= uniqueness_rcond``.
    """

    rho: np.ndarray
    Minv: np.ndarray
    rcond: np.ndarray
    unique: np.ndarray

    def drazin_apply(self, y: np.ndarray) -> np.ndarray:
        """``L^D y`` for ``y (*b, d*d)`` (or ``(*b, n, d*d)`` with ``n`` vectors)."""
        d2 = self.rho.shape[-1]
        one = trace_row(int(round(np.sqrt(d2))))
        if y.ndim == self.rho.ndim:
            y = y - self.rho * (y @ one)[..., None]
            return apply(self.Minv, y)
        y = y - self.rho[..., None, :] * (y @ one)[..., None]
        return np.einsum("...ij,...nj->...ni", self.Minv, y)

    def drazin(self) -> np.ndarray:
        """The full Drazin inverse ``L^D = M^{-1}(1 - |rho_0>><<1|)``, ``(*b, d*d, d*d)``."""
        d2 = self.rho.shape[-1]
        one = trace_row(int(round(np.sqrt(d2))))
        P = self.rho[..., :, None] * one[None, :]
        return self.Minv - self.Minv @ P


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
