"""Figures: a Dataset in, a matplotlib Figure out; no physics is computed here."""

from thermogeo.plot.dynamics import balance_figure, convergence_figure
from thermogeo.plot.maps import plot_rotor

__all__ = ["balance_figure", "convergence_figure", "plot_rotor"]
