"""Which backend of the frozen generator serves a machine, and the batches it is built on.

The choice is made here and only here (``Numerics.kernel``): the dense backend
(:class:`~thermogeo.lindblad.dense.DenseFrozen`) on chunks of points sized to
``Numerics.chunk_bytes``, or the structured one (:class:`~thermogeo.lindblad.structured.
BlockFrozen`) point by point.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from thermogeo import progress
from thermogeo.lindblad.dense import DenseFrozen
from thermogeo.lindblad.frozen import FrozenGenerator
from thermogeo.lindblad.generator import spectrum
from thermogeo.lindblad.generic import GenericFrozen, generic_spectra
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
    """Whether the dense backend serves ``machine``: always for a non-secular master
    equation (the structured kernels are built on the secular Bohr blocks)."""
    return numerics.use_dense(machine.qubits) or not machine.master_equation.secular


def may_use_generic(machine: Machine, numerics: Numerics) -> bool:
    """Whether points of ``machine`` with a generic spectrum may go to the batched
    generic-spectrum backend (secular generator, ``d <= numerics.generic_max_dim``, kernel not
    forced dense)."""
    return (numerics.kernel != "dense" and machine.dim <= numerics.generic_max_dim
            and machine.master_equation.secular)


def generic_point_bytes(machine: Machine, directions: int) -> int:
    """Bytes per point of the batched generic-spectrum backend and the response built on it:
    complex ``d x d`` arrays, three per bath (couplings, rates, zero blocks), five per
    parameter (``V~_i``, ``d rho_0``, ``z`` and temporaries), two plus three per bath for
    each direction (``V~_v``, ``X``, ``dA~`` and the derivative zero blocks) and twelve more
    (eigenvectors, frequencies, blocks, inverses, temporaries)."""
    d, m, k = machine.dim, len(machine.baths), len(machine.parameters)
    return 16 * d * d * (3 * m + 5 * k + 12 + directions * (2 + 3 * m))


def frozen_chunks(machine: Machine, lam: np.ndarray, numerics: Numerics,
                  directions: np.ndarray | None = None, *, keep_inverses: bool = True
                  ) -> Iterator[tuple[np.ndarray, FrozenGenerator]]:
    """The frozen generator over points ``lam (b, k)`` chunk by chunk: ``(indices, backend)``.

    The choice, from costs measured on Heisenberg chains with the rotor (decision 0707):

    * points with a generic spectrum (:func:`~thermogeo.lindblad.generic.generic_spectra`,
      ``d <= numerics.generic_max_dim``) go in batches to
      :class:`~thermogeo.lindblad.generic.GenericFrozen` (1-4 qubits: 1.2-17 times the
      points per second of the dense backend), unless ``numerics.kernel == "dense"``;
    * the other points go to :class:`~thermogeo.lindblad.dense.DenseFrozen` in chunks sized
      to ``numerics.chunk_bytes`` when :meth:`Numerics.use_dense` (up to 3 qubits: 10-200
      times faster than one Bohr-block point at a time), else one by one to
      :class:`~thermogeo.lindblad.structured.BlockFrozen`.

    ``directions`` are ``(n, k)`` (shared) or ``(b, n, k)`` (per point). Each chunk the
    caller has finished with is reported as done points (:func:`thermogeo.progress.advance`).
    """
    for idx, fg in _chunks(machine, lam, numerics, directions, keep_inverses):
        yield idx, fg
        progress.advance("point", len(idx))


def _chunks(machine, lam, numerics, directions, keep_inverses):
    """The chunks of :func:`frozen_chunks`."""
    lam = np.asarray(lam, dtype=float).reshape(-1, len(machine.parameters))
    dirs = None if directions is None else np.asarray(directions, dtype=float)
    n = 0 if dirs is None else dirs.shape[-2]

    def at(idx):
        return dirs if dirs is None or dirs.ndim == 2 else dirs[idx]

    dense = uses_dense(machine, numerics)
    if may_use_generic(machine, numerics):
        # one spectrum per chunk decides generic or not and serves the backend
        step = numerics.chunk_bytes // generic_point_bytes(machine, n)
        if dense:
            step = min(step, numerics.chunk_bytes // dense_point_bytes(machine, n))
        for s in range(0, len(lam), max(1, step)):
            idx = np.arange(s, min(s + max(1, step), len(lam)))
            spec = spectrum(machine, lam[idx], numerics)
            g = generic_spectra(spec.groups)
            if g.any():
                yield idx[g], GenericFrozen(machine, lam[idx[g]], numerics, at(idx[g]),
                                            spec=spec.take(g))
            if dense and not g.all():
                yield idx[~g], DenseFrozen(machine, lam[idx[~g]], numerics, at(idx[~g]),
                                           spec=spec.take(~g))
            elif not dense:
                yield from _one_by_one(machine, lam, numerics, idx[~g], at, keep_inverses)
        return
    if dense:
        step = max(1, numerics.chunk_bytes // dense_point_bytes(machine, n))
        for s in range(0, len(lam), step):
            idx = np.arange(s, min(s + step, len(lam)))
            yield idx, DenseFrozen(machine, lam[idx], numerics, at(idx))
        return
    yield from _one_by_one(machine, lam, numerics, np.arange(len(lam)), at, keep_inverses)


def _one_by_one(machine, lam, numerics, points, at, keep_inverses):
    """:class:`~thermogeo.lindblad.structured.BlockFrozen` at each of ``points``."""
    for i in points:
        idx = np.array([i])
        yield idx, BlockFrozen(machine, lam[idx], numerics, at(idx),
                               keep_inverses=keep_inverses)
