"""Figures: a Dataset in, a matplotlib Figure out; no physics is computed here."""

from thermogeo.plot.maps import plot_rotor

__all__ = ["plot_rotor"]
