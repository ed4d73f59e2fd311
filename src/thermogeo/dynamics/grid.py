"""Periods and step grids shared by the exact solvers and the expansion.

The bottom of the dynamics package's imports: :mod:`thermogeo.dynamics.periodic`,
:mod:`thermogeo.dynamics.eigenframe` and :mod:`thermogeo.dynamics.expansion` import from here,
never the other way round.
"""

from __future__ import annotations

import math

import numpy as np


def check_period(period) -> float:
    """Validate a driving period: a finite number > 0 (else ``ValueError`` naming it)."""
    try:
        tau = float(period)
    except (TypeError, ValueError):
        raise ValueError(f"period: expected a number > 0, got {period!r}") from None
    if not (math.isfinite(tau) and tau > 0):
        raise ValueError(f"period: expected a finite number > 0, got {period!r}")
    return tau


def step_grid(loop, steps: int) -> np.ndarray:
    """Step edges in ``s``: uniform on every smooth piece of ``loop``, ``(n + 1,)``.

    A piece ``[a, b]`` between two :meth:`breakpoints` gets ``max(1, round(steps (b - a)))``
    equal steps, so no step straddles a corner.
    """
    bp = np.asarray(loop.breakpoints(), dtype=float)
    edges = [np.array([0.0])]
    for a, b in zip(bp[:-1], bp[1:]):
        n = max(1, int(round(steps * (b - a))))
        edges.append(a + (b - a) * np.arange(1, n + 1) / n)
    return np.concatenate(edges)
