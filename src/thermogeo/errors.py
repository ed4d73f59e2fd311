"""Error and warning classes of thermogeo.

Misuse raises the built-in ``ValueError``/``TypeError`` (through :class:`ModelError`, a
``ValueError``), naming the field, what was expected and what was received. Physics failures a
user may want to catch have their own classes.
"""

from __future__ import annotations

import numpy as np


class ModelError(ValueError):
    """A machine description (Python or TOML) is malformed.

    The message names the source (file), the field and the accepted values.
    """


class NonUniqueSteadyStateError(RuntimeError):
    """The generator has more than one stationary state at a parameter point.

    Typical cause: the couplings leave a symmetry sector dark (e.g. ``X0 + X1`` and
    ``Z0 + Z1`` on a Heisenberg dimer never touch the singlet).
    """

    @classmethod
    def at(cls, machine, points, rcond: float, threshold: float, *,
           elsewhere_unique: bool = False) -> NonUniqueSteadyStateError:
        """The error for ``points (n, k)`` of ``machine`` (up to three named in the message).

        ``elsewhere_unique``: other points of the same call have a unique steady state, so
        the cause is these points (a point of extra symmetry), not the couplings.
        """
        pts = np.asarray(points, dtype=float).reshape(-1, len(machine.parameter_names))
        named = [dict(zip(machine.parameter_names, p.round(12).tolist())) for p in pts[:3]]
        where = f"{len(pts)} point(s), e.g. {named}" if len(pts) > 1 else f"{named[0]}"
        head = f"the steady state is not unique at {where} (rcond {rcond:.2e} < {threshold:.0e})"
        if elsewhere_unique:
            return cls(
                f"{head}, and unique at the other points: the cause is the point, not the "
                "couplings (there the baths cannot decide between stationary states, e.g. "
                "where the Hamiltonian commutes with every coupling or levels become degenerate "
                "at zero field); move the loop off this point")
        return cls(
            f"{head}: the couplings leave part of the state space dark (a symmetry "
            "sector no bath reaches); break the symmetry in the couplings or the Hamiltonian")


class InsufficientMemoryError(MemoryError):
    """A computation would need more memory than the machine has available (raised before
    anything large is allocated; the message names the sizes and what to change)."""


class ThermogeoWarning(UserWarning):
    """Base class of thermogeo's warnings."""


class SecularApproximationWarning(ThermogeoWarning):
    """Distinct Bohr frequencies are closer than the dissipative rates, or a parameter
    derivative splits a group of degenerate Bohr frequencies (the secular generator is not
    differentiable there)."""


class SecondLawWarning(ThermogeoWarning):
    """The steady state of a (non-secular) master equation produces negative entropy,
    ``-sum_alpha J_alpha / T_alpha < 0``: the generator violates the second law there (the
    local master equation does at strong exchange)."""


class SlowDrivingWarning(ThermogeoWarning):
    """The driving period is not long against the relaxation time."""


class AccuracyWarning(ThermogeoWarning):
    """The solver stopped at its limit (``max_steps``, ``max_nodes``, ``max_cycles``) before
    its error estimate reached ``rtol``."""


class IgnoredOptionWarning(ThermogeoWarning):
    """An option of an exact solver was set but has no effect with the chosen method (e.g.
    ``steps`` for the spectral method, or ``min_steps`` beside a fixed ``steps``)."""


class IterativeSolveError(RuntimeError):
    """A preconditioned GMRES solve on a large Bohr block did not converge."""


class QuadratureWarning(ThermogeoWarning):
    """A cycle integral did not reach the requested tolerance within the node budget."""


class SweepMismatchError(ModelError):
    """The store was made by a different sweep or model file."""


class CountingUnavailableError(NotImplementedError):
    """A backend of the frozen generator does not implement the counting-field operation
    (``FrozenGenerator.tilt``) the counting statistics of heat need."""
