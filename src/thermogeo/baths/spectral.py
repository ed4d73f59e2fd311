"""Spectral densities and the transition rates they imply (KMS detailed balance built in).

For a Bohr frequency ``omega`` (positive: the system loses ``omega`` to the bath)::

    gamma(omega)  = 2 pi J(omega) (n(omega) + 1),     omega > 0
    gamma(-omega) = 2 pi J(omega) n(omega) = exp(-omega/T) gamma(omega)
    n(omega)      = 1 / (exp(omega/T) - 1)

written as ``gamma(omega) = 2 pi J_odd(omega) / (1 - exp(-omega/T))`` with
``J_odd(omega) = sign(omega) J(|omega|)``. At ``omega = 0`` the limit is used: ``2 pi kappa T``
for the ohmic case ``s = 1`` and zero for ``s > 1``.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np

from thermogeo.baths import limits
from thermogeo.errors import ModelError


class SpectralDensity(ABC):
    """A bath spectral density ``J(omega)`` for ``omega >= 0``."""

    @abstractmethod
    def density(self, omega: np.ndarray) -> np.ndarray:
        """``J(omega)`` for ``omega >= 0``, with ``J(0) = 0``."""

    @abstractmethod
    def density_derivative(self, omega: np.ndarray) -> np.ndarray:
        """``dJ/domega`` for ``omega > 0``."""

    @abstractmethod
    def zero_frequency_rate(self, T: float) -> float:
        """``lim_{omega -> 0} gamma(omega)``: the pure-dephasing rate."""

    @abstractmethod
    def to_dict(self) -> dict:
        """The TOML form (``kind`` plus the fields)."""

    def rate(self, omega: np.ndarray, T: float) -> np.ndarray:
        """Transition rate ``gamma(omega)`` at temperature ``T``, any sign of ``omega``."""
        omega = np.asarray(omega, dtype=float)
        a = np.abs(omega)
        nz = a > 0
        safe = np.where(nz, omega, 1.0)
        with np.errstate(over="ignore", under="ignore"):
            g = -1.0 / np.expm1(-safe / T)  # 1/(1 - exp(-omega/T))
        out = 2 * np.pi * np.sign(safe) * self.density(np.where(nz, a, 1.0)) * g
        return np.where(nz, out, self.zero_frequency_rate(T))

    def rate_derivative(self, omega: np.ndarray, T: float) -> np.ndarray:
        """``d gamma / d omega`` (zero is returned at ``omega = 0``, where only degenerate
        groups that do not move are ever evaluated)."""
        omega = np.asarray(omega, dtype=float)
        a = np.abs(omega)
        nz = a > 0
        safe = np.where(nz, omega, 1.0)
        aa = np.where(nz, a, 1.0)
        with np.errstate(over="ignore", under="ignore"):
            g = -1.0 / np.expm1(-safe / T)
        Jodd = np.sign(safe) * self.density(aa)
        dJodd = self.density_derivative(aa)
        out = 2 * np.pi * (dJodd * g - Jodd * g * (g - 1.0) / T)
        return np.where(nz, out, 0.0)

    def rate_temperature_derivative(self, omega: np.ndarray, T: float) -> np.ndarray:
        """``d gamma / dT`` at fixed ``omega``: ``2 pi J_odd(omega) g (g - 1) omega / T^2`` with
        ``g = 1/(1 - exp(-omega/T))``, and ``d gamma(0)/dT`` at ``omega = 0``."""
        omega = np.asarray(omega, dtype=float)
        a = np.abs(omega)
        nz = a > 0
        safe = np.where(nz, omega, 1.0)
        with np.errstate(over="ignore", under="ignore", invalid="ignore"):
            g = -1.0 / np.expm1(-safe / T)
            out = 2 * np.pi * np.sign(safe) * self.density(np.where(nz, a, 1.0)) * g * (g - 1.0) \
                * safe / T**2
        out = np.nan_to_num(out, nan=0.0)  # g (g - 1) underflows to 0 * inf far from kT
        # gamma(0) is linear in T (2 pi kappa T for s = 1, zero otherwise)
        return np.where(nz, out, self.zero_frequency_rate(1.0))


@dataclass(frozen=True)
class Ohmic(SpectralDensity):
    """Ohmic family ``J(omega) = strength * omega**exponent * cutoff**(1 - exponent)
    * exp(-omega / cutoff)``.

    Parameters
    ----------
    strength : float
        ``0 <= kappa <= 1e6`` (dimensionless).
    exponent : float
        ``1 <= s <= 10`` (1: ohmic, > 1: super-ohmic). Sub-ohmic baths have no finite
        zero-frequency (dephasing) rate and are refused.
    cutoff : float
        ``1e-6 <= omega_c <= 1e6``, or ``math.inf`` (only with ``exponent = 1``).

    Notes
    -----
    The ranges are those of :mod:`thermogeo.baths.limits`
    (docs/decisions/0008-input-validation.md); anything else raises :class:`ModelError`.
    """

    strength: float
    exponent: float = 1.0
    cutoff: float = math.inf

    def __post_init__(self):
        # accepted ranges: thermogeo.baths.limits (docs/decisions/0008-input-validation.md)
        object.__setattr__(self, "strength", limits.strength(self.strength,
                                                             "spectral_density.strength"))
        object.__setattr__(self, "exponent", limits.exponent(self.exponent,
                                                             "spectral_density.exponent"))
        object.__setattr__(self, "cutoff", limits.cutoff(self.cutoff, "spectral_density.cutoff"))
        if math.isinf(self.cutoff) and self.exponent != 1:
            raise ModelError("spectral_density.cutoff: 'inf' is allowed only with exponent = 1, "
                             f"got exponent {self.exponent}")

    def density(self, omega):
        omega = np.asarray(omega, dtype=float)
        s, wc = self.exponent, self.cutoff
        if math.isinf(wc):
            return self.strength * omega
        return self.strength * omega**s * wc ** (1 - s) * np.exp(-omega / wc)

    def density_derivative(self, omega):
        omega = np.asarray(omega, dtype=float)
        if math.isinf(self.cutoff):
            return np.full_like(omega, self.strength)
        return self.density(omega) * (self.exponent / omega - 1.0 / self.cutoff)

    def zero_frequency_rate(self, T):
        return 2 * np.pi * self.strength * T if self.exponent == 1 else 0.0

    def to_dict(self):
        return {"kind": "ohmic", "strength": self.strength, "exponent": self.exponent,
                "cutoff": "inf" if math.isinf(self.cutoff) else self.cutoff}


SPECTRAL_DENSITIES = {"ohmic": Ohmic}


def spectral_density_from_dict(d: dict, where: str = "spectral_density") -> SpectralDensity:
    """Build a spectral density from its TOML table (``kind`` plus fields)."""
    if isinstance(d, SpectralDensity):
        return d
    if not isinstance(d, dict):
        raise ModelError(f"{where}: expected a table such as {{ kind = \"ohmic\", strength = "
                         f"0.05 }}, got {limits.show(d)}")
    d = dict(d)
    kind = d.pop("kind", None)
    if not isinstance(kind, str) or kind not in SPECTRAL_DENSITIES:
        raise ModelError(f"{where}.kind: unknown spectral density {limits.show(kind)}; accepted: "
                         f"{', '.join(SPECTRAL_DENSITIES)}")
    cls = SPECTRAL_DENSITIES[kind]
    allowed = {"strength", "exponent", "cutoff"}
    extra = set(d) - allowed
    if extra:
        raise ModelError(f"{where}: unknown field(s) {sorted(extra, key=str)} for kind {kind!r}; "
                         f"accepted: {sorted(allowed)}")
    if "strength" not in d:
        raise ModelError(f"{where}.strength: missing (a real number >= 0 and <= "
                         f"{limits.MAX_MAGNITUDE:g})")
    if isinstance(d.get("cutoff"), str):
        if d["cutoff"].strip().lower() not in ("inf", "infinity"):
            raise ModelError(f"{where}.cutoff: expected a positive number or \"inf\", got "
                             f"{limits.show(d['cutoff'])}")
        d["cutoff"] = math.inf
    try:
        return cls(**d)
    except ModelError as e:
        raise ModelError(f"{where}.{str(e).removeprefix('spectral_density.')}") from None
