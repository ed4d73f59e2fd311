"""Bohr-block structure of the secular generator in the eigenframe, applied without ``d^4``.

In the eigenframe of ``H`` the secular (Davies) generator maps the matrix element ``[c, d]`` to
``[a, b]`` only if the Bohr frequencies ``E_c - E_a`` and ``E_d - E_b`` belong to one group,
which makes the *element frequencies* ``nu_ab = E_a - E_b`` and ``nu_cd`` equal (docs/theory.md
section 2). So ``L`` is block diagonal over groups of element frequencies:

* the **zero block** holds the populations ``[a, a]`` and the coherences inside degenerate
  levels (a classical rate matrix when the spectrum is non-degenerate); the steady state
  lives there;
* every other group is a small block: size one for a non-degenerate Bohr frequency, larger for
  exactly degenerate ones (equally spaced Zeeman ladders of uniform-field Heisenberg chains).

Block entries of ``S(g, B, C) rho = sum_omega g_omega (B_w rho C_w^+ - 1/2 {C_w^+ B_w, rho})``
(the map of :func:`thermogeo.lindblad.generator.dissipator_superop`), for elements
``(a, b) <- (c, d)``::

    S[(a,b),(c,d)] = g[a,c] B[a,c] conj(C[b,d]) [label(a,c) == label(b,d)]
                     - 1/2 (K[a,c] delta_bd + delta_ac K[d,b])
    K[a,c]         = sum_e g[e,a] conj(C[e,a]) B[e,c] [label(e,a) == label(e,c)]

``K`` only links levels of equal energy, so it is stored level by level. The generator adds
``-i nu_ab`` on the diagonal. Nothing here forms a ``d^2 x d^2`` array: the zero block is
``d0 x d0`` (``d0 >= d``), the other blocks are stored as batches of small matrices.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from thermogeo.linalg.bohr import BohrGroups

_CHUNK = 2**20  # elements of the temporaries built at once when filling blocks


@dataclass(frozen=True, eq=False)
class BlockStructure:
    """Partition of the ``d^2`` eigenframe matrix elements into Bohr blocks.

    Elements are addressed by their flat row-major index ``a*d + b``.

    Attributes
    ----------
    d : int
    zero : (d0,) int
        Elements of the zero block: the ``d`` populations ``a*d + a`` first (in level order
        ``a = 0..d-1``), then the coherences inside degenerate levels.
    single : (n1,) int
        Elements that form a block on their own.
    multi : tuple of (nb, s) int
        Blocks of size ``s > 1`` (one array per size, increasing ``s``), zero block excluded.
    nu : (d, d) float
        Element frequencies ``nu[a, b] = E_a - E_b``.
    level : (d,) int
        Degenerate-level label of each eigenvalue.
    level_start, level_size, level_offset : (n_levels,) int
        Levels as runs of the level-sorted eigenvalues; ``level_offset`` indexes the flat
        store of per-level ``s x s`` matrices (see :class:`LevelMatrix`).
    level_members : (d,) int
        Eigenvalue indices sorted by level.
    level_pos : (d,) int
        Position of each eigenvalue inside its level.
    label : (d, d) int
        Bohr group labels of :class:`~thermogeo.linalg.bohr.BohrGroups` (``[n, m]``: jump
        ``m -> n``).
    order : (d*d,) int
        Elements sorted by the label of their group (``label[b, a]`` for element ``(a, b)``).
    """

    d: int
    zero: np.ndarray
    single: np.ndarray
    multi: tuple
    nu: np.ndarray
    level: np.ndarray
    level_start: np.ndarray
    level_size: np.ndarray
    level_offset: np.ndarray
    level_members: np.ndarray
    level_pos: np.ndarray
    label: np.ndarray
    order: np.ndarray

    @property
    def d0(self) -> int:
        """Size of the zero block."""
        return len(self.zero)

    @property
    def degenerate(self) -> bool:
        """Whether some level is degenerate (zero block larger than the populations)."""
        return bool(self.level_size.max() > 1)

    def sizes(self) -> dict[int, int]:
        """``{block size: number of blocks}`` (the zero block counted with its size)."""
        out = {self.d0: 1}
        if len(self.single):
            out[1] = out.get(1, 0) + len(self.single)
        for blk in self.multi:
            out[blk.shape[1]] = out.get(blk.shape[1], 0) + blk.shape[0]
        return out


def block_structure(E: np.ndarray, groups: BohrGroups) -> BlockStructure:
    """Bohr blocks of the secular generator at one point.

    Parameters
    ----------
    E : (d,) float
        Eigenvalues of ``H`` (ascending).
    groups : BohrGroups
        Their Bohr grouping (unbatched, from :func:`thermogeo.linalg.bohr.bohr_groups`).

    Returns
    -------
    BlockStructure
        Element ``(a, b)`` belongs to the group of ``nu_ab = E_a - E_b``, whose label is
        ``groups.label[b, a]``.
    """
    d = len(E)
    lab = np.ascontiguousarray(groups.label.T).reshape(d * d)
    z = lab[0]  # element (0, 0): the zero frequency
    if groups.order is not None:  # sorted by label while clustering: w[n, m] is element (m, n)
        n_, m_ = np.divmod(groups.order, d)
        order = m_ * d + n_
        del n_, m_
    else:
        order = np.argsort(lab, kind="stable")
    counts = np.bincount(lab)
    size_sorted = counts[lab[order]]
    lab_sorted = lab[order]
    pops = np.arange(d) * (d + 1)
    zmask = lab == z
    zmask[pops] = False
    zero = np.concatenate([pops, np.flatnonzero(zmask)])
    nonzero = lab_sorted != z
    mask = np.zeros(d * d, bool)  # scatter instead of sorting: singles in element order
    mask[order[nonzero & (size_sorted == 1)]] = True
    single = np.flatnonzero(mask)
    del mask
    multi = []
    for s in np.unique(size_sorted[nonzero & (size_sorted > 1)]):
        multi.append(order[nonzero & (size_sorted == s)].reshape(-1, int(s)))
    del size_sorted, lab_sorted, nonzero, zmask
    level = np.asarray(groups.level_label)
    members = np.argsort(level, kind="stable")
    lsize = np.bincount(level)
    lstart = np.concatenate([[0], np.cumsum(lsize)[:-1]])
    loff = np.concatenate([[0], np.cumsum(lsize**2)[:-1]])
    pos = np.empty(d, int)
    pos[members] = np.arange(d) - lstart[level[members]]
    return BlockStructure(d=d, zero=zero, single=single, multi=tuple(multi),
                          nu=E[:, None] - E[None, :], level=level, level_start=lstart,
                          level_size=lsize, level_offset=loff, level_members=members,
                          level_pos=pos, label=np.asarray(groups.label), order=order)


@dataclass(frozen=True, eq=False)
class LevelMatrix:
    """A ``(d, d)`` matrix that vanishes between different energy levels (such as ``K``).

    Attributes
    ----------
    structure : BlockStructure
    store : (sum_l s_l^2,) complex
        The ``s_l x s_l`` block of each level ``l``, row-major, at ``level_offset[l]``.
    """

    structure: BlockStructure
    store: np.ndarray

    def diagonal(self) -> np.ndarray:
        """``(d,)``: the diagonal ``K[a, a]``."""
        st = self.structure
        lev = st.level
        return self.store[st.level_offset[lev] + st.level_pos * (st.level_size[lev] + 1)]

    def __getitem__(self, xy) -> np.ndarray:
        """``K[x, y]`` for broadcastable integer arrays ``x, y`` (zero across levels)."""
        x, y = xy
        st = self.structure
        lx, ly = st.level[x], st.level[y]
        same = lx == ly
        idx = st.level_offset[lx] + st.level_pos[x] * st.level_size[lx] + st.level_pos[y]
        return np.where(same, self.store[np.where(same, idx, 0)], 0.0)

    def dense_levels(self):
        """Iterate ``(members (s,), block (s, s))`` over the degenerate levels (``s > 1``)."""
        st = self.structure
        for li in np.flatnonzero(st.level_size > 1):
            s = st.level_size[li]
            idx = st.level_members[st.level_start[li]:st.level_start[li] + s]
            o = st.level_offset[li]
            yield idx, self.store[o:o + s * s].reshape(s, s)


def k_matrix(st: BlockStructure, g: np.ndarray, B: np.ndarray, C: np.ndarray
             ) -> LevelMatrix:
    """``K[a, c] = sum_e g[e,a] conj(C[e,a]) B[e,c] [label(e,a) == label(e,c)]`` per level.

    Parameters
    ----------
    st : BlockStructure
    g : (d, d) float
        Rates (or rate derivatives) of each element's group.
    B, C : (d, d) complex
        Eigenframe operators.

    Returns
    -------
    LevelMatrix
    """
    W = g * np.conj(C) * B
    diag = W.sum(axis=0)
    del W
    store = np.zeros(int(np.sum(st.level_size**2)), diag.dtype)
    lev = st.level
    store[st.level_offset[lev] + st.level_pos * (st.level_size[lev] + 1)] = diag
    for li in np.flatnonzero(st.level_size > 1):
        s = st.level_size[li]
        idx = st.level_members[st.level_start[li]:st.level_start[li] + s]
        lab = st.label[:, idx]
        if np.array_equal(lab, np.repeat(lab[:, :1], s, axis=1)):
            # equal energies: every jump e <- a and e <- c of the level is one group
            Kl = (g[:, idx] * np.conj(C[:, idx])).T @ B[:, idx]
        else:  # a clustering boundary inside the level: keep the group condition
            same = lab[:, :, None] == lab[:, None, :]
            Kl = np.einsum("ea,ec,eac->ac", g[:, idx] * np.conj(C[:, idx]), B[:, idx], same)
        o = st.level_offset[li]
        store[o:o + s * s] = Kl.reshape(-1)
    return LevelMatrix(st, store)


def _entries(st, g, B, C, K, rows, cols):
    """``S[(a_i,b_i),(c_j,d_j)]`` for element arrays ``rows (..., s, 1)``, ``cols (..., 1, t)``."""
    d = st.d
    ai, bi = np.divmod(rows, d)
    aj, bj = np.divmod(cols, d)
    ac = ai * d + aj
    bd = bi * d + bj
    lab = st.label.reshape(-1)
    t = (np.take(g.reshape(-1), ac) * np.take(B.reshape(-1), ac)
         * np.conj(np.take(C.reshape(-1), bd)))
    t *= np.take(lab, ac) == np.take(lab, bd)
    # The K terms only live where b_i = b_j (resp. a_i = a_j): a small subset of the entries.
    ai, aj, bi, bj = np.broadcast_arrays(ai, aj, bi, bj)
    mb = bi == bj
    t[mb] -= 0.5 * K[ai[mb], aj[mb]]
    ma = ai == aj
    t[ma] -= 0.5 * K[bj[ma], bi[ma]]
    return t


def zero_block(st: BlockStructure, terms) -> np.ndarray:
    """The zero block ``(d0, d0)`` of ``sum_terms S(g, B, C)``.

    Parameters
    ----------
    st : BlockStructure
    terms : sequence of (g, B, C) with shapes (d, d)

    Returns
    -------
    (d0, d0) complex
        ``Z[i, j] = S[zero[i], zero[j]]``; the population-population corner is
        ``W - diag(sum_e W[e, :])`` with ``W = g B conj(C)`` (the rate matrix).
    """
    d, d0 = st.d, st.d0
    dtype = np.result_type(*[t[1] for t in terms], *[t[2] for t in terms], float)
    Z = np.zeros((d0, d0), dtype)
    coh = st.zero[d:]
    pops = st.zero[:d]
    W = None
    for g, B, C in terms:  # the rate-matrix corner: one sum over the terms, added once
        w = g * B
        w *= np.conj(C) if np.iscomplexobj(C) else C
        if W is None:
            W = w.astype(dtype, copy=False)
        else:
            W += w
        del w
    Z[:d, :d] += W
    Z[np.arange(d), np.arange(d)] -= W.sum(axis=0)
    del W
    for g, B, C in terms:
        if d0 > d:
            K = k_matrix(st, g, B, C)
            Z[:d, d:] += _entries(st, g, B, C, K, pops[:, None], coh[None, :])
            Z[d:, :d] += _entries(st, g, B, C, K, coh[:, None], pops[None, :])
            step = max(1, _CHUNK // max(1, len(coh)))
            for s in range(0, len(coh), step):
                Z[d + s:d + s + step, d:] += _entries(st, g, B, C, K, coh[s:s + step, None],
                                                      coh[None, :])
    return Z


@dataclass(frozen=True, eq=False)
class BlockOperator:
    """A superoperator that preserves the Bohr blocks, stored block by block.

    Attributes
    ----------
    structure : BlockStructure
    zero : (d0, d0) complex     the zero block
    single : (n1,) complex      the one-element blocks
    multi : tuple of (nb, s, s) complex   the larger blocks, as ``structure.multi``
    """

    structure: BlockStructure
    zero: np.ndarray
    single: np.ndarray
    multi: tuple

    @property
    def iterative(self) -> bool:
        """Whether some block is a matrix-free :class:`~thermogeo.lindblad.levels.
        LevelOperator` (too large to store) rather than a dense array."""
        return not isinstance(self.zero, np.ndarray) or any(
            not isinstance(m, np.ndarray) for m in self.multi)

    def apply(self, y: np.ndarray) -> np.ndarray:
        """``S y`` for vectorised operators ``y (..., d*d)`` (row-major), same shape."""
        st = self.structure
        out = np.zeros(np.broadcast_shapes(y.shape, (st.d**2,)), complex)
        out[..., st.zero] = apply_block(self.zero, y[..., st.zero])
        out[..., st.single] = self.single * y[..., st.single]
        for idx, blk in zip(st.multi, self.multi):
            if isinstance(blk, np.ndarray):
                out[..., idx] = np.einsum("bij,...bj->...bi", blk, y[..., idx])
            else:  # one matrix-free operator on all blocks of this size
                flat = idx.reshape(-1)
                out[..., flat] = apply_block(blk, y[..., flat])
        return out

    def add_(self, other: BlockOperator) -> None:
        """In-place ``self += other`` (same structure, dense blocks only)."""
        if self.iterative or other.iterative:
            raise ValueError("BlockOperator.add_: matrix-free blocks cannot be added; add "
                             "the terms with block_superop(..., out=...) instead")
        np.add(self.zero, other.zero, out=self.zero)
        np.add(self.single, other.single, out=self.single)
        for a, b in zip(self.multi, other.multi):
            np.add(a, b, out=a)


def apply_block(blk, y: np.ndarray) -> np.ndarray:
    """``blk y`` over the last axis of ``y (..., n)`` for a dense ``(n, n)`` block or a
    matrix-free operator (applied vector by vector)."""
    if isinstance(blk, np.ndarray):
        return np.einsum("ij,...j->...i", blk, y)
    flat = y.reshape(-1, y.shape[-1])
    return np.stack([blk.matvec(v) for v in flat]).reshape(y.shape)


def block_superop(st: BlockStructure, g: np.ndarray, B: np.ndarray, C: np.ndarray,
                  out: BlockOperator | None = None) -> BlockOperator:
    """Every Bohr block of ``S(g, B, C)`` (see the module docstring for the entries).

    Parameters
    ----------
    st : BlockStructure
    g : (d, d) float
        ``g[n, m]``: rate of the group of the jump ``m -> n``.
    B, C : (d, d) float or complex
        Eigenframe operators (``B = C = U^+ A_alpha U`` for the Davies dissipator).
    out : BlockOperator, optional
        Add the blocks into ``out`` (in place, no copy of the small blocks) and return
        ``out``; a dense zero block is left untouched (add :func:`zero_block` yourself, which
        the callers need separately for per-bath energy rows), a matrix-free one (see
        :func:`~thermogeo.lindblad.levels.empty_blocks`) receives the term.

    Returns
    -------
    BlockOperator
        Block by block equal to ``dissipator_superop(g, B, C, label)`` (float when ``B``
        and ``C`` are real).
    """
    d = st.d
    dtype = np.result_type(B, C, float)
    K = k_matrix(st, g, B, C)
    gd, Bd, Cd, Kd = np.diagonal(g), np.diagonal(B), np.diagonal(C), K.diagonal()
    a, b = np.divmod(st.single, d)
    single = gd[a] * Bd[a] * np.conj(Cd[b]) - 0.5 * (Kd[a] + Kd[b])
    del a, b
    if out is None:
        out = BlockOperator(st, zero_block(st, [(g, B, C)]), single,
                            tuple(np.zeros((idx.shape[0], idx.shape[1], idx.shape[1]), dtype)
                                  for idx in st.multi))
    else:
        out.single[...] += single
    del single
    if not isinstance(out.zero, np.ndarray):
        out.zero.add_term(g, B, C, K)
    for idx, o in zip(st.multi, out.multi):
        if not isinstance(o, np.ndarray):  # matrix-free: keeps the operators, no entries
            o.add_term(g, B, C, K)
            continue
        s = idx.shape[1]
        step = max(1, _CHUNK // (s * s))
        for i in range(0, idx.shape[0], step):
            blk = idx[i:i + step]
            o[i:i + step] += _entries(st, g, B, C, K, blk[:, :, None], blk[:, None, :])
    return out


#: Matrix-free blocks need level pairs of at least this many elements on average (smaller
#: pairs make many tiny products, slower than one dense factorisation) ...
MIN_PAIR_ELEMENTS = 4
#: ... unless the block is larger than this (a dense block of it would take 4 GiB).
ALWAYS_FREE = 16384


def matrix_free(st: BlockStructure, idx: np.ndarray, dense_max: int | None) -> bool:
    """Whether a Bohr block (element indices ``idx``) is applied matrix-free: larger than
    ``dense_max`` and made of level pairs of ``>= MIN_PAIR_ELEMENTS`` elements on average
    (degenerate levels), or larger than ``ALWAYS_FREE``."""
    n = len(idx)
    if dense_max is None or n <= dense_max:
        return False
    if n > ALWAYS_FREE:
        return True
    a, b = np.divmod(idx, st.d)
    pairs = len(np.unique(st.level[a] * len(st.level_size) + st.level[b]))
    return n >= MIN_PAIR_ELEMENTS * pairs


def with_hamiltonian(D: BlockOperator) -> BlockOperator:
    """``L = -i[H, .] + D``: adds ``-i nu_ab`` on the diagonal of every block (a copy)."""
    st = D.structure
    nu = st.nu.reshape(-1)
    Z = D.zero.copy()
    i0 = np.arange(st.d0)
    Z[i0, i0] += -1j * nu[st.zero]
    single = D.single - 1j * nu[st.single]
    multi = []
    for idx, blk in zip(st.multi, D.multi):
        m = blk.copy()
        s = idx.shape[1]
        m[:, np.arange(s), np.arange(s)] += -1j * nu[idx]
        multi.append(m)
    return BlockOperator(st, Z, single, tuple(multi))


def dense_from_blocks(op: BlockOperator) -> np.ndarray:
    """The ``(d*d, d*d)`` matrix of a block operator (small ``d`` only: tests, debugging)."""
    st = op.structure
    n = st.d**2
    out = np.zeros((n, n), complex)
    out[np.ix_(st.zero, st.zero)] = op.zero
    out[st.single, st.single] = op.single
    for idx, blk in zip(st.multi, op.multi):
        out[idx[:, :, None], idx[:, None, :]] = blk
    return out


def sparse_from_blocks(op: BlockOperator):
    """The ``(d*d, d*d)`` row-major superoperator of a block operator as a scipy CSR matrix.

    Its number of stored entries is ``d0^2 + n1 + sum s^2`` (no ``d^4``); for handing the
    generator to sparse solvers such as QuTiP's (after reordering to column stacking).
    """
    import scipy.sparse as sp

    st = op.structure
    rows = [np.repeat(st.zero, st.d0), st.single]
    cols = [np.tile(st.zero, st.d0), st.single]
    vals = [op.zero.reshape(-1), op.single]
    for idx, blk in zip(st.multi, op.multi):
        s = idx.shape[1]
        rows.append(np.repeat(idx, s, axis=1).reshape(-1))
        cols.append(np.tile(idx, (1, s)).reshape(-1))
        vals.append(blk.reshape(-1))
    n = st.d**2
    return sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                         shape=(n, n))
