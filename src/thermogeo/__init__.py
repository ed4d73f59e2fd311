"""thermogeo: thermodynamic geometry of slowly driven quantum thermal machines.

Describe a machine (N qubits, a Hamiltonian affine in driving parameters, bosonic baths), then
compute at any frozen parameter point the secular Lindblad generator, its steady state and the
slow-driving response (heat response, rotor, dissipation metric), batched over grids.
Conventions: :mod:`thermogeo.conventions`; physics: ``docs/theory.md``.
"""

from thermogeo.baths import Bath, Ohmic
from thermogeo.dynamics import balance_along, convergence, exact_cycle, expansion_cycle
from thermogeo.errors import (InsufficientMemoryError, ModelError, NonUniqueSteadyStateError,
                              SecularApproximationWarning, SlowDrivingWarning)
from thermogeo.io import dump_model, load_model, save_model
from thermogeo.lindblad.generator import generator
from thermogeo.model.builders import exchange, graph_edges, local_field, uniform_field
from thermogeo.model.machine import HamiltonianTerm, Machine
from thermogeo.numerics import Numerics
from thermogeo.protocols import (Circle, Ellipse, FourierLoop, Polygon, Rectangle, SampledLoop,
                                 Sector, cycle_summary, optimal_region, optimize_protocol,
                                 response_map)
from thermogeo.response import Response, response

from thermogeo.version import __version__

__all__ = [
    "Bath", "Circle", "Ellipse", "FourierLoop", "HamiltonianTerm", "InsufficientMemoryError",
    "Machine", "ModelError",
    "NonUniqueSteadyStateError", "Numerics", "Ohmic", "Polygon", "Rectangle", "Response",
    "SampledLoop", "SecularApproximationWarning", "Sector", "SlowDrivingWarning",
    "balance_along", "convergence", "cycle_summary", "dump_model", "exact_cycle", "exchange",
    "expansion_cycle", "generator", "graph_edges", "load_model", "local_field",
    "optimal_region", "optimize_protocol", "response", "response_map", "save_model",
    "uniform_field",
    "__version__",
]
