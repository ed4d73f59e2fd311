"""thermogeo: thermodynamic geometry of slowly driven quantum thermal machines.

Describe a machine (N qubits, a Hamiltonian affine in driving parameters, bosonic baths), then
compute at any frozen parameter point the secular Lindblad generator, its steady state and the
slow-driving response (heat response, rotor, dissipation metric), batched over grids.
Conventions: :mod:`thermogeo.conventions`; physics: ``docs/theory.md``.
"""

from thermogeo.baths import Bath, Ohmic
from thermogeo.errors import (ModelError, NonUniqueSteadyStateError,
                              SecularApproximationWarning, SlowDrivingWarning)
from thermogeo.io import dump_model, load_model
from thermogeo.lindblad.generator import generator
from thermogeo.model.builders import exchange, graph_edges, local_field, uniform_field
from thermogeo.model.machine import HamiltonianTerm, Machine
from thermogeo.numerics import Numerics
from thermogeo.response import Response, response

__version__ = "0.1.0"

__all__ = [
    "Bath", "HamiltonianTerm", "Machine", "ModelError", "NonUniqueSteadyStateError",
    "Numerics", "Ohmic", "Response", "SecularApproximationWarning", "SlowDrivingWarning",
    "dump_model", "exchange", "generator", "graph_edges", "load_model", "local_field",
    "response", "uniform_field", "__version__",
]
