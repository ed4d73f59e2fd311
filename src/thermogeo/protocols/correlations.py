"""Correlation measures along a loop (docs/correlations.md): the values of each requested
measure (:mod:`thermogeo.response.correlations`) at equally spaced points of the cycle and
their extremes, so that the correlations a machine passes through can be set beside the heat
it pumps."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from thermogeo.errors import SecularApproximationWarning
from thermogeo.model.machine import Machine
from thermogeo.numerics import Numerics
from thermogeo.protocols.paths import Loop
from thermogeo.response import response


@dataclass(frozen=True, eq=False)
class LoopCorrelations:
    """Measures along a loop.

    Attributes
    ----------
    s : (n,)                    cycle coordinate of the samples, ``[0, 1)``
    lam : (n, k)                parameter points
    values : dict               ``{name: (n,)}`` the measure at every sample
    units : dict                ``{name: units}``
    """

    s: np.ndarray
    lam: np.ndarray
    values: dict
    units: dict

    def extremes(self) -> dict:
        """``{name: {"min", "max", "s_min", "s_max"}}`` over the samples (NaN-aware)."""
        out = {}
        for k, v in self.values.items():
            ok = np.isfinite(v)
            if not ok.any():
                out[k] = {"min": None, "max": None, "s_min": None, "s_max": None}
                continue
            i, j = np.nanargmin(v), np.nanargmax(v)
            out[k] = {"min": float(v[i]), "max": float(v[j]), "s_min": float(self.s[i]),
                      "s_max": float(self.s[j])}
        return out

    def to_dataset(self):
        """``xarray.Dataset`` with dimension ``s``: one variable per measure (``units``)."""
        import xarray as xr

        ds = xr.Dataset({k: ("s", v, {"units": self.units[k]}) for k, v in self.values.items()},
                        coords={"s": self.s})
        for k, e in self.extremes().items():
            ds[k].attrs.update({f"{q}": (np.nan if x is None else x) for q, x in e.items()})
        return ds


def loop_correlations(machine: Machine, loop: Loop, correlations, *, samples: int = 64,
                      numerics: Numerics | None = None) -> LoopCorrelations:
    """The requested measures at ``samples`` equally spaced points of ``loop``.

    Examples
    --------
    >>> from thermogeo.io import load_model
    >>> from thermogeo.protocols import Circle
    >>> m = load_model("models/heisenberg_dimer.toml")
    >>> c = loop_correlations(m, Circle(("Bx", "Bz"), center=(0.8, 0.6), radius=0.5),
    ...                       ["concurrence:0,1"], samples=16)
    >>> e = c.extremes()["concurrence_0_1"]
    >>> 0 <= e["min"] <= e["max"] <= 1
    True
    """
    if not (isinstance(samples, (int, np.integer)) and samples >= 2):
        raise ValueError(f"samples: expected an integer >= 2, got {samples!r}")
    s = np.arange(samples) / samples
    lam = loop.points(machine, s)
    with warnings.catch_warnings():  # kinks do not matter to the states themselves
        warnings.simplefilter("ignore", SecularApproximationWarning)
        r = response(machine, lam, correlations=correlations, numerics=numerics, check=False)
    return LoopCorrelations(s=s, lam=lam, values=dict(r.correlations),
                            units={k: a["units"] for k, a in r.correlation_attrs.items()})
