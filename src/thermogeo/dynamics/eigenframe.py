"""Exact periodic dynamics propagated in the instantaneous eigenframe, block by block.

For many qubits the augmented generator of :mod:`thermogeo.dynamics.periodic` (``d^2 x d^2``)
does not fit. Here the deviation ``delta = rho - rho_0(s)`` from the instantaneous steady
state is propagated with the exponential midpoint rule: on a step ``[s_j, s_j + h]`` the
generator and the source are frozen at the midpoint ``m``::

    d delta / ds = tau L(m) delta - d_s rho_0(m)
    =>  delta(s_j + h) = z/tau + exp(h tau L(m)) (delta(s_j) - z/tau),   z = L^D d_s rho_0(m)

exactly (for traceless ``delta``: ``L^D`` inverts ``L`` there). ``z / tau`` is the first-order
state of the slow-driving expansion, so in the stiff limit ``h tau >> relaxation time`` the
step lands on it, and for ``h tau`` small it is an ordinary second-order exponential
integrator: the scheme is accurate for every period. ``exp(c L)`` acts block by block in the
eigenframe of ``H(m)`` (:mod:`thermogeo.lindblad.blocks`): scalars on the one-element blocks,
batched ``expm`` on small blocks, ``expm_multiply`` (Al-Mohy and Higham) on the zero block and
on large blocks, with the Bohr frequency of a block factored out so that only the rates set
the cost. Between steps ``delta`` goes through the lab frame (``U delta~ U^+``): four ``d x d``
products per step, the only ``O(d^3)`` work besides the eigendecomposition.

Heat and work per cycle (docs/theory.md section 3), by the midpoint rule on every step::

    Q_a = tau int Tr[H D_a (rho_0 + delta)] ds,   W = int Tr[(rho_0 + delta) dH/ds] ds

(on smooth loops the midpoint rule is spectrally accurate for ``rho_0``; the deviation part
carries the scheme's second order). The limit cycle is found by propagating whole cycles from
``delta(0) = z(0)/tau`` until ``delta(0)`` repeats; the error is estimated by halving the step
(Richardson: ``|X_n - X_{n/2}| / 3``) and the reported values are the extrapolated
``(4 X_n - X_{n/2}) / 3``. While the steps are longer than the relaxation time the result
carries the expansion exactly to second order but not the third: the error estimate then
includes ``r |Q^(2)/tau|`` with ``r`` the ratio of the second- to the first-order state
(Frobenius norms integrated along the path) (the next term of the series judged by the ratio of
the last two), and adaptive stepping refines until the steps resolve the relaxation. Memory: a
few ``d x d`` arrays and the Bohr blocks of one point; frozen points are kept between cycles
only while they fit ``CACHE_BYTES``.

This is the solver of ``exact_cycle(..., method=Eigenframe(...))`` (``method="eigenframe"``;
:class:`~thermogeo.dynamics.methods.Eigenframe`, ``order = 2``), which
:class:`~thermogeo.dynamics.methods.Auto` chooses beyond the dense kernels.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import scipy.linalg as sla
from scipy.sparse.linalg import LinearOperator, eigs, expm_multiply

from thermogeo.dynamics.grid import start_steps, step_grid
from thermogeo.lindblad.blocks import BlockOperator
from thermogeo.model.machine import Machine
from thermogeo.response.structured import FrozenPoint, frozen_point

#: Blocks up to this size (the zero block included) are exponentiated densely once per step;
#: larger ones are applied by ``expm_multiply`` (whose cost grows with the step's stiffness).
DENSE_EXPM_MAX = 1024
#: Frozen points of one pass are kept for the next cycle while their arrays fit this budget.
CACHE_BYTES = 2 * 2**30


class BlockExp:
    """``exp(c L)`` with ``L = -i nu + D`` block by block, ready to apply to vectors.

    Blocks of size ``<= DENSE_EXPM_MAX`` (the zero block included) are exponentiated densely
    once (``scipy.linalg.expm``, batched for the small ones); larger ones are applied by
    ``expm_multiply`` (Al-Mohy and Higham) when needed. The Bohr frequency of a non-zero
    block is factored out as a phase, so only the rates set the cost.

    Parameters
    ----------
    D : BlockOperator
        Dissipative part of the generator (``sum_alpha D_alpha``).
    c : float
        ``>= 0`` (a time step times the period).
    """

    def __init__(self, D: BlockOperator, c: float):
        st = D.structure
        self.D, self.c = D, float(c)
        nu = st.nu.reshape(-1)
        nu0 = nu[st.zero]
        if isinstance(D.zero, np.ndarray):
            Z = D.zero.astype(complex)
            Z[np.arange(st.d0), np.arange(st.d0)] += -1j * nu0
            self.zero = sla.expm(c * Z) if st.d0 <= DENSE_EXPM_MAX else c * Z
        else:  # matrix-free (thermogeo.lindblad.levels): expm_multiply on the operator
            self.zero = _scaled(D.zero.variant(hamiltonian=True), c)
        self.single = np.exp(c * (D.single - 1j * nu[st.single]))
        self.multi = []
        for idx, blk in zip(st.multi, D.multi):
            s = idx.shape[1]
            if not isinstance(blk, np.ndarray):  # matrix-free: exp(c D) times the phases
                self.multi.append((None, np.exp(-1j * c * nu[idx.reshape(-1)]),
                                   _scaled(blk, c)))
                continue
            nub = nu[idx]  # equal within a block up to the degeneracy tolerance
            nbar = nub.mean(axis=1)
            M = c * blk.astype(complex)
            ar = np.arange(s)
            M[:, ar, ar] += -1j * c * (nub - nbar[:, None])
            phase = np.exp(-1j * c * nbar)
            if s <= DENSE_EXPM_MAX:
                step = max(1, 2**22 // (s * s))
                M = np.concatenate([sla.expm(M[i:i + step]) for i in range(0, len(M), step)])
                self.multi.append((True, phase, M))
            else:
                self.multi.append((False, phase, M))

    def apply(self, y: np.ndarray) -> np.ndarray:
        """``exp(c L) y`` for ``y (d*d,)`` (eigenframe elements, row-major)."""
        st = self.D.structure
        out = np.empty(st.d**2, complex)
        y0 = y[st.zero]
        out[st.zero] = (self.zero @ y0 if isinstance(self.zero, np.ndarray)
                        and st.d0 <= DENSE_EXPM_MAX else _expm_multiply(self.zero, y0))
        out[st.single] = self.single * y[st.single]
        for idx, (dense, phase, M) in zip(st.multi, self.multi):
            if dense is None:  # matrix-free blocks of one size, all at once
                flat = idx.reshape(-1)
                out[flat] = phase * _expm_multiply(M, y[flat])
            elif dense:
                out[idx] = phase[:, None] * np.einsum("bij,bj->bi", M, y[idx])
            else:
                for b in range(idx.shape[0]):
                    out[idx[b]] = phase[b] * _expm_multiply(M[b], y[idx[b]])
        return out


def block_expm_apply(D: BlockOperator, c: float, y: np.ndarray) -> np.ndarray:
    """``exp(c L) y`` with ``L = -i nu + D`` block by block (:class:`BlockExp`); ``y (d*d,)``.

    Returns
    -------
    (d*d,) complex
    """
    return BlockExp(D, c).apply(y)


def _expm_multiply(A, v: np.ndarray) -> np.ndarray:
    """``exp(A) v`` for a dense matrix or a :func:`_scaled` matrix-free operator."""
    trace = complex(np.trace(A)) if isinstance(A, np.ndarray) else A.trace
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scipy's norm-estimate chatter on tiny matrices
        return expm_multiply(A, v.astype(complex), traceA=trace)


def _scaled(op, c: float) -> LinearOperator:
    """``c op`` for a matrix-free :class:`~thermogeo.lindblad.levels.LevelOperator`, with its
    trace (``expm_multiply`` needs it)."""
    out = LinearOperator(op.shape, matvec=lambda x: c * op.matvec(x),
                         rmatvec=lambda x: c * op.rmatvec(x), dtype=complex)
    out.trace = complex(c * op.diagonal().sum())
    return out


def relaxation_rate(fp: FrozenPoint) -> float:
    """Smallest non-zero decay rate of the frozen generator (block by block): ``-Re`` of its
    eigenvalues, the slowest over the one-element blocks, the small blocks and the zero block
    (the zero block's from ARPACK on ``(L_0 + |w>><<1|)^-1``, i.e. its smallest eigenvalues,
    when it is larger than 512)."""
    st = fp.structure
    D = fp.D
    nu = st.nu.reshape(-1)
    rates = []
    if len(D.single):
        rates.append(float(-np.real(D.single).max()))
    for idx, blk in zip(st.multi, D.multi):
        s = idx.shape[1]
        if s <= 64 and isinstance(blk, np.ndarray):
            M = blk.astype(complex)
            M[:, np.arange(s), np.arange(s)] += -1j * nu[idx]
            rates.append(float(-np.real(np.linalg.eigvals(M)).max()))
    d, d0 = st.d, st.d0
    if d0 <= 512 and isinstance(D.zero, np.ndarray):
        ev = np.linalg.eigvals(D.zero.astype(complex) - 1j * np.diag(nu[st.zero]))
        ev = ev[np.argsort(np.abs(ev))][1:]  # drop the steady state's zero
        if len(ev):
            rates.append(float(-np.real(ev).max()))
    else:
        solver = fp.solver
        free = solver.lu is None  # matrix-free zero block: inexact GMRES solves suffice
        op = LinearOperator((d0, d0), matvec=lambda x: solver.zero_solve(
            np.asarray(x), rtol=1e-8 if free else solver.numerics.gmres_rtol), dtype=complex)
        mu = 1.0 / eigs(op, k=3, which="LM", return_eigenvectors=False, tol=1e-4 if free else 0)
        # M0 = L_0 + |w>><<1| has the eigenvalue 1 in place of the steady state's 0
        mu = mu[np.abs(mu - 1.0) > 1e-9]
        if len(mu):
            rates.append(float(-np.real(mu).max()))
    del d
    return min(rates) if rates else math.inf


def _clean(delta: np.ndarray) -> np.ndarray:
    """Hermitian, traceless part of a deviation ``(d, d)``."""
    delta = 0.5 * (delta + delta.conj().T)
    delta[np.diag_indices_from(delta)] -= np.trace(delta) / len(delta)
    return delta


def _pieces(loop, mids: np.ndarray) -> list[np.ndarray]:
    """Step indices of every smooth piece of the loop (steps never straddle a corner)."""
    bp = np.asarray(loop.breakpoints(), dtype=float)
    piece = np.clip(np.searchsorted(bp, mids, side="right") - 1, 0, len(bp) - 2)
    return [np.flatnonzero(piece == p) for p in range(len(bp) - 1) if np.any(piece == p)]


def _fd_weights(i: int, p: int) -> dict[int, float]:
    """Second-order finite-difference weights (times ``h``) of ``d/ds`` at node ``i`` of ``p``
    equally spaced nodes (one-sided at the ends of a piece)."""
    if p < 3:
        return {}
    if i == 0:
        return {0: -1.5, 1: 2.0, 2: -0.5}
    if i == p - 1:
        return {p - 1: 1.5, p - 2: -2.0, p - 3: 0.5}
    return {i + 1: 0.5, i - 1: -0.5}


class _Step:
    """Frozen data of one step (eigenframe of its midpoint, flat vectors): the frozen point,
    the quasi-static state ``target = z/tau + L^D z'/tau^2`` and ``shift = (h/2) z'/tau`` (the
    change of ``z/tau`` over half a step)."""

    __slots__ = ("fp", "target", "shift", "exp")

    def __init__(self, fp: FrozenPoint, target: np.ndarray, shift):
        self.fp, self.target, self.shift = fp, target, shift
        self.exp = None  # BlockExp of the half step, made on first use


def _steps(machine, loop, tau, edges, numerics, cache: list | None):
    """Yield ``(j, h_j, _Step)`` over the steps of one cycle, computing frozen points in a
    sliding window of three per piece (``z'`` by finite differences of lab-frame ``z`` at the
    neighbouring midpoints)."""
    h = np.diff(edges)
    mids = edges[:-1] + 0.5 * h
    lam, vel = loop.points(machine, mids), loop.velocity(machine, mids)
    for idx in _pieces(loop, mids):
        p = len(idx)
        hp = float(h[idx[0]])
        window: dict[int, tuple] = {}

        def get(i, idx=idx, window=window, hp=hp):
            if i not in window:
                fp = frozen_point(machine, lam[idx[i]], vel[idx[i]], numerics, check=True)
                window[i] = (fp, fp.to_lab(fp.z))
            return window[i]

        for i in range(p):
            j = int(idx[i])
            if cache is not None and cache[j] is not None:
                yield j, h[j], cache[j]
                continue
            fp, _ = get(i)
            target = fp.z.reshape(-1) / tau
            shift = 0.0
            w = _fd_weights(i, p)
            if w:
                zp = sum(c * get(k)[1] for k, c in w.items()) / hp
                zp = fp.to_eig(zp).reshape(-1)
                target = target + fp.solver.drazin(zp[None])[0] / tau**2
                shift = 0.5 * hp * zp / tau
            step = _Step(fp, target, shift)
            if cache is not None:
                cache[j] = step
            for k in [k for k in window if k < i - 1]:
                del window[k]
            yield j, h[j], step


#: A pass that starts from a converged coarser pass stops after one cycle when the slowest
#: relaxation forgets the start within the period: ``exp(-rate tau) <= FORGET * rtol``.
FORGET = 1e-3


def _pass(machine: Machine, loop, tau: float, steps: int, options, delta: np.ndarray,
          rate: float | None):
    """Whole cycles with ``steps`` exponential-midpoint steps from ``delta(0)`` (lab frame)
    until ``delta(0)`` and the heats repeat; returns
    ``(delta, Q, W, cycles, change, slowest rate)``.

    ``rate``: the slowest relaxation rate along the loop if known (then ``delta`` is the
    periodic state of a coarser pass, and one cycle suffices when ``exp(-rate tau)`` is below
    ``FORGET * rtol``: the reported change is then the start's weight times the change);
    ``None``: measured during the first cycle, and at least two cycles are run."""
    want_rate = rate is None
    rate = math.inf if rate is None else rate
    edges = step_grid(loop, steps)
    d = machine.dim
    per_step = 24 * 16 * d * d  # frozen point, target, window (complex d x d arrays)
    cache = [None] * (len(edges) - 1) if per_step * (len(edges) - 1) <= CACHE_BYTES else None
    change = math.inf
    cycles = 0
    Q_prev = None
    for _ in range(options.max_cycles):
        cycles += 1
        start = delta
        Q = np.zeros(len(machine.baths))
        Q2 = np.zeros(len(machine.baths))  # the part of Q from L^D z'/tau^2 (second order)
        sizes = np.zeros(2)  # sum over steps of |first-order|, |second-order state|
        W = 0.0
        for _j, hj, step in _steps(machine, loop, tau, edges, options.numerics, cache):
            fp = step.fp
            if want_rate and cycles == 1:
                rate = min(rate, relaxation_rate(fp))
            st = fp.structure
            if step.exp is None:
                step.exp = BlockExp(fp.D, 0.5 * hj * tau)
            # eta = delta - z(s)/tau obeys eta' = tau L eta - z'/tau: frozen at the midpoint,
            # eta relaxes exactly towards L^D z'/tau^2 (module docstring)
            y = step.target + step.exp.apply(
                fp.to_eig(delta).reshape(-1) - (step.target - step.shift))
            Q += tau * hj * np.real(fp.rows @ (fp.rho0 + y[st.zero]))
            sec = step.target - fp.z.reshape(-1) / tau
            Q2 += tau * hj * np.real(fp.rows @ sec[st.zero])
            sizes += hj * np.array([np.linalg.norm(fp.z) / tau, np.linalg.norm(sec)])
            Vf = fp.Vt.reshape(-1)
            W += hj * float(np.real(np.vdot(Vf[st.zero], fp.rho0) + np.vdot(Vf, y)))
            y = step.target + step.shift + step.exp.apply(y - step.target)
            delta = _clean(fp.to_lab(y.reshape(d, d)))
            del fp, y, step
        change = float(np.abs(delta - start).max())
        forget = math.exp(-rate * tau) if rate > 0 else 1.0
        if not want_rate and forget <= FORGET * options.rtol:
            change *= forget  # what is left of the start after one period
            break
        dq = math.inf if Q_prev is None else float(np.abs(Q - Q_prev).max())
        Q_prev = Q
        if change <= options.rtol * 1e-2 and dq <= options.rtol * 1e-2 * max(
                np.abs(Q).max(), abs(W), 1e-300):
            break
    ratio = float(sizes[1] / max(sizes[0], np.finfo(float).tiny))
    return delta, Q, W, cycles, change, rate, (Q2, ratio)


def eigenframe_cycle(machine: Machine, loop, tau: float, options) -> dict:
    """Limit cycle, heat and work per cycle by the eigenframe exponential integrator.

    Parameters
    ----------
    machine : Machine
    loop : Loop
    tau : float
        Period.
    options : Eigenframe
        The method object (:class:`~thermogeo.dynamics.methods.Eigenframe`): ``steps`` (fixed
        step count; the error estimate compares with ``steps // 2``) or the adaptive
        ``min_steps .. max_steps``; ``rtol``; ``max_cycles``; ``numerics``.

    Returns
    -------
    dict
        ``periodic_state (d, d)`` (lab frame, ``s = 0``), ``heat (m,)``, ``work``,
        ``error_estimate``, ``steps``, ``converged``, ``relaxation_time``, ``cycles``,
        ``change`` (last change of ``delta(0)`` over a cycle), ``truncation_estimate``,
        ``message`` (why the solver stopped).
    """
    numerics = options.numerics
    s0 = np.zeros(1)
    fp0 = frozen_point(machine, loop.points(machine, s0)[0], loop.velocity(machine, s0)[0],
                       numerics, check=True)
    rho_start = fp0.to_lab(fp0.state())
    delta = _clean(fp0.to_lab(fp0.z) / tau)  # first order: the transient is O(1/tau^2)
    del fp0
    n = options.steps if options.steps is not None else start_steps(loop, options.min_steps)
    coarse = max(1, n // 2) if options.steps is not None else n
    fine = n if options.steps is not None else 2 * n
    delta, Q0, W0, _, _, rate, _ = _pass(machine, loop, tau, coarse, options, delta, None)
    t_rel = 1.0 / rate if rate > 0 else math.inf
    while True:
        delta, Q, Wk, cycles, change, _, (Q2, ratio) = _pass(machine, loop, tau, fine,
                                                             options, delta, rate)
        err = max(np.max(np.abs(Q - Q0)), abs(Wk - W0)) / 3.0
        scale = max(np.max(np.abs(Q)), abs(Wk), np.finfo(float).tiny)
        # Steps longer than the relaxation time land on the second-order quasi-static state:
        # the third order is missing, estimated as the second-order heat times the ratio of
        # the second- to the first-order state (norms integrated along the path).
        stiff = tau / (fine * t_rel) > 1.0
        truncation = float(ratio * np.max(np.abs(Q2))) if stiff else 0.0
        err = max(err, truncation)
        converged = bool(err <= options.rtol * scale) and change <= options.rtol
        if converged or options.steps is not None or 2 * fine > options.max_steps:
            break
        Q0, W0, fine = Q, Wk, 2 * fine
    # the step error is O(h^2): Richardson extrapolation of the last two passes
    Qx = (4.0 * Q - Q0) / 3.0
    Wx = (4.0 * Wk - W0) / 3.0
    tol = options.rtol * scale
    at = (f"at the fixed {fine} steps" if options.steps is not None else
          f"at {fine} steps (limit max_steps={options.max_steps})")
    if converged:
        message = (f"converged: error estimate {err:.2e} <= rtol * max(|Q|, |W|) = {tol:.2e} "
                   f"at {fine} steps")
    elif change > options.rtol:
        message = (f"not converged: the state still changed by {change:.2e} after {cycles} "
                   f"cycles {at} (limit max_cycles={options.max_cycles})")
    else:
        message = (f"not converged: error estimate {err:.2e} > rtol * max(|Q|, |W|) = "
                   f"{tol:.2e} {at}")
    return dict(periodic_state=rho_start + delta, heat=Qx, work=float(Wx),
                error_estimate=float(err), steps=fine, converged=converged,
                relaxation_time=t_rel, cycles=cycles, change=change,
                truncation_estimate=truncation, message=message)
