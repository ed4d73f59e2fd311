"""Bosonic baths: spectral densities with KMS rates, and the :class:`Bath` spec."""

from thermogeo.baths.bath import Bath
from thermogeo.baths.spectral import Ohmic, SpectralDensity, spectral_density_from_dict

__all__ = ["Bath", "Ohmic", "SpectralDensity", "spectral_density_from_dict"]
