"""Matrix-free Bohr blocks (thermogeo.lindblad.levels) against the stored blocks and the dense
kernels.

Highly degenerate spectra (uniform fields on all-to-all graphs) have Bohr blocks too large to
store at 10-12 qubits; there the structured kernels apply them level pair by level pair and
solve by GMRES. Here ``Numerics.dense_block_max`` is lowered so that the same path runs on
machines small enough for the dense reference: the operators must reproduce the stored blocks
entry by entry (forward, adjoint, diagonal), and every response field must agree with the
dense kernels to ``STRUCTURED_RTOL``.
"""

from __future__ import annotations

import numpy as np
import pytest
from test_structured import HANDMADE, STRUCTURED_RTOL, _close, _compare, heisenberg
from zoo import ZOO

import thermogeo as tg
from thermogeo.dynamics import ExactOptions, exact_cycle
from thermogeo.errors import NonUniqueSteadyStateError
from thermogeo.lindblad import blocks
from thermogeo.lindblad.levels import empty_blocks
from thermogeo.lindblad.blocks import (block_structure, block_superop, with_hamiltonian, zero_block)
from thermogeo.lindblad.levels import LevelBlock, LevelOperator, level_rows
from thermogeo.linalg.bohr import bohr_groups
from thermogeo.numerics import Numerics
from thermogeo.protocols import Circle
from thermogeo.response.structured import frozen_point, steady_state

#: Every block with more than one element is matrix-free (with the fixture below).
FREE = Numerics(kernel="structured", dense_block_max=1)
STRUCT = Numerics(kernel="structured")
# GMRES stops at a relative residual of 1e-13; times the condition numbers of these small
# machines (<= 1e4) the solutions agree with LU to STRUCTURED_RTOL.


@pytest.fixture(autouse=True)
def every_block_matrix_free(monkeypatch):
    """Also blocks of non-degenerate levels (one element per level pair), which the kernels
    store by default (tiny products would be slower than one factorisation)."""
    monkeypatch.setattr(blocks, "MIN_PAIR_ELEMENTS", 0)


def _blocks(machine):
    """Eigenframe couplings, rates and both block representations of ``D`` at the default
    point."""
    H = machine.dense_hamiltonian(machine.point())
    E, U = np.linalg.eigh(H)
    groups = bohr_groups(E, STRUCT.degeneracy_tol)
    st = block_structure(E, groups)
    terms = []
    for A, bath in zip(machine.couplings, machine.baths):
        At = np.conj(U.T) @ A @ U
        terms.append((bath.rate(groups.omega), At, At))
    dense = empty_blocks(st, complex)
    free = empty_blocks(st, complex, dense_max=1)
    for t in terms:
        block_superop(st, *t, out=dense)
        block_superop(st, *t, out=free)
    dense.zero[...] = zero_block(st, terms)
    return st, terms, with_hamiltonian(dense), free


@pytest.mark.parametrize("machine", [heisenberg(4, "all", uniform=True, where="sites"),
                                     heisenberg(5, "all", uniform=True, temps=(1.0, 1.5)),
                                     heisenberg(4, "all", uniform=True, where="three"),
                                     heisenberg(4, "chain", uniform=True, where="sites")],
                         ids=lambda m: m.name)
def test_level_operators_reproduce_the_stored_blocks(machine):
    """Zero block and every larger block: ``L x``, ``L^+ y`` and the diagonal, entry by entry
    (the 'three' machine has a complex coupling: complex arithmetic)."""
    st, terms, L, free = _blocks(machine)
    rng = np.random.default_rng(3)
    pairs = [(free.zero.variant(hamiltonian=True), L.zero)]
    pairs += [(op.variant(hamiltonian=True), blk) for op, blk in zip(free.multi, L.multi)]
    assert len(pairs) > 3
    for op, blk in pairs:
        if blk.ndim == 3:  # all blocks of one size at once: block diagonal
            n = blk.shape[0] * blk.shape[1]
            M = np.zeros((n, n), complex)
            for b in range(blk.shape[0]):
                s = slice(b * blk.shape[1], (b + 1) * blk.shape[1])
                M[s, s] = blk[b]
        else:
            M = blk
        x = rng.normal(size=(M.shape[0], 2)) @ np.array([1, 1j])
        scale = np.abs(M).max() * np.abs(x).max() * M.shape[0]
        assert np.abs(op @ x - M @ x).max() <= STRUCTURED_RTOL * scale
        assert np.abs(op.rmatvec(x) - M.conj().T @ x).max() <= STRUCTURED_RTOL * scale
        assert np.abs(op.diagonal() - np.diagonal(M)).max() <= STRUCTURED_RTOL * np.abs(M).max()
        assert np.abs(level_rows(op, x) - x @ M).max() <= STRUCTURED_RTOL * scale


def test_level_blocks_are_whole_level_pairs():
    m = heisenberg(4, "all", uniform=True, where="sites")
    st, *_ = _blocks(m)
    blk = LevelBlock(st, st.zero)
    assert all(l == k for l, k in blk.pairs)  # the zero block: one pair per level
    assert sorted(np.concatenate([p.ravel() for p in blk.pos])) == list(range(st.d0))
    with pytest.raises(ValueError, match="whole level pairs"):
        LevelBlock(st, st.zero[:-1])
    with pytest.raises(ValueError, match="different blocks"):
        LevelOperator(blk).absorb(LevelOperator(LevelBlock(st, st.zero)))


@pytest.mark.parametrize("machine", HANDMADE[1:], ids=lambda m: m.name)
def test_matrix_free_response_matches_dense_handmade(machine):
    a, b = _compare(machine, machine.point(), FREE)
    assert b.rcond.min() > FREE.uniqueness_rcond


@pytest.mark.parametrize("case", ZOO[::3], ids=repr)
def test_matrix_free_response_matches_dense_zoo(case):
    """Random (complex too) couplings, cut-off and super-ohmic baths."""
    _compare(case.machine, case.lam[0], FREE)


def test_matrix_free_frozen_point_and_steady_state():
    """``z = L^D d_v rho_0``, the left Drazin rows and the public steady state, general
    derivative (unequal temperatures) and Daleckii-Krein (equal)."""
    for m in (heisenberg(4, "all", uniform=True, where="sites", temps=(1.0, 1.4)),
              heisenberg(4, "all", uniform=True, where="sites")):
        lam, v = m.point(), np.array([0.3, 1.0])
        a = frozen_point(m, lam, v, STRUCT)
        b = frozen_point(m, lam, v, FREE)
        assert b.solver.lu is None and a.solver.lu is not None
        _close(a.z, b.z)
        _close(a.drho, b.drho)
        _close(a.left_drazin_rows(), b.left_drazin_rows())
        _close(steady_state(m, lam), steady_state(m, lam, numerics=FREE))


def test_matrix_free_dark_sector_is_reported():
    """Uniform fields on an all-to-all graph with baths at two sites: permutations of the other
    sites commute with H and every jump operator (a strong symmetry), so the steady state is
    not unique; the matrix-free solver must say so (its GMRES probe does not converge)."""
    m = heisenberg(4, "all", uniform=True)
    with pytest.raises(NonUniqueSteadyStateError):
        tg.response(m, numerics=FREE)
    with pytest.raises(NonUniqueSteadyStateError):
        steady_state(m, numerics=FREE)
    with pytest.raises(NonUniqueSteadyStateError):
        frozen_point(m, m.point(), [1.0, 0.0], FREE, check=True)
    r = tg.response(m, plane=("Bx", "Bz"), numerics=FREE, check=False)
    assert not r.unique.any() and np.isnan(r.rotor).all() and r.rcond.max() == 0.0


def test_matrix_free_exact_cycle_matches_stored_blocks():
    """The eigenframe propagation with matrix-free blocks (expm_multiply on the level
    operators) gives the heats of the stored-block propagation."""
    m = heisenberg(3, "all", uniform=True, where="three", temps=(1.0, 1.5, 0.8))
    loop = Circle(("Bx", "Bz"), center=(0.7, 0.4), radius=0.2)
    a, b = (exact_cycle(m, loop, 400.0, expansion=False, options=ExactOptions(
        method="eigenframe", steps=16, numerics=num)) for num in (STRUCT, FREE))
    scale = np.abs(a.heat).max()
    assert np.abs(a.heat - b.heat).max() <= 1e-8 * scale


def test_batched_application_equals_one_batch(monkeypatch):
    """Applying the terms in batches (bounded intermediate memory) changes nothing."""
    from thermogeo.lindblad import levels

    m = heisenberg(4, "all", uniform=True, where="sites")
    st, terms, L, free = _blocks(m)
    x = np.random.default_rng(5).normal(size=(st.d0, 2)) @ np.array([1, 1j])
    op = free.zero.variant(hamiltonian=True)
    ref = (op @ x, op.rmatvec(x))
    monkeypatch.setattr(levels, "BATCH_ELEMENTS", 1)
    op = LevelOperator(LevelBlock(st, st.zero), terms, hamiltonian=True)
    assert len(op._plan()) == len(terms)  # one batch per term
    assert np.abs(op @ x - ref[0]).max() <= STRUCTURED_RTOL * np.abs(ref[0]).max()
    assert np.abs(op.rmatvec(x) - ref[1]).max() <= STRUCTURED_RTOL * np.abs(ref[1]).max()
