"""Pauli-string operators and their text grammar.

Grammar (ASCII; spaces, tabs and newlines between tokens are ignored)::

    operator    := sign* term (sign+ term)*          (repeated signs fold: "X0 - -Z0")
    term        := [coefficient "*"] factor (" " factor)*
    factor      := ("X" | "Y" | "Z") qubit-index      (0, 1, 2, ...: no leading zeros)
    coefficient := number | constant name
    number      := digits ["." digits] [("e" | "E") [sign] digits]   (or ".5")

For example ``"X0 + 2*X1"``, ``"0.5*X0 X1 - Y0 Y1"``, ``"b*X1"`` (``b`` a named constant). A
qubit may appear at most once in a term. Anything else is refused with a :class:`ModelError`
naming the field: a trailing sign (``"Z0 +"``), ``*`` between factors or ``**``, digit
separators (``1_0``), non-ASCII characters (other digits too), complex numbers, numbers that
overflow, underflow or exceed the range of docs/decisions/0008-input-validation.md. Matrices
follow :mod:`thermogeo.conventions` (qubit 0 is the leftmost tensor factor).
"""

from __future__ import annotations

import math
import re
import sys
from collections.abc import Mapping
from functools import lru_cache

import numpy as np

from thermogeo.baths import limits
from thermogeo.errors import ModelError

_PAULI = {
    "I": np.eye(2, dtype=complex),
    "X": np.array([[0, 1], [1, 0]], dtype=complex),
    "Y": np.array([[0, -1j], [1j, 0]], dtype=complex),
    "Z": np.array([[1, 0], [0, -1]], dtype=complex),
}
_FACTOR = re.compile(r"([XYZ])([0-9]+)")
_QUBIT = re.compile(r"0|[1-9][0-9]*")
_TOKEN = re.compile(r"(?P<ws>[ \t\r\n]+)"
                    r"|(?P<number>(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)"
                    r"|(?P<name>[A-Za-z_][A-Za-z0-9_]*)"
                    r"|(?P<op>[*+-])")
GRAMMAR = ("expected terms joined by + or -, each '[real coefficient *] P<k> P<k> ...' with P "
           "one of X, Y, Z and k a qubit index from 0 (ASCII, no leading zeros), the "
           "coefficient a number such as 2, 0.5, 1e-1 or a named constant")


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


def is_pauli_factor(name: str) -> bool:
    """Whether ``name`` reads as a Pauli factor such as ``X0`` (so it cannot name a constant
    or a parameter)."""
    return _FACTOR.fullmatch(name) is not None


def number(token: str, where: str, text: str | None = None) -> float:
    """A numeric literal of the grammar (ASCII digits, optional fraction and exponent) as a
    float; refuses literals that overflow to ``inf``, underflow to zero or to a subnormal
    number, or exceed ``MAX_MAGNITUDE`` (docs/decisions/0008-input-validation.md)."""
    in_text = f" in {text!r}" if text is not None and text != token else ""
    x = float(token)
    mantissa = re.split(r"[eE]", token)[0]
    if math.isinf(x):
        raise ModelError(f"{where}: the number {token!r}{in_text} overflows double precision; "
                         f"accepted |x| <= {limits.MAX_MAGNITUDE:g} ({limits.DECISION})")
    if re.search(r"[1-9]", mantissa) and abs(x) < sys.float_info.min:
        raise ModelError(f"{where}: the number {token!r}{in_text} underflows double precision "
                         f"(it would be read as {x!r}); write 0 or a number >= "
                         f"{sys.float_info.min:.3g} in magnitude")
    if abs(x) > limits.MAX_MAGNITUDE:
        raise ModelError(f"{where}: the number {token!r}{in_text} is out of range; accepted "
                         f"|x| <= {limits.MAX_MAGNITUDE:g} in the model's energy unit "
                         f"({limits.DECISION})")
    return x


def tokenize(text: str, where: str, grammar: str = GRAMMAR) -> list[tuple[str, str, int]]:
    """``[(kind, token, position), ...]`` with kinds ``number``, ``name``, ``op`` (``*``,
    ``+``, ``-``) and ``ws``; a :class:`ModelError` at the first character outside the
    grammar (non-ASCII characters, digit separators, brackets, ...)."""
    out, pos = [], 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            ch = text[pos]
            if not ch.isascii():
                why = (f"{ch!r} (U+{ord(ch):04X}) is not ASCII; operator strings and "
                       "coefficients are ASCII (qubit indices are the digits 0-9)")
            else:
                why = f"{ch!r} is not part of the grammar"
            raise ModelError(f"{where}: cannot read character {pos} of {text!r}: {why}; "
                             f"{grammar}")
        kind = m.lastgroup
        if kind == "name" and out and out[-1][0] == "number":
            tok = m.group()
            if tok in ("j", "J"):
                raise ModelError(f"{where}: complex coefficients are not allowed in {text!r}; "
                                 "coefficients must be real so the operator is Hermitian")
            if tok.startswith("_"):
                why = "digit separators such as 1_000 are not accepted"
            else:
                why = f"a number must be followed by '*', not by {tok!r}"
            raise ModelError(f"{where}: cannot read {out[-1][1] + tok!r} in {text!r}: {why}; "
                             f"{grammar}")
        out.append((kind, m.group(), pos))
        pos = m.end()
    return out


def parse_operator(text: str, qubits: int, constants: Mapping[str, float] | None = None,
                   where: str = "operator") -> list[tuple[float, tuple[tuple[str, int], ...]]]:
    """Parse an operator string into ``[(coefficient, ((pauli, qubit), ...)), ...]``.

    Raises :class:`ModelError` naming ``where`` and the accepted grammar on malformed text
    (including a trailing sign, ``**``, non-ASCII characters and digit separators), unknown
    constants, qubit indices out of range and numbers out of range.
    """
    constants = constants or {}
    if not isinstance(text, str) or not text.strip():
        raise ModelError(f"{where}: expected a non-empty operator string such as "
                         f"'X0 + 2*X1', got {limits.show(text)}")
    toks = [t for t in tokenize(text, where) if t[0] != "ws"]
    n, i, out = len(toks), 0, []

    def fail(why: str):
        raise ModelError(f"{where}: {why} in {text!r}; {GRAMMAR}")

    while True:
        sign, signs = 1, []
        while i < n and toks[i][1] in "+-":
            sign *= -1 if toks[i][1] == "-" else 1
            signs.append(toks[i][1])
            i += 1
        if i == n:
            if signs:
                fail(f"the string ends with {signs[-1]!r}: a term is missing after it")
            break
        kind, tok, pos = toks[i]
        coef = 1.0
        if kind == "number" or (kind == "name" and i + 1 < n and toks[i + 1][1] == "*"):
            if kind == "number":
                coef = number(tok, where, text)
            elif is_pauli_factor(tok):
                fail(f"{tok!r} is a Pauli factor, not a coefficient: factors of a term are "
                     f"separated by spaces ('X0 X1'), not '*'")
            elif tok in constants:
                coef = float(constants[tok])
            else:
                known = ", ".join(sorted(constants)) or "none defined"
                raise ModelError(f"{where}: unknown coefficient name {tok!r} in {text!r}; "
                                 f"use a real number or a constant ({known})")
            i += 1
            if i == n or toks[i][1] != "*":
                fail(f"the coefficient {tok!r} must be followed by '*' and a Pauli factor")
            i += 1
            if i == n:
                fail("the string ends with '*': a Pauli factor is missing after it")
            if toks[i][1] == "*":
                fail("'**' is not accepted (no powers; a term has one coefficient)")
        factors = []
        while i < n and toks[i][0] == "name":
            f = toks[i][1]
            fm = _FACTOR.fullmatch(f)
            if not fm:
                fail(f"cannot read factor {f!r}")
            if not _QUBIT.fullmatch(fm.group(2)):
                fail(f"qubit index {fm.group(2)!r} of {f!r} has a leading zero (write "
                     f"{fm.group(1)}{int(fm.group(2))}, or separate factors by spaces)")
            q = int(fm.group(2))
            if q >= qubits:
                raise ModelError(f"{where}: qubit index {q} in {text!r} is out of range; "
                                 f"this machine has qubits 0..{qubits - 1}")
            if any(q == g[1] for g in factors):
                raise ModelError(f"{where}: qubit {q} appears twice in a term of {text!r}")
            factors.append((fm.group(1), q))
            i += 1
        if not factors:
            fail(f"{tok!r} at position {pos} is not a Pauli factor (a term needs at least one)")
        if i < n and toks[i][1] not in "+-":
            if toks[i][1] == "*":
                fail("'*' after a Pauli factor: factors of a term are separated by spaces and "
                     "the coefficient comes first ('2*X0 X1')")
            fail(f"cannot read {toks[i][1]!r} at position {toks[i][2]}")
        out.append((sign * coef, tuple(factors)))
    return out


def pauli_coefficients(text: str, qubits: int, constants: Mapping[str, float] | None = None,
                       where: str = "operator") -> dict[tuple[tuple[str, int], ...], float]:
    """``{pauli string: coefficient}`` of an operator string, equal strings summed (factors
    sorted by qubit). A sum that cancels to within rounding (``|sum| <= 8 eps sum |c|``, e.g.
    ``0.1*Z0 + 0.2*Z0 - 0.3*Z0``) is dropped: an empty result is the zero operator."""
    sums: dict = {}
    for c, factors in parse_operator(text, qubits, constants, where):
        key = tuple(sorted(factors, key=lambda f: f[1]))
        s, a = sums.get(key, (0.0, 0.0))
        sums[key] = (s + c, a + abs(c))
    eps = np.finfo(float).eps
    return {k: s for k, (s, a) in sums.items() if abs(s) > 8 * eps * a}


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
    if hasattr(op, "full") and callable(op.full):  # qutip.Qobj (duck-typed: QuTiP is optional)
        check_qobj(op, qubits, where)
        op = op.full()
    try:
        M = np.asarray(op, dtype=complex)
    except (TypeError, ValueError, OverflowError):
        raise ModelError(f"{where}: expected an operator string, a ({d}, {d}) array or a "
                         f"Qobj, got {limits.show(op)}") from None
    if M.shape != (d, d):
        raise ModelError(f"{where}: expected a ({d}, {d}) matrix for {qubits} qubits, "
                         f"got shape {M.shape}")
    if not np.all(np.isfinite(M)):
        raise ModelError(f"{where}: the matrix has non-finite entries (inf or nan); entries "
                         f"must be finite with |x| <= {limits.MAX_MAGNITUDE:g}")
    big = np.abs(M).max()
    if big > limits.MAX_MAGNITUDE:
        raise ModelError(f"{where}: an entry of magnitude {big:.3g} is out of range; accepted "
                         f"|x| <= {limits.MAX_MAGNITUDE:g} ({limits.DECISION})")
    err = np.abs(M - M.conj().T).max()
    if err > 1e-12 * max(1.0, big):
        raise ModelError(f"{where}: operator is not Hermitian (max |M - M^+| = {err:.3g})")
    return M


def check_qobj(op, qubits: int, where: str = "operator") -> None:
    """Refuse a QuTiP ``Qobj`` that is not an operator on ``qubits`` qubits, naming ``where``
    and what is wrong (its type, shape or dims) without printing the matrix.

    Accepted: ``type == "oper"``, shape ``(d, d)`` with ``d = 2**qubits``, equal input and
    output dims whose product is ``d`` (``[[2, 2], [2, 2]]`` or the flat ``[[4], [4]]`` of a
    ``Qobj`` made from an array).
    """
    d = 2**qubits
    kind, dims, shape = getattr(op, "type", None), getattr(op, "dims", None), \
        tuple(getattr(op, "shape", ()))
    seen = f"a Qobj of type {kind!r}, shape {shape}, dims {dims}"
    if kind != "oper":
        raise ModelError(f"{where}: expected an operator Qobj (type 'oper') on {qubits} "
                         f"qubit(s), got {seen}")
    if shape != (d, d):
        raise ModelError(f"{where}: expected a ({d}, {d}) operator for {qubits} qubit(s), got "
                         f"{seen}")
    ok = (isinstance(dims, (list, tuple)) and len(dims) == 2 and list(dims[0]) == list(dims[1])
          and int(np.prod(dims[0])) == d)
    if not ok:
        raise ModelError(f"{where}: dims {dims} do not describe {qubits} qubit(s); expected "
                         f"equal input and output dims with product {d}, such as "
                         f"{[[2] * qubits, [2] * qubits]} or {[[d], [d]]}")


# -- Pauli decomposition of a matrix (the model-file writer) ----------------------------------

PAULI_TOL = 1e-14
"""Relative tolerance of :func:`pauli_text`: Pauli components below ``PAULI_TOL * max|M|``
are dropped, and the string is used only if it reproduces ``M`` entry by entry within
``PAULI_TOL * max|M|`` (docs/decisions/0011-qutip-both-ways.md)."""

_LABELS = "IXYZ"
# _TO_PAULI[p, 2 r + c] = P_p[c, r] / 2: contracting a qubit's (row, column) pair with it gives
# Tr(P_p M) / 2 for that qubit; _FROM_PAULI[2 r + c, p] = P_p[r, c] undoes it.
_TO_PAULI = np.stack([_PAULI[p].T.reshape(4) for p in _LABELS]) / 2
_FROM_PAULI = np.stack([_PAULI[p].reshape(4) for p in _LABELS], axis=1)


def _per_qubit(t: np.ndarray, T: np.ndarray, qubits: int) -> np.ndarray:
    for k in range(qubits):
        t = np.moveaxis(np.tensordot(T, t, axes=([1], [k])), 0, k)
    return t


def pauli_components(M: np.ndarray, qubits: int) -> np.ndarray:
    """Components of a ``(d, d)`` matrix on the Pauli strings: ``c (4,) * qubits`` with

        c[p_0, ..., p_{N-1}] = Tr(P M) / d,     P = P_{p_0} (x) ... (x) P_{p_{N-1}}

    (``p = 0, 1, 2, 3`` for ``I, X, Y, Z``; qubit 0 leftmost), so ``M = sum_P c_P P``. Real
    for a Hermitian ``M``. One pass per qubit, ``O(N 4^N)``.

    Examples
    --------
    >>> c = pauli_components(operator_matrix("0.5*X0 Z1 - Y1", 2), 2)
    >>> float(c[1, 3].real), float(c[0, 2].real), float(abs(c).sum())
    (0.5, -1.0, 1.5)
    """
    N = qubits
    t = np.asarray(M, dtype=complex).reshape((2,) * (2 * N))
    t = t.transpose([a for k in range(N) for a in (k, N + k)]).reshape((4,) * N)
    return _per_qubit(t, _TO_PAULI, N)


def pauli_matrix(c: np.ndarray, qubits: int) -> np.ndarray:
    """The ``(d, d)`` matrix ``sum_P c_P P`` of components ``c (4,) * qubits`` (the inverse of
    :func:`pauli_components`)."""
    N = qubits
    t = _per_qubit(np.asarray(c, dtype=complex), _FROM_PAULI, N).reshape((2,) * (2 * N))
    t = t.transpose([2 * k for k in range(N)] + [2 * k + 1 for k in range(N)])
    return t.reshape(2**N, 2**N)


def pauli_text(M: np.ndarray, qubits: int, tol: float = PAULI_TOL) -> str | None:
    """An operator string equal to the matrix ``M`` within ``tol * max|M|``, or ``None``.

    ``None`` when ``M`` has an identity component, an anti-Hermitian part or a Pauli
    component at a subnormal magnitude above ``tol * max|M|`` (the grammar has no identity
    term and real coefficients only), or is the zero matrix (a string needs a term).
    Coefficients are written with ``repr`` (read back exactly); terms go by weight, then by
    qubits, then ``X < Y < Z``, and a coefficient of 1 is left out.

    Examples
    --------
    >>> pauli_text(operator_matrix("X0 X1 + Y0 Y1 - 0.25*Z1", 2), 2)
    '-0.25*Z1 + X0 X1 + Y0 Y1'
    >>> pauli_text(np.diag([1.0, 0.0]), 1) is None       # |0><0| = (I + Z)/2
    True
    """
    M = np.asarray(M, dtype=complex)
    scale = float(np.abs(M).max()) if M.size else 0.0
    if scale == 0.0:
        return None
    c = pauli_components(M, qubits)
    cut = tol * scale
    if abs(c.flat[0]) > cut or np.abs(c.imag).max() > cut:
        return None
    keep = np.abs(c.real) > cut
    kept = np.where(keep, c.real, 0.0)
    if np.any(keep & (np.abs(c.real) < sys.float_info.min)):
        return None
    if np.abs(pauli_matrix(kept, qubits) - M).max() > cut:
        return None
    terms = []
    for idx in np.argwhere(keep):
        factors = [(_LABELS[p], q) for q, p in enumerate(idx) if p]
        order = (len(factors), [q for _, q in factors], [p for p, _ in factors])
        terms.append((order, " ".join(f"{p}{q}" for p, q in factors), float(kept[tuple(idx)])))
    out = []
    for _, text, v in sorted(terms):
        mag = "" if abs(v) == 1.0 else f"{abs(v)!r}*"
        sign = ("-" if v < 0 else "") if not out else (" - " if v < 0 else " + ")
        out.append(f"{sign}{mag}{text}")
    return "".join(out)
