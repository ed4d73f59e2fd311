"""Correlations and entanglement of the states a machine passes through (docs/correlations.md).

A request is a list of items ``"kind:subsets[@state]"``: the measure and its qubits as in
:func:`thermogeo.linalg.correlations.parse_correlation_specs` (``concurrence:0,1``,
``negativity:0|1,2``, ``mutual:0|1``, ``entropy:0``, ``log_negativity:0|1``), evaluated on

* ``@steady`` (the default): the instantaneous steady state ``rho_0(lambda)``;
* ``@ground``: the ground level of ``H(lambda)`` (the uniform mixture over a degenerate
  ground level, so that the state does not depend on a choice of eigenvectors);
* ``@thermal``: the Gibbs state ``exp(-H/T)/Z`` at the baths' common temperature (refused
  when the baths differ in temperature).

The variable of an item is the measure's name, suffixed ``_ground`` or ``_thermal`` for the
eigenstates of ``H``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from thermogeo.errors import ModelError
from thermogeo.linalg.correlations import CorrelationSpec, parse_correlation_specs
from thermogeo.model.machine import Machine

STATES = ("steady", "ground", "thermal")


@dataclass(frozen=True)
class StateCorrelation:
    """One requested measure on one kind of state."""

    spec: CorrelationSpec
    state: str

    @property
    def name(self) -> str:
        return self.spec.name + ("" if self.state == "steady" else f"_{self.state}")


def parse_requests(items, machine: Machine) -> list[StateCorrelation]:
    """``items`` (a list of strings, or one string of items separated by spaces or ``;``) ->
    the measures to evaluate; a clear ``ModelError`` naming a bad item."""
    if items is None:
        return []
    if isinstance(items, str):
        items = items.replace(";", " ").split()
    out = []
    for item in items:
        text, _, state = str(item).partition("@")
        state = state or "steady"
        if state not in STATES:
            raise ModelError(f"correlations: item {item!r}: unknown state {state!r}; "
                             f"expected one of {STATES} after '@'")
        if state == "thermal" and not machine.equal_temperatures:
            raise ModelError(f"correlations: item {item!r}: the thermal state needs one "
                             "temperature, but the baths have "
                             f"{dict(zip(machine.bath_names, machine.temperatures))}")
        try:
            (spec,) = parse_correlation_specs([text], machine.qubits)
        except ValueError as e:
            raise ModelError(f"correlations: {e}") from None
        out.append(StateCorrelation(spec, state))
    names = [r.name for r in out]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ModelError(f"correlations: {dup} requested twice")
    return out


def eigen_states(E: np.ndarray, U: np.ndarray, state: str, T: float | None,
                 tol: float) -> np.ndarray:
    """Lab-frame ground-level or Gibbs states ``(b, d, d)`` from ``E (b, d)``, ``U (b, d, d)``."""
    shift = E - E[:, :1]
    if state == "ground":
        p = (shift <= tol * np.maximum(1.0, np.abs(E).max(axis=-1, keepdims=True))).astype(float)
    else:
        p = np.exp(-shift / T)
    p /= p.sum(axis=-1, keepdims=True)
    return (U * p[:, None, :]) @ np.conj(np.swapaxes(U, -1, -2))


def evaluate(requests: list[StateCorrelation], steady: np.ndarray | None, E: np.ndarray,
             U: np.ndarray, machine: Machine, tol: float) -> dict[str, np.ndarray]:
    """Each requested measure at the points of a chunk: ``{name: (b,)}``; ``steady`` is the
    lab-frame steady state ``(b, d, d)``."""
    out = {}
    states: dict = {"steady": steady}
    for r in requests:
        if r.state not in states:
            T = float(machine.temperatures[0]) if r.state == "thermal" else None
            states[r.state] = eigen_states(E, U, r.state, T, tol)
        out[r.name] = np.asarray(r.spec(states[r.state]), dtype=float)
    return out


def units_and_descriptions(requests: list[StateCorrelation]) -> dict[str, dict]:
    """``{name: {"units": ..., "long_name": ...}}`` for the dataset attributes."""
    return {r.name: {"units": r.spec.units,
                     "long_name": f"{r.spec.description} of the {r.state} state"}
            for r in requests}
