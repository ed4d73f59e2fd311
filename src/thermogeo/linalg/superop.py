"""Row-major vectorisation helpers for batched superoperators.

``vec(rho)[a*d + b] = rho[a, b]``; a superoperator is a ``(*b, d*d, d*d)`` array.
"""

from __future__ import annotations

import numpy as np


def vec(rho: np.ndarray) -> np.ndarray:
    """``(*b, d, d) -> (*b, d*d)``, row-major."""
    d = rho.shape[-1]
    return rho.reshape(*rho.shape[:-2], d * d)


def left_right(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """Superoperator of ``rho -> A rho B``: ``kron(A, B.T)``, batched, ``(*b, d*d, d*d)``."""
    d = A.shape[-1]
    S = np.einsum("...ac,...db->...abcd", A, B)
    return S.reshape(*S.shape[:-4], d * d, d * d)


def commutator(X: np.ndarray) -> np.ndarray:
    """Superoperator of ``rho -> X rho - rho X``, ``(*b, d*d, d*d)``."""
    eye = np.broadcast_to(np.eye(X.shape[-1], dtype=X.dtype), X.shape)
    return left_right(X, eye) - left_right(eye, X)


def apply(S: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Batched ``S @ v`` for ``S (*b, n, n)`` and ``v (*b, n)``."""
    return np.einsum("...ij,...j->...i", S, v)


def trace_row(d: int) -> np.ndarray:
    """``<<1|``: the row vector with ``<<1|vec(rho)>> = Tr rho``, shape ``(d*d,)``."""
    return np.eye(d).reshape(d * d)
