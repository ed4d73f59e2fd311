"""Bohr-block backend of the frozen generator: no ``d^2 x d^2`` matrix, ever.

:class:`BlockFrozen` implements the operations of
:class:`~thermogeo.lindblad.frozen.FrozenGenerator` from which
:mod:`thermogeo.response.response` computes (docs/theory.md section 4)::

    J_alpha        = Tr[H D_alpha rho_0]
    Lambda^alpha_i = Tr[H D_alpha L^D d_i rho_0]
    G_ij           = Tr[V_i L^D d_j rho_0]
    Omega^alpha    = Tr[V_x D z_y] + Tr[H (d_x D) z_y] - Tr[H D L^D (d_x L) z_y] - (x <-> y)

from the Bohr-block structure of the secular generator (:mod:`thermogeo.lindblad.blocks`):

* ``rho_0`` lives in the zero block (``d0 x d0``, ``d0 >= d``): one LU factorisation of
  ``L_0 + |w>><<1|`` (preconditioned GMRES when the block is matrix-free) gives the steady
  state and ``L^D`` on that block;
* ``L^D`` on every other block is a batch of small inverses (scalars for non-degenerate
  Bohr frequencies);
* ``Tr[H D_alpha x]`` reads the zero block of ``x`` only, through the energy row
  ``r_alpha = sum_a E_a D_alpha[(a,a), :]``;
* the eigenframe derivative of a superoperator ``S`` is ``dS~ + [X, S~]`` with
  ``X_mn = V~_mn / (E_n - E_m)`` (:mod:`thermogeo.lindblad.frozen`); ``dS~`` keeps the
  blocks, so only its zero block is needed, and the commutator part is applied through
  matrix products restricted to the zero-block elements. With ``[H, X] = -V~_off`` (``V~``
  without its entries inside degenerate levels) the first two rotor terms combine into
  ``Tr[V~_lev D_alpha z] + Tr[H dD~_alpha z] - r_alpha . [X, z]_0`` where ``V~_lev`` keeps only
  the entries inside levels (zero-block elements).

Cost: one ``eigh`` of ``H``, ``U^+ O U`` for every ``V_i`` and coupling (sparse ``O U`` and one
dense product), and, per bath and per differentiated parameter, the two products of
``dA~ = [A~, X]``; everything else is ``O(d^2)`` or an ``O(d0^3)`` factorisation of the zero
block. Memory: a few ``d x d`` arrays per bath at a time.
"""

from __future__ import annotations

import os
import warnings
import weakref

import numpy as np
import scipy.linalg as sla
import scipy.sparse as sp
from scipy.sparse.linalg import onenormest

from thermogeo.errors import InsufficientMemoryError
from thermogeo.lindblad.blocks import (BlockOperator, BlockStructure, block_structure,
                                       block_superop, matrix_free, zero_block)
from thermogeo.lindblad.levels import (IterativeSolveError,
                                       empty_blocks,
                                       LevelOperator, gmres_solve, iterative_rcond, jacobi,
                                       level_rows, zero_preconditioner)
from thermogeo.lindblad.frozen import FrozenGenerator
from thermogeo.lindblad.observables import entropy_and_log
from thermogeo.linalg.bohr import bohr_groups
from thermogeo.model.machine import Machine
from thermogeo.numerics import Numerics

#: Largest dimension for which the lab-frame steady state is returned (``Numerics``).
STATE_MAX_DIM = Numerics().state_max_dim

#: Elements of the temporaries the block kernels build at once (``_CHUNK`` of
#: :mod:`thermogeo.lindblad.blocks`), and the number of 8-byte index / value arrays of that
#: length alive together while a chunk of block entries is filled (counted in ``_entries``).
CHUNK_ELEMENTS = 2**20
CHUNK_ARRAYS = 10

_SPARSE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _sparse_operators(machine: Machine):
    """Sparse ``(H0, [V_i], [A_alpha])`` of a machine (cached per machine object)."""
    try:
        return _SPARSE[machine]
    except KeyError:
        pass

    def conv(M):
        M = sp.csr_matrix(M)
        return M.real.tocsr() if not np.any(M.data.imag) else M

    H0, Vs, As = machine.sparse_operators
    ops = (conv(H0), [conv(v) for v in Vs], [conv(a) for a in As])
    _SPARSE[machine] = ops
    return ops


def _to_eigenframe(U: np.ndarray, O: sp.csr_matrix) -> np.ndarray:
    """``U^+ O U`` with a sparse ``O``: one sparse and one dense product."""
    OU = O @ U
    return np.conj(U.T) @ OU


def _eigh(machine: Machine, lam: np.ndarray):
    return np.linalg.eigh(machine.dense_hamiltonian(lam))


class BlockSolve:
    """Steady state and Drazin inverse of the block generator ``L = -i[H, .] + D``.

    Parameters
    ----------
    D : BlockOperator
        ``sum_alpha D_alpha`` block by block; the Hamiltonian part ``-i nu_ab`` is added
        here, block by block, so no second copy of the blocks is kept.
    numerics : Numerics
        ``uniqueness_rcond``, ``lu_block``, ``inverse_budget_bytes`` and the GMRES options.
    zero_only : bool
        Only the zero block (enough for the steady state); :meth:`drazin` is then
        unavailable.
    rhs : (n, d*d) complex, optional
        Vectors to which ``L^D`` is applied while the small blocks are inverted (result in
        ``rhs_solution``), so that a single Drazin solve costs one pass over the blocks.
    keep_inverses : bool
        Keep the small-block inverses for later :meth:`drazin` calls (if they fit
        ``numerics.inverse_budget_bytes``); otherwise each call factorises the blocks again.

    Attributes
    ----------
    rho0 : (d0,) complex
        Zero-block components of the steady state (trace one, Hermitian).
    rcond : float
        Reciprocal 1-norm condition number of ``L + |w>><<1|`` (``w = 1/d``): exact on the
        small blocks, LAPACK's estimate (``gecon``) on the zero block and on blocks of size
        ``>= numerics.lu_block`` (which are LU-factorised, not inverted).
    unique : bool
    rhs_solution : (n, d*d) complex or None
        ``L^D rhs``.
    """

    def __init__(self, D: BlockOperator, numerics: Numerics, zero_only: bool = False,
                 rhs: np.ndarray | None = None, keep_inverses: bool = True):
        st = D.structure
        self.multi_inv = None
        self.multi_ops = {}
        self.rhs_solution = None
        out = None if rhs is None else np.zeros(rhs.shape, complex)
        self.structure, self.D, self.zero_only = st, D, zero_only
        self.numerics = numerics
        d, d0 = st.d, st.d0
        nu = st.nu.reshape(-1)
        self.lu = self.zero_op = None
        if isinstance(D.zero, np.ndarray):
            nu0 = nu[st.zero]
            M0 = D.zero.astype(complex if np.any(nu0) else D.zero.dtype)  # a copy
            M0[np.arange(d0), np.arange(d0)] += -1j * nu0 if np.any(nu0) else 0.0
            M0[:d, :d] += 1.0 / d  # |w>><<1| on the populations
            if np.iscomplexobj(M0) and not np.any(M0.imag):
                M0 = M0.real
            norm0 = np.abs(M0).sum(axis=0).max()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                self.lu = sla.lu_factor(M0, check_finite=False)
                gecon = sla.get_lapack_funcs("gecon", (M0,))
                rc0, _ = gecon(self.lu[0], norm0, norm="1")
            del M0
            diagU = np.abs(np.diagonal(self.lu[0]))
            if not np.all(np.isfinite(diagU)) or diagU.min() == 0:
                rc0 = 0.0
        else:  # matrix-free zero block: preconditioned GMRES (thermogeo.lindblad.levels)
            self.zero_op = D.zero.variant(hamiltonian=True, rank_one=True)
            self.zero_prec = zero_preconditioner(self.zero_op)
            norm0, rc0 = iterative_rcond(self.zero_op, self.zero_prec, "zero Bohr block",
                                         numerics=numerics)
        inv_norm = 1.0 / (rc0 * norm0) if rc0 > 0 else np.inf
        norm = norm0
        if not zero_only:
            lsingle = D.single - 1j * nu[st.single]
            with np.errstate(divide="ignore", invalid="ignore"):
                self.single_inv = 1.0 / lsingle
            if out is not None:
                out[:, st.single] = self.single_inv * rhs[:, st.single]
            if len(lsingle):
                norm = max(norm, np.abs(lsingle).max())
                inv_norm = max(inv_norm, np.abs(self.single_inv).max())
            del lsingle
            keep = keep_inverses and 16 * sum(b.size for b in D.multi if isinstance(b, np.ndarray)
                                              ) <= numerics.inverse_budget_bytes
            self.multi_inv = [] if keep else None
            for j in range(len(st.multi)):
                invs = []
                idx = st.multi[j]
                if not isinstance(D.multi[j], np.ndarray):  # matrix-free (GMRES)
                    op = D.multi[j].variant(hamiltonian=True)
                    self.multi_ops[j] = (op, jacobi(op))
                    if keep:
                        self.multi_inv.append(None)
                    if out is not None:
                        try:
                            out[:, idx.reshape(-1)] = self._multi_solve(j, rhs[:, idx.reshape(-1)])
                        except IterativeSolveError:
                            inv_norm = np.inf
                    continue
                large = idx.shape[1] >= numerics.lu_block
                for sl, blk in self._multi_blocks(j):
                    if large:  # LU and LAPACK's condition estimate, block by block
                        for b, M in enumerate(blk):
                            nm = np.abs(M).sum(axis=0).max()
                            lu = sla.lu_factor(M, check_finite=False)
                            rc_b, _ = sla.get_lapack_funcs("gecon", (M,))(lu[0], nm, norm="1")
                            norm = max(norm, nm)
                            inv_norm = max(inv_norm, 1.0 / (rc_b * nm) if rc_b > 0 else np.inf)
                            if keep:
                                invs.append(lu)
                            if out is not None:
                                cols = idx[sl][b]
                                out[:, cols] = sla.lu_solve(lu, rhs[:, cols].T,
                                                            check_finite=False).T
                        continue
                    norm = max(norm, np.abs(blk).sum(axis=-2).max())
                    try:
                        inv = np.linalg.inv(blk)
                    except np.linalg.LinAlgError:
                        inv = np.full_like(blk, np.inf)
                    inv_norm = max(inv_norm, np.abs(inv).sum(axis=-2).max())
                    if keep:
                        invs.append(inv)
                    if out is not None:
                        out[:, idx[sl]] = np.einsum("bij,nbj->nbi", inv, rhs[:, idx[sl]])
                if keep:
                    self.multi_inv.append(invs if large else np.concatenate(invs))
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            rc = 1.0 / (norm * inv_norm)
        self.rcond = float(np.nan_to_num(rc, nan=0.0))
        self.unique = bool(self.rcond >= numerics.uniqueness_rcond)
        w = np.zeros(d0)
        w[:d] = 1.0 / d
        with warnings.catch_warnings(), np.errstate(invalid="ignore", divide="ignore"):
            warnings.simplefilter("ignore")
            try:
                x = self.zero_solve(w)
            except IterativeSolveError:
                x = np.full(d0, np.nan)
            self.rho0 = _clean_state(st, x)
        if out is not None and not zero_only:
            if self.unique or self.lu is not None:
                out[:, st.zero] = self.zero_drazin(rhs[:, st.zero])
            else:  # a singular matrix-free zero block: GMRES would not converge
                out[...] = np.nan
            self.rhs_solution = out

    def _multi_blocks(self, j: int):
        """Chunks ``(slice, L blocks (nb, s, s))`` of the ``j``-th batch of larger blocks."""
        st = self.structure
        idx, Dm = st.multi[j], self.D.multi[j]
        s = idx.shape[1]
        nu = st.nu.reshape(-1)
        step = max(1, 2**20 // (s * s))
        ar = np.arange(s)
        for i in range(0, idx.shape[0], step):
            sl = slice(i, i + step)
            blk = Dm[sl].astype(complex)
            blk[:, ar, ar] += -1j * nu[idx[sl]]
            yield sl, blk

    def zero_solve(self, y0: np.ndarray, transposed: bool = False,
                   rtol: float | None = None) -> np.ndarray:
        """``M0^{-1} y0`` (or ``M0^{-T} y0``) on zero-block vectors ``y0 (..., d0)``, with
        ``M0 = L_0 + |w>><<1|``: LU solves, or GMRES (to ``rtol``) on a matrix-free zero
        block."""
        flat = y0.reshape(-1, y0.shape[-1]).T
        if self.lu is None:
            op, M = self.zero_op, self.zero_prec
            if transposed:  # M0^T x = y  <=>  M0^+ conj(x) = conj(y)
                x = np.conj(gmres_solve(op.H, np.conj(flat), M.H, what="zero Bohr block",
                                        numerics=self.numerics, rtol=rtol))
            else:
                x = gmres_solve(op, flat, M, what="zero Bohr block", numerics=self.numerics,
                                rtol=rtol)
        elif np.isrealobj(self.lu[0]) and np.iscomplexobj(flat):
            t = int(transposed)
            x = (sla.lu_solve(self.lu, flat.real, trans=t, check_finite=False)
                 + 1j * sla.lu_solve(self.lu, flat.imag, trans=t, check_finite=False))
        else:
            x = sla.lu_solve(self.lu, flat.astype(np.result_type(self.lu[0], flat)),
                             trans=int(transposed), check_finite=False)
        return x.T.reshape(y0.shape[:-1] + (x.shape[0],))

    def zero_drazin(self, y0: np.ndarray) -> np.ndarray:
        """``L^D`` on zero-block vectors ``y0 (..., d0)``: ``M0^{-1} (y0 - rho0 Tr y0)``."""
        d = self.structure.d
        y0 = y0 - self.rho0 * y0[..., :d].sum(axis=-1, keepdims=True)
        return self.zero_solve(y0)

    def _multi_solve(self, j: int, y: np.ndarray) -> np.ndarray:
        """``L^{-1}`` on the matrix-free blocks of size class ``j``: ``y (n, nb*s)``."""
        op, M = self.multi_ops[j]
        return gmres_solve(op, np.asarray(y, complex).T, M, numerics=self.numerics,
                           what=f"Bohr blocks of size {self.structure.multi[j].shape[1]}").T

    def drazin(self, y: np.ndarray) -> np.ndarray:
        """``L^D y`` for vectorised operators ``y (n, d*d)`` (small blocks solved afresh)."""
        if self.zero_only:
            raise ValueError("drazin: this BlockSolve was built with zero_only=True")
        st = self.structure
        out = np.zeros(y.shape, complex)
        out[:, st.zero] = self.zero_drazin(y[:, st.zero])
        out[:, st.single] = self.single_inv * y[:, st.single]
        for j, idx in enumerate(st.multi):
            if j in self.multi_ops:
                out[:, idx.reshape(-1)] = self._multi_solve(j, y[:, idx.reshape(-1)])
                continue
            if self.multi_inv is not None and isinstance(self.multi_inv[j], list):  # LU
                for b, lu in enumerate(self.multi_inv[j]):
                    out[:, idx[b]] = sla.lu_solve(lu, y[:, idx[b]].T, check_finite=False).T
                continue
            if self.multi_inv is not None:
                out[:, idx] = np.einsum("bij,nbj->nbi", self.multi_inv[j], y[:, idx])
                continue
            for sl, blk in self._multi_blocks(j):
                rhs = np.moveaxis(y[:, idx[sl]], 0, -1)  # (nb, s, n)
                out[:, idx[sl]] = np.moveaxis(np.linalg.solve(blk, rhs), -1, 0)
        return out


def _clean_state(st: BlockStructure, x: np.ndarray) -> np.ndarray:
    """Hermitian part, trace one, of a zero-block state vector."""
    d = st.d
    R = _zero_to_sparse(st, x)
    R = 0.5 * (R + R.conj().T)
    x = np.asarray(R[st.zero // d, st.zero % d]).ravel()
    return x / x[:d].sum()


def _zero_to_sparse(st: BlockStructure, x0: np.ndarray) -> sp.csr_matrix:
    d = st.d
    a, b = np.divmod(st.zero, d)
    return sp.csr_matrix((np.asarray(x0, complex), (a, b)), shape=(d, d))


def _comm0(st: BlockStructure, P, Q) -> np.ndarray:
    """``(P Q - Q P)`` at the zero-block elements, ``(d0,)``, for dense ``(d, d)`` P, Q."""
    d = st.d
    out = np.empty(st.d0, complex)
    out[:d] = np.einsum("ac,ca->a", P, Q) - np.einsum("ac,ca->a", Q, P)
    if st.d0 > d:  # coherences inside levels: one product of level rows and columns each
        a, b = np.divmod(st.zero[d:], d)
        la = st.level[a]
        for l in np.unique(la):
            sel = np.flatnonzero(la == l)
            idx = st.level_members[st.level_start[l]:st.level_start[l] + st.level_size[l]]
            M = P[idx] @ Q[:, idx] - Q[idx] @ P[:, idx]
            out[d + sel] = M[st.level_pos[a[sel]], st.level_pos[b[sel]]]
    return out


def _dense_comm(X: np.ndarray, R: sp.csr_matrix) -> np.ndarray:
    """``X R - R X`` (dense ``(d, d)``) for dense ``X`` and sparse zero-block ``R``."""
    XR = (R.T @ X.T).T
    return np.asarray(XR - R @ X)


def estimate_response_bytes(d: int, d0: int, n_single: int, multi_sizes: dict[int, int], *,
                            parameters: int, derivatives: int, baths: int, plane: bool,
                            real: bool, method: str = "gibbs", free_sizes=(),
                            numerics: Numerics | None = None) -> dict[str, int]:
    """Bytes of the arrays of one structured pointwise response, by component.

    Counted from :class:`BlockFrozen` (one point, structured kernel),
    with ``s`` the item size of the eigenframe arrays (8 real, 16 complex), ``k`` parameters,
    ``n`` differentiated parameters, ``S2 = sum over small blocks of size^2``::

        held   = s d^2 (U) + 24 d^2 (frequencies, labels, element index) + 8 d^2 (omega)
               + k s d^2 (V~_i) + n (s + 8) d^2 (X_i, dW_i)
               + s (d0^2 + n1 + S2) (dissipator blocks) + 16 n d0^2 (zero-block dL_i)
               + s d0^2 (LU of the zero block) + 32 k d^2 (d rho_0 and z = L^D d rho_0)
               + 16 S2 (small-block inverses, general method, if <= 2 GiB)
               + 16 d^2 (lab-frame steady state, d <= 1024)
        peak   = held + max(transients)
        transients: eigh 3 s d^2; Bohr grouping 100 d^2; per bath 3 s d^2 + 16 d^2
                    + s d0^2 + 16 d0^2 + block fill; zero-block system 32 d0^2;
                    rotor commutators (level rows and columns) 64 d sqrt(d0).
        block fill: 80 bytes per entry of the largest chunk of block entries built at once,
                    max(d (d0 - d), min(2^20, (d0 - d)^2), min(2^20, count s^2) per size).

    Blocks whose size is in ``free_sizes`` are matrix-free
    (:mod:`thermogeo.lindblad.levels`): they store no entries; instead the eigenframe couplings
    are kept (``m s d^2``, plus ``n m s d^2`` for the derivative terms when the zero block is
    matrix-free), their level-pair products are cached (``<= m s d^2``), and GMRES holds
    ``numerics.gmres_restart + 6`` complex vectors of the largest matrix-free set of blocks.

    Parameters
    ----------
    d, d0, n_single : int
        Dimension, zero-block size, number of one-element blocks.
    multi_sizes : dict
        ``{size: count}`` of the blocks of size > 1 other than the zero block.
    parameters, derivatives, baths : int
        ``k``, ``n`` (all parameters with the general method, the rotor plane with the Gibbs
        one) and ``m``.
    plane : bool
        Whether the rotor is computed.
    real : bool
        ``H`` and the couplings are real (the kernels then work in real arithmetic).
    method : {"gibbs", "general"}
    free_sizes : collection of int
        Sizes of the blocks (``d0`` for the zero block) that are matrix-free
        (:func:`free_block_sizes`); default none.
    numerics : Numerics, optional
        ``inverse_budget_bytes`` and ``gmres_restart`` (default ``Numerics()``).

    Returns
    -------
    dict
        Component name -> bytes, with ``"total"`` the estimated peak.
    """
    numerics = numerics or Numerics()
    s = 8 if real else 16
    k, n, d2 = parameters, derivatives, d * d

    def big(size):
        return size in free_sizes

    free = [d0] * big(d0) + [size * count for size, count in multi_sizes.items() if big(size)]
    multi_sizes = {size: count for size, count in multi_sizes.items() if not big(size)}
    z2 = 0 if big(d0) else d0 * d0
    S2 = sum(size * size * count for size, count in multi_sizes.items())
    held = {
        "eigenvectors": s * d2,
        "block structure": 24 * d2 + 8 * d2,
        "eigenframe V_i": k * s * d2,
        "perturbation X_i": n * (s + 8) * d2,
        "dissipator blocks": s * (z2 + n_single + S2),
        "zero-block derivatives": 16 * n * z2,
        "zero-block LU": s * z2,
        "d rho_0 and z": 32 * k * d2,
        "small-block inverses": (16 * S2 if method == "general"
                                 and 16 * S2 <= numerics.inverse_budget_bytes else 0),
        "steady state": 16 * d2 if d <= STATE_MAX_DIM else 0,
    }
    if free:
        held["matrix-free blocks"] = (2 * baths * s * d2 + baths * n * s * d2 * big(d0)
                                      + 16 * (numerics.gmres_restart + 6) * max(free))
    coh = d0 - d if z2 else 0
    fill = 8 * CHUNK_ARRAYS * max([d * coh, min(CHUNK_ELEMENTS, coh * coh)]
                                  + [min(CHUNK_ELEMENTS, size * size * count)
                                     for size, count in multi_sizes.items()])
    transient = {
        "eigh": 3 * s * d2,
        "Bohr grouping": 100 * d2,
        "bath loop": 3 * s * d2 + 16 * d2 + s * z2 + 16 * z2 + fill,
        "zero-block system": 32 * z2,
        "rotor commutators": 64 * d * int(np.sqrt(d0)) if plane and d0 > d else 0,
    }
    out = dict(held)
    top = max(transient, key=transient.get)
    out[f"transient ({top})"] = transient[top]
    out["total"] = int(sum(held.values()) + transient[top])
    return {key: int(v) for key, v in out.items()}


def free_block_sizes(st: BlockStructure, numerics: Numerics) -> set[int]:
    """Sizes of the Bohr blocks that the structured kernels apply matrix-free
    (:func:`thermogeo.lindblad.blocks.matrix_free`; ``d0`` stands for the zero block)."""
    dmax = numerics.dense_block_max
    out = {st.d0} if matrix_free(st, st.zero, dmax) else set()
    return out | {i.shape[1] for i in st.multi if matrix_free(st, i[0], dmax)}


def available_memory_bytes() -> int:
    """Memory the kernels may use: ``MemAvailable`` of ``/proc/meminfo`` (Linux), else the
    physical memory."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def check_memory(machine: Machine, st: BlockStructure, derivatives: int,
                 numerics: Numerics | None = None) -> None:
    """Refuse a point whose Bohr blocks cannot be held: raise
    :class:`~thermogeo.errors.InsufficientMemoryError` when the estimate of
    :func:`estimate_response_bytes` exceeds the available memory."""
    multi = {blk.shape[1]: blk.shape[0] for blk in st.multi}
    need = estimate_response_bytes(
        st.d, st.d0, len(st.single), multi, parameters=len(machine.parameters),
        derivatives=derivatives, baths=len(machine.baths), plane=derivatives >= 2,
        real=False, method="general" if derivatives else "gibbs",
        free_sizes=free_block_sizes(st, numerics or Numerics()), numerics=numerics)["total"]
    have = available_memory_bytes()
    if need > have:
        biggest = max([st.d0] + list(multi))
        raise InsufficientMemoryError(
            f"{machine.name or 'machine'}: the secular generator's Bohr blocks need about "
            f"{need / 2**30:.1f} GiB (zero block {st.d0} x {st.d0}, largest block {biggest}; "
            f"energy levels up to {int(st.level_size.max())}-fold degenerate) but "
            f"{have / 2**30:.1f} GiB are available. Highly degenerate spectra (uniform fields "
            "on all-to-all graphs: collective spin multiplets) make dense blocks of this size; "
            "break the degeneracy (site-dependent fields or couplings) or use fewer qubits")


def _rates(bath, omega, derivative: bool, cache: dict):
    """``(gamma(omega), dgamma/domega or None)`` of a bath, shared through ``cache`` by baths
    with the same spectral density and temperature (``d x d`` evaluations are not cheap)."""
    try:
        key = (bath.spectral_density, bath.temperature, derivative)
        hash(key)
    except TypeError:
        key = None
    if key is not None and key in cache:
        return cache[key]
    out = (bath.rate(omega), bath.rate_derivative(omega) if derivative else None)
    if key is not None:
        cache[key] = out
    return out


def _zero_piece(D: BlockOperator, terms):
    """The zero block of ``sum_terms S(g, B, C)``: dense ``(d0, d0)`` when ``D``'s is, else a
    matrix-free :class:`~thermogeo.lindblad.levels.LevelOperator` on the same levels."""
    if isinstance(D.zero, np.ndarray):
        return zero_block(D.structure, terms)
    return LevelOperator(D.zero.block, terms, slices=D.zero.slices, cache=False)


def _zero_sum(D: BlockOperator):
    """An empty accumulator for :func:`_zero_piece` results (see :func:`_zero_add`)."""
    if isinstance(D.zero, np.ndarray):
        return np.zeros((D.structure.d0, D.structure.d0), complex)
    return LevelOperator(D.zero.block, slices=D.zero.slices, cache=False)


def _zero_add(acc, piece) -> None:
    if isinstance(acc, np.ndarray):
        acc += piece
    else:
        acc.absorb(piece)


def _add_bath(D: BlockOperator, g: np.ndarray, At: np.ndarray):
    """Add ``S(g, A~, A~)`` of one bath to ``D`` (every block) and return its zero block
    (:func:`_zero_piece`), which the callers reduce to per-bath rows."""
    block_superop(D.structure, g, At, At, out=D)
    Za = _zero_piece(D, [(g, At, At)])
    if isinstance(D.zero, np.ndarray):  # a matrix-free zero block got the term above
        D.zero[...] += Za
    return Za


def _zero_row(Z, y: np.ndarray) -> np.ndarray:
    """``y^T Z`` for a zero-block piece; ``y`` is ``(d0,)``, or ``(d,)`` for the energies on
    the populations (zero on the coherences)."""
    if isinstance(Z, np.ndarray):
        return y @ Z[:len(y)]
    if len(y) < Z.shape[0]:
        y = np.concatenate([y, np.zeros(Z.shape[0] - len(y))])
    return level_rows(Z, y)




class BlockFrozen(FrozenGenerator):
    """:class:`~thermogeo.lindblad.frozen.FrozenGenerator` on the Bohr blocks, at one point.

    Vectors are full eigenframe ``(1, n, d*d)`` arrays; the generator itself is held block by
    block (:class:`~thermogeo.lindblad.blocks.BlockOperator`), the steady state and the heat
    rows on the zero block only. The derivative of the dissipators along each prepared
    direction is kept as its zero block ``F0`` (``dD~`` keeps the blocks), its energy rows and
    the rows of ``V~_lev`` (``V~`` inside levels), which is what :meth:`dheat`, :meth:`dgen`
    with ``zero_only`` and :meth:`dgen_steady` need.

    The block solver (:class:`BlockSolve`) is built on first use; when that use is
    :meth:`drazin`, the small blocks are inverted and applied in the same pass.

    Parameters
    ----------
    machine : Machine
    lam : (1, k) or (k,)
    numerics : Numerics
    directions : (1, n, k) or (n, k), optional
    keep_inverses : bool
        Keep the small-block inverses for later :meth:`drazin` calls (see :class:`BlockSolve`).
    """

    def __init__(self, machine: Machine, lam, numerics: Numerics, directions=None,
                 keep_inverses: bool = True):
        self.machine, self.numerics = machine, numerics
        k = len(machine.parameters)
        self.lam = np.asarray(lam, dtype=float).reshape(-1, k)
        if len(self.lam) != 1:
            raise ValueError(f"BlockFrozen: expected one point, got {len(self.lam)}")
        d, m = machine.dim, len(machine.baths)
        E, U = _eigh(machine, self.lam[0])
        groups = bohr_groups(E, numerics.degeneracy_tol)
        st = block_structure(E, groups)
        v = None if directions is None else np.asarray(directions, float).reshape(-1, k)
        n = 0 if v is None else len(v)
        check_memory(machine, st, n, numerics)
        omega = groups.omega
        w = np.unique(omega)
        self._gap = float(np.diff(w).min()) if len(w) > 1 else np.inf
        del groups
        _, Vs, As = _sparse_operators(machine)
        self.st, self.keep_inverses = st, keep_inverses
        self.E, self.U = E[None], U[None]
        self.Vt = np.stack([_to_eigenframe(U, V) for V in Vs])[None]
        self.directions = None if v is None else v[None]
        self._solver = self._left = self._last = None
        self.Vdir = self.X = None
        real = not np.iscomplexobj(U) and not any(np.iscomplexobj(A.data) for A in As)
        self.D = D = empty_blocks(st, float if real else complex, numerics.dense_block_max)
        self.rows = rows = np.zeros((m, st.d0), complex)
        if n:
            self.Vdir = Vdir = self.direction_operators(v[None])[0]
            self.X = X = self.perturbation(Vdir[None])[0]
            dE = np.real(np.diagonal(Vdir, axis1=-2, axis2=-1))
            dW = dE[:, None, :] - dE[:, :, None]
            za, zb = np.divmod(st.zero, d)
            same = st.level[za] == st.level[zb]
            vlev = np.where(same, Vdir[:, zb, za], 0.0)
            self.F0 = [_zero_sum(D) for _ in range(n)]
            self.rfix = np.zeros((n, m, st.d0), complex)
            self.q = np.zeros((n, m, st.d0), complex)
        rate_cache: dict = {}  # baths with equal spectral density and temperature share rates
        dwr: dict = {}
        for alpha, bath in enumerate(machine.baths):
            At = _to_eigenframe(U, As[alpha])
            g, drate = _rates(bath, omega, bool(n), rate_cache)
            Za = _add_bath(D, g, At)
            rows[alpha] = _zero_row(Za, E)
            for j in range(n):
                self.q[j, alpha] = _zero_row(Za, vlev[j])
            del Za
            for j in range(n):
                # X is anti-Hermitian, so X A~ = -(A~ X)^+ and [A~, X] = P + P^+ with P = A~ X
                dA = At @ X[j]
                dA += dA.conj().T.copy()
                key = (id(drate), j)  # baths that share rates share drate * dW_j (the entry
                if key not in dwr:  # keeps drate alive, so its id is not reused)
                    dwr[key] = (drate, drate * dW[j])
                Fa = _zero_piece(D, [(dwr[key][1], At, At), (g, dA, At), (g, At, dA)])
                _zero_add(self.F0[j], Fa)
                self.rfix[j, alpha] = _zero_row(Fa, E)
                del dA, Fa
            del At, g

    # --- the block solver, built on first use -----------------------------------------
    def _solve(self, rhs: np.ndarray | None = None) -> BlockSolve:
        if self._solver is None:
            with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
                self._solver = BlockSolve(self.D, self.numerics, rhs=rhs,
                                          keep_inverses=self.keep_inverses)
        return self._solver

    @property
    def solver(self) -> BlockSolve:
        return self._solve()

    @property
    def rcond(self):
        return np.array([self._solve().rcond])

    @property
    def unique(self):
        return np.array([self._solve().unique])

    @property
    def rho_zero(self) -> np.ndarray:
        """``(d0,)``: the zero-block elements of the steady state."""
        return self._solve().rho0

    @property
    def rho0(self):
        out = np.zeros((1, self.dim**2), complex)
        out[0, self.st.zero] = self.rho_zero
        if not self.unique[0]:
            out[...] = np.nan
        return out

    def state_matrix(self) -> sp.csr_matrix:
        """The steady state in the eigenframe as a sparse ``(d, d)`` matrix."""
        return _zero_to_sparse(self.st, self.rho_zero)

    def drazin(self, y):
        y = np.asarray(y)
        if self._solver is None:
            flat = y.reshape(-1, y.shape[-1])
            solver = self._solve(rhs=flat)
            if solver.rhs_solution is not None:
                return solver.rhs_solution.reshape(y.shape)
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            return self._solve().drazin(y.reshape(-1, y.shape[-1])).reshape(y.shape)

    def heat(self, y):
        return np.real(np.asarray(y)[..., self.st.zero] @ self.rows.T)

    def heat_drazin(self, y):
        y0 = np.asarray(y)[..., self.st.zero]
        if self._left is not None:  # released: y is traceless (see release)
            return np.real(y0 @ self._left.T)
        return np.real(self._solve().zero_drazin(y0) @ self.rows.T)

    def release(self):
        if self._left is None:
            self._left = self.left_heat_drazin_rows()
        self.D = self._solver = self.F0 = self.q = self.rfix = self.X = self._last = None

    def dgen(self, j, y, zero_only=False):
        """Only with ``zero_only``: the derivative of the non-zero blocks is never formed
        (:meth:`dgen_steady` gives ``(d_v L) rho_0`` in full)."""
        if not zero_only:
            raise NotImplementedError("BlockFrozen.dgen: only zero_only=True (use dgen_steady "
                                      "for (d_v L) rho_0)")
        st, d = self.st, self.dim
        out = np.zeros(np.shape(y), complex)
        czs = self._x_comm(j, y)
        for idx in np.ndindex(*np.shape(y)[:-1]):
            Y = np.asarray(y[idx]).reshape(d, d)
            cz = czs[idx]
            DY = self.D.apply(Y.reshape(-1)).reshape(d, d)
            out[idx + (st.zero,)] = (-1j * _comm0(st, self.Vdir[j], Y)
                                     + self.F0[j] @ Y.reshape(-1)[st.zero]
                                     + _comm0(st, self.X[j], DY) - self.D.zero @ cz)
        return out

    def dgen_steady(self, j):
        st, d = self.st, self.dim
        R = self.state_matrix()
        Y0 = _zero_to_sparse(st, self.D.zero @ self.rho_zero)  # D rho_0, inside the zero block
        y = -1j * _dense_comm(self.Vdir[j], R)
        y.reshape(-1)[st.zero] += self.F0[j] @ self.rho_zero
        y += _dense_comm(self.X[j], Y0)
        y -= self.D.apply(_dense_comm(self.X[j], R).reshape(-1)).reshape(d, d)
        return y.reshape(1, -1)

    def dheat(self, j, y):
        y = np.asarray(y)
        y0 = y[..., self.st.zero]
        cz = self._x_comm(j, y)
        return np.real(y0 @ (self.q[j] + self.rfix[j]).T - cz @ self.rows.T)

    def _x_comm(self, j: int, y) -> np.ndarray:
        """``[X_j, y]`` on the zero block, ``(..., d0)`` (the last result is kept: the rotor
        asks for it in :meth:`dheat` and :meth:`dgen`)."""
        if self._last is not None and self._last[0] == j and self._last[1] is y:
            return self._last[2]
        y = np.asarray(y)
        d = self.dim
        cz = np.stack([_comm0(self.st, self.X[j], y[idx].reshape(d, d))
                       for idx in np.ndindex(*y.shape[:-1])]).reshape(y.shape[:-1] + (-1,))
        self._last = (j, y, cz)
        return cz

    def same_level(self):
        return (self.st.level[:, None] == self.st.level[None, :])[None]

    def _bohr_gap(self):
        return np.array([self._gap])

    def _rate_bound(self):
        D = self.D

        def bound(M):  # (..., s, s) -> column Gershgorin bound
            if not isinstance(M, np.ndarray):  # matrix-free block: its 1-norm, a larger bound
                return float(onenormest(M))
            a = np.abs(M)
            diag = np.abs(np.diagonal(M, axis1=-2, axis2=-1).real)
            return float((a.sum(axis=-2) - np.diagonal(a, axis1=-2, axis2=-1) + diag).max())

        single = float(np.abs(D.single.real).max(initial=0.0))
        return np.array([max([bound(D.zero), single] + [bound(b) for b in D.multi])])

    def _bohr_order(self):
        st, d = self.st, self.dim
        order = (st.order % d) * d + st.order // d  # element (a, b) is [n, m] = [b, a]
        lab = np.ascontiguousarray(st.label).reshape(-1)[order]
        starts = np.flatnonzero(np.r_[True, lab[1:] != lab[:-1]])
        return order, starts, np.zeros(len(starts), int)

    def entropy(self):
        """Level by level: ``rho~_0`` is block diagonal over the degenerate levels, so
        ``S`` and ``ln rho~_0`` come from :func:`~thermogeo.lindblad.observables.
        entropy_and_log` of the level blocks (grouped by size)."""
        st = self.st
        R = self.state_matrix()
        S = 0.0
        logs = []
        for s in np.unique(st.level_size):
            levels = np.flatnonzero(st.level_size == s)
            idx = np.stack([st.level_members[st.level_start[li]:st.level_start[li] + s]
                            for li in levels])  # (nl, s)
            if s == 1:
                blocks = np.real(R.diagonal())[idx[:, 0]].reshape(-1, 1, 1)
            else:
                blocks = np.stack([R[i][:, i].toarray() for i in idx])
                blocks = 0.5 * (blocks + np.conj(np.swapaxes(blocks, -1, -2)))
            Sl, Ll = entropy_and_log(blocks)
            S += Sl.sum()
            logs.append((idx, Ll))
        return np.array([S]), logs

    def entropy_gradient(self, log, drho):
        d = self.dim
        drho = np.asarray(drho).reshape(drho.shape[:-1] + (d, d))
        out = np.zeros(drho.shape[:-2])
        for idx, Ll in log:  # -Tr[ln rho drho] block by block
            sub = drho[..., idx[:, :, None], idx[:, None, :]]  # (..., nl, s, s)
            out -= np.real(np.einsum("lxy,...lyx->...", Ll, sub))
        return out

    def left_heat_drazin_rows(self) -> np.ndarray:
        """``(m, d0)``: the rows ``<<H| D_alpha L^D`` on the zero block (``L^D`` keeps the
        blocks and the energy rows live on the zero block), so that
        ``heat_drazin(y) = rows^D . y[zero]`` for traceless ``y``."""
        solver = self._solve()
        x = solver.zero_solve(self.rows, transposed=True)
        # r^D = x - (x . rho_0) e,  e = indicator of the populations
        x[:, :self.dim] -= (x @ solver.rho0)[:, None]
        return x
