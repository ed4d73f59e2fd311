"""Pauli-string operators and their text grammar.

Grammar (whitespace-insensitive between tokens)::

    operator := term (("+" | "-") term)*
    term     := [coefficient "*"] factor (" " factor)*
    factor   := ("X" | "Y" | "Z") qubit-index          (qubit index from 0)
    coefficient := real number | constant name

For example ``"X0 + 2*X1"``, ``"0.5*X0 X1 - Y0 Y1"``, ``"b*X1"`` (``b`` a named constant). A
qubit may appear at most once in a term. Matrices follow :mod:`thermogeo.conventions` (qubit 0
is the leftmost tensor factor).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache

import numpy as np

from thermogeo.errors import ModelError

_PAULI = {
    "I": np.eye(2, dtype=complex),
    "X": np.array([[0, 1], [1, 0]], dtype=complex),
    "Y": np.array([[0, -1j], [1j, 0]], dtype=complex),
    "Z": np.array([[1, 0], [0, -1]], dtype=complex),
}
_NUMBER = r"(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?"
_NAME = r"[A-Za-z_][A-Za-z_0-9]*"
_FACTOR = re.compile(r"([XYZ])(\d+)$")
_COEF = re.compile(rf"^\s*({_NUMBER}|{_NAME})\s*\*\s*(.*)$")


@lru_cache(maxsize=4096)
def _pauli_string(factors: tuple[tuple[str, int], ...], qubits: int) -> np.ndarray:
    labels = ["I"] * qubits
    for p, q in factors:
        labels[q] = p
    out = np.ones((1, 1), dtype=complex)
    for p in labels:
        out = np.kron(out, _PAULI[p])
    out.setflags(write=False)
    return out


def _split_terms(text: str) -> list[tuple[int, str]]:
    """Split at + and - signs that are not a number's exponent sign; fold repeated signs."""
    parts = re.split(r"(?<![0-9.][eE])([+-])", text)
    terms, sign = [], 1
    for part in parts:
        if part in ("+", "-"):
            sign *= -1 if part == "-" else 1
        elif part.strip():
            terms.append((sign, part.strip()))
            sign = 1
    return terms


def parse_operator(text: str, qubits: int, constants: Mapping[str, float] | None = None,
                   where: str = "operator") -> list[tuple[float, tuple[tuple[str, int], ...]]]:
    """Parse an operator string into ``[(coefficient, ((pauli, qubit), ...)), ...]``.

    Raises :class:`ModelError` naming ``where`` and the accepted grammar on malformed text,
    unknown constants or qubit indices out of range.
    """
    constants = constants or {}
    if not isinstance(text, str) or not text.strip():
        raise ModelError(f"{where}: expected a non-empty operator string such as "
                         f"'X0 + 2*X1', got {text!r}")
    out = []
    for sign, term in _split_terms(text):
        coef = 1.0
        m = _COEF.match(term)
        if m:
            tok, term = m.group(1), m.group(2)
            if re.fullmatch(_NUMBER, tok):
                coef = float(tok)
            elif tok in constants:
                coef = float(constants[tok])
            else:
                known = ", ".join(sorted(constants)) or "none defined"
                raise ModelError(f"{where}: unknown coefficient name {tok!r} in {text!r}; "
                                 f"use a real number or a constant ({known})")
        if "j" in term.lower().replace(" ", "") and re.search(r"\d[jJ]", term):
            raise ModelError(f"{where}: complex coefficients are not allowed in {text!r}; "
                             "coefficients must be real so the operator is Hermitian")
        factors = []
        for f in term.split():
            fm = _FACTOR.match(f)
            if not fm:
                raise ModelError(
                    f"{where}: cannot read factor {f!r} in {text!r}; expected terms joined by "
                    "+ or -, each '[real coefficient *] P<k> P<k> ...' with P one of X, Y, Z "
                    "and k a qubit index from 0")
            q = int(fm.group(2))
            if q >= qubits:
                raise ModelError(f"{where}: qubit index {q} in {text!r} is out of range; "
                                 f"this machine has qubits 0..{qubits - 1}")
            if any(q == g[1] for g in factors):
                raise ModelError(f"{where}: qubit {q} appears twice in the term {term!r}")
            factors.append((fm.group(1), q))
        if not factors:
            raise ModelError(f"{where}: term {term!r} of {text!r} has no Pauli factor")
        out.append((sign * coef, tuple(factors)))
    return out


def operator_matrix(text: str, qubits: int, constants: Mapping[str, float] | None = None,
                    where: str = "operator") -> np.ndarray:
    """Dense Hermitian matrix of an operator string, ``(2**qubits, 2**qubits)``."""
    d = 2**qubits
    M = np.zeros((d, d), dtype=complex)
    for c, factors in parse_operator(text, qubits, constants, where):
        key = tuple(sorted(factors, key=lambda f: f[1]))
        if qubits <= _CACHE_MAX_QUBITS:
            M += c * _pauli_string(key, qubits)
        else:  # one entry per row: add it in place (a cached dense 12-qubit string is 268 MB)
            rows, cols, vals = _pauli_entries(key, qubits)
            M[rows, cols] += c * vals
    return M


_CACHE_MAX_QUBITS = 8


def _pauli_entries(factors: tuple[tuple[str, int], ...], qubits: int):
    """``(rows, cols, values)`` of the ``2**qubits`` nonzero entries of a Pauli string."""
    import scipy.sparse as sp

    labels = ["I"] * qubits
    for p, q in factors:
        labels[q] = p
    out = sp.identity(1, dtype=complex, format="csr")
    for p in labels:
        out = sp.kron(out, sp.csr_matrix(_PAULI[p]), format="csr")
    coo = out.tocoo()
    return coo.row, coo.col, coo.data


def operator_sparse(text: str, qubits: int, constants: Mapping[str, float] | None = None,
                    where: str = "operator"):
    """Sparse (CSR) Hermitian matrix of an operator string, ``(2**qubits, 2**qubits)``:
    one nonzero per row and Pauli string, so a 12-qubit operator costs kilobytes, not the
    268 MB of its dense form."""
    import scipy.sparse as sp

    d = 2**qubits
    rows, cols, vals = [], [], []
    for c, factors in parse_operator(text, qubits, constants, where):
        r, k, v = _pauli_entries(tuple(sorted(factors, key=lambda f: f[1])), qubits)
        rows.append(r)
        cols.append(k)
        vals.append(c * v)
    M = sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                      shape=(d, d))
    M.sum_duplicates()
    return M


def as_sparse(op, qubits: int, constants: Mapping[str, float] | None = None,
              where: str = "operator"):
    """Like :func:`as_matrix` but returns a CSR matrix (strings never go through a dense
    matrix)."""
    import scipy.sparse as sp

    if isinstance(op, str):
        return operator_sparse(op, qubits, constants, where)
    return sp.csr_matrix(as_matrix(op, qubits, constants, where))


def as_matrix(op, qubits: int, constants: Mapping[str, float] | None = None,
              where: str = "operator") -> np.ndarray:
    """A Hermitian ``(d, d)`` matrix from a string, an array or a QuTiP ``Qobj``.

    Raises :class:`ModelError` if the shape does not match ``2**qubits`` or the matrix is not
    Hermitian.
    """
    d = 2**qubits
    if isinstance(op, str):
        return operator_matrix(op, qubits, constants, where)
    if hasattr(op, "full") and callable(op.full):  # qutip.Qobj
        op = op.full()
    M = np.asarray(op, dtype=complex)
    if M.shape != (d, d):
        raise ModelError(f"{where}: expected a ({d}, {d}) matrix for {qubits} qubits, "
                         f"got shape {M.shape}")
    err = np.abs(M - M.conj().T).max()
    if err > 1e-12 * max(1.0, np.abs(M).max()):
        raise ModelError(f"{where}: operator is not Hermitian (max |M - M^+| = {err:.3g})")
    return M
