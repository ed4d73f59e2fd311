"""Which master equation a machine obeys: :class:`MasterEquation`.

Every member is a GKLS generator built from one construction (docs/theory.md section 13):
Bohr frequencies grouped into clusters ``c`` and, per bath and cluster, the jump operator
``L_{alpha,c} = sum_{w in c} sqrt(gamma_alpha(w)) A_alpha(w)``:

* ``secular`` (default): one frequency per cluster, the global Davies generator;
* ``ule``: every frequency in one cluster, the universal Lindblad equation (Nathan and
  Rudner, Phys. Rev. B 102, 115109 (2020)) without its Lamb shift;
* ``cluster``: frequencies closer than ``width`` (single linkage) share a cluster, the
  partially secular / unified GKLS equation (Trushechkin, Phys. Rev. A 103, 062226 (2021));
* ``local``: the secular construction in the eigenbasis of the Hamiltonian without its
  many-qubit (exchange) terms, the local master equation.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from thermogeo.baths import limits
from thermogeo.errors import ModelError

KINDS = ("secular", "ule", "cluster", "local")
"""Accepted values of :attr:`MasterEquation.kind`."""

FIELDS = ("kind", "width")


@dataclass(frozen=True)
class MasterEquation:
    """The master equation of a machine.

    Parameters
    ----------
    kind : {"secular", "ule", "cluster", "local"}
    width : float, optional
        ``cluster`` only (required there): Bohr frequencies closer than ``width`` (an energy,
        > 0) are chained into one cluster.

    Examples
    --------
    >>> MasterEquation("cluster", width=0.01)
    MasterEquation(kind='cluster', width=0.01)
    >>> as_master_equation({"kind": "ule"}).kind
    'ule'
    """

    kind: str = "secular"
    width: float | None = None

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ModelError(f"master_equation.kind: expected one of {', '.join(KINDS)}, got "
                             f"{limits.show(self.kind)}")
        if self.kind == "cluster":
            if self.width is None:
                raise ModelError("master_equation.width: required for kind 'cluster' (an "
                                 "energy > 0: Bohr frequencies closer than it share a cluster)")
            w = limits.real(self.width, "master_equation.width")
            if not 0 < w < float("inf"):
                raise ModelError("master_equation.width: expected a finite energy > 0, got "
                                 f"{limits.show(self.width)}")
            object.__setattr__(self, "width", w)
        elif self.width is not None:
            raise ModelError(f"master_equation.width: only kind 'cluster' takes a width; kind "
                             f"is {self.kind!r}")

    @property
    def secular(self) -> bool:
        """The global secular (Davies) generator."""
        return self.kind == "secular"

    def to_dict(self) -> dict:
        """The model-file table (``[master_equation]``)."""
        return {"kind": self.kind} | ({"width": self.width} if self.width is not None else {})


def as_master_equation(value) -> MasterEquation:
    """A :class:`MasterEquation` from itself, a kind name or a table ``{kind, width}``."""
    if isinstance(value, MasterEquation):
        return value
    if value is None:
        return MasterEquation()
    if isinstance(value, str):
        return MasterEquation(value)
    if isinstance(value, Mapping):
        extra = set(value) - set(FIELDS)
        if extra:
            raise ModelError(f"master_equation: unknown field(s) {sorted(extra, key=str)}; "
                             f"accepted: {', '.join(FIELDS)}")
        return MasterEquation(value.get("kind", "secular"), value.get("width"))
    raise ModelError(f"master_equation: expected a kind ({', '.join(KINDS)}) or a table "
                     f"{{kind, width}}, got {limits.show(value)}")
