"""Exact periodic (limit-cycle) dynamics of a machine driven around a closed path.

The drive is ``lam(t) = loop.points(machine, t / period)``. In the cycle coordinate
``s = t / period`` the master equation and the accumulated heats and work form one linear
system (docs/theory.md section 3)::

    d rho / ds = tau L(s) rho
    d Q_a / ds = tau Tr[H(s) D_a(s) rho]              heat from bath a into the system
    d W   / ds = Tr[rho dH/ds] = sum_i lam'_i(s) Tr[V_i rho]    work done on the system

The augmented vector ``x = (vec rho, Q_1..Q_m, W)`` obeys ``dx/ds = A(s) x`` with ``A``
block lower triangular, so one integrator propagates the state and the cycle integrals with
the same order. The integrator is the fourth-order Magnus exponential integrator with two
Gauss-Legendre nodes per step ``[s_j, s_j + h]`` (Blanes, Casas, Oteo, Ros, Phys. Rep. 470,
151 (2009), eq. 253)::

    A_1,2 = A(s_j + (1/2 -+ sqrt(3)/6) h)
    Omega = h/2 (A_1 + A_2) + sqrt(3)/12 h^2 [A_2, A_1],     x_{j+1} = exp(Omega) x_j

Steps never straddle a corner of the loop (each smooth piece gets its own uniform steps).
In practice the integrated state is the deviation ``delta = rho - rho_0(s)`` from the
instantaneous steady state (see :func:`augmented_generator`), whose exactly known adiabatic
part never goes through the integrator. The one-period propagator of
``x = (delta, 1, Q, W)`` gives the periodic ``delta`` as its fixed point
(``P delta + f = delta``, ``Tr delta = 0``) and the heats and work per cycle. The error is
estimated by step doubling (Richardson: ``|X_2n - X_n| / (2^4 - 1)``); with ``steps=None`` the
step count grows until the estimate is below ``rtol`` times the largest of ``|Q_a|, |W|``.

The solvers are method objects (:mod:`thermogeo.dynamics.methods`, docs/decisions/0403),
``exact_cycle(..., method=...)`` taking an object or its name:

* :class:`~thermogeo.dynamics.methods.Magnus` (``"magnus"``, order 4): the propagator above
  and its fixed point, any loop (docs/decisions/0400);
* :class:`~thermogeo.dynamics.methods.Spectral` (``"spectral"``, exponential convergence):
  Fourier collocation of the periodic deviation (:func:`spectral_solve`) -- ``delta`` is smooth
  and periodic in ``s`` whatever ``tau``, so a few dozen nodes reach ``1e-10`` where Magnus
  needs thousands of steps at long periods; smooth loops only (docs/decisions/0402);
* :class:`~thermogeo.dynamics.methods.Krylov` (``"krylov"``, order 4): the same Magnus-4 steps
  applied to the state vector by ``expm_multiply``, whole cycles until the state repeats;
* :class:`~thermogeo.dynamics.methods.Eigenframe` (``"eigenframe"``, order 2, extrapolated):
  exponential midpoint steps block by block in the eigenframe, never a ``d^2 x d^2`` matrix
  (:mod:`thermogeo.dynamics.eigenframe`, docs/decisions/0705);
* :class:`~thermogeo.dynamics.methods.Auto` (``"auto"``, default): spectral on smooth loops of
  up to 3 qubits, Magnus otherwise while the dense kernels serve, eigenframe beyond.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
from scipy.sparse.linalg import LinearOperator, expm_multiply

from thermogeo.dynamics.eigenframe import eigenframe_cycle
from thermogeo.dynamics.expansion import ExpansionCycle, dataset_variables, expansion_cycle
from thermogeo.dynamics.frozen import frozen_path
from thermogeo.dynamics.grid import check_period, start_steps, step_grid
from thermogeo.dynamics.methods import (MAGNUS_ORDER, METHODS, Eigenframe, ExactMethod,
                                        ExactOptions, Krylov, Magnus, Spectral, as_method)
from thermogeo.errors import AccuracyWarning, NonUniqueSteadyStateError, SlowDrivingWarning
from thermogeo.lindblad.backend import uses_dense
from thermogeo.lindblad.generator import generator
from thermogeo.model.machine import Machine
from thermogeo.numerics import Numerics

_C = math.sqrt(3.0) / 6.0
_GAUSS = (0.5 - _C, 0.5 + _C)


@dataclass(frozen=True)
class _Frozen:
    """Augmented generator ``A(s)`` (``(*s, N, N)``, ``N = d^2 + m + 2``) at nodes ``s``."""

    A: np.ndarray
    rho0: np.ndarray  # (*s, d^2) lab-frame steady state


def augmented_generator(machine: Machine, loop, s: np.ndarray, period: float,
                        numerics: Numerics | None = None) -> _Frozen:
    """The augmented generator of the deviation from the steady state and the cycle integrals.

    With ``rho = rho_0(s) + delta`` the state ``x = (vec delta, 1, Q_1..Q_m, W)`` obeys
    ``dx/ds = A(s) x`` with::

        d delta / ds = tau L delta - d_s rho_0
        d Q_a / ds   = tau <<H|D_a|delta>> + tau J_a(rho_0)
        d W / ds     = Tr[delta dH/ds] + Tr[rho_0 dH/ds]

    Integrating the deviation (``O(1/tau)``) instead of ``rho`` keeps the error of the heat
    ``tau int <<H|D_a|rho>> ds`` from growing with ``tau``: the exactly known adiabatic part
    ``rho_0`` is never integrated numerically.

    Parameters
    ----------
    machine : Machine
    loop : Loop
        Any object with ``points(machine, s)`` and ``velocity(machine, s)``.
    s : (n,) float
    period : float
        ``tau``.

    Returns
    -------
    _Frozen
        ``A (n, N, N)``, ``N = d^2 + m + 2`` (lab frame, row-major vectorisation).
    """
    s = np.asarray(s, dtype=float)
    vel = loop.velocity(machine, s)
    fp = frozen_path(machine, loop.points(machine, s), vel, numerics)
    gen = fp.gen
    d = machine.dim
    d2, m = d * d, len(machine.baths)
    Wh = np.conj(np.swapaxes(fp.W, -1, -2))
    n = len(s)
    rho0 = fp.lab(fp.ss.rho)
    A = np.zeros((n, d2 + m + 2, d2 + m + 2), dtype=complex)
    A[:, :d2, :d2] = period * (fp.W @ gen.L @ Wh)
    A[:, :d2, d2] = -fp.lab(fp.drho)
    A[:, d2 + 1:d2 + 1 + m, :d2] = period * (fp.rows @ Wh)
    A[:, d2 + 1:d2 + 1 + m, d2] = period * np.einsum("nmc,nc->nm", fp.rows, fp.ss.rho)
    dH = np.einsum("si,ijk->skj", vel, machine.V).reshape(n, d2)  # vec((dH/ds)^T)
    A[:, -1, :d2] = dH
    A[:, -1, d2] = np.einsum("nc,nc->n", dH, rho0)
    return _Frozen(A=A, rho0=rho0)


def magnus_steps(machine: Machine, loop, edges: np.ndarray, period: float,
                 numerics: Numerics | None = None) -> np.ndarray:
    """Fourth-order Magnus step exponentials between consecutive ``edges``.

    Returns ``E (n, N, N)`` with ``x(edges[j+1]) = E[j] x(edges[j])``.
    """
    h = np.diff(edges)
    s = np.stack([edges[:-1] + c * h for c in _GAUSS], axis=-1).reshape(-1)
    fr = augmented_generator(machine, loop, s, period, numerics)
    A = fr.A.reshape(len(h), 2, *fr.A.shape[-2:])
    A1, A2 = A[:, 0], A[:, 1]
    hh = h[:, None, None]
    Om = 0.5 * hh * (A1 + A2) + (math.sqrt(3.0) / 12.0) * hh**2 * (A2 @ A1 - A1 @ A2)
    return expm_batched(Om)


TAYLOR_DEGREE = 16
"""Degree of the Taylor polynomial of :func:`expm_batched` (after scaling to norm <= 1/2)."""


def expm_batched(A: np.ndarray) -> np.ndarray:
    """Matrix exponentials of a batch ``A (n, N, N)`` by scaling and squaring.

    Each matrix is scaled by ``2^-s`` to 1-norm ``<= 1/2`` and exponentiated by its Taylor
    polynomial of degree 16 (truncation ``<= 0.5^17 / 17! ~ 2e-18`` relative), evaluated
    with the Paterson-Stockmeyer scheme (7 matrix products), then squared ``s`` times.
    Batched products make this much faster than a loop over :func:`scipy.linalg.expm` for
    the many small matrices of a Magnus propagation.
    """
    A = np.asarray(A)
    norm = np.abs(A).sum(axis=-2).max(axis=-1)
    with np.errstate(divide="ignore"):
        s = np.ceil(np.log2(np.maximum(norm, 1e-300) / 0.5))
    s = np.clip(s, 0, None).astype(int)
    X = A * (0.5 ** s)[:, None, None]
    eye = np.eye(A.shape[-1], dtype=A.dtype)
    c = 1.0 / np.cumprod(np.r_[1.0, np.arange(1, TAYLOR_DEGREE + 1)])
    X2 = X @ X
    X3 = X2 @ X
    X4 = X2 @ X2
    P = c[16] * eye
    for j in (3, 2, 1, 0):
        B = c[4 * j] * eye + c[4 * j + 1] * X + c[4 * j + 2] * X2 + c[4 * j + 3] * X3
        P = B + X4 @ P
    for k in range(int(s.max(initial=0))):
        sel = s > k
        P[sel] = P[sel] @ P[sel]
    return P


def _ordered_product(E: np.ndarray) -> np.ndarray:
    """``E[n-1] @ ... @ E[1] @ E[0]`` by pairwise (tree) reduction, ``(N, N)``."""
    while len(E) > 1:
        if len(E) % 2:
            last = E[-1:]
            E = np.concatenate([E[1:-1:2] @ E[0:-1:2], last])
        else:
            E = E[1::2] @ E[0::2]
    return E[0]


@dataclass(frozen=True)
class _Pass:
    """One propagation over a cycle with a fixed step grid."""

    edges: np.ndarray
    Phi: np.ndarray  # (N, N) one-period propagator of the augmented system


def _propagate(machine, loop, period, steps, options: Magnus, keep=False):
    edges = step_grid(loop, steps)
    n = len(edges) - 1
    Phi = None
    kept = []
    for a in range(0, n, options.chunk):
        E = magnus_steps(machine, loop, edges[a:min(n, a + options.chunk) + 1], period,
                         options.numerics)
        if keep:
            kept.append(E)
        P = _ordered_product(E)
        Phi = P if Phi is None else P @ Phi
    return _Pass(edges=edges, Phi=Phi), (np.concatenate(kept) if keep else None)


def _fixed_point(Phi: np.ndarray, d: int) -> tuple[np.ndarray, float]:
    """Periodic deviation ``delta`` (``(d^2,)``, traceless) of the augmented propagator
    ``Phi = [[P, f, .], [0, 1, .], [R, g, 1]]``: ``P delta + f = delta``, and its rcond.

    Solved as ``(P - 1 + |w>><<1|) delta = -f`` (``<<1|P = <<1|``, ``Tr f = 0``).
    """
    d2 = d * d
    P, f = Phi[:d2, :d2], Phi[:d2, d2]
    one = np.eye(d).reshape(d2)
    w = one / d
    M = P - np.eye(d2) + w[:, None] * one[None, :]
    try:
        Minv = np.linalg.inv(M)
    except np.linalg.LinAlgError:
        return np.full(d2, np.nan), 0.0
    rc = 1.0 / (np.abs(M).sum(axis=0).max() * np.abs(Minv).sum(axis=0).max())
    x = -(Minv @ f)
    r = x.reshape(d, d)
    r = 0.5 * (r + r.conj().T)
    r = r - np.eye(d) * np.trace(r) / d
    return r.reshape(d2), float(rc)


@dataclass(frozen=True)
class ExactCycle:
    """Heat and work per cycle of the periodic state at a finite period, and how they were
    solved.

    Attributes
    ----------
    period : float                 ``tau``
    bath_names : tuple of str      ``(m,)``
    temperatures : (m,) float
    heat : (m,) float              ``Q_a = int_0^tau Tr[H D_a rho] dt`` (into the system)
    work : float                   ``W = int_0^tau Tr[rho dH/dt] dt`` (on the system)
    first_law_residual : float     ``W + sum_a Q_a`` (zero up to the integrator error)
    entropy_production : float     ``-sum_a Q_a / T_a`` per cycle
    error_estimate : float         estimate of the absolute error of ``heat`` and ``work``
                                   (largest component): step doubling for the stepping
                                   methods, the change from the previous node count for the
                                   spectral one
    steps : int                    steps per cycle of the reported result (collocation nodes
                                   for ``method="spectral"``; ``step_unit`` says which)
    converged : bool               ``error_estimate <= rtol * max(|Q|, |W|)`` (and the limit
                                   cycle reached, for the methods that propagate cycles)
    relaxation_time : float        ``1 / min_s`` (smallest decay rate of ``L(s)``)
    periodic_state : (d, d) complex    ``rho(0)`` of the limit cycle (lab frame)
    fixed_point_rcond : float      reciprocal condition number of ``P - 1 + |w>><<1|`` (Magnus;
                                   NaN for the other solvers, which form no propagator)
    expansion : ExpansionCycle or None  :class:`~thermogeo.dynamics.expansion.ExpansionCycle`
    method : str                   name of the method that ran (``"magnus"``, ``"spectral"``,
                                   ``"krylov"`` or ``"eigenframe"``; never ``"auto"``)
    order : int or str             its order (4, 4, 2; ``"spectral"``: exponential)
    message : str                  status: why the solver stopped (scipy-like)
    solver : ExactMethod or None   the method object that ran, with its options
                                   (:mod:`thermogeo.dynamics.methods`)

    ``success`` is ``converged`` (scipy's name).
    """

    period: float
    bath_names: tuple
    temperatures: np.ndarray
    heat: np.ndarray
    work: float
    first_law_residual: float
    entropy_production: float
    error_estimate: float
    steps: int
    converged: bool
    relaxation_time: float
    periodic_state: np.ndarray
    fixed_point_rcond: float
    expansion: ExpansionCycle | None = None
    method: str = "magnus"
    order: int | str = MAGNUS_ORDER
    message: str = ""
    solver: ExactMethod | None = None

    @property
    def success(self) -> bool:
        """``converged`` (the name ``scipy.optimize`` and ``scipy.integrate`` use)."""
        return self.converged

    @property
    def step_unit(self) -> str:
        """What :attr:`steps` counts (``"Magnus-4 steps"``, ``"collocation nodes"``, ...)."""
        return METHODS[self.method].step_unit

    def to_dict(self) -> dict:
        """Plain dictionary (the ``thermogeo exact --json`` output). ``order`` is given as text
        (``"4"``, ``"2"``, ``"spectral"``) so that its type does not depend on the method."""
        out = {
            "period": self.period,
            "heat": dict(zip(self.bath_names, map(float, self.heat))),
            "work": float(self.work),
            "first_law_residual": float(self.first_law_residual),
            "entropy_production": float(self.entropy_production),
            "error_estimate": float(self.error_estimate),
            "steps": int(self.steps),
            "converged": bool(self.converged),
            "relaxation_time": float(self.relaxation_time),
            "method": self.method,
            "order": str(self.order),
            "message": self.message,
        }
        if self.expansion is not None:
            out["expansion"] = self.expansion.to_dict()
        return out

    def to_dataset(self):
        """``xarray.Dataset`` with ``heat (bath)``, ``temperatures (bath)``, the scalars and (if
        attached) the expansion's ``heat_order0``, ``geometric_heat``, ``heat_order2 (bath)``,
        ``work_order1``, ``dissipated_work`` (docs/decisions/0007-names.md), each with a
        ``units`` attribute; attributes ``period``, ``method``, ``order``, ``steps``,
        ``converged``, ``message``, ``relaxation_time``, ``rtol``."""
        import xarray as xr

        bath = ("bath",)
        data = dataset_variables(self, {
            "temperatures": bath, "heat": bath, "work": (), "first_law_residual": (),
            "entropy_production": (), "error_estimate": ()})
        if self.expansion is not None:
            data.update(dataset_variables(self.expansion, {
                "heat_order0": bath, "geometric_heat": bath, "heat_order2": bath,
                "work_order1": (), "dissipated_work": ()}))
        attrs = {"period": self.period, "method": self.method, "order": self.order,
                 "steps": self.steps, "converged": int(self.converged),
                 "message": self.message, "relaxation_time": self.relaxation_time}
        if self.solver is not None:
            attrs["rtol"] = self.solver.rtol
        return xr.Dataset(data, coords={"bath": list(self.bath_names)}, attrs=attrs)


def _cycle_integrals(Phi, d, m):
    x, rc = _fixed_point(Phi, d)
    d2 = d * d
    y = (Phi[d2 + 1:, :d2] @ x + Phi[d2 + 1:, d2]).real
    return x, rc, y[:m], float(y[m])


@dataclass(frozen=True)
class _Solved:
    """What a solver returns: ``x`` the periodic deviation (or, ``state=True``, the state)
    at ``s = 0`` (``(d^2,)``), the cycle integrals, the error estimate and the status."""

    x: np.ndarray
    rcond: float
    heat: np.ndarray
    work: float
    error: float
    steps: int
    converged: bool
    message: str
    relaxation_time: float | None = None
    state: bool = False


def _status(converged: bool, err: float, tol: float, steps: int, unit: str,
            limit: str | None) -> str:
    """Status message: converged or not, the estimate against ``rtol * scale`` and, when not
    converged, the limit that stopped the solver (``None``: the step count was fixed)."""
    if converged:
        return (f"converged: error estimate {err:.2e} <= rtol * max(|Q|, |W|) = {tol:.2e} "
                f"at {steps} {unit}")
    why = f"the fixed {steps} {unit}" if limit is None else f"{steps} {unit} ({limit})"
    return (f"not converged: error estimate {err:.2e} > rtol * max(|Q|, |W|) = {tol:.2e} "
            f"at {why}")


def _scale(Q, Wk) -> float:
    return max(np.max(np.abs(Q)), abs(Wk), np.finfo(float).tiny)


def exact_cycle(machine: Machine, loop, period, *, method: str | ExactMethod | None = None,
                options: ExactOptions | None = None, expansion: bool = True) -> ExactCycle:
    """Exact heat and work per cycle of the periodic state at period ``tau``.

    Solves ``d rho/dt = L(lam(t/tau)) rho`` for the limit cycle ``rho(t + tau) = rho(t)`` with
    the chosen solver (module docstring; :mod:`thermogeo.dynamics.methods`) and integrates

        Q_a = int_0^tau Tr[H D_a rho] dt,   W = int_0^tau Tr[rho dH/dt] dt,
        Sigma = -sum_a Q_a / T_a,           first law: W + sum_a Q_a = 0.

    Parameters
    ----------
    machine : Machine
    loop : Loop
        Closed path (``thermogeo.protocols.paths``), ``s = t / tau``.
    period : float
        ``tau > 0``.
    method : str or ExactMethod, optional
        A method object -- :class:`~thermogeo.dynamics.methods.Magnus`,
        :class:`~thermogeo.dynamics.methods.Spectral`,
        :class:`~thermogeo.dynamics.methods.Krylov`,
        :class:`~thermogeo.dynamics.methods.Eigenframe`,
        :class:`~thermogeo.dynamics.methods.Auto` -- holding its options, or its name
        (``"magnus"``, ``"spectral"``, ``"krylov"``, ``"eigenframe"``, ``"auto"``: the
        defaults). Default ``Auto()``.
    options : ExactOptions, optional
        The same as one object of all options (backward compatible; give ``method`` or
        ``options``, not both).
    expansion : bool
        Attach the slow-driving expansion at the same period
        (:func:`~thermogeo.dynamics.expansion.expansion_cycle`). Default True.

    Returns
    -------
    ExactCycle
        With ``method``, ``order``, ``steps``, ``error_estimate``, ``converged`` /
        ``success``, ``message`` and ``solver`` (the method object that ran).

    Raises
    ------
    NonUniqueSteadyStateError
        The one-period propagator has no unique fixed point.
    ValueError
        Bad period, method or options (e.g. ``"spectral"`` on a loop with corners).

    Warns
    -----
    SlowDrivingWarning
        ``period < slow_factor * relaxation_time``.
    AccuracyWarning
        The adaptive solver reached its limit before ``rtol``.
    IgnoredOptionWarning
        ``ExactOptions`` set an option the chosen method does not use.

    Examples
    --------
    >>> from thermogeo import load_model
    >>> from thermogeo.protocols.paths import Circle
    >>> m = load_model("models/qubit_pump.toml")
    >>> c = exact_cycle(m, Circle(center=(0.8, 0.6), radius=0.5), 200.0)
    >>> round(float(c.heat[0]), 3), abs(c.first_law_residual) < 1e-7
    (0.272, True)
    >>> c.method, c.order, c.success
    ('spectral', 'spectral', True)
    >>> from thermogeo.dynamics import Magnus
    >>> c4 = exact_cycle(m, Circle(center=(0.8, 0.6), radius=0.5), 200.0,
    ...                  method=Magnus(steps=512), expansion=False)
    >>> c4.method, c4.order, c4.steps, round(float(c4.heat[0]), 3)
    ('magnus', 4, 512, 0.272)
    """
    tau = check_period(period)
    d = machine.dim
    solver = solver_for(machine, loop, method, options)
    r = _SOLVERS[type(solver)](machine, loop, tau, solver)
    t_rel = r.relaxation_time
    if t_rel is None:
        t_rel = _relaxation_time(machine, loop, solver)
    if tau < solver.slow_factor * t_rel:
        warnings.warn(
            f"period {tau:g} is not long against the relaxation time {t_rel:.4g} (slowest "
            f"decay rate {1 / t_rel:.4g} on the path): the driving is not slow and the "
            f"expansion is not reliable; use a period of at least "
            f"{solver.slow_factor * t_rel:.4g}", SlowDrivingWarning, stacklevel=2)
    x = r.x
    if not r.state:
        x = x + augmented_generator(machine, loop, np.zeros(1), tau, solver.numerics).rho0[0]
    T = np.asarray(machine.temperatures, dtype=float)
    Q, Wk = r.heat, r.work
    exp = expansion_cycle(machine, loop, tau, numerics=solver.numerics) if expansion else None
    return ExactCycle(
        period=tau, bath_names=tuple(machine.bath_names), temperatures=T, heat=Q, work=Wk,
        first_law_residual=float(Wk + Q.sum()), entropy_production=float(-(Q / T).sum()),
        error_estimate=float(r.error), steps=r.steps, converged=r.converged,
        relaxation_time=t_rel, periodic_state=x.reshape(d, d), fixed_point_rcond=r.rcond,
        expansion=exp, method=solver.name, order=solver.order, message=r.message,
        solver=solver)


def solver_for(machine: Machine, loop, method=None, options: ExactOptions | None = None
               ) -> ExactMethod:
    """The method object that :func:`exact_cycle` runs for ``machine`` on ``loop``: ``method``
    / ``options`` resolved (:func:`~thermogeo.dynamics.methods.as_method`) with the kernels
    that serve the machine (:func:`~thermogeo.lindblad.backend.uses_dense`)."""
    chosen = as_method(method, options)
    return chosen.resolve(loop, machine.dim, dense=uses_dense(machine, chosen.numerics))


def _eigenframe_cycle(machine, loop, tau, method: Eigenframe) -> _Solved:
    if not machine.master_equation.secular:  # Auto picks it only where the dense kernels don't
        raise ValueError(f"method: 'eigenframe' propagates the Bohr blocks of the secular "
                         f"generator; the {machine.master_equation.kind!r} master equation "
                         "needs 'magnus', 'spectral' or 'krylov'")
    r = eigenframe_cycle(machine, loop, tau, method)
    if not r["converged"] and method.steps is None:
        warnings.warn(f"exact_cycle: error estimate {r['error_estimate']:.2e} above rtol at "
                      f"max_steps={method.max_steps} (or the limit cycle not reached in "
                      f"max_cycles={method.max_cycles})", AccuracyWarning, stacklevel=3)
    return _Solved(x=r["periodic_state"].reshape(-1), rcond=math.nan, heat=r["heat"],
                   work=r["work"], error=r["error_estimate"], steps=r["steps"],
                   converged=r["converged"], message=r["message"],
                   relaxation_time=r["relaxation_time"], state=True)


def _krylov_pass(machine, loop, tau, steps, options: Krylov, x0):
    """Propagate ``x = (delta, 1, Q, W)`` over whole cycles with Magnus-4 steps applied by
    ``expm_multiply`` until ``delta`` repeats; returns ``(delta, Q, W, cycles, change)``."""

    d2 = machine.dim ** 2
    edges = step_grid(loop, steps)
    h = np.diff(edges)
    nodes = np.stack([edges[:-1] + c * h for c in _GAUSS], axis=-1).reshape(-1)
    c3 = math.sqrt(3.0) / 12.0
    delta = x0.copy()
    change = math.inf
    chunk = max(1, options.chunk // 16)
    cycles = 0
    for _ in range(options.max_cycles):
        cycles += 1
        x = np.zeros(d2 + len(machine.baths) + 2, dtype=complex)
        x[:d2], x[d2] = delta, 1.0
        for a in range(0, len(h), chunk):
            A = augmented_generator(machine, loop, nodes[2 * a:2 * (a + chunk)], tau,
                                    options.numerics).A
            for j in range(len(A) // 2):
                A1, A2, hj = A[2 * j], A[2 * j + 1], h[a + j]

                def mv(v, A1=A1, A2=A2, hj=hj):
                    v1, v2 = A1 @ v, A2 @ v
                    return 0.5 * hj * (v1 + v2) + c3 * hj**2 * (A2 @ v1 - A1 @ v2)

                def rmv(v, B1=A1.conj().T, B2=A2.conj().T, hj=hj):
                    v1, v2 = B1 @ v, B2 @ v
                    return 0.5 * hj * (v1 + v2) + c3 * hj**2 * (B1 @ v2 - B2 @ v1)
                op = LinearOperator(A1.shape, matvec=mv, rmatvec=rmv, matmat=mv, rmatmat=rmv,
                                    dtype=complex)
                tr = 0.5 * hj * (np.trace(A1) + np.trace(A2))
                x = expm_multiply(op, x, traceA=tr)
        new = x[:d2]
        change = float(np.abs(new - delta).max())
        delta = new
        if change <= options.rtol * 1e-2:
            break
    return delta, x[d2 + 1:-1].real, float(x[-1].real), cycles, change


def _krylov_cycle(machine, loop, tau, options: Krylov) -> _Solved:
    d2 = machine.dim ** 2
    n = options.steps if options.steps is not None else start_steps(loop, options.min_steps)
    coarse = max(1, n // 2) if options.steps is not None else n
    fine = n if options.steps is not None else 2 * n
    dl0, Q0, W0, _, _ = _krylov_pass(machine, loop, tau, coarse, options, np.zeros(d2, complex))
    while True:
        dl, Q, Wk, cycles, change = _krylov_pass(machine, loop, tau, fine, options, dl0)
        err = max(np.max(np.abs(Q - Q0)), abs(Wk - W0)) / (2**MAGNUS_ORDER - 1)
        scale = _scale(Q, Wk)
        converged = bool(err <= options.rtol * scale) and change <= options.rtol
        if converged or options.steps is not None or 2 * fine > options.max_steps:
            break
        dl0, Q0, W0, fine = dl, Q, Wk, 2 * fine
    limit = None if options.steps is not None else f"limit max_steps={options.max_steps}"
    message = _status(converged, err, options.rtol * scale, fine, options.step_unit, limit)
    if change > options.rtol:
        why = (f"the state still changed by {change:.2e} after {options.max_cycles} cycles "
               "(max_cycles); the limit cycle is not reached")
        message = f"not converged: {why}"
        warnings.warn(f"exact_cycle: {why}", AccuracyWarning, stacklevel=3)
    elif not converged and options.steps is None:
        warnings.warn(f"exact_cycle: error estimate {err:.2e} above rtol*scale "
                      f"{options.rtol * scale:.2e} at max_steps={options.max_steps}",
                      AccuracyWarning, stacklevel=3)
    d = machine.dim
    r = dl.reshape(d, d)
    r = 0.5 * (r + r.conj().T)
    r = r - np.eye(d) * np.trace(r) / d
    return _Solved(x=r.reshape(-1), rcond=math.nan, heat=Q, work=Wk, error=err, steps=fine,
                   converged=converged, message=message)


RELAXATION_NODES = 64
"""Path nodes at which the decay rates of ``L`` are computed for the slowness check."""


def _relaxation_time(machine, loop, options: ExactMethod) -> float:
    """``1 / min_s`` of the smallest non-zero decay rate of ``L(s)`` (eigenvalues)."""
    s, _ = loop.quadrature(RELAXATION_NODES if loop.smooth else RELAXATION_NODES // 4)
    gen = generator(machine, loop.points(machine, s), options.numerics)
    decay = float(np.sort(-np.linalg.eigvals(gen.L).real, axis=-1)[:, 1].min())
    return 1.0 / decay if decay > 0 else math.inf


def _unique_or_raise(rc, rcond_min):
    if not (rc >= rcond_min or math.isnan(rc)):
        raise NonUniqueSteadyStateError(
            f"the one-period propagator has no unique fixed point (rcond {rc:.2e} < "
            f"{rcond_min:.0e}): part of the state space never relaxes (a dark symmetry "
            "sector); break the symmetry in the couplings")


def _magnus_cycle(machine, loop, tau, options: Magnus) -> _Solved:
    d, m = machine.dim, len(machine.baths)
    rcond_min = options.numerics.uniqueness_rcond

    def run(steps):
        # overflow of too-long steps is detected below (non-finite results), not warned about
        with np.errstate(over="ignore", invalid="ignore"):
            p, _ = _propagate(machine, loop, tau, steps, options)
            return p, _cycle_integrals(p.Phi, d, m)

    n = options.steps if options.steps is not None else start_steps(loop, options.min_steps)
    coarse_n = max(1, n // 2) if options.steps is not None else n
    _, r0 = run(coarse_n)
    _unique_or_raise(r0[1], rcond_min)
    fine_n = n if options.steps is not None else 2 * n
    while True:
        p1, r1 = run(fine_n)
        err = max(np.max(np.abs(r1[2] - r0[2])), abs(r1[3] - r0[3])) / (2**MAGNUS_ORDER - 1)
        scale = _scale(r1[2], r1[3])
        converged = bool(err <= options.rtol * scale)
        if converged or options.steps is not None:
            break
        if 2 * fine_n > options.max_steps:
            if not math.isfinite(err):
                break  # overflowed: raised below
            warnings.warn(f"exact_cycle: error estimate {err:.2e} above rtol*scale "
                          f"{options.rtol * scale:.2e} at max_steps={options.max_steps}",
                          AccuracyWarning, stacklevel=3)
            break
        # The error falls as n^-4: jump to the predicted step count (a power-of-two multiple).
        # A non-finite pass (the commutator term of steps far longer than the relaxation time
        # overflows the exponential) grows the step count sixteenfold.
        ratio = (err / (0.5 * options.rtol * scale)) ** (1.0 / MAGNUS_ORDER)
        if not math.isfinite(ratio):
            ratio = 16.0
        grow = 2 ** max(1, int(np.ceil(np.log2(max(ratio, 1.0)))))
        nxt = min(fine_n * grow, options.max_steps)
        nxt = max(nxt, 2 * fine_n)
        r0 = r1 if nxt == 2 * fine_n else run(nxt // 2)[1]
        fine_n = nxt
    x, rc, Q, Wk = r1
    if not (np.all(np.isfinite(Q)) and math.isfinite(Wk)):
        raise FloatingPointError(
            f"exact_cycle: the Magnus-4 propagator overflowed at {len(p1.edges) - 1} steps "
            f"(period {tau:g}: steps far longer than the relaxation time); use "
            "method='eigenframe' (stable for any step) or a larger max_steps")
    n = len(p1.edges) - 1
    limit = None if options.steps is not None else f"limit max_steps={options.max_steps}"
    return _Solved(x=x, rcond=rc, heat=Q, work=Wk, error=err, steps=n, converged=converged,
                   message=_status(converged, err, options.rtol * scale, n,
                                   options.step_unit, limit))


TRACE_PENALTY = 2 * np.pi
"""``tau kappa`` of the term ``-kappa |w>><<1|`` added to ``L`` in the collocation system: it
removes the trace mode (the homogeneous periodic solution) without changing traceless
solutions."""


def fourier_derivative_matrix(n: int) -> np.ndarray:
    """Differentiation matrix ``(n, n)`` of the trigonometric interpolant at ``s_j = j/n``
    (period 1; the Nyquist mode of even ``n`` is dropped)."""
    k = np.fft.fftfreq(n, d=1.0 / n)
    if n % 2 == 0:
        k[n // 2] = 0.0
    return np.fft.ifft(2j * np.pi * k[:, None] * np.fft.fft(np.eye(n), axis=0), axis=0)


def spectral_solve(machine: Machine, loop, period: float, nodes: int,
                   numerics: Numerics | None = None):
    """Periodic deviation by Fourier collocation at ``s_j = j / nodes``.

    Solves ``sum_l Dmat_jl delta_l - (tau L_j - kappa |w>><<1|) delta_j = -d_s rho_0(s_j)``
    (dense, ``nodes * d^2`` unknowns) and integrates the heats and work by the trapezoidal
    rule (spectral for smooth periodic integrands).

    Returns
    -------
    delta : (nodes, d^2) complex   lab-frame periodic deviation ``rho - rho_0``
    Q : (m,) float                 heat per cycle from each bath
    W : float                      work per cycle
    status : float                 NaN when solved, 0.0 when the collocation matrix is
                                   singular (then the other outputs are None)
    """
    s = np.arange(nodes) / nodes
    A = augmented_generator(machine, loop, s, period, numerics).A
    d = machine.dim
    d2 = d * d
    one = np.eye(d).reshape(d2)
    L = A[:, :d2, :d2] - TRACE_PENALTY * (one / d)[:, None] * one[None, :]
    # Hermiticity-preserving maps are real in an orthonormal Hermitian basis, and the Fourier
    # differentiation matrix is real: the whole collocation system is real (4x cheaper LU).
    Tb = hermitian_basis(d)
    Th = Tb.conj().T
    Lr = (Th @ L @ Tb).real
    src = (A[:, :d2, d2] @ Th.T).real
    Dm = fourier_derivative_matrix(nodes).real
    M = np.einsum("jl,ab->jalb", Dm, np.eye(d2))
    idx = np.arange(nodes)
    M[idx, :, idx, :] -= Lr
    M = M.reshape(nodes * d2, nodes * d2)
    try:
        x = np.linalg.solve(M, src.reshape(-1))
    except np.linalg.LinAlgError:
        return None, None, None, 0.0
    delta = x.reshape(nodes, d2) @ Tb.T
    y = (np.einsum("nri,ni->nr", A[:, d2 + 1:, :d2], delta) + A[:, d2 + 1:, d2]).mean(axis=0)
    # The steady state was checked unique at every node by frozen_path; an exactly singular
    # collocation matrix (dark sector) raises LinAlgError above.
    return delta, y.real[:-1], float(y.real[-1]), math.nan


def hermitian_basis(d: int) -> np.ndarray:
    """Orthonormal basis of Hermitian ``d x d`` matrices as columns of ``vec`` (row-major),
    ``(d^2, d^2)`` unitary: ``|a><a|``, ``(|a><b| + |b><a|)/sqrt2``,
    ``i(|a><b| - |b><a|)/sqrt2``. Coordinates of a Hermitian operator are real."""
    cols = []
    for a in range(d):
        e = np.zeros((d, d), complex)
        e[a, a] = 1.0
        cols.append(e.reshape(-1))
    r = 1.0 / math.sqrt(2.0)
    for a in range(d):
        for b in range(a + 1, d):
            e = np.zeros((d, d), complex)
            e[a, b] = e[b, a] = r
            cols.append(e.reshape(-1))
            e = np.zeros((d, d), complex)
            e[a, b], e[b, a] = 1j * r, -1j * r
            cols.append(e.reshape(-1))
    return np.stack(cols, axis=1)


def _node_sequence(lo: int, hi: int) -> list[int]:
    """Collocation node counts from ``lo`` to ``hi`` growing by factors 4/3 and 3/2: 4, 6, 8,
    12, 16, 24, 32, 48, 64, ..."""
    out, n = [], 4
    while n <= hi:
        for c in (n, 3 * n // 2):
            if lo <= c <= hi:
                out.append(c)
        n *= 2
    return out or [lo]


def _spectral_cycle(machine, loop, tau, options: Spectral) -> _Solved:
    d = machine.dim
    prev = None
    if options.nodes is not None:
        # fixed count: the error estimate is the change from the next smaller count
        seq = [max(_node_sequence(4, options.nodes - 1)), options.nodes]
    else:
        seq = [n for n in _node_sequence(options.min_nodes, options.max_nodes)
               if n * d * d <= options.max_unknowns] or [options.min_nodes]
    err, converged, scale = math.inf, False, math.nan
    for n in seq:
        delta, Q, Wk, rc = spectral_solve(machine, loop, tau, n, options.numerics)
        _unique_or_raise(rc, options.numerics.uniqueness_rcond)
        if prev is not None:
            # exponential convergence: the change from the previous count bounds the error
            err = max(np.max(np.abs(Q - prev[0])), abs(Wk - prev[1]))
            scale = _scale(Q, Wk)
            converged = bool(err <= options.rtol * scale)
            if converged:
                break
        prev = (Q, Wk)
    if not converged and options.nodes is None:
        warnings.warn(f"exact_cycle: spectral error estimate {err:.2e} above rtol at {n} "
                      f"nodes (limits max_nodes={options.max_nodes}, max_unknowns="
                      f"{options.max_unknowns}); use method='magnus'",
                      AccuracyWarning, stacklevel=3)
    x = delta[0]
    r = x.reshape(d, d)
    r = 0.5 * (r + r.conj().T)
    r = r - np.eye(d) * np.trace(r) / d
    limit = (None if options.nodes is not None else
             f"limits max_nodes={options.max_nodes}, max_unknowns={options.max_unknowns}")
    return _Solved(x=r.reshape(-1), rcond=rc, heat=Q, work=Wk, error=err, steps=n,
                   converged=converged,
                   message=_status(converged, err, options.rtol * scale, n, options.step_unit,
                                   limit))


_SOLVERS = {Magnus: _magnus_cycle, Spectral: _spectral_cycle, Krylov: _krylov_cycle,
            Eigenframe: _eigenframe_cycle}
"""Method class -> solver ``(machine, loop, tau, method) -> _Solved``."""


def periodic_states(machine: Machine, loop, period, s, *, steps: int,
                    options: ExactOptions | None = None,
                    method: str | Magnus | Spectral = "magnus") -> np.ndarray:
    """Lab-frame limit-cycle states ``rho(s)`` at path coordinates ``s (n,)``: ``(n, d, d)``.

    ``method="magnus"`` (or a :class:`~thermogeo.dynamics.methods.Magnus`): the periodic
    deviation at ``s = 0`` is propagated with ``steps`` Magnus steps per cycle; each requested
    ``s`` is reached from the last step edge below it by one more Magnus step of partial
    length (so the states carry the integrator's fourth order). ``method="spectral"`` (or a
    :class:`~thermogeo.dynamics.methods.Spectral`): the collocation solution at ``steps``
    nodes is evaluated by trigonometric interpolation. Each ``rho(s)`` is
    ``rho_0(s) + delta(s)``. ``numerics`` (and Magnus's ``chunk``) come from the method object
    or from ``options``; the step or node count is always ``steps`` (e.g.
    ``ExactCycle.steps`` with ``method=ExactCycle.solver``).
    """
    if isinstance(method, ExactMethod):
        if options is not None:
            raise ValueError("method, options: give one of them")
        if not isinstance(method, (Magnus, Spectral)):
            raise ValueError(f"method: expected 'magnus' or 'spectral' (or Magnus, Spectral), "
                             f"got {method!r}")
        numerics, chunk, method = (method.numerics, getattr(method, "chunk", Magnus.chunk),
                                   method.name)
    else:
        numerics = (options or ExactOptions()).numerics
        chunk = (options or ExactOptions()).chunk
    options = Magnus(numerics=numerics, chunk=chunk)
    tau = check_period(period)
    d = machine.dim
    d2 = d * d
    s = np.asarray(s, dtype=float)
    if method == "spectral":
        delta, _, _, _ = spectral_solve(machine, loop, tau, steps, options.numerics)
        if delta is None:
            _unique_or_raise(0.0, options.numerics.uniqueness_rcond)
        c = np.fft.fft(delta, axis=0) / steps
        k = np.fft.fftfreq(steps, d=1.0 / steps)
        ph = np.exp(2j * np.pi * np.outer(s, k))
        if steps % 2 == 0:
            ph[:, steps // 2] = np.cos(np.pi * steps * s)
        rho0 = augmented_generator(machine, loop, s, tau, options.numerics).rho0
        return (ph @ c + rho0).reshape(len(s), d, d)
    if method != "magnus":
        raise ValueError(f"method: expected 'magnus' or 'spectral', got {method!r}")
    p, E = _propagate(machine, loop, tau, steps, options, keep=True)
    x, rc = _fixed_point(p.Phi, d)
    if rc < options.numerics.uniqueness_rcond:
        raise NonUniqueSteadyStateError(
            f"the one-period propagator has no unique fixed point (rcond {rc:.2e})")
    N = E.shape[-1]
    states = np.zeros((len(E) + 1, N), dtype=complex)
    states[0, :d2] = x
    states[0, d2] = 1.0
    for j in range(len(E)):
        states[j + 1] = E[j] @ states[j]
    j = np.clip(np.searchsorted(p.edges, s, side="right") - 1, 0, len(E) - 1)
    out = np.empty((len(s), d2), dtype=complex)
    for a in range(0, len(s), options.chunk):
        ii = np.arange(a, min(len(s), a + options.chunk))
        h = s[ii] - p.edges[j[ii]]
        nodes = np.stack([p.edges[j[ii]] + c * h for c in _GAUSS], axis=-1).reshape(-1)
        A = augmented_generator(machine, loop, nodes, tau, options.numerics).A
        A = A.reshape(len(ii), 2, N, N)
        hh = h[:, None, None]
        Om = 0.5 * hh * (A[:, 0] + A[:, 1]) + (math.sqrt(3.0) / 12.0) * hh**2 * (
            A[:, 1] @ A[:, 0] - A[:, 0] @ A[:, 1])
        out[ii] = np.einsum("nij,nj->ni", expm_batched(Om), states[j[ii]])[:, :d2]
    rho0 = augmented_generator(machine, loop, s, tau, options.numerics).rho0
    return (out + rho0).reshape(len(s), d, d)
