"""Grouping of Bohr frequencies by projectors.

The secular (Davies) generator sums over Bohr frequencies ``omega``, each with the jump operator
``A(omega) = sum_{E_m - E_n = omega} P_n A P_m``. Grouping matrix elements ``[n, m]`` of the
eigenbasis by the value of ``E_m - E_n`` (merging values that agree within a tolerance) makes the
generator independent of the choice of eigenvectors inside degenerate levels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class BohrGroups:
    """Bohr-frequency structure of a batch of spectra.

    Attributes
    ----------
    omega : (*b, d, d) float
        ``omega[n, m] = E_m - E_n``, the frequency of the jump m -> n, replaced by the
        representative of its group (the member of smallest absolute value; exactly 0 for the
        zero group) so that equal groups have equal values.
    label : (*b, d, d) int
        Group index of each element; equal labels mean merged frequencies.
    level_label : (*b, d) int
        Degenerate-level index of each eigenvalue.
    order : (*b, d*d) int or None
        Flat (row-major) element indices sorted by group label (label non-decreasing along
        it), as found while clustering; lets the block kernels group elements without a
        second sort of ``d^2`` values.
    """

    omega: np.ndarray
    label: np.ndarray
    level_label: np.ndarray
    order: np.ndarray | None = None

    def take(self, idx) -> BohrGroups:
        """The groups of the spectra ``idx`` of the leading batch axis."""
        return BohrGroups(omega=self.omega[idx], label=self.label[idx],
                          level_label=self.level_label[idx],
                          order=None if self.order is None else self.order[idx])

    def same(self) -> np.ndarray:
        """``(*b, d, d, d, d)`` bool: ``same[a, b, c, d] = label[a, c] == label[b, d]``."""
        lab = self.label
        return lab[..., :, None, :, None] == lab[..., None, :, None, :]

    def degenerate_levels(self) -> np.ndarray:
        """``(*b, d, d)`` bool: levels ``m`` and ``n`` are degenerate (within the tolerance)."""
        ll = self.level_label
        return ll[..., :, None] == ll[..., None, :]


def cluster(values: np.ndarray, tol: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
    """Cluster the last axis of ``values`` into runs whose consecutive gaps are ``<= tol``.

    Returns ``(label, representative)``, both shaped like ``values``: the cluster index (in
    increasing order of value) and the member of smallest absolute value of each element's
    cluster (so a set of values and its negation get exactly negated representatives).
    """
    label, rep, _ = _cluster_with_order(values, tol)
    return label, rep


def _cluster_with_order(values, tol):
    """:func:`cluster`, also returning the sorting permutation of the last axis."""
    order = np.argsort(values, axis=-1, kind="stable")
    s = np.take_along_axis(values, order, axis=-1)
    gap = np.diff(s, axis=-1) > np.asarray(tol)[..., None]
    new = np.concatenate([np.ones(s.shape[:-1] + (1,), bool), gap], axis=-1)
    lab_sorted = np.cumsum(new, axis=-1) - 1
    idx = np.arange(s.shape[-1])
    start = np.maximum.accumulate(np.where(new, idx, 0), axis=-1)
    is_end = np.concatenate([gap, np.ones(s.shape[:-1] + (1,), bool)], axis=-1)
    n = s.shape[-1]
    end = np.flip(np.minimum.accumulate(np.flip(np.where(is_end, idx, n - 1), -1), axis=-1), -1)
    first = np.take_along_axis(s, start, axis=-1)
    last = np.take_along_axis(s, end, axis=-1)
    rep_sorted = np.where(np.abs(first) <= np.abs(last), first, last)
    label = np.empty_like(lab_sorted)
    np.put_along_axis(label, order, lab_sorted, axis=-1)  # scatter: no second argsort
    rep = np.empty_like(rep_sorted)
    np.put_along_axis(rep, order, rep_sorted, axis=-1)
    return label, rep, order


def bohr_groups(E: np.ndarray, degeneracy_tol: float) -> BohrGroups:
    """Group the Bohr frequencies of eigenvalues ``E (*b, d)``.

    Two frequencies are merged when they differ by at most
    ``degeneracy_tol * max(1, max |E|)`` (chains of such gaps merge too).
    """
    d = E.shape[-1]
    scale = np.maximum(1.0, np.abs(E).max(axis=-1))
    tol = degeneracy_tol * scale
    w = E[..., None, :] - E[..., :, None]  # w[n, m] = E_m - E_n
    lab, rep, order = _cluster_with_order(w.reshape(*w.shape[:-2], d * d), tol)
    # The zero group must be exactly zero so diagonal (dephasing) rates are those of omega = 0.
    rep = np.where(np.abs(rep) <= tol[..., None], 0.0, rep).reshape(w.shape)
    level_label, _ = cluster(E, tol)
    # order sorts w[n, m] = omega of the jump m -> n by value, i.e. by label
    return BohrGroups(omega=rep, label=lab.reshape(w.shape), level_label=level_label,
                      order=order)
