"""Correlation and entanglement measures of N-qubit density matrices (numpy only).

Every function takes states ``rho (*b, d, d)``, ``d = 2**N``, with any leading batch axes
``*b``, and returns arrays ``(*b,)`` (``()`` for a single state). The number of qubits is
``qubits`` (inferred from ``d`` when omitted; if given it must equal ``log2 d``).

Conventions (docs/conventions.md, docs/correlations.md):

* Qubit 0 is the **leftmost** (most significant) Kronecker factor: on two qubits
  ``X0 = kron(X, I)`` and ``rho[a, b]`` with ``a = 2 a0 + a1``.
* A reduced state keeps its qubits **in the order given** (``keep = (2, 0)`` puts qubit 2
  leftmost); the measures below do not depend on that order.
* Entropies and the mutual information are in nats (natural log), like
  :attr:`thermogeo.Response.entropy`; the logarithmic negativity is in bits (log base 2, so
  a Bell pair has ``E_N = 1``); the negativity ``(||rho^{T_A}||_1 - 1)/2`` and the
  concurrence are dimensionless (Bell pair: 1/2 and 1).
* States are assumed Hermitian with unit trace; only the Hermitian part is used.

Nothing here forms an array larger than ``rho``: partial traces are one ``einsum`` over a
``(*b, 2, ..., 2)`` view, partial transposes one axis permutation.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

__all__ = [
    "CorrelationSpec",
    "concurrence",
    "correlations",
    "entropy",
    "log_negativity",
    "mutual_information",
    "negativity",
    "parse_correlation_specs",
    "partial_trace",
    "partial_transpose",
]

# sigma_y (x) sigma_y: real and symmetric, the spin flip of the concurrence.
_SYSY = np.array([[0, 0, 0, -1], [0, 0, 1, 0], [0, 1, 0, 0], [-1, 0, 0, 0]], dtype=float)


# -- validation --------------------------------------------------------------------------------

def _state(rho, qubits: int | None) -> tuple[np.ndarray, int]:
    """``rho`` as a float or complex array ``(*b, d, d)`` and the number of qubits."""
    rho = np.asarray(rho)
    if not (np.issubdtype(rho.dtype, np.complexfloating) or np.issubdtype(rho.dtype, np.floating)):
        rho = rho.astype(float)
    if rho.ndim < 2 or rho.shape[-1] != rho.shape[-2]:
        raise ValueError(f"expected density matrices of shape (*b, d, d), got shape {rho.shape}")
    d = rho.shape[-1]
    n = d.bit_length() - 1
    if d < 2 or 2**n != d:
        raise ValueError(f"the matrix size d = {d} is not 2**N for a number of qubits N >= 1")
    if qubits is not None:
        if isinstance(qubits, bool) or not isinstance(qubits, int | np.integer):
            raise ValueError(f"qubits must be an integer, got {qubits!r}")
        if int(qubits) != n:
            raise ValueError(f"qubits = {qubits} does not match the matrix size d = {d} "
                             f"(2**{n})")
    return rho, n


def _subset(sub, n: int, what: str = "subset") -> tuple[int, ...]:
    """A non-empty tuple of distinct qubit indices in ``0..n-1`` (an int is one qubit)."""
    items = [sub] if isinstance(sub, int | np.integer) else list(sub)
    out = []
    for q in items:
        if isinstance(q, bool) or not isinstance(q, int | np.integer):
            raise ValueError(f"{what} {sub!r}: qubit indices must be integers, got {q!r}")
        if not 0 <= q < n:
            raise ValueError(f"{what} {sub!r}: qubit index {q} is out of range; "
                             f"the state has qubits 0..{n - 1}")
        if int(q) in out:
            raise ValueError(f"{what} {sub!r}: qubit {q} appears twice")
        out.append(int(q))
    if not out:
        raise ValueError(f"{what} {sub!r} is empty")
    return tuple(out)


def _disjoint(a: tuple[int, ...], b: tuple[int, ...]) -> None:
    common = sorted(set(a) & set(b))
    if common:
        raise ValueError(f"subsets {a} and {b} overlap (qubits {common}); they must be disjoint")


def _herm(x: np.ndarray) -> np.ndarray:
    return (x + np.conj(np.swapaxes(x, -1, -2))) / 2


# -- partial trace and transpose ---------------------------------------------------------------

def partial_trace(rho, keep, qubits: int | None = None) -> np.ndarray:
    r"""Reduced state of the qubits ``keep``, tracing out all others.

    .. math:: \rho_K = \operatorname{Tr}_{\bar K} \rho, \qquad
              (\rho_K)_{k k'} = \sum_{t} \rho_{(k, t), (k', t)}

    Parameters
    ----------
    rho : (*b, d, d) array
        States of ``N`` qubits, ``d = 2**N``, qubit 0 the leftmost Kronecker factor.
    keep : int or sequence of int
        Distinct qubits to keep. The reduced state's factors follow **the order given**:
        ``keep=(2, 0)`` has qubit 2 as its leftmost factor.
    qubits : int, optional
        ``N`` (inferred from ``d`` if omitted; checked if given).

    Returns
    -------
    (*b, 2**len(keep), 2**len(keep)) array
        Same dtype as ``rho``. One ``einsum`` over a ``(*b, 2, ..., 2)`` view of ``rho``; no
        intermediate larger than ``rho``.

    Examples
    --------
    >>> import numpy as np
    >>> up, down = np.diag([1.0, 0.0]), np.diag([0.0, 1.0])
    >>> rho = np.kron(up, down)                      # qubit 0 up, qubit 1 down
    >>> partial_trace(rho, [1]).real
    array([[0., 0.],
           [0., 1.]])
    >>> partial_trace(rho, (1, 0)).real.diagonal()   # order as given: |down, up> = |10>
    array([0., 0., 1., 0.])
    """
    rho, n = _state(rho, qubits)
    keep = _subset(keep, n, "keep")
    batch = rho.shape[:-2]
    t = rho.reshape(*batch, *([2] * (2 * n)))
    rows = list(range(n))
    cols = [q if q not in keep else n + q for q in range(n)]  # traced: column index = row index
    out_idx = [rows[q] for q in keep] + [cols[q] for q in keep]
    red = np.einsum(t, [Ellipsis, *rows, *cols], [Ellipsis, *out_idx])
    dk = 2 ** len(keep)
    return np.array(red, copy=True).reshape(*batch, dk, dk)


def partial_transpose(rho, subset, qubits: int | None = None) -> np.ndarray:
    r"""Partial transpose on the qubits ``subset`` (the others untouched).

    With ``rho = sum rho_{(a, r), (a', r')} |a><a'| (x) |r><r'|`` (``a`` the qubits of
    ``subset``, ``r`` the rest, in their positions):

    .. math:: \rho^{T_A} = \sum \rho_{(a, r), (a', r')}\, |a'\rangle\langle a| \otimes
              |r\rangle\langle r'|, \qquad
              (\rho^{T_A})_{(a, r), (a', r')} = \rho_{(a', r), (a, r')}

    Parameters
    ----------
    rho : (*b, d, d) array
    subset : int or sequence of int
        Qubits ``A`` whose row and column indices are swapped (order irrelevant).
    qubits : int, optional

    Returns
    -------
    (*b, d, d) array
        Qubit order unchanged. ``rho^{T_A}`` and ``rho^{T_B} = (rho^{T_A})^T`` have the same
        spectrum.

    Examples
    --------
    >>> import numpy as np
    >>> bell = np.zeros((4, 4)); bell[np.ix_([0, 3], [0, 3])] = 0.5   # (|00> + |11>)/sqrt 2
    >>> np.linalg.eigvalsh(partial_transpose(bell, [0]))               # swap operator / 2
    array([-0.5,  0.5,  0.5,  0.5])
    """
    rho, n = _state(rho, qubits)
    sub = _subset(subset, n)
    batch = rho.shape[:-2]
    nb = len(batch)
    t = rho.reshape(*batch, *([2] * (2 * n)))
    axes = list(range(nb + 2 * n))
    for q in sub:
        axes[nb + q], axes[nb + n + q] = axes[nb + n + q], axes[nb + q]
    d = rho.shape[-1]
    return np.ascontiguousarray(t.transpose(axes)).reshape(*batch, d, d)


# -- entropies ---------------------------------------------------------------------------------

def _entropy_of(rho: np.ndarray) -> np.ndarray:
    """``-sum p ln p`` over the eigenvalues ``p`` of the Hermitian part (negatives -> 0)."""
    p = np.clip(np.linalg.eigvalsh(_herm(rho)), 0.0, None)
    pos = p > 0
    return 0.0 - np.sum(np.where(pos, p * np.log(np.where(pos, p, 1.0)), 0.0), axis=-1)  # no -0.0


def entropy(rho, subset=None, qubits: int | None = None) -> np.ndarray:
    r"""Von Neumann entropy in nats of the state or of the reduced state of ``subset``.

    .. math:: S(\rho_A) = -\operatorname{Tr} \rho_A \ln \rho_A = -\sum_k p_k \ln p_k,
              \qquad \rho_A = \operatorname{Tr}_{\bar A} \rho

    with ``p_k`` the eigenvalues of ``rho_A`` (rounding negatives are set to 0, ``0 ln 0 = 0``).

    Parameters
    ----------
    rho : (*b, d, d) array
    subset : int or sequence of int, optional
        Qubits ``A``; ``None`` (default) for the whole state.
    qubits : int, optional

    Returns
    -------
    (*b,) float
        Natural log: a maximally mixed qubit has ``ln 2``.

    Examples
    --------
    >>> import numpy as np
    >>> bell = np.zeros((4, 4)); bell[np.ix_([0, 3], [0, 3])] = 0.5
    >>> print(f"{entropy(bell):.12f} {entropy(bell, [0]):.12f} {np.log(2):.12f}")
    0.000000000000 0.693147180560 0.693147180560
    """
    rho, n = _state(rho, qubits)
    if subset is not None:
        rho = partial_trace(rho, subset, n)
    return _entropy_of(rho)


def mutual_information(rho, a, b, qubits: int | None = None) -> np.ndarray:
    r"""Quantum mutual information ``I(A:B)`` in nats of disjoint qubit subsets.

    .. math:: I(A{:}B) = S(\rho_A) + S(\rho_B) - S(\rho_{AB})

    Qubits outside ``A`` and ``B`` are traced out first. ``I >= 0``; it measures all
    correlations, classical and quantum (``I = 2 S(rho_A)`` for a pure ``rho_AB``).

    Parameters
    ----------
    rho : (*b, d, d) array
    a, b : int or sequence of int
        Disjoint, non-empty sets of qubits.
    qubits : int, optional

    Returns
    -------
    (*b,) float
        Natural log: a Bell pair has ``2 ln 2``.

    Examples
    --------
    >>> import numpy as np
    >>> bell = np.zeros((4, 4)); bell[np.ix_([0, 3], [0, 3])] = 0.5
    >>> print(f"{mutual_information(bell, 0, 1):.12f} {2 * np.log(2):.12f}")
    1.386294361120 1.386294361120
    """
    rho, n = _state(rho, qubits)
    a, b = _subset(a, n, "a"), _subset(b, n, "b")
    _disjoint(a, b)
    ab = partial_trace(rho, a + b, n)  # A leftmost, then B
    m = len(a) + len(b)
    ia, ib = tuple(range(len(a))), tuple(range(len(a), m))
    return (_entropy_of(partial_trace(ab, ia, m)) + _entropy_of(partial_trace(ab, ib, m))
            - _entropy_of(ab))


# -- negativity --------------------------------------------------------------------------------

def _bipartite(rho, subset, other, qubits) -> tuple[np.ndarray, tuple[int, ...], int]:
    """``(state, A, number of qubits)``: reduced to ``A`` + ``B`` when ``other`` is given."""
    rho, n = _state(rho, qubits)
    a = _subset(subset, n, "subset")
    if other is None:
        if len(a) == n:
            raise ValueError(f"subset {a} contains every qubit: the bipartition needs a "
                             "non-empty complement")
        return rho, a, n
    b = _subset(other, n, "other")
    _disjoint(a, b)
    m = len(a) + len(b)
    return partial_trace(rho, a + b, n), tuple(range(len(a))), m


def _negativity(rho, subset, other, qubits) -> np.ndarray:
    state, a, m = _bipartite(rho, subset, other, qubits)
    lam = np.linalg.eigvalsh(_herm(partial_transpose(state, a, m)))
    return 0.0 - np.sum(np.minimum(lam, 0.0), axis=-1)  # 0.0 - 0.0 is +0.0


def negativity(rho, subset, qubits: int | None = None, *, other=None) -> np.ndarray:
    r"""Negativity of the bipartition ``A | B``.

    .. math:: \mathcal N = \frac{\lVert \rho^{T_A} \rVert_1 - 1}{2}
              = \sum_{\mu < 0} |\mu|, \qquad \mu \in \operatorname{spec} \rho^{T_A}

    (the two forms agree for ``Tr rho = 1``; the second is computed). ``N > 0`` means the
    state is entangled across ``A | B`` (NPT); ``N = 0`` does not prove separability
    beyond 2 x 2 and 2 x 3 dimensions (bound entanglement).

    Parameters
    ----------
    rho : (*b, d, d) array
    subset : int or sequence of int
        Qubits ``A`` (transposed).
    qubits : int, optional
    other : int or sequence of int, optional
        Qubits ``B`` (keyword only). Default: every qubit not in ``A``. If given, the qubits
        outside ``A`` and ``B`` are traced out first and the negativity is that of the reduced
        state ``rho_AB``.

    Returns
    -------
    (*b,) float
        Bell pair: ``1/2``; any product or separable state: 0.

    Examples
    --------
    >>> import numpy as np
    >>> bell = np.zeros((4, 4)); bell[np.ix_([0, 3], [0, 3])] = 0.5
    >>> print(f"{negativity(bell, [0]):.12f}")
    0.500000000000
    >>> ghz = np.zeros((8, 8)); ghz[np.ix_([0, 7], [0, 7])] = 0.5      # (|000> + |111>)/sqrt 2
    >>> print(f"{negativity(ghz, 0):.3f} {negativity(ghz, 0, other=1):.3f}")
    0.500 0.000
    """
    return _negativity(rho, subset, other, qubits)


def log_negativity(rho, subset, qubits: int | None = None, *, other=None) -> np.ndarray:
    r"""Logarithmic negativity in bits (log base 2) of the bipartition ``A | B``.

    .. math:: E_N = \log_2 \lVert \rho^{T_A} \rVert_1 = \log_2 (1 + 2 \mathcal N)

    (equal for ``Tr rho = 1``; the second form is computed, so ``E_N = 0`` exactly when
    ``N = 0``). Arguments as in :func:`negativity`.

    Returns
    -------
    (*b,) float
        Bell pair: 1 (one ebit); ``log2 2 = 1`` per maximally entangled qubit pair.

    Examples
    --------
    >>> import numpy as np
    >>> bell = np.zeros((4, 4)); bell[np.ix_([0, 3], [0, 3])] = 0.5
    >>> print(f"{log_negativity(bell, 1):.12f}")
    1.000000000000
    """
    return np.log1p(2 * _negativity(rho, subset, other, qubits)) / np.log(2)


# -- concurrence -------------------------------------------------------------------------------

def concurrence(rho, pair=(0, 1), qubits: int | None = None) -> np.ndarray:
    r"""Wootters concurrence of the reduced two-qubit state of the qubits ``pair = (i, j)``.

    .. math:: C = \max(0, l_1 - l_2 - l_3 - l_4), \qquad
              \tilde\rho = (\sigma_y \otimes \sigma_y)\, \rho^*\, (\sigma_y \otimes \sigma_y)

    with ``l_1 >= ... >= l_4`` the square roots of the eigenvalues of ``rho rho~``, i.e. of
    the Hermitian positive ``sqrt(rho) rho~ sqrt(rho)`` (``rho^*`` the complex conjugate in
    the computational basis). Computed stably: with ``rho = W W^+``, ``W = V sqrt(p)`` from
    the eigen-decomposition (rounding negatives of ``p`` set to 0), the ``l_k`` are the
    singular values of the complex-symmetric ``tau = W^T (sigma_y x sigma_y) W`` — no square
    root of rounding noise, so a pure Bell state gives ``C = 1`` to machine precision.

    Parameters
    ----------
    rho : (*b, d, d) array
    pair : (int, int)
        Two distinct qubits (default ``(0, 1)``); the others are traced out. ``C`` is
        symmetric in ``i, j``.
    qubits : int, optional

    Returns
    -------
    (*b,) float in [0, 1]
        Bell pair: 1; separable two-qubit states: 0. ``C > 0`` iff the pair is entangled.

    Examples
    --------
    >>> import numpy as np
    >>> bell = np.zeros((4, 4)); bell[np.ix_([0, 3], [0, 3])] = 0.5
    >>> print(f"{concurrence(bell):.12f}")
    1.000000000000
    >>> w = np.zeros(8); w[[1, 2, 4]] = 3 ** -0.5                  # W state of three qubits
    >>> print(f"{concurrence(np.outer(w, w), (0, 2)):.12f}")       # 2/3 for every pair
    0.666666666667
    """
    rho, n = _state(rho, qubits)
    if isinstance(pair, int | np.integer) or len(pair) != 2:
        raise ValueError(f"pair {pair!r}: the concurrence needs exactly two qubits (i, j)")
    pair = _subset(pair, n, "pair")
    r2 = _herm(partial_trace(rho, pair, n))
    p, V = np.linalg.eigh(r2)
    W = V * np.sqrt(np.clip(p, 0.0, None))[..., None, :]
    tau = np.swapaxes(W, -1, -2) @ _SYSY @ W
    s = np.linalg.svd(tau, compute_uv=False)  # descending
    return np.maximum(0.0, s[..., 0] - s[..., 1] - s[..., 2] - s[..., 3])


# -- opt-in specification lists ----------------------------------------------------------------

_KINDS = {
    # kind: (units, description, example)
    "concurrence": ("1", "Wootters concurrence", "concurrence:0,1"),
    "negativity": ("1", "negativity (||rho^T_A||_1 - 1)/2", "negativity:0|1,2"),
    "log_negativity": ("bit", "logarithmic negativity log2 ||rho^T_A||_1", "log_negativity:0|1"),
    "mutual": ("nat", "mutual information S(A) + S(B) - S(AB)", "mutual:0|1"),
    "entropy": ("nat", "von Neumann entropy", "entropy:0,1"),
}
_ACCEPTED = ", ".join(f"{k} ({v[2]!r})" for k, v in _KINDS.items())
_INDEX = re.compile(r"\s*(\d+)\s*$")


@dataclass(frozen=True)
class CorrelationSpec:
    """One requested measure, parsed from text such as ``"negativity:0|1,2"``.

    Calling it on states ``rho (*b, d, d)`` returns the measure ``(*b,)``.

    Attributes
    ----------
    kind : str
        ``concurrence``, ``negativity``, ``log_negativity``, ``mutual`` or ``entropy``.
    a : tuple of int
        First subset (the pair of the concurrence; ``()`` for the entropy of the whole state).
    b : tuple of int or None
        Second subset (``mutual``; ``negativity`` with an explicit ``B``), else ``None``.
    qubits : int
        Number of qubits of the states it applies to.
    text : str
        The item as written.
    """

    kind: str
    a: tuple[int, ...]
    b: tuple[int, ...] | None
    qubits: int
    text: str

    @property
    def name(self) -> str:
        """A valid identifier: ``concurrence_0_1``, ``negativity_0__1_2``, ``entropy``."""
        parts = [self.kind]
        if self.a:
            parts.append("_".join(map(str, self.a)))
        if self.b is not None:
            parts.append("_" + "_".join(map(str, self.b)))
        return "_".join(parts)

    @property
    def units(self) -> str:
        """``"nat"`` (entropy, mutual), ``"bit"`` (log_negativity) or ``"1"``."""
        return _KINDS[self.kind][0]

    @property
    def description(self) -> str:
        """Human-readable, e.g. ``negativity (||rho^T_A||_1 - 1)/2 of qubits (0,) | (1, 2)``."""
        if not self.a:
            where = "of the whole state"
        elif self.b is not None:
            where = f"of qubits {self.a} | {self.b}"
        elif self.kind in ("negativity", "log_negativity"):
            where = f"of qubits {self.a} | the rest"
        else:
            where = f"of qubits {self.a}"
        return f"{_KINDS[self.kind][1]} {where}"

    def __call__(self, rho) -> np.ndarray:
        rho, n = _state(rho, None)
        if n != self.qubits:
            raise ValueError(f"correlation spec {self.text!r} was parsed for {self.qubits} "
                             f"qubits; the states have {n}")
        if self.kind == "concurrence":
            return concurrence(rho, self.a, n)
        if self.kind == "negativity":
            return negativity(rho, self.a, n, other=self.b)
        if self.kind == "log_negativity":
            return log_negativity(rho, self.a, n, other=self.b)
        if self.kind == "mutual":
            return mutual_information(rho, self.a, self.b, n)
        return entropy(rho, self.a or None, n)


def _parse_subset(text: str, item: str, n: int) -> tuple[int, ...]:
    out = []
    for tok in text.split(","):
        m = _INDEX.match(tok)
        if not m:
            raise ValueError(f"correlation spec {item!r}: cannot read qubit index {tok.strip()!r}"
                             "; expected comma-separated qubit indices from 0, such as '0,2'")
        q = int(m.group(1))
        if q >= n:
            raise ValueError(f"correlation spec {item!r}: qubit index {q} is out of range; "
                             f"the machine has qubits 0..{n - 1}")
        if q in out:
            raise ValueError(f"correlation spec {item!r}: qubit {q} appears twice")
        out.append(q)
    return tuple(out)


def _parse_one(item, n: int) -> CorrelationSpec:
    if isinstance(item, CorrelationSpec):
        if item.qubits != n:
            raise ValueError(f"correlation spec {item.text!r} was parsed for {item.qubits} "
                             f"qubits, not {n}")
        return item
    if not isinstance(item, str):
        raise ValueError(f"correlation spec {item!r}: expected a string 'kind:qubits'; "
                         f"accepted kinds: {_ACCEPTED}")
    kind, sep, body = item.partition(":")
    kind = kind.strip().lower()
    if kind not in _KINDS:
        raise ValueError(f"correlation spec {item!r}: unknown kind {kind!r}; accepted kinds: "
                         f"{_ACCEPTED}")
    if not body.strip():
        if kind == "entropy" and not sep:
            return CorrelationSpec(kind, (), None, n, item)
        raise ValueError(f"correlation spec {item!r}: no qubits given; expected e.g. "
                         f"{_KINDS[kind][2]!r}" + (" (or 'entropy' for the whole state)"
                                                   if kind == "entropy" else ""))
    groups = body.split("|")
    if len(groups) > 2:
        raise ValueError(f"correlation spec {item!r}: at most two subsets 'A|B' are accepted")
    subsets = [_parse_subset(g, item, n) for g in groups]
    if len(subsets) == 2:
        common = sorted(set(subsets[0]) & set(subsets[1]))
        if common:
            raise ValueError(f"correlation spec {item!r}: the subsets overlap (qubits "
                             f"{common}); they must be disjoint")
    if kind == "concurrence":
        qs = tuple(q for s in subsets for q in s)
        if len(qs) != 2 or (len(subsets) == 2 and len(subsets[0]) != 1):
            raise ValueError(f"correlation spec {item!r}: the concurrence needs exactly two "
                             f"qubits, 'concurrence:i,j' (got {len(qs)})")
        return CorrelationSpec(kind, qs, None, n, item)
    if kind == "entropy":
        if len(subsets) != 1:
            raise ValueError(f"correlation spec {item!r}: the entropy takes one subset, "
                             "'entropy:0,1' (no '|')")
        return CorrelationSpec(kind, subsets[0], None, n, item)
    if kind == "mutual":
        if len(subsets) != 2:
            raise ValueError(f"correlation spec {item!r}: the mutual information needs two "
                             "subsets, 'mutual:A|B' such as 'mutual:0|1,2'")
        return CorrelationSpec(kind, subsets[0], subsets[1], n, item)
    # negativity, log_negativity: 'A|B', or 'A' against every other qubit
    if len(subsets) == 1 and len(subsets[0]) == n:
        raise ValueError(f"correlation spec {item!r}: subset {subsets[0]} contains every qubit;"
                         f" write '{kind}:A|B' or leave qubits outside A")
    return CorrelationSpec(kind, subsets[0], subsets[1] if len(subsets) == 2 else None, n, item)


def parse_correlation_specs(specs: str | Iterable[str | CorrelationSpec],
                            qubits: int) -> list[CorrelationSpec]:
    """Parse an opt-in list of correlation measures.

    Grammar of one item (spaces allowed around tokens)::

        item   := kind ":" subset ["|" subset]  |  "entropy"
        subset := index ("," index)*             (qubit indices from 0, distinct)

    ============================  =====================================  ====================
    item                          meaning                                name
    ============================  =====================================  ====================
    ``concurrence:i,j``           :func:`concurrence` of qubits i, j     ``concurrence_i_j``
    ``negativity:A|B``            :func:`negativity`, rest traced out    ``negativity_A__B``
    ``negativity:A``              :func:`negativity`, A vs all others    ``negativity_A``
    ``log_negativity:A|B``        :func:`log_negativity` (bits)          ``log_negativity_A__B``
    ``mutual:A|B``                :func:`mutual_information` (nats)      ``mutual_A__B``
    ``entropy:A``                 :func:`entropy` of A (nats)            ``entropy_A``
    ``entropy``                   :func:`entropy` of the whole state     ``entropy``
    ============================  =====================================  ====================

    (``A = 1,2`` is written ``1_2`` in the name, e.g. ``negativity:0|1,2`` ->
    ``negativity_0__1_2``.)

    Parameters
    ----------
    specs : str or iterable of str or CorrelationSpec
        One item or a list of items (already parsed items are checked and kept).
    qubits : int
        Number of qubits ``N``; indices must lie in ``0..N-1``.

    Returns
    -------
    list of CorrelationSpec
        In the given order; each is callable on ``rho (*b, d, d)``.

    Raises
    ------
    ValueError
        Naming the bad item and what is accepted: unknown kind, malformed or out-of-range
        index, a qubit repeated, overlapping subsets, a concurrence of other than two qubits,
        a mutual information without two subsets, or two items with the same name.

    Examples
    --------
    >>> specs = parse_correlation_specs(["concurrence:0,1", "negativity:0|1,2"], qubits=3)
    >>> [s.name for s in specs]
    ['concurrence_0_1', 'negativity_0__1_2']
    >>> parse_correlation_specs(["concurrence:0,3"], qubits=3)
    Traceback (most recent call last):
    ...
    ValueError: correlation spec 'concurrence:0,3': qubit index 3 is out of range; ...
    """
    if isinstance(qubits, bool) or not isinstance(qubits, int | np.integer) or qubits < 1:
        raise ValueError(f"qubits must be a positive integer, got {qubits!r}")
    if isinstance(specs, str | CorrelationSpec):
        specs = [specs]
    out: list[CorrelationSpec] = []
    seen: dict[str, str] = {}
    for item in specs:
        spec = _parse_one(item, int(qubits))
        if spec.name in seen:
            raise ValueError(f"correlation spec {spec.text!r}: same measure as "
                             f"{seen[spec.name]!r} (name {spec.name!r}); list it once")
        seen[spec.name] = spec.text
        out.append(spec)
    return out


def correlations(rho, specs: str | Sequence[str | CorrelationSpec],
                 qubits: int | None = None) -> dict[str, np.ndarray]:
    """Evaluate an opt-in list of measures on states ``rho (*b, d, d)``.

    Parameters
    ----------
    rho : (*b, d, d) array
    specs : str or sequence of str or CorrelationSpec
        Items of :func:`parse_correlation_specs`, e.g. ``["concurrence:0,1", "mutual:0|1"]``.
    qubits : int, optional

    Returns
    -------
    dict[str, (*b,) float array]
        Keyed by :attr:`CorrelationSpec.name`, in the order of ``specs``.

    Examples
    --------
    >>> import numpy as np
    >>> bell = np.zeros((4, 4)); bell[np.ix_([0, 3], [0, 3])] = 0.5
    >>> out = correlations(np.stack([bell, np.eye(4) / 4]),
    ...                    ["concurrence:0,1", "log_negativity:0|1", "mutual:0|1"])
    >>> {k: np.round(v, 6).tolist() for k, v in out.items()}
    {'concurrence_0_1': [1.0, 0.0], 'log_negativity_0__1': [1.0, 0.0],
     'mutual_0__1': [1.386294, 0.0]}
    """
    rho, n = _state(rho, qubits)
    return {s.name: s(rho) for s in parse_correlation_specs(specs, n)}
