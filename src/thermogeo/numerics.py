"""Numerical knobs of the kernels, in one visible object."""

from __future__ import annotations

from dataclasses import dataclass

from thermogeo.errors import ModelError

DERIVATIVE_METHODS = ("auto", "gibbs", "general")


@dataclass(frozen=True)
class Numerics:
    """Numerical options shared by the kernels.

    Parameters
    ----------
    degeneracy_tol : float
        Bohr frequencies (and energy levels) closer than
        ``degeneracy_tol * max(1, max|E|)`` are merged into one group of the secular
        generator. Default 1e-9.
    uniqueness_rcond : float
        The steady state is declared non-unique where the reciprocal condition number of
        ``L + |1/d>><<1|`` falls below this. Default 1e-12.
    derivative : {"auto", "gibbs", "general"}
        How ``d rho_0 / d lam`` is computed: the Daleckii-Krein formula for the Gibbs state
        (only valid when all baths share one temperature), the general ``-L^D (dL) rho_0``,
        or ``"auto"`` (Gibbs when the temperatures are equal). Default ``"auto"``.
    chunk_bytes : int
        Approximate memory budget of one batch chunk of dense superoperators. Default 256 MiB.
    """

    degeneracy_tol: float = 1e-9
    uniqueness_rcond: float = 1e-12
    derivative: str = "auto"
    chunk_bytes: int = 256 * 2**20

    def __post_init__(self):
        if not 0 < self.degeneracy_tol < 1e-2:
            raise ModelError(f"degeneracy_tol: expected a number in (0, 1e-2), got "
                             f"{self.degeneracy_tol}")
        if not 0 < self.uniqueness_rcond < 1e-2:
            raise ModelError(f"uniqueness_rcond: expected a number in (0, 1e-2), got "
                             f"{self.uniqueness_rcond}")
        if self.derivative not in DERIVATIVE_METHODS:
            raise ModelError(f"derivative: expected one of {DERIVATIVE_METHODS}, got "
                             f"{self.derivative!r}")
        if self.chunk_bytes < 2**20:
            raise ModelError(f"chunk_bytes: expected at least 1 MiB, got {self.chunk_bytes}")
