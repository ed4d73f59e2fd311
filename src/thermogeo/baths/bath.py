"""The :class:`Bath` spec: a bosonic bath coupled through a Hermitian system operator."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from thermogeo.baths.spectral import SpectralDensity, spectral_density_from_dict
from thermogeo.errors import ModelError


@dataclass(frozen=True)
class Bath:
    """A bosonic bath.

    Parameters
    ----------
    name : str
        Label used in results (``"L"``, ``"R"``, ...).
    temperature : float
        ``T > 0`` in energy units.
    coupling : str | array | qutip.Qobj
        Hermitian system operator ``A``: an operator string such as ``"X0 + 2*X1"`` (real
        coefficients), a ``(d, d)`` array or a ``Qobj``.
    spectral_density : SpectralDensity | dict
        For example ``Ohmic(0.05)`` or ``{"kind": "ohmic", "strength": 0.05}``.
    """

    name: str
    temperature: float
    coupling: object
    spectral_density: SpectralDensity

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name:
            raise ModelError(f"baths.name: expected a non-empty string, got {self.name!r}")
        T = self.temperature
        if isinstance(T, bool) or not isinstance(T, (int, float, np.floating)) or not (
                math.isfinite(T) and T > 0):
            raise ModelError(f"baths[{self.name!r}].temperature: must be a finite number > 0, "
                             f"got {T!r}")
        object.__setattr__(self, "temperature", float(T))
        object.__setattr__(self, "spectral_density", spectral_density_from_dict(
            self.spectral_density, where=f"baths[{self.name!r}].spectral_density"))

    def rate(self, omega: np.ndarray) -> np.ndarray:
        """``gamma(omega)`` at this bath's temperature."""
        return self.spectral_density.rate(omega, self.temperature)

    def rate_derivative(self, omega: np.ndarray) -> np.ndarray:
        """``d gamma / d omega`` at this bath's temperature."""
        return self.spectral_density.rate_derivative(omega, self.temperature)

    def rate_temperature_derivative(self, omega: np.ndarray) -> np.ndarray:
        """``d gamma / dT`` at this bath's temperature."""
        return self.spectral_density.rate_temperature_derivative(omega, self.temperature)
