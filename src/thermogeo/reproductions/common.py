"""Shared helpers of the reproductions: parameters, machines, figure style."""

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
