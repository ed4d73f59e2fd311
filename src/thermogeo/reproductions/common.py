"""Shared helpers of the reproductions: parameters, machines, published numbers, figures.

Every item's report separates two questions (docs/decisions/0610-report-honesty.md):

* ``claim_holds``: does the qualitative claim of the paper hold in our data (with the
  criterion stated in ``criterion``)?
* ``published_reproduced``: is every number the paper publishes for the item reproduced within
  the item's stated tolerance? Each comparison is one entry of ``published`` made by
  :func:`compare_published`; an item without a published number has ``published = []``,
  ``published_reproduced = None`` and says why in ``published_note``.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import numpy as np

from thermogeo.io import load_model
from thermogeo.model.machine import Machine

HERE = Path(__file__).resolve().parent


def load_params(name: str, quick: bool) -> dict:
    """The ``[quick]`` or ``[full]`` table of ``params/<name>.toml`` merged over ``[common]``."""
    data = tomllib.loads((HERE / "params" / f"{name}.toml").read_text())
    out = dict(data.get("common", {}))
    out.update(data["quick" if quick else "full"])
    return out


def params_text(name: str) -> str:
    return (HERE / "params" / f"{name}.toml").read_text()


def machine(kind: str, **values: float) -> Machine:
    """A shipped machine (``one_qubit`` or ``dimer``) with constants/fields overridden."""
    m = load_model(HERE / "models" / f"{kind}.toml")
    return m.with_values(**values) if values else m


def machines_from(spec: dict) -> dict[str, Machine]:
    """``{label: {model = "dimer", J = 2, b = 2}}`` -> ``{label: Machine}``."""
    out = {}
    for label, s in spec.items():
        s = dict(s)
        out[label] = machine(s.pop("model"), **s)
    return out


def compare_published(quantity: str, ours: float, published: float, tolerance: float,
                      reason: str, *, units: str = "T", where: str = "") -> dict:
    """One comparison of our number with a published one.

    ``relative_difference = (ours - published) / |published|``; ``published_reproduced`` is true
    only when it is finite and ``|relative_difference| <= tolerance``.

    Examples
    --------
    >>> c = compare_published("max heat", 1.6758, 2.2876, 1e-2, "grid")
    >>> round(c["relative_difference"], 4), c["published_reproduced"]
    (-0.2674, False)
    """
    ours, published, tolerance = float(ours), float(published), float(tolerance)
    if not (np.isfinite(published) and published != 0 and tolerance >= 0):
        raise ValueError(f"{quantity}: expected a finite non-zero published value and a "
                         f"tolerance >= 0, got {published!r}, {tolerance!r}")
    rel = (ours - published) / abs(published)
    return {"quantity": quantity, "where": where, "units": units, "published": published,
            "ours": ours, "relative_difference": rel if np.isfinite(rel) else None,
            "tolerance": tolerance, "tolerance_reason": reason,
            "published_reproduced": bool(np.isfinite(rel) and abs(rel) <= tolerance)}


def report_fields(claim_holds: bool, criterion: str, published: list[dict],
                  note: str = "") -> dict:
    """The honesty fields of an item's report line (see the module docstring)."""
    if not published and not note:
        raise ValueError("an item without a published number must say why (note)")
    return {"claim_holds": bool(claim_holds), "criterion": criterion,
            "published": published,
            "published_reproduced": (all(c["published_reproduced"] for c in published)
                                     if published else None),
            "published_note": note}


def machine_title(spec: dict) -> str:
    """A machine of a parameter file in words and mathtext (no code names):
    ``one qubit``, ``two qubits, $J = 0$, $b = 2$``."""
    kind = spec.get("model")
    if kind == "one_qubit":
        return "one qubit"
    if kind == "dimer":
        J, b = float(spec.get("J", 2.0)), float(spec.get("b", 2.0))
        words = "two non-interacting qubits" if J == 0 else "two interacting qubits"
        j = f"{J:g}\\,T" if J else "0"
        return f"{words}, $J = {j}$, $b = {b:g}$"
    return str(kind).replace("_", " ")


def machine_titles(spec: dict) -> list[str]:
    """:func:`machine_title` of every machine of a ``machines`` table, in its order."""
    return [machine_title(s) for s in spec.values()]


def grid(spec: dict) -> tuple[np.ndarray, np.ndarray]:
    """``{x = [lo, hi, n], y = [lo, hi, n]}`` -> coordinate vectors
    ``numpy.linspace(lo, hi, n)`` (both ends included, no offset).

    Nothing moves the nodes off the degenerate origin: a range symmetric about zero with an odd
    ``n`` contains it. The shipped parameter files use even ``n``, so their nodes straddle the
    origin at plus and minus half a cell."""
    xs = np.linspace(*spec["x"][:2], int(spec["x"][2]))
    ys = np.linspace(*spec["y"][:2], int(spec["y"][2]))
    return xs, ys


def symmetric_norm(values: np.ndarray, quantile: float = 0.995):
    """A diverging colour norm centred on zero, clipped at a high quantile of |values|."""
    from matplotlib.colors import TwoSlopeNorm

    v = np.nanquantile(np.abs(values), quantile) or 1.0
    return TwoSlopeNorm(vmin=-v, vcenter=0.0, vmax=v)
