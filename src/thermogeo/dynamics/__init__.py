"""Exact periodic dynamics over a cycle and the slow-driving expansion beside it.

* :func:`exact_cycle` -- limit-cycle state, heat and work per cycle at a finite period.
* :func:`expansion_cycle` -- the same from the slow-driving expansion (orders 1 and 2).
* :func:`balance_along` -- energy-entropy balance along the path (expansion and exact).
* :func:`convergence` -- exact vs expansion over a range of periods, fitted log-log slopes.
"""

from thermogeo.dynamics.balance import balance_along
from thermogeo.dynamics.convergence import convergence
from thermogeo.dynamics.expansion import (ExpansionCycle, PathExpansion, expansion_cycle,
                                          path_expansion)
from thermogeo.dynamics.periodic import (MAGNUS_ORDER, AccuracyWarning, ExactCycle,
                                         ExactOptions, exact_cycle, periodic_states)

__all__ = ["AccuracyWarning", "ExactCycle", "ExactOptions", "ExpansionCycle", "MAGNUS_ORDER",
           "PathExpansion", "balance_along", "convergence", "exact_cycle", "expansion_cycle",
           "path_expansion", "periodic_states"]
