"""Correlation measures of N-qubit states (thermogeo.linalg.correlations, docs/correlations.md):
closed forms, invariances, QuTiP agreement, batching and the opt-in spec parser."""

from __future__ import annotations

import re

import numpy as np
import pytest
from scipy.linalg import expm

from thermogeo.linalg.correlations import (
    CorrelationSpec,
    concurrence,
    correlations,
    entropy,
    log_negativity,
    mutual_information,
    negativity,
    parse_correlation_specs,
    partial_trace,
    partial_transpose,
)
from thermogeo.model.pauli import operator_matrix

# Closed forms of exactly known 4x4 to 16x16 states: float64 eigen-decompositions are good to
# ~1e-15 here; 1e-12 leaves room without hiding a wrong formula.
TOL = 1e-12
# Agreement with QuTiP (same definitions, independent code): the brief of issue 16; the
# observed deviations are below 1e-13 on full-rank states.
QUTIP_TOL = 1e-10
LN2 = np.log(2.0)


# -- helpers -----------------------------------------------------------------------------------

def ket(*amps: tuple[str, complex]) -> np.ndarray:
    """Normalised ket from ``("01", amplitude)`` pairs (qubit 0 the leftmost character)."""
    n = len(amps[0][0])
    v = np.zeros(2**n, dtype=complex)
    for bits, c in amps:
        v[int(bits, 2)] += c
    return v / np.linalg.norm(v)


def dm(v: np.ndarray) -> np.ndarray:
    return np.outer(v, v.conj())


def random_state(rng, d: int, rank: int | None = None) -> np.ndarray:
    G = rng.normal(size=(d, rank or d)) + 1j * rng.normal(size=(d, rank or d))
    rho = G @ G.conj().T
    return rho / np.trace(rho).real


def random_unitary(rng, d: int) -> np.ndarray:
    Q, R = np.linalg.qr(rng.normal(size=(d, d)) + 1j * rng.normal(size=(d, d)))
    return Q * (np.diag(R) / np.abs(np.diag(R)))


def kron(*ms):
    out = np.ones((1, 1))
    for m in ms:
        out = np.kron(out, m)
    return out


BELLS = {
    "Phi+": ket(("00", 1), ("11", 1)),
    "Phi-": ket(("00", 1), ("11", -1)),
    "Psi+": ket(("01", 1), ("10", 1)),
    "Psi-": ket(("01", 1), ("10", -1)),
}
SINGLET = dm(BELLS["Psi-"])


def ghz(n: int) -> np.ndarray:
    return dm(ket(("0" * n, 1), ("1" * n, 1)))


def w_state(n: int) -> np.ndarray:
    return dm(ket(*[("0" * k + "1" + "0" * (n - k - 1), 1) for k in range(n)]))


def binary_entropy(p: float) -> float:
    return -p * np.log(p) - (1 - p) * np.log(1 - p)


# -- closed forms ------------------------------------------------------------------------------

@pytest.mark.parametrize("name", list(BELLS))
def test_bell_states(name):
    rho = dm(BELLS[name])
    assert concurrence(rho) == pytest.approx(1.0, abs=TOL)
    assert negativity(rho, 0) == pytest.approx(0.5, abs=TOL)
    assert log_negativity(rho, [0]) == pytest.approx(1.0, abs=TOL)
    assert log_negativity(rho, 1) == pytest.approx(1.0, abs=TOL)
    assert mutual_information(rho, 0, 1) == pytest.approx(2 * LN2, abs=TOL)
    assert entropy(rho, 0) == pytest.approx(LN2, abs=TOL)
    assert entropy(rho, [1]) == pytest.approx(LN2, abs=TOL)
    assert entropy(rho) == pytest.approx(0.0, abs=TOL)


def test_product_states_are_uncorrelated():
    rng = np.random.default_rng(1)
    for rank in (1, 2):
        a, b = random_state(rng, 2, rank), random_state(rng, 2, rank)
        rho = np.kron(a, b)
        for value in (concurrence(rho), negativity(rho, 0), log_negativity(rho, 1),
                      mutual_information(rho, 0, 1)):
            assert value == pytest.approx(0.0, abs=TOL)
        assert entropy(rho) == pytest.approx(entropy(a) + entropy(b), abs=TOL)
    # three qubits, every pair and every cut
    rho = kron(*(random_state(rng, 2) for _ in range(3)))
    for cut in ([0], [1], [2], [0, 2]):
        assert negativity(rho, cut) == pytest.approx(0.0, abs=TOL)
    for pair in ((0, 1), (1, 2), (2, 0)):
        assert concurrence(rho, pair) == pytest.approx(0.0, abs=TOL)
        assert mutual_information(rho, pair[0], pair[1]) == pytest.approx(0.0, abs=TOL)


def test_werner_states():
    """p |Psi-><Psi-| + (1 - p) I/4: C = max(0, (3p - 1)/2), N = max(0, (3p - 1)/4)."""
    p = np.linspace(0.0, 1.0, 41)
    rho = p[:, None, None] * SINGLET + (1 - p[:, None, None]) * np.eye(4) / 4
    C_exact = np.maximum(0, (3 * p - 1) / 2)
    N_exact = np.maximum(0, (3 * p - 1) / 4)
    np.testing.assert_allclose(concurrence(rho), C_exact, rtol=0, atol=TOL)
    np.testing.assert_allclose(negativity(rho, 0), N_exact, rtol=0, atol=TOL)
    np.testing.assert_allclose(negativity(rho, 1), N_exact, rtol=0, atol=TOL)
    np.testing.assert_allclose(log_negativity(rho, 0), np.log2(1 + 2 * N_exact), rtol=0,
                               atol=TOL)
    np.testing.assert_allclose(entropy(rho, 0), LN2, rtol=0, atol=TOL)  # locally maximally mixed


def test_heisenberg_dimer_thermal_concurrence():
    """Thermal state of H = J S1.S2 = (J/4) sigma1.sigma2 at zero field.

    The singlet has energy -3J/4, the triplet J/4 (docs/conventions.md), so the state is a
    Werner state with singlet weight e^{J/T} / (e^{J/T} + 3) and
    C = max(0, (e^{J/T} - 3)/(e^{J/T} + 3)): entangled only for antiferromagnetic J/T > ln 3.
    """
    ss = operator_matrix("X0 X1 + Y0 Y1 + Z0 Z1", 2)  # sigma1.sigma2
    E = np.linalg.eigvalsh(0.25 * ss)
    np.testing.assert_allclose(E, [-0.75, 0.25, 0.25, 0.25], atol=1e-14)  # J = 1
    assert np.real(SINGLET.ravel() @ (0.25 * ss).ravel()) == pytest.approx(-0.75)
    J = np.array([-2.0, -0.5, 0.5, 1.0, 2.0, 3.0])
    T = np.array([0.25, 0.5, 1.0, 2.0])
    rho = np.empty((len(J), len(T), 4, 4), dtype=complex)
    for i, j in enumerate(J):
        for k, t in enumerate(T):
            r = expm(-0.25 * j * ss / t)
            rho[i, k] = r / np.trace(r)
    x = np.exp(J[:, None] / T[None, :])
    C_exact = np.maximum(0.0, (x - 3) / (x + 3))
    np.testing.assert_allclose(concurrence(rho), C_exact, rtol=0, atol=1e-11)
    np.testing.assert_allclose(2 * negativity(rho, 0), C_exact, rtol=0, atol=1e-11)
    assert (C_exact[J < 0] == 0).all() and (C_exact > 0).any()
    entangled = concurrence(rho) > 1e-9
    np.testing.assert_array_equal(entangled, J[:, None] / T[None, :] > np.log(3))


# -- random two-qubit states -------------------------------------------------------------------

def _random_two_qubit_states(seed: int, count: int) -> np.ndarray:
    """Random states of every rank, mixed with I/4 to spread them across the separability
    boundary."""
    rng = np.random.default_rng(seed)
    out = []
    for k in range(count):
        rho = random_state(rng, 4, rank=1 + k % 4)
        q = rng.uniform()
        out.append(q * rho + (1 - q) * np.eye(4) / 4)
    return np.array(out)


def test_negativity_is_positive_exactly_when_the_concurrence_is():
    """Two qubits: NPT <=> entangled (Peres-Horodecki), and the bounds of Verstraete et al.
    between N_V = ||rho^T_A||_1 - 1 = 2 N and C: sqrt((1-C)^2 + C^2) - (1-C) <= 2N <= C."""
    rho = _random_two_qubit_states(seed=2, count=400)
    C, N = concurrence(rho), negativity(rho, 0)
    clear = (np.minimum(C, N) > 1e-6) | (np.maximum(C, N) < 1e-12)
    assert clear.sum() > 350
    assert 50 < (C[clear] > 0).sum() < clear.sum() - 50  # both kinds are sampled
    np.testing.assert_array_equal(C[clear] > 0, N[clear] > 0)
    assert np.all(2 * N <= C + 1e-12)
    assert np.all(2 * N >= np.sqrt((1 - C) ** 2 + C**2) - (1 - C) - 1e-12)


def _all_measures_two_qubits(rho):
    return {
        "C": concurrence(rho), "N": negativity(rho, 0), "EN": log_negativity(rho, 1),
        "I": mutual_information(rho, 0, 1), "S": entropy(rho), "S0": entropy(rho, 0),
        "S1": entropy(rho, 1),
    }


def test_local_unitary_invariance_two_qubits():
    rng = np.random.default_rng(3)
    rho = _random_two_qubit_states(seed=4, count=40)
    U = np.array([np.kron(random_unitary(rng, 2), random_unitary(rng, 2)) for _ in rho])
    rotated = U @ rho @ U.conj().swapaxes(-1, -2)
    before, after = _all_measures_two_qubits(rho), _all_measures_two_qubits(rotated)
    for key in before:
        np.testing.assert_allclose(after[key], before[key], rtol=0, atol=1e-11, err_msg=key)


def test_local_unitary_invariance_three_qubits():
    rng = np.random.default_rng(5)
    rho = np.array([random_state(rng, 8, rank=r) for r in (1, 2, 8)])
    U = np.array([kron(*(random_unitary(rng, 2) for _ in range(3))) for _ in rho])
    rotated = U @ rho @ U.conj().swapaxes(-1, -2)
    specs = ["concurrence:0,2", "negativity:0|1,2", "negativity:1", "negativity:0|2",
             "log_negativity:2|0,1", "mutual:0|1,2", "entropy:1,2", "entropy"]
    before, after = correlations(rho, specs), correlations(rotated, specs)
    for key in before:
        np.testing.assert_allclose(after[key], before[key], rtol=0, atol=1e-11, err_msg=key)


def test_agreement_with_qutip():
    qt = pytest.importorskip("qutip")
    # full rank: QuTiP's concurrence takes square roots of eigenvalues of the non-Hermitian
    # rho rho~, which are only sqrt(eps)-accurate near zero
    rng = np.random.default_rng(6)
    rho = np.array([random_state(rng, 4) for _ in range(30)])
    mine = _all_measures_two_qubits(rho)
    dims = [[2, 2], [2, 2]]
    for k, r in enumerate(rho):
        q = qt.Qobj(r, dims=dims)
        ev = np.linalg.eigvalsh(qt.partial_transpose(q, [1, 0]).full())
        ref = {
            "C": qt.concurrence(q),
            "N": (np.abs(ev).sum() - 1) / 2,
            "EN": np.log2(np.abs(ev).sum()),
            "I": qt.entropy_mutual(q, 0, 1),
            "S": qt.entropy_vn(q),
            "S0": qt.entropy_vn(q.ptrace(0)),
            "S1": qt.entropy_vn(q.ptrace(1)),
        }
        for key, value in ref.items():
            assert abs(mine[key][k] - value) < QUTIP_TOL, (key, k, mine[key][k], value)
    # three qubits: partial traces, mutual information and negativity of every cut
    rho3 = random_state(rng, 8, rank=3)
    q3 = qt.Qobj(rho3, dims=[[2, 2, 2], [2, 2, 2]])
    for keep in ([0], [2], [0, 1], [0, 2], [1, 2]):
        np.testing.assert_allclose(partial_trace(rho3, keep), q3.ptrace(keep).full(),
                                   rtol=0, atol=QUTIP_TOL)
    for mask in ([1, 0, 0], [0, 1, 0], [1, 0, 1]):
        sub = [i for i, m in enumerate(mask) if m]
        ref = qt.partial_transpose(q3, mask).full()
        np.testing.assert_allclose(partial_transpose(rho3, sub), ref, rtol=0, atol=QUTIP_TOL)
        ev = np.linalg.eigvalsh(ref)
        assert abs(negativity(rho3, sub) - (np.abs(ev).sum() - 1) / 2) < QUTIP_TOL
    assert abs(mutual_information(rho3, [0], [1, 2])
               - qt.entropy_mutual(q3, [0], [1, 2])) < QUTIP_TOL
    assert abs(concurrence(rho3, (0, 2)) - qt.concurrence(q3.ptrace([0, 2]))) < 1e-8


# -- three and four qubits ---------------------------------------------------------------------

def _explicit_partial_trace(rho: np.ndarray, keep: tuple[int, ...], n: int) -> np.ndarray:
    """(rho_K)_{ij} = Tr[rho (|j><i|_K (x) I_rest)], the operator built by Kronecker products
    with |j_k><i_k| at the position of qubit keep[k] and I elsewhere."""
    dk = 2 ** len(keep)
    out = np.empty((dk, dk), dtype=complex)
    for i in range(dk):
        for j in range(dk):
            bi, bj = format(i, f"0{len(keep)}b"), format(j, f"0{len(keep)}b")
            factors = [np.eye(2)] * n
            for k, q in enumerate(keep):
                f = np.zeros((2, 2))
                f[int(bj[k]), int(bi[k])] = 1
                factors[q] = f
            out[i, j] = np.trace(rho @ kron(*factors))
    return out


@pytest.mark.parametrize("n", [3, 4])
def test_partial_trace_against_kronecker_construction(n):
    rng = np.random.default_rng(10 + n)
    rho = random_state(rng, 2**n, rank=3)
    keeps = [(0,), (n - 1,), (1, 2), (2, 0), (n - 1, 1, 0), tuple(range(n)),
             tuple(reversed(range(n)))]
    for keep in keeps:
        red = partial_trace(rho, keep)
        np.testing.assert_allclose(red, _explicit_partial_trace(rho, keep, n), rtol=0,
                                   atol=1e-14, err_msg=str(keep))
        assert np.trace(red).real == pytest.approx(1.0, abs=1e-14)
    # product states: the factors come out in the order of keep
    parts = [random_state(rng, 2) for _ in range(n)]
    rho = kron(*parts)
    for keep in keeps:
        np.testing.assert_allclose(partial_trace(rho, keep), kron(*(parts[q] for q in keep)),
                                   rtol=0, atol=1e-14)


@pytest.mark.parametrize("n", [3, 4])
def test_partial_transpose_against_kronecker_construction(n):
    """(A_0 (x) ... (x) A_{n-1})^{T_S} = (x)_q (A_q^T if q in S else A_q), extended linearly."""
    rng = np.random.default_rng(20 + n)
    for sub in ([0], [n - 1], [0, 2], list(range(n))):
        terms = [[rng.normal(size=(2, 2)) + 1j * rng.normal(size=(2, 2)) for _ in range(n)]
                 for _ in range(3)]
        X = sum(kron(*t) for t in terms)
        ref = sum(kron(*(a.T if q in sub else a for q, a in enumerate(t))) for t in terms)
        np.testing.assert_allclose(partial_transpose(X, sub), ref, rtol=0, atol=1e-13)
    rho = random_state(rng, 2**n)
    np.testing.assert_array_equal(partial_transpose(rho, range(n)), rho.T)


@pytest.mark.parametrize("n", [3, 4])
def test_ghz_state(n):
    rho = ghz(n)
    for q in range(n):
        assert entropy(rho, q) == pytest.approx(LN2, abs=TOL)
        for r in range(q + 1, n):
            assert concurrence(rho, (q, r)) == pytest.approx(0.0, abs=TOL)
            assert negativity(rho, q, other=r) == pytest.approx(0.0, abs=TOL)
            assert mutual_information(rho, q, r) == pytest.approx(LN2, abs=TOL)  # classical
    for cut in ([0], [1, 2], [0, n - 1]):  # every cut of a GHZ state: one ebit
        assert negativity(rho, cut) == pytest.approx(0.5, abs=TOL)
        assert log_negativity(rho, cut) == pytest.approx(1.0, abs=TOL)
    assert entropy(rho) == pytest.approx(0.0, abs=TOL)


@pytest.mark.parametrize("n", [3, 4])
def test_w_state(n):
    """W_n: pairwise C = 2/n, S(rho_q) = h(1/n), N(q | rest) = sqrt(n - 1)/n (Schmidt
    coefficients 1/n and (n-1)/n). A pair is (n-2)/n |00><00| + 2/n |Psi+><Psi+|; its partial
    transpose has the block [[(n-2)/n, 1/n], [1/n, 0]] on |00>, |11>, so
    N_pair = (sqrt((n-2)^2 + 4) - (n-2)) / (2n)."""
    rho = w_state(n)
    n_pair = (np.sqrt((n - 2) ** 2 + 4) - (n - 2)) / (2 * n)
    for q in range(n):
        assert entropy(rho, q) == pytest.approx(binary_entropy(1 / n), abs=TOL)
        assert negativity(rho, q) == pytest.approx(np.sqrt(n - 1) / n, abs=TOL)
        for r in range(n):
            if r != q:
                assert concurrence(rho, (q, r)) == pytest.approx(2 / n, abs=TOL)
                assert negativity(rho, q, other=r) == pytest.approx(n_pair, abs=TOL)


def test_batched_evaluation_equals_point_by_point():
    rng = np.random.default_rng(30)
    rho = np.array([[random_state(rng, 8, rank=1 + (i + j) % 8) for j in range(3)]
                    for i in range(2)])
    funcs = {
        "ptrace": lambda r: partial_trace(r, (2, 0)),
        "ptranspose": lambda r: partial_transpose(r, [1]),
        "S": lambda r: entropy(r, [0, 2]),
        "I": lambda r: mutual_information(r, [0], [1, 2]),
        "N": lambda r: negativity(r, [1]),
        "N01": lambda r: negativity(r, [0], other=[1]),
        "EN": lambda r: log_negativity(r, [2, 0]),
        "C": lambda r: concurrence(r, (2, 1)),
    }
    for key, f in funcs.items():
        batched = f(rho)
        assert batched.shape[:2] == (2, 3), key
        for i in range(2):
            for j in range(3):
                np.testing.assert_allclose(batched[i, j], f(rho[i, j]), rtol=0, atol=1e-14,
                                           err_msg=key)
    assert entropy(rho[0, 0]).shape == ()
    out = correlations(rho, ["concurrence:1,2", "mutual:0|1,2"])
    assert {k: v.shape for k, v in out.items()} == {"concurrence_1_2": (2, 3),
                                                   "mutual_0__1_2": (2, 3)}


def test_order_of_subsets_does_not_matter():
    rng = np.random.default_rng(31)
    rho = random_state(rng, 16, rank=2)
    assert concurrence(rho, (3, 1)) == pytest.approx(concurrence(rho, (1, 3)), abs=1e-13)
    assert negativity(rho, [2, 0]) == pytest.approx(negativity(rho, [0, 2]), abs=1e-13)
    assert negativity(rho, [0, 2]) == pytest.approx(negativity(rho, [1, 3]), abs=1e-13)
    assert (mutual_information(rho, [3, 0], [1])
            == pytest.approx(mutual_information(rho, [1], [0, 3]), abs=1e-13))


# -- the spec parser ---------------------------------------------------------------------------

def test_spec_names_and_values():
    rng = np.random.default_rng(40)
    rho = random_state(rng, 8, rank=2)
    specs = ["concurrence:0,1", "negativity:0|1,2", "mutual:0|1", "entropy:0,1",
             "log_negativity:0|1", " negativity : 2 ", "entropy", "concurrence:2|0"]
    parsed = parse_correlation_specs(specs, qubits=3)
    names = [s.name for s in parsed]
    assert names == ["concurrence_0_1", "negativity_0__1_2", "mutual_0__1", "entropy_0_1",
                     "log_negativity_0__1", "negativity_2", "entropy", "concurrence_2_0"]
    assert all(name.isidentifier() for name in names)
    assert [s.units for s in parsed[:5]] == ["1", "1", "nat", "nat", "bit"]
    assert all(isinstance(s, CorrelationSpec) and s.description for s in parsed)
    out = correlations(rho, specs)
    assert list(out) == names
    expected = [concurrence(rho, (0, 1)), negativity(rho, 0, other=[1, 2]),
                mutual_information(rho, 0, 1), entropy(rho, [0, 1]),
                log_negativity(rho, 0, other=1), negativity(rho, 2), entropy(rho),
                concurrence(rho, (0, 2))]
    for name, value in zip(names, expected):
        assert out[name] == pytest.approx(value, abs=1e-15), name
    assert correlations(rho, parsed) == pytest.approx(out)  # parsed specs are accepted too
    assert parse_correlation_specs("mutual:0|1", 2)[0].name == "mutual_0__1"  # a single item


@pytest.mark.parametrize("item, message", [
    ("concurence:0,1", "unknown kind 'concurence'; accepted kinds: concurrence"),
    ("purity:0", "unknown kind"),
    ("concurrence:0,3", "qubit index 3 is out of range; the machine has qubits 0..2"),
    ("negativity:0|1,7", "out of range"),
    ("negativity:0,1|1,2", "overlap"),
    ("mutual:0|0", "overlap"),
    ("concurrence:0,1,2", "exactly two"),
    ("concurrence:0", "exactly two"),
    ("concurrence:0,1|2", "exactly two"),
    ("concurrence:1,1", "appears twice"),
    ("mutual:0,1", "two subsets"),
    ("entropy:0|1", "one subset"),
    ("entropy:", "no qubits"),
    ("negativity", "no qubits"),
    ("negativity:0|1|2", "at most two"),
    ("negativity:a|1", "cannot read qubit index 'a'"),
    ("negativity:0,|1", "cannot read qubit index ''"),
    ("negativity:-1|1", "cannot read qubit index '-1'"),
    ("negativity:0,1,2", "contains every qubit"),
    (3, "expected a string"),
])
def test_bad_spec_items_are_refused_by_name(item, message):
    with pytest.raises(ValueError) as info:
        parse_correlation_specs(["entropy:0", item], qubits=3)
    text = str(info.value)
    assert text.startswith(f"correlation spec {item!r}"), text
    assert message in text, text
    if "unknown kind" in message:
        for kind in ("concurrence", "negativity", "log_negativity", "mutual", "entropy"):
            assert kind in text


def test_duplicate_spec_items_are_refused():
    with pytest.raises(ValueError, match=re.escape("'concurrence: 1,0'")):
        parse_correlation_specs(["concurrence:1,0", "concurrence: 1,0"], qubits=2)
    with pytest.raises(ValueError, match="parsed for 2 qubits"):
        correlations(np.eye(8) / 8, parse_correlation_specs(["entropy:0"], qubits=2))


# -- argument checks ---------------------------------------------------------------------------

@pytest.mark.parametrize("call, message", [
    (lambda: entropy(np.eye(3) / 3), "not 2**N"),
    (lambda: entropy(np.ones(4)), "shape (*b, d, d)"),
    (lambda: entropy(np.eye(4) / 4, qubits=3), "does not match"),
    (lambda: partial_trace(np.eye(4) / 4, [2]), "out of range"),
    (lambda: partial_trace(np.eye(4) / 4, [0, 0]), "appears twice"),
    (lambda: partial_trace(np.eye(4) / 4, []), "is empty"),
    (lambda: mutual_information(np.eye(8) / 8, [0, 1], [1]), "overlap"),
    (lambda: negativity(np.eye(4) / 4, [0, 1]), "non-empty complement"),
    (lambda: negativity(np.eye(8) / 8, [0], other=[0, 2]), "overlap"),
    (lambda: concurrence(np.eye(8) / 8, (0, 1, 2)), "exactly two"),
    (lambda: concurrence(np.eye(8) / 8, (1, 1)), "appears twice"),
])
def test_bad_arguments(call, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        call()
