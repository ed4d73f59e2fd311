"""Which backend of the frozen generator serves a machine, and the batches it is built on.

The choice is made here and only here (``Numerics.kernel``): the dense backend
(:class:`~thermogeo.lindblad.dense.DenseFrozen`) on chunks of points sized to
``Numerics.chunk_bytes``, or the structured one (:class:`~thermogeo.lindblad.structured.
BlockFrozen`) point by point.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from thermogeo.lindblad.dense import DenseFrozen
from thermogeo.lindblad.frozen import FrozenGenerator
from thermogeo.lindblad.structured import BlockFrozen
from thermogeo.model.machine import Machine
from thermogeo.numerics import Numerics


def dense_point_bytes(machine: Machine, directions: int) -> int:
    """Bytes of the dense backend per point: the generator, its inverse and the
    dissipator derivatives along ``directions`` (``d^2 x d^2`` complex each, with the
    einsum temporaries, a factor 3)."""
    d, m = machine.dim, len(machine.baths)
    return 3 * 16 * d**4 * (m * (2 + directions) + 3 + 2 * directions)


def uses_dense(machine: Machine, numerics: Numerics) -> bool:
    """Whether the dense backend serves ``machine``."""
    return numerics.use_dense(machine.qubits)


def frozen_chunks(machine: Machine, lam: np.ndarray, numerics: Numerics,
                  directions: np.ndarray | None = None, *, keep_inverses: bool = True
                  ) -> Iterator[tuple[slice, FrozenGenerator]]:
    """The frozen generator over points ``lam (b, k)`` chunk by chunk: ``(slice, backend)``.

    ``directions`` are ``(n, k)`` (shared) or ``(b, n, k)`` (per point).
    """
    lam = np.asarray(lam, dtype=float).reshape(-1, len(machine.parameters))
    dirs = None if directions is None else np.asarray(directions, dtype=float)
    n = 0 if dirs is None else dirs.shape[-2]
    if uses_dense(machine, numerics):
        step = max(1, numerics.chunk_bytes // dense_point_bytes(machine, n))
    else:
        step = 1
    for s in range(0, len(lam), step):
        sl = slice(s, s + step)
        d = dirs if dirs is None or dirs.ndim == 2 else dirs[sl]
        if uses_dense(machine, numerics):
            yield sl, DenseFrozen(machine, lam[sl], numerics, d)
        else:
            yield sl, BlockFrozen(machine, lam[sl], numerics, d, keep_inverses=keep_inverses)
