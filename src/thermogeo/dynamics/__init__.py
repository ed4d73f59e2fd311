"""Exact periodic dynamics over a cycle and the slow-driving expansion beside it.

* :func:`exact_cycle` -- limit-cycle state, heat and work per cycle at a finite period, with
  the solver given as a method object (:mod:`thermogeo.dynamics.methods`): :class:`Magnus`,
  :class:`Spectral`, :class:`Krylov`, :class:`Eigenframe` or :class:`Auto` (or its name in
  :data:`METHODS`).
* :func:`expansion_cycle` -- the same from the slow-driving expansion (orders 1 and 2),
  :class:`ExpansionCycle`; along the path :func:`path_expansion`, :class:`PathExpansion`.
* :func:`balance_along` -- energy-entropy balance along the path (expansion and exact),
  :class:`Balance`.
* :func:`convergence` -- exact vs expansion over a range of periods, fitted log-log slopes,
  :class:`Convergence`.

Every result is frozen and has ``to_dataset()`` (an ``xarray.Dataset`` with ``units``
attributes; names as in docs/decisions/0007-names.md).
"""

from thermogeo.dynamics.balance import Balance, balance_along
from thermogeo.dynamics.convergence import Convergence, convergence
from thermogeo.dynamics.expansion import (ExpansionCycle, PathExpansion, expansion_cycle,
                                          path_expansion)
from thermogeo.dynamics.methods import (MAGNUS_ORDER, METHODS, Auto, Eigenframe, ExactMethod,
                                        ExactOptions, IgnoredOptionWarning, Krylov, Magnus,
                                        Spectral, make_method)
from thermogeo.dynamics.periodic import (AccuracyWarning, ExactCycle, exact_cycle,
                                         periodic_states)

__all__ = ["AccuracyWarning", "Auto", "Balance", "Convergence", "Eigenframe", "ExactCycle",
           "ExactMethod", "ExactOptions", "ExpansionCycle", "IgnoredOptionWarning", "Krylov",
           "MAGNUS_ORDER", "METHODS", "Magnus", "PathExpansion", "Spectral", "balance_along",
           "convergence", "exact_cycle", "expansion_cycle", "make_method", "path_expansion",
           "periodic_states"]
