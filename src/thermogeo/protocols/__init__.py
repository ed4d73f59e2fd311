"""Closed driving protocols (loops in a plane of two parameters) and cycle figures of merit."""

from thermogeo.protocols.cycle import (CycleQuadrature, CycleSummary, check_loop,
                                       constant_dissipation_loop, cycle_summary)
from thermogeo.protocols.correlations import LoopCorrelations, loop_correlations
from thermogeo.protocols.engine import engine_figures, thermal_conductance
from thermogeo.protocols.maps import load_map, response_map, save_map
from thermogeo.protocols.optimal import OptimalRegion, PolarRegion, RectRegion, optimal_region
from thermogeo.protocols.optimize import OptimizationResult, optimize_protocol
from thermogeo.protocols.paths import (Circle, Ellipse, FourierLoop, Loop, Polygon, Rectangle,
                                       Reparametrized, SampledLoop, Sector)

__all__ = ["Circle", "CycleQuadrature", "CycleSummary", "Ellipse", "FourierLoop", "Loop",
           "LoopCorrelations", "loop_correlations",
           "OptimalRegion", "OptimizationResult", "PolarRegion", "Polygon", "RectRegion",
           "Rectangle", "Reparametrized", "SampledLoop", "Sector", "check_loop",
           "constant_dissipation_loop", "cycle_summary", "engine_figures", "load_map",
           "optimal_region", "optimize_protocol", "response_map", "save_map",
           "thermal_conductance"]
