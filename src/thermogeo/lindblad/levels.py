"""Large Bohr blocks applied matrix-free, energy level by energy level.

Highly degenerate spectra (uniform fields on all-to-all graphs: collective spin multiplets)
make Bohr blocks of ``10^4 - 10^6`` elements, whose dense matrices do not fit in memory. A
Bohr block is a union of *level pairs* ``(l, k)``: all elements ``(a, b)`` with ``a`` in
level ``l`` and ``b`` in level ``k`` (``E_l - E_k`` in the block's group). Writing ``X_lk`` for
the ``(s_l, s_k)`` sub-matrix of ``X`` on a level pair, the map ``S(g, B, C)`` of
:mod:`thermogeo.lindblad.blocks` acts as::

    S(X)_lk = sum_{(l',k')} [lab(l,l') == lab(k,k')] (g o B)_{l l'} X_{l'k'} (C_{k k'})^+
              - 1/2 (K_l X_lk + X_lk K_k)

(``lab`` the Bohr group of a jump between levels, ``K`` the level-diagonal matrix of
:func:`~thermogeo.lindblad.blocks.k_matrix`, ``o`` the elementwise product). Coupling
operators link each level to a few others (selection rules), so one application costs a few
products of level-sized matrices per level pair and stores nothing larger than the block's
vector. :class:`LevelOperator` applies ``S`` (and ``-i nu``, and its adjoint);
:func:`gmres_solve` solves with it (preconditioned GMRES, :mod:`scipy.sparse.linalg`).
"""

from __future__ import annotations

import numpy as np

from thermogeo.errors import IterativeSolveError
import scipy.linalg as sla
import scipy.sparse.linalg as spla

from thermogeo.numerics import Numerics
from thermogeo.lindblad.blocks import (BlockOperator, BlockStructure, LevelMatrix, k_matrix,
                                       matrix_free)

#: Elements of the intermediate products held at once by one application (about 16 bytes
#: each): the terms are applied in batches below this.
BATCH_ELEMENTS = 2**24
#: Level-pair blocks of an operator below this fraction of its largest entry are treated as
#: zero (selection rules hold only up to rounding in a numerical eigenbasis).
NEGLIGIBLE = 1e-14


def level_slices(st: BlockStructure) -> list:
    """Eigenvalue indices of each level: slices when contiguous (ascending ``E``), else arrays."""
    out = []
    for li in range(len(st.level_size)):
        m = st.level_members[st.level_start[li]:st.level_start[li] + st.level_size[li]]
        if m[-1] - m[0] == len(m) - 1 and np.all(np.diff(m) == 1):
            out.append(slice(int(m[0]), int(m[-1]) + 1))
        else:
            out.append(m)
    return out


def _sub(M: np.ndarray, r, c) -> np.ndarray:
    if isinstance(r, slice) and isinstance(c, slice):
        return M[r, c]
    return M[np.ix_(np.arange(M.shape[0])[r], np.arange(M.shape[1])[c])]


def level_norms(st: BlockStructure, M: np.ndarray, slices=None) -> np.ndarray:
    """``(n_levels, n_levels)``: the largest ``|M_ac|`` over each level pair."""
    slices = slices if slices is not None else level_slices(st)
    A = np.abs(M)
    if all(isinstance(s, slice) for s in slices):
        starts = np.array([s.start for s in slices])
        order = np.argsort(starts)
        st_sorted = starts[order]
        R = np.maximum.reduceat(np.maximum.reduceat(A, st_sorted, axis=0), st_sorted, axis=1)
        out = np.empty_like(R)
        out[np.ix_(order, order)] = R
        return out
    n = len(slices)
    return np.array([[_sub(A, slices[i], slices[j]).max() for j in range(n)]
                     for i in range(n)])


class LevelBlock:
    """The level pairs of a set of Bohr-block elements.

    Parameters
    ----------
    st : BlockStructure
    idx : (n,) int
        Flat element indices ``a*d + b`` (one or several whole Bohr blocks).

    Attributes
    ----------
    pairs : list of (l, k)
    pos : list of (s_l, s_k) int arrays
        Position in ``idx`` of element ``(members_l[i], members_k[j])``.
    index : dict (l, k) -> pair number
    nu : (n_pairs,) float
        ``E_l - E_k``.
    """

    def __init__(self, st: BlockStructure, idx: np.ndarray):
        d = st.d
        self.structure, self.n = st, len(idx)
        a, b = np.divmod(np.asarray(idx), d)
        nl = len(st.level_size)
        key = st.level[a] * nl + st.level[b]
        order = np.argsort(key, kind="stable")
        ukeys, starts, counts = np.unique(key[order], return_index=True, return_counts=True)
        self.pairs, self.pos = [], []
        for u, s0, c in zip(ukeys, starts, counts):
            l, k = divmod(int(u), nl)
            if c != st.level_size[l] * st.level_size[k]:
                raise ValueError("LevelBlock: the elements do not form whole level pairs")
            sel = order[s0:s0 + c]
            P = np.empty((st.level_size[l], st.level_size[k]), int)
            P[st.level_pos[a[sel]], st.level_pos[b[sel]]] = sel
            self.pairs.append((l, k))
            self.pos.append(P)
        self.index = {p: i for i, p in enumerate(self.pairs)}
        E = st.nu[:, 0]  # E_a - E_0: energies up to a constant
        first = st.level_members[st.level_start]
        self.nu = np.array([E[first[l]] - E[first[k]] for l, k in self.pairs])

    def gather(self, x: np.ndarray) -> list:
        return [x[p] for p in self.pos]

    def scatter(self, Ys: list, dtype=complex) -> np.ndarray:
        out = np.empty(self.n, dtype)
        for p, Y in zip(self.pos, Ys):
            out[p] = Y
        return out


class LevelOperator(spla.LinearOperator):
    """``sum_t S(g_t, B_t, C_t)`` (minus ``i nu`` if asked) on a :class:`LevelBlock`.

    Parameters
    ----------
    block : LevelBlock
    terms : sequence of (g, B, C), each (d, d)
        As in :func:`~thermogeo.lindblad.blocks.zero_block`; kept by reference, not copied.
    hamiltonian : bool
        Add ``-i nu_lk`` on every level pair (the generator ``L``, not only ``D``).
    rank_one : bool
        Add ``|w>><<1|`` (``w = 1/d`` on the populations, ``<<1|`` the trace): the zero block
        of :class:`~thermogeo.response.structured.BlockSolve` (``block`` must then contain
        the populations as the pairs ``(l, l)``).
    slices : list, optional
        :func:`level_slices` (shared between operators of one point).
    cache : bool
        Keep ``g o B`` of every term as one ``(d, d)`` array between applications (operators
        applied many times, inside GMRES); off for operators applied once or twice.
    gains : dict, optional
        Store of those arrays shared between operators of one point (one array per term, not
        per operator).
    """

    def __init__(self, block: LevelBlock, terms=(), hamiltonian: bool = False,
                 rank_one: bool = False, slices=None, cache: bool = True,
                 gains: dict | None = None):
        st = block.structure
        self.block = block
        self.hamiltonian, self.rank_one = hamiltonian, rank_one
        self.slices = slices if slices is not None else level_slices(st)
        first = st.level_members[st.level_start]
        self._lab = st.label[np.ix_(first, first)]  # lab[l, l']: group of the jump l' -> l
        self.terms, self.links = [], []
        self._shared = {"plan": None,
                        "gains": (gains if gains is not None else {}) if cache else None}
        self._Kl = {l: 0.0 for pair in block.pairs for l in pair}
        self.real = True
        if rank_one:
            self._pop = [(i, np.diag_indices(st.level_size[l])) for i, (l, k)
                         in enumerate(block.pairs) if l == k]
        for g, B, C in terms:
            self.add_term(g, B, C)
        super().__init__(complex, (block.n, block.n))

    def add_term(self, g: np.ndarray, B: np.ndarray, C: np.ndarray,
                 K: LevelMatrix | None = None) -> None:
        """Add ``S(g, B, C)`` (arrays kept by reference; ``K``: its
        :func:`~thermogeo.lindblad.blocks.k_matrix` if already computed)."""
        st, block, lab = self.block.structure, self.block, self._lab
        nB, nC = level_norms(st, B, self.slices), level_norms(st, C, self.slices)
        nzB = nB > NEGLIGIBLE * max(nB.max(), 1e-300)
        nzC = nC > NEGLIGIBLE * max(nC.max(), 1e-300)
        links = []
        for src, (lp, kp) in enumerate(block.pairs):
            ks = []
            for k in np.flatnonzero(nzC[:, kp]):
                ls = np.flatnonzero(nzB[:, lp] & (lab[:, lp] == lab[k, kp]))
                tg = [(int(l), block.index[(int(l), int(k))]) for l in ls
                      if (int(l), int(k)) in block.index]
                if tg:
                    ks.append((int(k), tg))
            if ks:
                links.append((src, lp, kp, ks))
        self.terms.append((g, B, C))
        self.links.append(links)
        self._changed()
        K = k_matrix(st, g, B, C) if K is None else K
        for l in self._Kl:
            o, s = st.level_offset[l], st.level_size[l]
            self._Kl[l] = self._Kl[l] + K.store[o:o + s * s].reshape(s, s)
        self.real = self.real and not any(np.iscomplexobj(x) for x in (g, B, C))
        if self.real:  # K of real operators is real; drop a zero imaginary part (in place:
            for l in self._Kl:  # variants share the dict)
                self._Kl[l] = np.real(self._Kl[l])

    def absorb(self, other: LevelOperator) -> None:
        """Add the terms of ``other`` (same block; its links are reused, not recomputed)."""
        if other.block is not self.block:
            raise ValueError("LevelOperator.absorb: operators on different blocks")
        self.terms += other.terms
        self.links += other.links
        self._changed()
        for l in self._Kl:
            self._Kl[l] = self._Kl[l] + other._Kl[l]
        self.real = self.real and other.real

    def variant(self, hamiltonian: bool = False, rank_one: bool = False) -> LevelOperator:
        """The same dissipative terms (shared, not copied) with or without ``-i nu`` and the
        rank-one trace term."""
        out = LevelOperator(self.block, (), hamiltonian, rank_one, self.slices)
        out.terms, out.links, out._shared, out._Kl = self.terms, self.links, self._shared, self._Kl
        out.real = self.real
        return out

    def _changed(self) -> None:
        self._shared["plan"] = None

    def _plan(self):
        """The links grouped for few, larger products, in batches of terms: each batch is
        ``(groups, into)`` with ``groups[i] = (t, src, l', k', entries)``, ``entries =
        [(k, l, tgt, column offset, s_k)]`` (one per linked target) and ``into[tgt] =
        [(group, entry)]``. A batch's intermediate products (``sum_groups s_l' sum_e s_k``
        elements) stay below ``BATCH_ELEMENTS``."""
        plan = self._shared["plan"]
        if plan is None:
            size = self.block.structure.level_size
            plan, groups, into, held = [], [], {}, 0
            for t, links in enumerate(self.links):
                work = sum(int(size[lp]) * sum(int(size[k]) * len(tg) for k, tg in ks)
                           for _, lp, _, ks in links)
                if groups and held + work > BATCH_ELEMENTS:
                    plan.append((groups, into))
                    groups, into, held = [], {}, 0
                held += work
                for src, lp, kp, ks in links:
                    ent, off = [], 0
                    for k, tg in ks:
                        for l, tgt in tg:
                            into.setdefault(tgt, []).append((len(groups), len(ent)))
                            ent.append((k, l, tgt, off, int(size[k])))
                            off += int(size[k])
                    groups.append((t, src, lp, kp, ent))
            if groups:
                plan.append((groups, into))
            self._shared["plan"] = plan
        return plan

    def _gain(self, t: int) -> np.ndarray | None:
        """``g o B`` of term ``t`` as one ``(d, d)`` array (kept for operators applied many
        times, shared by the operators given the same ``gains`` store; ``None`` otherwise:
        then formed level pair by level pair)."""
        store = self._shared["gains"]
        if store is None:
            return None
        g, B, _ = self.terms[t]
        key = (id(g), id(B))  # the terms keep g and B alive, so ids are not reused
        G = store.get(key)
        if G is None:
            G = store[key] = g * B
        return G

    def _ccat(self, group) -> np.ndarray:
        """``(sum_e s_k, s_k')``: the blocks ``C_t[k_e, k']`` of a group stacked."""
        t, _, _, kp, ent = group
        C, sl = self.terms[t][2], self.slices
        return np.concatenate([_sub(C, sl[k], sl[kp]) for k, *_ in ent], axis=0)

    def _gcat(self, groups, ins) -> np.ndarray:
        """``(s_l, sum_e s_l')``: the blocks ``(g o B)_t[l, l'_e]`` of the entries ``ins``
        into one target (stacked afresh at each application from views: no duplicated
        storage)."""
        parts = []
        for gi, ei in ins:
            t, _, lp, _, ent = groups[gi]
            r, c = self.slices[ent[ei][1]], self.slices[lp]
            G = self._gain(t)
            if G is None:
                g, B, _ = self.terms[t]
                parts.append(_sub(g, r, c) * _sub(B, r, c))
            else:
                parts.append(_sub(G, r, c))
        return np.concatenate(parts, axis=1)

    def _split(self, x: np.ndarray) -> list:
        Xs = self.block.gather(x)
        if self.real:
            return [np.stack([X.real, X.imag]) for X in Xs]
        return [X.astype(complex)[None] for X in Xs]

    def _join(self, Ys: list) -> np.ndarray:
        if self.real:
            return self.block.scatter([Y[0] + 1j * Y[1] for Y in Ys])
        return self.block.scatter([Y[0] for Y in Ys])

    def _rotate(self, X: np.ndarray, c: complex) -> np.ndarray:
        """``c X`` for a purely imaginary ``c`` in the (c, s, s) representation."""
        if not self.real:
            return c * X
        return np.stack([-c.imag * X[1], c.imag * X[0]])

    def _apply(self, Xs: list, adjoint: bool) -> list:
        blk = self.block
        Ys = [np.zeros(X.shape, X.dtype) for X in Xs]
        for groups, into in self._plan():
            if not adjoint:
                # W = X_src C_cat^+ per group, then one product per target:
                # out_tgt = [(g o B)[l, l'_1] ...] @ [W_1[:, k cols]; ...]
                W = [Xs[grp[1]] @ np.conj(self._ccat(grp).T) for grp in groups]
                for tgt, ins in into.items():
                    parts = []
                    for gi, ei in ins:
                        off, n = groups[gi][4][ei][3:5]
                        parts.append(W[gi][..., off:off + n])
                    Ys[tgt] += self._gcat(groups, ins) @ np.concatenate(parts, axis=-2)
                del W
            else:
                # P = G_cat^+ Y_tgt per target, split by entry; out_src += [P_e ...] @ C_cat
                pieces = {}
                for tgt, ins in into.items():
                    P = np.conj(self._gcat(groups, ins).T) @ Xs[tgt]
                    o = 0
                    for gi, ei in ins:
                        n = int(blk.structure.level_size[groups[gi][2]])  # s_l'
                        pieces[(gi, ei)] = P[..., o:o + n, :]
                        o += n
                for gi, grp in enumerate(groups):
                    Z = np.concatenate([pieces[(gi, ei)] for ei in range(len(grp[4]))],
                                       axis=-1)
                    Ys[grp[1]] += Z @ self._ccat(grp)
                del pieces
        for i, (l, k) in enumerate(blk.pairs):
            Kl, Kk = self._Kl[l], self._Kl[k]
            if adjoint:
                Kl, Kk = np.conj(Kl.T), np.conj(Kk.T)
            Ys[i] -= 0.5 * (Kl @ Xs[i] + Xs[i] @ Kk)
            if self.hamiltonian and blk.nu[i] != 0:
                Ys[i] += self._rotate(Xs[i], (1j if adjoint else -1j) * blk.nu[i])
        if self.rank_one:
            d = self.block.structure.d
            # forward |w>><<1| x: the trace of x spread over the populations; adjoint
            # |1>><<w| y: the mean of the populations of y added to each
            tr = sum(Xs[i][:, di[0], di[1]].sum(axis=-1) for i, di in self._pop) / d
            for i, di in self._pop:
                Ys[i][:, di[0], di[1]] += tr[:, None]
        return Ys

    def _matvec(self, x):
        return self._join(self._apply(self._split(np.asarray(x).reshape(-1)), False))

    def _rmatvec(self, y):
        return self._join(self._apply(self._split(np.asarray(y).reshape(-1)), True))

    def diagonal(self) -> np.ndarray:
        """``(n,)``: the diagonal ``S[(a,b),(a,b)]`` (Jacobi preconditioner)."""
        st, blk = self.block.structure, self.block
        out = []
        for i, (l, k) in enumerate(blk.pairs):
            rl, rk = self.slices[l], self.slices[k]
            v = np.zeros((st.level_size[l], st.level_size[k]), complex)
            for g, B, C in self.terms:
                ga = np.diagonal(_sub(g, rl, rl) * _sub(B, rl, rl))
                cb = np.conj(np.diagonal(_sub(C, rk, rk)))
                v += ga[:, None] * cb[None, :]
            v -= 0.5 * (np.diagonal(self._Kl[l])[:, None] + np.diagonal(self._Kl[k])[None, :])
            if self.hamiltonian:
                v -= 1j * blk.nu[i]
            if self.rank_one and l == k:
                v[np.diag_indices(len(v))] += 1.0 / st.d
            out.append(v)
        return blk.scatter(out)


def level_rows(op: LevelOperator, y: np.ndarray) -> np.ndarray:
    """``y^T S`` for a vector ``y (n,)`` on the block: the row of ``<<Y| S`` (no transposed
    matrix), ``conj(S^+ conj(y))``."""
    return np.conj(op.rmatvec(np.conj(y)))


#: Restart cycles between two checks of the residual in :func:`gmres_solve`.
GMRES_CHECK = 4


def gmres_solve(A: spla.LinearOperator, b: np.ndarray, M=None, *, what: str = "block",
                numerics: Numerics | None = None, rtol: float | None = None,
                maxiter: int | None = None, backward: bool = True) -> np.ndarray:
    """Solve ``A x = b`` by restarted, preconditioned GMRES; raise if it does not converge.

    Converged: relative residual ``|A x - b| <= 100 rtol |b|``, or (``backward``) a backward
    error at the rounding floor of an ill-conditioned system,
    ``|A x - b| <= 100 rtol ||A||_1 |x|`` once the residual stops decreasing (GMRES cannot go
    below ``eps ||A|| |x|``; the forward error is then that of a backward-stable solve).

    Parameters
    ----------
    A : LinearOperator (n, n)
    b : (n,) or (n, r) complex
        One or several right-hand sides (solved one by one).
    M : LinearOperator, optional
        Approximate inverse of ``A`` (preconditioner).
    what : str
        Named in the error message.
    numerics : Numerics, optional
        ``gmres_rtol``, ``gmres_restart`` and ``gmres_maxiter`` (defaults of ``Numerics()``).
    rtol, maxiter : optional
        Override ``numerics.gmres_rtol`` and ``numerics.gmres_maxiter``.
    backward : bool
        Accept the backward-error floor (off for the uniqueness probe, where a singular
        system would pass it with a huge ``x``).

    Returns
    -------
    x : same shape as ``b``

    Raises
    ------
    IterativeSolveError
        Not converged after ``maxiter`` restart cycles.
    """
    numerics = numerics or Numerics()
    rtol = numerics.gmres_rtol if rtol is None else rtol
    maxiter = numerics.gmres_maxiter if maxiter is None else maxiter
    restart = numerics.gmres_restart
    b = np.asarray(b, complex)
    if b.ndim == 2:
        return np.stack([gmres_solve(A, c, M, what=what, numerics=numerics, rtol=rtol,
                                     maxiter=maxiter, backward=backward) for c in b.T], axis=1)
    nb = np.linalg.norm(b)
    if nb == 0:
        return np.zeros_like(b)
    x, last, done = None, np.inf, 0
    while done < maxiter:
        step = min(GMRES_CHECK, maxiter - done)
        x, _ = spla.gmres(A, b, x0=x, M=M, rtol=rtol, atol=0.0, restart=restart,
                          maxiter=step)
        done += step
        r = np.linalg.norm(A @ x - b)
        if not np.isfinite(r):
            break
        if r <= 100 * rtol * nb:
            return x
        if backward and r > 0.5 * last and r <= 100 * rtol * _norm1(A) * np.linalg.norm(x):
            return x  # stagnating at the rounding floor of an ill-conditioned system
        last = r
    raise IterativeSolveError(
        f"GMRES on the {what} did not converge (relative residual {last / nb:.1e} after "
        f"{done} restarts of {restart}): the generator is singular or badly "
        "conditioned there (a non-unique steady state?)")


def _norm1(A) -> float:
    """``||A||_1`` estimate (``scipy.sparse.linalg.onenormest``), kept on the operator."""
    n = getattr(A, "_norm1_estimate", None)
    if n is None:
        n = float(spla.onenormest(A))
        try:
            A._norm1_estimate = n
        except AttributeError:
            pass
    return n


#: Restart cycles of the uniqueness probe of :func:`iterative_rcond` (a singular zero block
#: never converges; a regular one needs one or two cycles).
PROBE_MAXITER = 4


def zero_preconditioner(op: LevelOperator) -> spla.LinearOperator:
    """Approximate inverse of the zero block ``M0 = L_0 + |w>><<1|`` (``op`` with
    ``rank_one``), in the basis of each degenerate level that diagonalises ``K_l``.

    Any orthonormal basis of a degenerate level is an eigenbasis of ``H``; in the one where
    ``K_l = W_l kappa W_l^+`` is diagonal the anticommutator ``-1/2 {K, X}`` is diagonal too.
    There the preconditioner inverts exactly the population corner (the classical rate matrix
    ``R - diag(sum_e R_e.) + 1/d``, ``R = sum_t (g o B)' o conj(C')`` of the rotated
    operators, one LU of ``d x d``) and divides the coherences inside levels by their diagonal
    ``sum_t (g o B)'_aa conj(C'_bb) - (kappa_a + kappa_b)/2``. Cost of setting up: one
    level-block rotation of each term (``O(d d0)``) and the LU.
    """
    st, blk, sl = op.block.structure, op.block, op.slices
    d = st.d
    ix = [np.arange(d)[x] for x in sl]
    rot = {}  # level -> W_l for the degenerate levels
    kap = np.empty(d)  # diagonal of K in the rotated basis
    for l in range(len(st.level_size)):
        K = op._Kl[l]
        if st.level_size[l] > 1:
            kap[ix[l]], rot[l] = np.linalg.eigh(0.5 * (K + np.conj(K.T)))
        else:
            kap[ix[l]] = np.real(np.diagonal(K))

    def rotate(M):  # W^+ M W with W = blockdiag(W_l)
        M = np.array(M, dtype=np.result_type(M, *rot.values()) if rot else M.dtype)
        for l, Wl in rot.items():
            M[ix[l], :] = np.conj(Wl.T) @ M[ix[l], :]
        for l, Wl in rot.items():
            M[:, ix[l]] = M[:, ix[l]] @ Wl
        return M

    R = 0.0
    diag_g = np.zeros((len(op.terms), d), complex)
    diag_c = np.zeros((len(op.terms), d), complex)
    for t, (g, B, C) in enumerate(op.terms):
        G = rotate(g * B)
        Cr = rotate(C)
        R = R + G * np.conj(Cr)
        diag_g[t], diag_c[t] = np.diagonal(G), np.conj(np.diagonal(Cr))
        del G, Cr
    if np.iscomplexobj(R) and not np.any(np.imag(R)):
        R = np.real(R)
    P = R - np.diag(np.sum(R, axis=0)) + 1.0 / d
    del R
    lu = sla.lu_factor(P, check_finite=False)
    del P
    # coherence diagonal per level pair (l, l), in the rotated basis
    cdiag = []
    for (l, _k) in blk.pairs:
        a = ix[l]
        v = np.einsum("ta,tb->ab", diag_g[:, a], diag_c[:, a])
        v -= 0.5 * (kap[a][:, None] + kap[a][None, :])
        v = np.where(np.abs(v) > 0, v, 1.0)
        cdiag.append(v)
    order = [ix[l] for l, _ in blk.pairs]

    def solve(y, adjoint):
        y = np.asarray(y).reshape(-1)
        Ys = blk.gather(y)
        Ys = [np.conj(rot[l].T) @ Y @ rot[l] if l in rot else Y.astype(complex)
              for (l, _), Y in zip(blk.pairs, Ys)]
        pops = np.empty(d, complex)
        for a, Y in zip(order, Ys):
            pops[a] = np.diagonal(Y)
        t = 1 if adjoint else 0
        if np.isrealobj(lu[0]):
            xp = (sla.lu_solve(lu, pops.real, trans=t, check_finite=False)
                  + 1j * sla.lu_solve(lu, pops.imag, trans=t, check_finite=False))
        else:
            xp = sla.lu_solve(lu, pops, trans=2 * t, check_finite=False)
        Xs = []
        for (l, _), a, Y, v in zip(blk.pairs, order, Ys, cdiag):
            X = Y / (np.conj(v) if adjoint else v)
            X[np.diag_indices(len(a))] = xp[a]
            Xs.append(rot[l] @ X @ np.conj(rot[l].T) if l in rot else X)
        return blk.scatter(Xs)

    return spla.LinearOperator(op.shape, matvec=lambda y: solve(y, False),
                               rmatvec=lambda y: solve(y, True), dtype=complex)


def iterative_rcond(op: spla.LinearOperator, M, what: str, seed: int = 0,
                    numerics: Numerics | None = None) -> tuple[float, float]:
    """``(||op||_1 estimate, reciprocal condition estimate)`` of a matrix-free block.

    ``||op^-1||_1`` is estimated from below by one preconditioned solve with a random
    right-hand side (``||x||_1 / ||b||_1``), so the returned ``rcond`` is an upper estimate;
    a solve that does not converge within ``PROBE_MAXITER`` restarts (a singular block: a
    non-unique steady state) gives ``rcond = 0``.
    """
    norm = _norm1(op)
    b = np.random.default_rng(seed).standard_normal(op.shape[0]).astype(complex)
    try:
        x = gmres_solve(op, b, M, what=what, numerics=numerics, maxiter=PROBE_MAXITER,
                        backward=False)
    except IterativeSolveError:
        return norm, 0.0
    return norm, float(np.abs(b).sum() / (norm * np.abs(x).sum()))


def jacobi(op: LevelOperator) -> spla.LinearOperator:
    """Diagonal preconditioner ``x -> x / diag(op)``."""
    dg = op.diagonal()
    dg = np.where(np.abs(dg) > 0, dg, 1.0)
    return spla.LinearOperator(op.shape, matvec=lambda x: np.asarray(x).reshape(-1) / dg,
                               rmatvec=lambda x: np.asarray(x).reshape(-1) / np.conj(dg),
                               dtype=complex)


__all__ = ["IterativeSolveError", "LevelBlock", "LevelOperator",
           "gmres_solve", "iterative_rcond", "jacobi", "level_norms", "level_rows",
           "level_slices", "zero_preconditioner"]


def empty_blocks(st: BlockStructure, dtype=float, dense_max: int | None = None
                 ) -> BlockOperator:
    """A zero :class:`BlockOperator` of the given dtype (to accumulate into).

    Parameters
    ----------
    st : BlockStructure
    dtype : dtype of the dense blocks
    dense_max : int, optional
        Blocks that :func:`~thermogeo.lindblad.blocks.matrix_free` selects (larger than
        this, made of degenerate levels) are not stored: they become one matrix-free
        :class:`LevelOperator` each (for the zero block) or per
        block size (all blocks of that size together), which collect the terms given to
        :func:`~thermogeo.lindblad.blocks.block_superop`. Default: every block dense.
    """
    free_zero = matrix_free(st, st.zero, dense_max)
    free = [matrix_free(st, i[0], dense_max) for i in st.multi]
    slices = level_slices(st) if free_zero or any(free) else None
    gains: dict = {}  # g o B of each term, shared by all the operators
    zero = (LevelOperator(LevelBlock(st, st.zero), slices=slices, gains=gains) if free_zero
            else np.zeros((st.d0, st.d0), dtype))
    multi = tuple(LevelOperator(LevelBlock(st, i.reshape(-1)), slices=slices, gains=gains)
                  if f else np.zeros((i.shape[0], i.shape[1], i.shape[1]), dtype)
                  for i, f in zip(st.multi, free))
    return BlockOperator(st, zero, np.zeros(len(st.single), dtype), multi)
