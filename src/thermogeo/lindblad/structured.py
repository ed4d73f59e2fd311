"""Pointwise response with structured eigenframe kernels: no ``d^2 x d^2`` matrix, ever.

Computes the quantities of :mod:`thermogeo.response.response` (docs/theory.md section 4)::

    J_alpha        = Tr[H D_alpha rho_0]
    Lambda^alpha_i = Tr[H D_alpha L^D d_i rho_0]
    G_ij           = Tr[V_i L^D d_j rho_0]
    Omega^alpha    = Tr[V_x D z_y] + Tr[H (d_x D) z_y] - Tr[H D L^D (d_x L) z_y] - (x <-> y)

from the Bohr-block structure of the secular generator (:mod:`thermogeo.lindblad.blocks`):

* ``rho_0`` lives in the zero block (``d0 x d0``, ``d0 >= d``): one LU factorisation of
  ``L_0 + |w>><<1|`` gives the steady state and ``L^D`` on that block;
* ``L^D`` on every other block is a batch of small inverses (scalars for non-degenerate
  Bohr frequencies);
* ``Tr[H D_alpha x]`` reads the zero block of ``x`` only, through the energy row
  ``r_alpha = sum_a E_a D_alpha[(a,a), :]``;
* the eigenframe derivative of a superoperator ``S`` is ``dS~ + [X, S~]`` with
  ``X_mn = V~_mn / (E_n - E_m)`` (:mod:`thermogeo.response.derivatives`); ``dS~`` keeps the
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
from dataclasses import dataclass

import numpy as np
import scipy.linalg as sla
import scipy.sparse as sp

from thermogeo.errors import InsufficientMemoryError, NonUniqueSteadyStateError
from thermogeo.lindblad.blocks import (BlockOperator, BlockStructure, block_structure,
                                       block_superop, empty_blocks, matrix_free, zero_block)
from thermogeo.lindblad.levels import (GMRES_RTOL, IterativeSolveError, LevelBlock,
                                       LevelOperator, gmres_solve, iterative_rcond, jacobi,
                                       level_rows, zero_preconditioner)
from thermogeo.linalg.bohr import bohr_groups
from thermogeo.model.machine import Machine
from thermogeo.numerics import Numerics

#: Largest dimension for which :func:`structured_chunk` returns the lab-frame steady state.
STATE_MAX_DIM = 1024
#: The inverses of the small Bohr blocks are kept (and reused by every Drazin solve) when
#: they take at most this many bytes; otherwise each solve factorises them again.
INVERSE_BUDGET_BYTES = 2 * 2**30
#: Bohr blocks of at least this size are LU-factorised one by one (a third of the cost of an
#: inverse); smaller ones are inverted as batches.
LU_BLOCK = 48

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
    uniqueness_rcond : float
    zero_only : bool
        Only the zero block (enough for the steady state); :meth:`drazin` is then
        unavailable.
    rhs : (n, d*d) complex, optional
        Vectors to which ``L^D`` is applied while the small blocks are inverted (result in
        ``rhs_solution``), so that a single Drazin solve costs one pass over the blocks.
    keep_inverses : bool
        Keep the small-block inverses for later :meth:`drazin` calls (if they fit
        ``INVERSE_BUDGET_BYTES``); otherwise each call factorises the blocks again.

    Attributes
    ----------
    rho0 : (d0,) complex
        Zero-block components of the steady state (trace one, Hermitian).
    rcond : float
        Reciprocal 1-norm condition number of ``L + |w>><<1|`` (``w = 1/d``): exact on the
        small blocks, LAPACK's estimate (``gecon``) on the zero block and on blocks of size
        ``>= LU_BLOCK`` (which are LU-factorised, not inverted).
    unique : bool
    rhs_solution : (n, d*d) complex or None
        ``L^D rhs``.
    """

    def __init__(self, D: BlockOperator, uniqueness_rcond: float, zero_only: bool = False,
                 rhs: np.ndarray | None = None, keep_inverses: bool = True):
        st = D.structure
        self.multi_inv = None
        self.multi_ops = {}
        self.rhs_solution = None
        out = None if rhs is None else np.zeros(rhs.shape, complex)
        self.structure, self.D, self.zero_only = st, D, zero_only
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
            norm0, rc0 = iterative_rcond(self.zero_op, self.zero_prec, "zero Bohr block")
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
                                              ) <= INVERSE_BUDGET_BYTES
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
                large = idx.shape[1] >= LU_BLOCK
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
        self.unique = bool(self.rcond >= uniqueness_rcond)
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
                   rtol: float = GMRES_RTOL) -> np.ndarray:
        """``M0^{-1} y0`` (or ``M0^{-T} y0``) on zero-block vectors ``y0 (..., d0)``, with
        ``M0 = L_0 + |w>><<1|``: LU solves, or GMRES (to ``rtol``) on a matrix-free zero
        block."""
        flat = y0.reshape(-1, y0.shape[-1]).T
        if self.lu is None:
            op, M = self.zero_op, self.zero_prec
            if transposed:  # M0^T x = y  <=>  M0^+ conj(x) = conj(y)
                x = np.conj(gmres_solve(op.H, np.conj(flat), M.H, what="zero Bohr block",
                                        rtol=rtol))
            else:
                x = gmres_solve(op, flat, M, what="zero Bohr block", rtol=rtol)
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
        return gmres_solve(op, np.asarray(y, complex).T, M,
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


def _levels(st: BlockStructure):
    """Index arrays of the degenerate levels."""
    for li in np.flatnonzero(st.level_size > 1):
        yield st.level_members[st.level_start[li]:st.level_start[li] + st.level_size[li]]


def _entropy_and_log(st: BlockStructure, R: sp.csr_matrix, floor: float = 1e-300):
    """``S(rho)`` and the level blocks of ``ln rho`` for an eigenframe state in the zero block."""
    p = np.real(R.diagonal())
    logdiag = np.log(np.clip(p, floor, None))
    S = -(np.clip(p, floor, None) * logdiag).sum()
    blocks = []
    for idx in _levels(st):
        sub = R[idx][:, idx].toarray()
        q, W = np.linalg.eigh(0.5 * (sub + sub.conj().T))
        q = np.clip(q, floor, None)
        lq = np.log(q)
        S += -(q * lq).sum() + (np.clip(p[idx], floor, None) * logdiag[idx]).sum()
        blocks.append((idx, (W * lq) @ np.conj(W.T)))
    return S, logdiag, blocks


def _entropy_gradient(logdiag, logblocks, drho: np.ndarray) -> np.ndarray:
    """``dS = -Tr[ln rho_0 d rho_0]`` for eigenframe derivatives ``drho (k, d, d)``, from the
    parts of ``ln rho_0`` returned by :func:`_entropy_and_log`; ``(k,)``."""
    dS = -np.real(np.einsum("a,kaa->k", logdiag, drho))
    for idx, lg in logblocks:
        sub = drho[:, idx[:, None], idx[None, :]]
        dS -= np.real(np.einsum("xy,kyx->k", lg, sub)
                      - np.einsum("x,kxx->k", logdiag[idx], sub))
    return dS


def _gibbs_derivative(st: BlockStructure, E, Vt, T) -> np.ndarray:
    """Daleckii-Krein ``d rho_0`` of the Gibbs state in the eigenframe, ``(d, d)``."""
    x = -(E - E.min()) / T
    p = np.exp(x)
    p /= p.sum()
    deg = st.level[:, None] == st.level[None, :]
    dE = E[:, None] - E[None, :]
    dp = p[:, None] - p[None, :]
    with np.errstate(divide="ignore", invalid="ignore"):
        F = np.where(deg, -p[None, :] / T, dp / np.where(deg, 1.0, dE))
    avg = np.real(np.einsum("n,nn->", p, Vt))
    out = Vt * F
    out[np.arange(len(E)), np.arange(len(E))] += p / T * avg
    return out


def _perturbation(st: BlockStructure, E, Vt) -> np.ndarray:
    """``X_mn = V~_mn / (E_n - E_m)`` (zero inside degenerate levels), ``(d, d)``."""
    deg = st.level[:, None] == st.level[None, :]
    dE = E[None, :] - E[:, None]
    return np.where(deg, 0.0, Vt / np.where(deg, 1.0, dE))


def _differentiable(st: BlockStructure, Vt_list, tol: float) -> np.ndarray:
    """``(k,)`` bool: no parameter splits a group of degenerate Bohr frequencies (as
    :func:`thermogeo.response.derivatives.differentiable`, group by group)."""
    lab = np.ascontiguousarray(st.label.T).reshape(-1)[st.order]  # element (a, b): label[b, a]
    starts = np.flatnonzero(np.r_[True, np.diff(lab) != 0])
    del lab
    deg = (st.level[:, None] == st.level[None, :]) & ~np.eye(st.d, dtype=bool)
    out = []
    for Vt in Vt_list:
        dE = np.real(np.diagonal(Vt))
        dW = (dE[:, None] - dE[None, :]).reshape(-1)[st.order]
        spread = np.maximum.reduceat(dW, starts) - np.minimum.reduceat(dW, starts)
        mixing = np.abs(Vt[deg]).max() if deg.any() else 0.0
        bad = max(spread.max(), mixing)
        out.append(bad <= tol * (1.0 + np.abs(Vt).max()))
    return np.array(out)


def _steady_derivative(st, D, solver, R, Y0, Vt, X, F0) -> np.ndarray:
    """``d rho_0 = -L^D (dL) rho_0`` in the eigenframe, ``(d, d)``, for one direction with
    ``V~ = U^+ dH U``, its ``X`` (:func:`_perturbation`) and the zero block ``F0`` of the
    frame-fixed part of ``dD``; ``R = rho~_0`` and ``Y0 = D rho~_0`` as sparse matrices."""
    d = st.d
    y = -1j * _dense_comm(Vt, R)
    y.reshape(-1)[st.zero] += F0 @ solver.rho0
    y += _dense_comm(X, Y0)
    y -= D.apply(_dense_comm(X, R).reshape(-1)).reshape(d, d)
    return -solver.drazin(y.reshape(1, -1)).reshape(d, d)


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
    :func:`thermogeo.resources.estimate_response_bytes` exceeds the available memory."""
    from thermogeo.resources import estimate_response_bytes, free_block_sizes

    multi = {blk.shape[1]: blk.shape[0] for blk in st.multi}
    need = estimate_response_bytes(
        st.d, st.d0, len(st.single), multi, parameters=len(machine.parameters),
        derivatives=derivatives, baths=len(machine.baths), plane=derivatives >= 2,
        real=False, method="general" if derivatives else "gibbs",
        free_sizes=free_block_sizes(st, numerics or Numerics()))["total"]
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


def _point(machine: Machine, lam: np.ndarray, pidx, need, method, numerics: Numerics,
           want_state: bool) -> dict:
    """All response fields at one point ``lam (k,)`` (no leading batch axis)."""
    d, m, k = machine.dim, len(machine.baths), len(machine.parameters)
    E, U = _eigh(machine, lam)
    groups = bohr_groups(E, numerics.degeneracy_tol)
    st = block_structure(E, groups)
    check_memory(machine, st, len(need), numerics)
    omega = groups.omega
    del groups
    _, Vs, As = _sparse_operators(machine)
    Vt = [_to_eigenframe(U, V) for V in Vs]
    plane = list(pidx) if pidx is not None else []
    X = {i: _perturbation(st, E, Vt[i]) for i in need}
    dW = {}
    for i in need:
        dE = np.real(np.diagonal(Vt[i]))
        dW[i] = dE[None, :] - dE[:, None]
    d0 = st.d0
    za, zb = np.divmod(st.zero, d)
    same_level = st.level[za] == st.level[zb]
    vlev = {x: np.where(same_level, Vt[x][zb, za], 0.0) for x in plane}

    real = not np.iscomplexobj(U) and not any(np.iscomplexobj(A.data) for A in As)
    D = empty_blocks(st, float if real else complex, numerics.dense_block_max)
    rows = np.zeros((m, d0), complex)  # energy rows r_alpha on the zero block
    rfix = {x: np.zeros((m, d0), complex) for x in plane}
    q = {x: np.zeros((m, d0), complex) for x in plane}
    F0 = {i: _zero_sum(D) for i in need}
    rate_cache: dict = {}  # baths with equal spectral density and temperature share rates
    dwr: dict = {}
    for alpha, bath in enumerate(machine.baths):
        At = _to_eigenframe(U, As[alpha])
        g, drate = _rates(bath, omega, bool(need), rate_cache)
        Za = _add_bath(D, g, At)
        rows[alpha] = _zero_row(Za, E)
        for x in plane:
            q[x][alpha] = _zero_row(Za, vlev[x])
        del Za
        for i in need:
            # X is anti-Hermitian, so X A~ = -(A~ X)^+ and [A~, X] = P + P^+ with P = A~ X
            dA = At @ X[i]
            dA += dA.conj().T.copy()
            key = (id(drate), i)  # baths that share rates share drate * dW_i (the entry
            if key not in dwr:  # keeps drate alive, so its id is not reused)
                dwr[key] = (drate, drate * dW[i])
            Fa = _zero_piece(D, [(dwr[key][1], At, At), (g, dA, At), (g, At, dA)])
            _zero_add(F0[i], Fa)
            if i in rfix:
                rfix[i][alpha] = _zero_row(Fa, E)
            del dA, Fa
        del At, g
    if method == "gibbs":
        T = float(machine.temperatures[0])
        drho = np.stack([_gibbs_derivative(st, E, Vt[i], T) for i in range(k)])
        solver = BlockSolve(D, numerics.uniqueness_rcond, rhs=drho.reshape(k, d * d),
                            keep_inverses=False)
    else:
        solver = BlockSolve(D, numerics.uniqueness_rcond)
    diff = _differentiable(st, Vt, 1e3 * numerics.degeneracy_tol)
    if not solver.unique:  # no solve on a singular block: every field NaN
        nan = np.full((k,), np.nan)
        return dict(spectrum=E, steady_state=(np.full((d, d), np.nan, complex) if want_state
                                              else None),
                    heat_current=np.full(m, np.nan), entropy=np.float64(np.nan),
                    entropy_gradient=nan, heat_response=np.full((m, k), np.nan),
                    G=np.full((k, k), np.nan),
                    rotor=np.full(m, np.nan) if pidx is not None else None,
                    rcond=np.float64(solver.rcond), unique=np.bool_(False), differentiable=diff)
    x0 = solver.rho0
    R = _zero_to_sparse(st, x0)
    J = np.real(rows @ x0)
    S, logdiag, logblocks = _entropy_and_log(st, R)

    if method != "gibbs":
        Y0 = _zero_to_sparse(st, D.zero @ x0)  # D rho_0, inside the zero block
        drho = np.stack([_steady_derivative(st, D, solver, R, Y0, Vt[i], X[i], F0[i])
                         for i in range(k)])
    if solver.rhs_solution is not None:
        z = solver.rhs_solution.reshape(k, d, d)
    else:
        z = solver.drazin(drho.reshape(k, d * d)).reshape(k, d, d)
    z0 = z.reshape(k, d * d)[:, st.zero]
    Lam = np.real(rows @ z0.T)  # (m, k)
    # G_ij = Tr[V~_i z_j] = vdot(V~_i, z_j) since V~_i is Hermitian
    G = np.real(np.array([[np.vdot(Vt[i], z[j]) for j in range(k)] for i in range(k)]))
    dS = _entropy_gradient(logdiag, logblocks, drho)
    rotor = None
    if pidx is not None:
        terms = []
        for a, b in ((0, 1), (1, 0)):
            xi, yi = pidx[a], pidx[b]
            zy = z[yi]
            zy0 = z0[yi]
            cz = _comm0(st, X[xi], zy)
            Dz = D.apply(zy.reshape(-1)).reshape(d, d)
            y0 = (-1j * _comm0(st, Vt[xi], zy) + F0[xi] @ zy0 + _comm0(st, X[xi], Dz)
                  - D.zero @ cz)
            del Dz
            w0 = solver.zero_drazin(y0)
            t = q[xi] @ zy0 + rfix[xi] @ zy0 - rows @ cz - rows @ w0
            terms.append(t)
        rotor = np.real(terms[0] - terms[1])
    state = np.asarray(U @ (R @ np.conj(U.T))) if want_state else None
    return dict(spectrum=E, steady_state=state, heat_current=J, entropy=np.float64(S),
                entropy_gradient=dS, heat_response=Lam, G=G, rotor=rotor,
                rcond=np.float64(solver.rcond), unique=np.bool_(solver.unique),
                differentiable=diff)


def structured_chunk(machine: Machine, lam: np.ndarray, pidx, need, method,
                     numerics: Numerics) -> dict:
    """The fields of :func:`thermogeo.response.response` at points ``lam (b, k)``, computed
    point by point with the structured kernels.

    Returns the same dictionary as the dense chunk (leading axis ``b``), except that
    ``steady_state`` is ``None`` when ``d > STATE_MAX_DIM`` (one lab-frame ``d x d`` matrix per
    point would dominate memory; use :func:`steady_state` for it).
    """
    want = machine.dim <= STATE_MAX_DIM
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        pts = [_point(machine, p, pidx, need, method, numerics, want) for p in lam]
    out = {}
    for f in pts[0]:
        if pts[0][f] is None:
            out[f] = None
        else:
            out[f] = np.stack([p[f] for p in pts])
    return out


def steady_state(machine: Machine, lam=None, *, numerics: Numerics | None = None,
                 check: bool = True) -> np.ndarray:
    """Steady state ``rho_0`` (lab frame) at points ``lam (*b, k)``: ``(*b, d, d)``.

    Solves ``L rho_0 = 0, Tr rho_0 = 1`` on the zero Bohr block only (populations and
    coherences inside degenerate levels), then returns ``U rho~_0 U^+``.

    Parameters
    ----------
    machine : Machine
    lam : array (*b, k), optional
        Default: the machine's default point.
    numerics : Numerics, optional
    check : bool
        Raise :class:`NonUniqueSteadyStateError` where the steady state is not unique
        (default); otherwise such points are NaN.

    Examples
    --------
    >>> from thermogeo.io import load_model
    >>> rho = steady_state(load_model("models/qubit_pump.toml"), [0.7, 0.4])
    >>> round(float(rho.trace().real), 12)
    1.0
    """
    numerics = numerics or Numerics()
    lam = machine.as_points(lam)
    k = len(machine.parameters)
    _, _, As = _sparse_operators(machine)
    out = []
    for p in lam.reshape(-1, k):
        E, U = _eigh(machine, p)
        groups = bohr_groups(E, numerics.degeneracy_tol)
        st = block_structure(E, groups)
        check_memory(machine, st, 0, numerics)
        Z = (LevelOperator(LevelBlock(st, st.zero))
             if matrix_free(st, st.zero, numerics.dense_block_max)
             else np.zeros((st.d0, st.d0)))
        for alpha, bath in enumerate(machine.baths):
            At = _to_eigenframe(U, As[alpha])
            if isinstance(Z, np.ndarray):
                Z = Z + zero_block(st, [(bath.rate(groups.omega), At, At)])
            else:
                Z.add_term(bath.rate(groups.omega), At, At)
        solver = BlockSolve(BlockOperator(st, Z, np.zeros(0), ()), numerics.uniqueness_rcond,
                            zero_only=True)
        if not solver.unique:
            if check:
                raise NonUniqueSteadyStateError(
                    f"the steady state is not unique at "
                    f"{dict(zip(machine.parameter_names, p.round(12).tolist()))} (rcond "
                    f"{solver.rcond:.2e} < {numerics.uniqueness_rcond:.0e}): the couplings "
                    "leave part of the state space dark")
            out.append(np.full((machine.dim, machine.dim), np.nan, complex))
            continue
        R = _zero_to_sparse(st, solver.rho0)
        out.append(np.asarray(U @ (R @ np.conj(U.T))))
    return np.stack(out).reshape(lam.shape[:-1] + (machine.dim, machine.dim))


@dataclass(frozen=True, eq=False)
class FrozenPoint:
    """The frozen secular generator at one point, block by block in the eigenframe of ``H``,
    with the slow-driving states along a direction ``v`` of parameter space.

    Attributes
    ----------
    E : (d,) float                 eigenvalues of ``H``
    U : (d, d)                     eigenvectors (columns)
    D : BlockOperator              ``sum_alpha D_alpha`` (``L = -i nu + D`` block by block)
    solver : BlockSolve            steady state and Drazin inverse of ``L``
    rows : (m, d0)                 energy rows ``<<H| D_alpha`` on the zero block
    Vt : (d, d)                    ``U^+ (sum_i v_i V_i) U``
    drho : (d, d)                  ``d_v rho_0`` (eigenframe)
    z : (d, d)                     ``L^D d_v rho_0`` (eigenframe; ``rho_1 = z / tau``)
    differentiable : bool          the secular generator is differentiable along ``v`` (no
                                   group of degenerate Bohr frequencies split by ``v``)
    """

    E: np.ndarray
    U: np.ndarray
    D: BlockOperator
    solver: BlockSolve
    rows: np.ndarray
    Vt: np.ndarray
    drho: np.ndarray
    z: np.ndarray
    differentiable: bool = True

    @property
    def structure(self) -> BlockStructure:
        return self.D.structure

    @property
    def rho0(self) -> np.ndarray:
        """``(d0,)``: zero-block elements of the steady state (eigenframe)."""
        return self.solver.rho0

    def to_lab(self, x: np.ndarray) -> np.ndarray:
        """Eigenframe ``(d, d)`` -> lab frame ``U x U^+``."""
        return self.U @ x @ np.conj(self.U.T)

    def to_eig(self, x: np.ndarray) -> np.ndarray:
        """Lab frame ``(d, d)`` -> eigenframe ``U^+ x U``."""
        return np.conj(self.U.T) @ x @ self.U

    def entropy_rate(self) -> float:
        """``d_v S = -Tr[ln rho_0 d_v rho_0]`` along the point's direction."""
        _, logdiag, logblocks = _entropy_and_log(self.structure,
                                                 _zero_to_sparse(self.structure, self.rho0))
        return float(_entropy_gradient(logdiag, logblocks, self.drho[None])[0])

    def left_drazin_rows(self) -> np.ndarray:
        """``(m, d0)``: the rows ``<<H| D_alpha L^D`` on the zero block (``L^D`` keeps the
        blocks and the energy rows live on the zero block), so that
        ``Tr[H D_alpha L^D y] = left_drazin_rows[alpha] . y[zero]`` for traceless ``y``."""
        d = self.structure.d
        x = self.solver.zero_solve(self.rows, transposed=True)
        # r^D = x - (x . rho_0) e,  e = indicator of the populations
        x[:, :d] -= (x @ self.rho0)[:, None]
        return x

    def state(self) -> np.ndarray:
        """``(d, d)``: the steady state in the eigenframe (dense)."""
        return _zero_to_sparse(self.structure, self.rho0).toarray()


def frozen_point(machine: Machine, lam, velocity, numerics: Numerics | None = None, *,
                 check: bool = False) -> FrozenPoint:
    """Frozen generator, steady state, ``d_v rho_0`` and ``z = L^D d_v rho_0`` at one point.

    The same kernels as :func:`structured_chunk`, differentiated along the single direction
    ``v = velocity (k,)`` (one derivative instead of ``k``): ``d_v rho_0`` by Daleckii-Krein at
    equal temperatures, ``-L^D (d_v L) rho_0`` otherwise (``numerics.derivative``).

    Parameters
    ----------
    machine : Machine
    lam, velocity : (k,) float
    numerics : Numerics, optional

    check : bool
        Raise :class:`~thermogeo.errors.NonUniqueSteadyStateError` if the steady state is not
        unique (else only ``solver.unique`` says so).

    Returns
    -------
    FrozenPoint
    """
    numerics = numerics or Numerics()
    lam = np.asarray(lam, dtype=float)
    v = np.asarray(velocity, dtype=float)
    d, m = machine.dim, len(machine.baths)
    method = numerics.derivative
    if method == "auto":
        method = "gibbs" if machine.equal_temperatures else "general"
    general = method == "general"
    E, U = _eigh(machine, lam)
    groups = bohr_groups(E, numerics.degeneracy_tol)
    st = block_structure(E, groups)
    check_memory(machine, st, 1 if general else 0, numerics)
    omega = groups.omega
    del groups
    _, Vs, As = _sparse_operators(machine)
    Vdir = sp.csr_matrix((d, d))
    for c, V in zip(v, Vs):
        if c != 0:
            Vdir = Vdir + c * V
    Vt = _to_eigenframe(U, Vdir)
    real = not np.iscomplexobj(U) and not any(np.iscomplexobj(A.data) for A in As)
    D = empty_blocks(st, float if real else complex, numerics.dense_block_max)
    rows = np.zeros((m, st.d0), complex)
    if general:
        X = _perturbation(st, E, Vt)
        dE = np.real(np.diagonal(Vt))
        dW = dE[None, :] - dE[:, None]
        F0 = _zero_sum(D)
    cache: dict = {}
    for alpha, bath in enumerate(machine.baths):
        At = _to_eigenframe(U, As[alpha])
        g, drate = _rates(bath, omega, general, cache)
        rows[alpha] = _zero_row(_add_bath(D, g, At), E)
        if general:
            dA = At @ X
            dA += dA.conj().T.copy()
            _zero_add(F0, _zero_piece(D, [(drate * dW, At, At), (g, dA, At), (g, At, dA)]))
            del dA
        del At
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        if general:  # small-block inverses not kept: two or three solves per point
            solver = BlockSolve(D, numerics.uniqueness_rcond, keep_inverses=False)
            if not solver.unique:
                return _not_unique(machine, lam, solver, numerics, check, E, U, D, rows, Vt)
            R = _zero_to_sparse(st, solver.rho0)
            Y0 = _zero_to_sparse(st, D.zero @ solver.rho0)
            drho = _steady_derivative(st, D, solver, R, Y0, Vt, X, F0)
            z = solver.drazin(drho.reshape(1, -1)).reshape(d, d)
        else:
            drho = _gibbs_derivative(st, E, Vt, float(machine.temperatures[0]))
            solver = BlockSolve(D, numerics.uniqueness_rcond, rhs=drho.reshape(1, -1),
                                keep_inverses=False)
            z = solver.rhs_solution.reshape(d, d)
    if not solver.unique:
        return _not_unique(machine, lam, solver, numerics, check, E, U, D, rows, Vt)
    diff = bool(_differentiable(st, [Vt], 1e3 * numerics.degeneracy_tol)[0])
    return FrozenPoint(E=E, U=U, D=D, solver=solver, rows=rows, Vt=Vt, drho=drho, z=z,
                       differentiable=diff)


def _not_unique(machine, lam, solver, numerics, check, E, U, D, rows, Vt) -> FrozenPoint:
    """Raise :class:`NonUniqueSteadyStateError` (``check``) or return a frozen point whose
    states are NaN."""
    if check:
        raise NonUniqueSteadyStateError(
            f"the steady state is not unique at "
            f"{dict(zip(machine.parameter_names, np.round(lam, 12).tolist()))} (rcond "
            f"{solver.rcond:.2e} < {numerics.uniqueness_rcond:.0e}): the couplings leave part "
            "of the state space dark; break the symmetry")
    nan = np.full((len(E), len(E)), np.nan, complex)
    return FrozenPoint(E=E, U=U, D=D, solver=solver, rows=rows, Vt=Vt, drho=nan, z=nan.copy())
