"""Closed driving protocols (loops in a plane of two parameters) and cycle figures of merit."""

from thermogeo.protocols.paths import (Circle, Ellipse, FourierLoop, Loop, Polygon,
                                       Rectangle, Reparametrized, SampledLoop, Sector)

__all__ = ["Circle", "Ellipse", "FourierLoop", "Loop", "Polygon", "Rectangle",
           "Reparametrized", "SampledLoop", "Sector"]

# cycles, best region, optimisation and maps (issue 3)
from thermogeo.protocols.cycle import (CycleQuadrature, CycleSummary, check_loop,  # noqa: E402
                                       constant_dissipation_loop, cycle_summary)
from thermogeo.protocols.engine import engine_figures, thermal_conductance  # noqa: E402
from thermogeo.protocols.maps import load_map, response_map, save_map  # noqa: E402
from thermogeo.protocols.optimal import (OptimalRegion, PolarRegion, RectRegion,  # noqa: E402
                                         optimal_region)
from thermogeo.protocols.optimize import OptimizationResult, optimize_protocol  # noqa: E402

__all__ += ["CycleQuadrature", "CycleSummary", "OptimalRegion", "OptimizationResult",
            "PolarRegion", "RectRegion", "check_loop", "constant_dissipation_loop",
            "cycle_summary", "engine_figures", "load_map", "optimal_region",
            "optimize_protocol", "response_map", "save_map", "thermal_conductance"]
