"""Structured Bohr-block kernels (issue 7) against the dense d^2 x d^2 kernels, and the
invariants of the response at 8 and 10 qubits where only the structured kernels run.

The dense generator of :mod:`thermogeo.lindblad.generator` is the reference: block by block
the structured generator must equal it (no entry outside the blocks), and every response field
must agree to ``STRUCTURED_RTOL`` relative to the field's scale.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from zoo import ZOO

import thermogeo as tg
from thermogeo import Bath, Machine, Ohmic
from thermogeo.errors import NonUniqueSteadyStateError, SecularApproximationWarning
from thermogeo.lindblad.levels import empty_blocks
from thermogeo.lindblad.blocks import (block_structure, block_superop, dense_from_blocks,
                                       sparse_from_blocks, with_hamiltonian)
from thermogeo.lindblad.generator import generator
from thermogeo.linalg.bohr import BohrGroups
from thermogeo.numerics import Numerics
from thermogeo.lindblad import backend, structured
from thermogeo.lindblad.generic import generic_points
from thermogeo.response.structured import BlockSolve, steady_state

# Dense and structured kernels solve the same linear systems with different factorisations:
# they agree to a few hundred ulps times the condition numbers met in the zoo (<= 1e4).
STRUCTURED_RTOL = 1e-10
# Positivity and Gibbs form of a steady state from an LU solve of a d0 x d0 rate matrix
# (d0 = 256..1024): round-off of the solve, relative to the largest population.
LARGE_N_RTOL = 1e-9

DENSE = Numerics(kernel="dense")
STRUCT = Numerics(kernel="structured")


def heisenberg(n, graph="chain", uniform=True, temps=(1.0, 1.0), where="ends", seed=0,
               strength=0.01):
    """``(J/4) sum sigma.sigma`` (J = 2) on a graph with uniform (degenerate Bohr frequencies)
    or random fields, baths at the chain ends, at every site, or three baths."""
    rng = np.random.default_rng(seed)
    ham = [(0.5, tg.exchange(n, graph))] if n > 1 else []
    hx = np.ones(n) if uniform else rng.uniform(0.5, 1.5, n)
    hz = np.ones(n) if uniform else rng.uniform(0.5, 1.5, n)
    ham += [("Bx", " + ".join(f"{hx[j]:.6f}*X{j}" for j in range(n))),
            ("Bz", " + ".join(f"{hz[j]:.6f}*Z{j}" for j in range(n)))]
    if where == "sites":
        ops = [f"X{j} + 0.5*Z{j}" for j in range(n)]
    elif where == "three":
        ops = ["X0 + 0.3*Z0", f"Z{n - 1} + 0.6*X{n - 1}",
               " + ".join(f"{0.2 * (j + 1):.1f}*Y{j}" for j in range(n))]
    else:
        ops = ["X0 + 0.5*Z0", f"X{n - 1} + 0.5*Z{n - 1}"] if n > 1 else ["X0", "Z0"]
    baths = [Bath(f"B{i}", temps[i % len(temps)], op, Ohmic(strength))
             for i, op in enumerate(ops)]
    return Machine(qubits=n, parameters={"Bx": 0.7, "Bz": 0.4}, hamiltonian=ham, baths=baths,
                   name=f"heis{n}-{graph}-{'u' if uniform else 'r'}-{where}")


HANDMADE = [
    heisenberg(1),
    heisenberg(2, uniform=True),
    heisenberg(3, "chain", uniform=True, temps=(1.0, 1.6)),
    heisenberg(3, "all", uniform=True, where="three", temps=(1.0, 2.0, 0.5)),
    heisenberg(4, "ring", uniform=True, where="sites"),
    heisenberg(4, "all", uniform=True, where="three"),
    heisenberg(4, "chain", uniform=False, where="sites", temps=(1.0, 0.7)),
    heisenberg(5, "chain", uniform=True, temps=(1.2, 0.8)),
]


def _groups0(gen):
    g = gen.groups
    return BohrGroups(g.omega[0], g.label[0], g.level_label[0])


def _close(a, b, scale=None):
    a, b = np.asarray(a), np.asarray(b)
    scale = np.abs(a).max() if scale is None else scale
    assert np.abs(a - b).max() <= STRUCTURED_RTOL * scale, (np.abs(a - b).max(), scale)


@pytest.mark.parametrize("machine", HANDMADE[:6] + [c.machine for c in ZOO[:8]],
                         ids=lambda m: m.name)
def test_blocks_reproduce_the_dense_generator(machine):
    """Every D_alpha and L, block by block; nothing of the dense generator outside the blocks."""
    gen = generator(machine, machine.point()[None])
    st = block_structure(gen.E[0], _groups0(gen))
    assert st.d0 + len(st.single) + sum(b.size for b in st.multi) == machine.dim**2
    assert np.array_equal(np.sort(np.concatenate([st.zero, st.single]
                                                 + [b.ravel() for b in st.multi])),
                          np.arange(machine.dim**2))
    D = empty_blocks(st, complex)
    for a in range(len(machine.baths)):
        Da = block_superop(st, gen.rates[0, a], gen.A[0, a], gen.A[0, a])
        scale = np.abs(gen.D[0, a]).max()
        _close(gen.D[0, a], dense_from_blocks(Da), scale)
        D.add_(Da)
    L = with_hamiltonian(D)
    _close(gen.L[0], dense_from_blocks(L))
    _close(gen.L[0], sparse_from_blocks(L).toarray())
    y = np.random.default_rng(1).normal(size=(2, machine.dim**2)) + 0j
    _close(y @ gen.L[0].T, L.apply(y), np.abs(gen.L[0]).max() * np.abs(y).max() * 4)


@pytest.mark.parametrize("keep_inverses", [True, False])
def test_block_drazin_identities(keep_inverses):
    """L L^D y = y - rho_0 Tr y and L^D rho_0 = 0, through the block solver only (with the
    small-block inverses kept, or factorised again at each solve)."""
    m = heisenberg(3, "chain", uniform=True, temps=(1.0, 1.6))
    gen = generator(m, m.point()[None])
    st = block_structure(gen.E[0], _groups0(gen))
    D = empty_blocks(st, complex)
    for a in range(len(m.baths)):
        D.add_(block_superop(st, gen.rates[0, a], gen.A[0, a], gen.A[0, a]))
    L = with_hamiltonian(D)
    sol = BlockSolve(D, Numerics(uniqueness_rcond=1e-12,
                                 inverse_budget_bytes=2**30 if keep_inverses else 0))
    assert (sol.multi_inv is not None) == keep_inverses
    rho = np.zeros(m.dim**2, complex)
    rho[st.zero] = sol.rho0
    y = np.random.default_rng(2).normal(size=(3, m.dim**2)) + 0j
    tr = y.reshape(3, m.dim, m.dim).trace(axis1=1, axis2=2)
    x = sol.drazin(y)
    _close(y - tr[:, None] * rho, L.apply(x), np.abs(y).max())
    assert np.abs(sol.drazin(rho[None])).max() <= STRUCTURED_RTOL
    assert np.abs(x.reshape(3, m.dim, m.dim).trace(axis1=1, axis2=2)).max() <= \
        STRUCTURED_RTOL * np.abs(x).max()


def _compare(machine, lam, numerics=STRUCT):
    """Every response field of the dense kernels and of the structured ones (``numerics``)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SecularApproximationWarning)
        a = tg.response(machine, lam, plane=("Bx", "Bz") if "Bx" in machine.parameters
                        else tuple(machine.parameter_names[:2]), numerics=DENSE)
        b = tg.response(machine, lam, plane=a.plane, numerics=numerics)
    assert b.unique.all()
    _close(a.spectrum, b.spectrum)
    _close(a.steady_state, b.steady_state)
    # At equal temperatures J = 0: scale by the largest single rate times energy.
    E = np.abs(a.spectrum).max()
    _close(a.heat_current, b.heat_current, max(np.abs(a.heat_current).max(),
                                               np.abs(a.heat_response).max() * E, 1e-300))
    _close(a.entropy, b.entropy)
    _close(a.entropy_gradient, b.entropy_gradient)
    _close(a.heat_response, b.heat_response)
    _close(a.G, b.G)
    _close(a.metric, b.metric)
    # The rotor vanishes by symmetry in some machines: scale it by the heat response (both
    # are derivatives of Lambda with respect to parameters of order one).
    _close(a.rotor, b.rotor, max(np.abs(a.rotor).max(), np.abs(a.heat_response).max()))
    assert np.array_equal(a.differentiable, b.differentiable)
    if numerics.dense_block_max >= machine.dim**2:  # every block factorised
        assert np.allclose(a.rcond, b.rcond, rtol=1.0)  # gecon estimates the zero block's part
    return a, b


@pytest.mark.parametrize("machine", HANDMADE, ids=lambda m: m.name)
def test_structured_matches_dense_handmade(machine):
    _compare(machine, machine.point())


@pytest.mark.parametrize("case", ZOO, ids=repr)
def test_structured_matches_dense_zoo(case):
    """Random couplings (complex ones too), cut-off and super-ohmic baths, 1-3 baths."""
    _compare(case.machine, case.lam[0])


def test_general_derivative_matches_gibbs_at_equal_temperatures():
    """At equal temperatures -L^D (dL) rho_0 (matrix-free) equals Daleckii-Krein."""
    m = heisenberg(4, "chain", uniform=True, where="three")
    a = tg.response(m, plane=("Bx", "Bz"), numerics=Numerics(kernel="structured",
                                                             derivative="gibbs"))
    b = tg.response(m, plane=("Bx", "Bz"), numerics=Numerics(kernel="structured",
                                                             derivative="general"))
    for f in ("heat_response", "G", "entropy_gradient"):
        _close(getattr(a, f), getattr(b, f))
    _close(a.rotor, b.rotor, max(np.abs(a.rotor).max(), np.abs(a.heat_response).max()))


def test_batched_points_and_public_steady_state():
    m = heisenberg(3, "chain", uniform=False, temps=(1.0, 1.6))
    lam = np.array([[[0.7, 0.4], [0.2, 0.9]], [[1.1, -0.3], [0.5, 0.5]]])
    a = tg.response(m, lam, plane=("Bx", "Bz"), numerics=DENSE)
    b = tg.response(m, lam, plane=("Bx", "Bz"), numerics=STRUCT)
    assert b.heat_response.shape == (2, 2, 2, 2) and b.rotor.shape == (2, 2, 2)
    _close(a.heat_response, b.heat_response)
    _close(a.rotor, b.rotor)
    rho = steady_state(m, lam)
    assert rho.shape == (2, 2, m.dim, m.dim)
    _close(a.steady_state, rho)
    with pytest.raises(ValueError, match="lam: expected a last axis of length 2"):
        steady_state(m, [0.1, 0.2, 0.3])


def test_automatic_choice_and_state_size_limit(monkeypatch):
    """kernel='auto' switches to the structured kernels above dense_max_qubits; the lab-frame
    steady state is left out above STATE_MAX_DIM."""
    m = heisenberg(3, "chain", uniform=True)
    calls = []

    class Spy(structured.BlockFrozen):
        def __init__(self, *args, **kw):
            calls.append(1)
            super().__init__(*args, **kw)

    monkeypatch.setattr(backend, "BlockFrozen", Spy)
    tg.response(m, numerics=Numerics(dense_max_qubits=3))
    assert not calls
    r = tg.response(m, numerics=Numerics(dense_max_qubits=2))
    assert calls and r.steady_state is not None
    r = tg.response(m, plane=("Bx", "Bz"),
                    numerics=Numerics(kernel="structured", state_max_dim=4))
    assert r.steady_state is None
    assert "rotor" in r.to_dataset()


def test_dark_sector_is_reported(models_dir):
    m = tg.load_model(models_dir / "dark_singlet.toml")
    with pytest.raises(NonUniqueSteadyStateError):
        tg.response(m, numerics=STRUCT)
    with pytest.raises(NonUniqueSteadyStateError):
        steady_state(m)
    r = tg.response(m, numerics=STRUCT, check=False)
    assert not r.unique.any() and np.isnan(r.heat_response).all()


def _invariants(machine, T):
    r = tg.response(machine, plane=("Bx", "Bz"), numerics=STRUCT)
    rho = r.steady_state
    assert rho is not None
    pmax = np.abs(rho).max()
    assert abs(np.trace(rho) - 1) <= LARGE_N_RTOL
    assert np.abs(rho - rho.conj().T).max() <= LARGE_N_RTOL * pmax
    assert np.linalg.eigvalsh(rho).min() >= -LARGE_N_RTOL * pmax
    H = machine.hamiltonian_at(machine.point())
    E, U = np.linalg.eigh(H)
    p = np.exp(-(E - E.min()) / T)
    gibbs = (U * (p / p.sum())) @ U.conj().T
    assert np.abs(rho - gibbs).max() <= LARGE_N_RTOL * pmax
    Lam_sum = r.heat_response.sum(axis=0)
    assert np.abs(Lam_sum - T * r.entropy_gradient).max() <= \
        LARGE_N_RTOL * np.abs(r.heat_response).max()
    g = r.metric
    assert np.linalg.eigvalsh(g).min() >= -LARGE_N_RTOL * np.abs(g).max()
    # sum_alpha Omega^alpha = curl of T grad S = 0: heat is only moved between baths.
    assert abs(r.rotor.sum()) <= LARGE_N_RTOL * np.abs(r.heat_response).max()
    return r


def test_invariants_at_8_qubits():
    """Uniform-field Heisenberg chain (degenerate Bohr frequencies), a bath at every site."""
    _invariants(heisenberg(8, "chain", uniform=True, where="sites"), 1.0)


@pytest.mark.filterwarnings("ignore::thermogeo.errors.SecularApproximationWarning")
def test_invariants_at_10_qubits():
    """Random-field chain, two baths at the ends (accidental near-degeneracies of the ~10^6
    Bohr frequencies may trigger the secular warning; it is not what is tested here)."""
    _invariants(heisenberg(10, "chain", uniform=False), 1.0)


@pytest.mark.parametrize("machine", [heisenberg(2, uniform=False, temps=(2.0, 1.0), seed=3),
                                     heisenberg(3, uniform=False, temps=(2.0, 1.0), seed=5),
                                     heisenberg(3, uniform=False, where="three", seed=7)],
                         ids=lambda m: m.name)
def test_generic_batches_equal_dense_and_point_by_point(machine):
    """Points with a generic spectrum go to the batched backend (lindblad.generic): every
    field equals the dense kernels and the per-point Bohr blocks (generic_max_dim=1 sends
    every point there), at equal and unequal temperatures."""
    lam = np.random.default_rng(11).uniform(0.3, 1.3, (7, 2))
    assert generic_points(machine, lam, Numerics()).all()
    chunks = list(backend.frozen_chunks(machine, lam, STRUCT))
    assert [type(fg).__name__ for _, fg in chunks] == ["GenericFrozen"]
    dense = tg.response(machine, lam, plane=("Bx", "Bz"), numerics=Numerics(kernel="dense"))
    for numerics in (STRUCT, Numerics(kernel="structured", generic_max_dim=1)):
        r = tg.response(machine, lam, plane=("Bx", "Bz"), numerics=numerics)
        for f in ("heat_current", "heat_response", "G", "rotor", "entropy", "entropy_gradient",
                  "steady_state", "spectrum", "secular_ratio"):
            a = getattr(dense, f)  # currents vanish at equal temperatures: absolute floor
            _close(a, getattr(r, f), max(np.abs(a).max(), np.abs(dense.heat_response).max()))


def test_generic_and_degenerate_points_mix_in_one_call():
    """A uniform-field point (degenerate Bohr frequencies) among generic ones: each goes to
    its backend and the results come back in the caller's order."""
    m = heisenberg(3, uniform=False, temps=(2.0, 1.0), seed=5)
    lam = np.array([[0.7, 0.4], [0.0, 0.9], [1.1, 0.6]])  # Bx = 0: a symmetric point
    kinds = [type(fg).__name__ for _, fg in backend.frozen_chunks(m, lam, STRUCT)]
    generic = generic_points(m, lam, Numerics())
    assert kinds.count("BlockFrozen") == int((~generic).sum())
    dense = tg.response(m, lam, numerics=Numerics(kernel="dense"))
    r = tg.response(m, lam, numerics=STRUCT)
    for f in ("heat_current", "heat_response", "G", "steady_state"):
        a = getattr(dense, f)
        _close(a, getattr(r, f), max(np.abs(a).max(), np.abs(dense.heat_response).max()))
