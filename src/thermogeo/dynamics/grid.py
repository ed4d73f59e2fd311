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


def pieces(loop) -> int:
    """Number of smooth pieces of ``loop`` (between its breakpoints)."""
    return len(loop.breakpoints()) - 1


def start_steps(loop, steps: int) -> int:
    """The first step count of a doubling sequence: at least one step per smooth piece, so that
    every doubling refines every piece (:func:`step_grid`)."""
    return max(int(steps), pieces(loop))


def step_grid(loop, steps: int) -> np.ndarray:
    """Step edges in ``s``: uniform on every smooth piece of ``loop``, ``(n + 1,)``.

    A piece ``[a, b]`` between two :meth:`breakpoints` gets
    ``max(round(steps (b - a)), ceil(steps / P))`` equal steps (``P`` pieces), so no step
    straddles a corner and, once ``steps >= P``, doubling ``steps`` refines every piece (a
    many-sided polygon would otherwise keep one step a side at two levels, and a step-doubling
    error estimate would read zero).
    """
    bp = np.asarray(loop.breakpoints(), dtype=float)
    floor = max(1, math.ceil(steps / (len(bp) - 1)))
    edges = [np.array([0.0])]
    for a, b in zip(bp[:-1], bp[1:]):
        n = max(floor, int(round(steps * (b - a))))
        edges.append(a + (b - a) * np.arange(1, n + 1) / n)
    return np.concatenate(edges)
