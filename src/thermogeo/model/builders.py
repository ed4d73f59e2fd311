"""Builders of common operator strings (fields and exchange on graphs).

They return operator strings in the grammar of :mod:`thermogeo.model.pauli`, so machines built
in Python round-trip to TOML model files. Convention reminder: ``J S_i.S_j`` with
``S = sigma/2`` equals ``(J/4) (X_i X_j + Y_i Y_j + Z_i Z_j)``.
"""

from __future__ import annotations

from collections.abc import Iterable

from thermogeo.errors import ModelError

GRAPHS = ("chain", "ring", "all")
EXCHANGE_KINDS = ("heisenberg", "xxz", "xy", "ising")


def _axis(axis: str) -> str:
    if axis not in ("X", "Y", "Z"):
        raise ModelError(f"axis: expected one of 'X', 'Y', 'Z', got {axis!r}")
    return axis


def uniform_field(qubits: int, axis: str) -> str:
    """``sum_j P_j`` for ``P`` in X, Y, Z: e.g. ``uniform_field(2, "X") == "X0 + X1"``."""
    return " + ".join(f"{_axis(axis)}{j}" for j in range(qubits))


def local_field(qubit: int, axis: str) -> str:
    """``P_qubit``: the field on one qubit."""
    return f"{_axis(axis)}{qubit}"


def graph_edges(qubits: int, graph: str | Iterable[tuple[int, int]] = "chain"
                ) -> list[tuple[int, int]]:
    """Edges of ``"chain"`` (open), ``"ring"`` (periodic), ``"all"`` (all-to-all) or a custom
    iterable of pairs."""
    if isinstance(graph, str):
        if graph == "chain":
            return [(i, i + 1) for i in range(qubits - 1)]
        if graph == "ring":
            return [(i, (i + 1) % qubits) for i in range(qubits)] if qubits > 2 else \
                [(0, 1)][: qubits - 1]
        if graph == "all":
            return [(i, j) for i in range(qubits) for j in range(i + 1, qubits)]
        raise ModelError(f"graph: expected one of {GRAPHS} or a list of pairs, got {graph!r}")
    edges = [tuple(int(q) for q in e) for e in graph]
    for i, j in edges:
        if i == j or not (0 <= i < qubits and 0 <= j < qubits):
            raise ModelError(f"graph: edge ({i}, {j}) must join two different qubits in "
                             f"0..{qubits - 1}")
    return edges


def exchange(qubits: int, graph: str | Iterable[tuple[int, int]] = "chain",
             kind: str = "heisenberg", delta: float = 1.0) -> str:
    """Exchange ``sum_<ij> (X_i X_j + Y_i Y_j + delta Z_i Z_j)`` on the edges of a graph.

    ``kind``: ``"heisenberg"`` (delta = 1), ``"xxz"`` (the given ``delta``), ``"xy"``
    (delta = 0) or ``"ising"`` (only ``Z_i Z_j``). Multiply by ``J/4`` for ``J S_i.S_j``.
    """
    if kind not in EXCHANGE_KINDS:
        raise ModelError(f"kind: expected one of {EXCHANGE_KINDS}, got {kind!r}")
    terms = []
    for i, j in graph_edges(qubits, graph):
        if kind == "ising":
            terms.append(f"Z{i} Z{j}")
            continue
        terms += [f"X{i} X{j}", f"Y{i} Y{j}"]
        dz = {"heisenberg": 1.0, "xy": 0.0, "xxz": float(delta)}[kind]
        if dz != 0:
            terms.append(f"Z{i} Z{j}" if dz == 1 else f"{dz!r}*Z{i} Z{j}")
    if not terms:
        raise ModelError(f"graph: no edges for {qubits} qubits")
    return " + ".join(terms).replace("+ -", "- ")
