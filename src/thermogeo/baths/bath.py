"""The :class:`Bath` spec: a bosonic bath coupled through a Hermitian system operator."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from thermogeo.baths import limits
from thermogeo.baths.spectral import SpectralDensity, spectral_density_from_dict
from thermogeo.errors import ModelError

NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
"""Names of baths, parameters and constants: ASCII identifiers (``fullmatch``)."""


@dataclass(frozen=True)
class Bath:
    """A bosonic bath.

    Parameters
    ----------
    name : str
        Label used in results (``"L"``, ``"R"``, ...): an ASCII identifier, so that
        ``"<name>.temperature"`` addresses it in ``Machine.with_values`` and ``--set``.
    temperature : float
        ``T > 0`` in energy units, from ``1e-6`` to ``1e6`` (docs/decisions/0008).
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
        if not isinstance(self.name, str) or not NAME.fullmatch(self.name):
            raise ModelError(f"baths.name: expected an identifier (ASCII letters, digits and _, "
                             f"not starting with a digit, e.g. 'L' or 'hot'), so that "
                             f"'<bath>.temperature' addresses it; got {limits.show(self.name)}")
        object.__setattr__(self, "temperature", limits.temperature(
            self.temperature, f"baths[{self.name!r}].temperature"))
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
