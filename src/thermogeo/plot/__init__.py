"""Figures: a Dataset in, a matplotlib Figure out; no physics is computed here.

Conventions (names in mathtext, units, formats by extension, resolution) are in
:mod:`thermogeo.plot.style`.
"""

from thermogeo.plot.dynamics import balance_figure, convergence_figure
from thermogeo.plot.maps import plot_rotor
from thermogeo.plot.style import math_name, save_figure

__all__ = ["balance_figure", "convergence_figure", "math_name", "plot_rotor", "save_figure"]
