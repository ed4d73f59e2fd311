"""Exact counting statistics of the heat per cycle at a finite period.

In the long run the heats ``Q`` into the system per cycle have the cumulant generating
function ``G(chi) = ln mu(chi)``, ``mu`` the leading eigenvalue of the one-period propagator
of the tilted generator (docs/theory.md section 12)::

    P(chi) = T exp(tau int_0^1 L(chi, s) ds)                  (lab frame, s = t / tau)

:func:`exact_cgf` evaluates it at given ``chi``. The cumulants follow without finite
differences in ``chi``: along a direction ``c`` (``chi = c x``), ``L(c x, s) = sum_k x^k
M_k(s)`` with ``M_0 = L`` and ``M_k = sum_alpha c_alpha^k L_alpha^(k) / k!``; the propagator
of the block lower-triangular (jet) generator ``[[M_0], [M_1, M_0], [M_2, M_1, M_0], ...]``
holds the Taylor coefficients ``P_k`` of ``P(c x)`` in its first block column (the product of
truncated power series). The Drazin recursion of :func:`thermogeo.response.counting.series`
with ``K_0 = P_0 - 1`` and ``M_k -> P_k`` gives ``mu - 1 = sum_n theta_n x^n`` and::

    <Q>     = theta_1
    <<Q^2>> = 2 theta_2 - theta_1^2
    <<Q^3>> = 6 theta_3 - 6 theta_1 theta_2 + 2 theta_1^3

The propagator is the fourth-order Magnus integrator of :mod:`thermogeo.dynamics.periodic`
(two Gauss-Legendre nodes per step, no step across a corner of the loop), the number of
steps doubled until the cumulants agree to ``rtol`` (error estimate ``|X_2n - X_n| / 15``).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np

from thermogeo.dynamics.grid import check_period, start_steps, step_grid
from thermogeo.dynamics.periodic import expm_batched
from thermogeo.errors import (AccuracyWarning, CountingUnavailableError, ModelError,
                              NonUniqueSteadyStateError)
from thermogeo.lindblad.generator import generator
from thermogeo.linalg.steady import steady_solve
from thermogeo.model.machine import Machine
from thermogeo.numerics import Numerics
from thermogeo.response.counting import (CycleCumulants, check_chi, count_directions,
                                         jump_superops, polarize, series, tilt_superops)

_C = math.sqrt(3.0) / 6.0
_GAUSS = (0.5 - _C, 0.5 + _C)
CHUNK_BYTES = 2**26
"""Bytes of step exponentials held at once."""


def tilted_jets(machine: Machine, lam: np.ndarray, directions: np.ndarray, order: int,
                chi: np.ndarray | None = None, numerics: Numerics | None = None) -> np.ndarray:
    """Lab-frame jet generators ``(n, p, (order + 1) d^2, (order + 1) d^2)`` at points
    ``lam (n, k)`` along ``directions (p, m)``: block ``(i, j)`` is ``M_{i-j}`` (module
    docstring). With ``chi (p, m)`` and ``order = 0``: the tilted generators ``L(chi)``
    (secular master equation only)."""
    gen = generator(machine, lam, numerics or Numerics())
    d2 = machine.dim**2
    p = len(directions)
    K = order + 1
    out = np.zeros((len(lam), p, K * d2, K * d2), complex)
    base = gen.L[:, None]
    if chi is not None:
        if gen.jumps is not None:
            raise CountingUnavailableError(
                f"exact_cgf at finite chi: only the secular master equation, got "
                f"{machine.master_equation.kind!r} (its cumulants: exact_fluctuations)")
        w = -gen.groups.omega[:, None]
        base = base + np.stack([jump_superops(gen, np.expm1(x[None, :, None, None] * w)
                                              ).sum(axis=1) for x in chi], axis=1)
    M = [np.broadcast_to(base, (len(lam), p, d2, d2))]
    for k in range(1, K):
        T = tilt_superops(gen, k)  # (n, m, d2, d2)
        M.append(np.einsum("pm,nmij->npij", directions**k, T) / math.factorial(k))
    M = [gen.to_lab(x) for x in M]
    for i in range(K):
        for j in range(i + 1):
            out[:, :, i * d2:(i + 1) * d2, j * d2:(j + 1) * d2] = M[i - j]
    return out


def _ordered(E: np.ndarray) -> np.ndarray:
    """``E[n-1] @ ... @ E[0]`` over the leading axis (tree reduction)."""
    while len(E) > 1:
        if len(E) % 2:
            E = np.concatenate([E[1:-1:2] @ E[0:-1:2], E[-1:]])
        else:
            E = E[1::2] @ E[0::2]
    return E[0]


def jet_propagator(machine: Machine, loop, period: float, directions: np.ndarray, order: int,
                   steps: int, chi: np.ndarray | None = None,
                   numerics: Numerics | None = None) -> np.ndarray:
    """One-period propagator ``(p, N, N)`` of :func:`tilted_jets` by fourth-order Magnus
    steps, ``steps`` per cycle (per piece in proportion for loops with corners)."""
    edges = step_grid(loop, steps)
    n = len(edges) - 1
    p = len(directions)
    N = (order + 1) * machine.dim**2
    chunk = max(1, CHUNK_BYTES // (16 * 3 * p * N * N))
    Phi = None
    for a in range(0, n, chunk):
        e = edges[a:min(n, a + chunk) + 1]
        h = np.diff(e)
        s = np.stack([e[:-1] + g * h for g in _GAUSS], axis=-1).reshape(-1)
        A = period * tilted_jets(machine, loop.points(machine, s), directions, order, chi,
                                 numerics)
        A = A.reshape(len(h), 2, p, N, N)
        A1, A2 = A[:, 0], A[:, 1]
        hh = h[:, None, None, None]
        Om = 0.5 * hh * (A1 + A2) + (math.sqrt(3.0) / 12.0) * hh**2 * (A2 @ A1 - A1 @ A2)
        P = _ordered(expm_batched(Om.reshape(-1, N, N)).reshape(len(h), p, N, N))
        Phi = P if Phi is None else P @ Phi
    return Phi


def exact_cgf(machine: Machine, loop, period, chi, *, steps: int = 1024,
              numerics: Numerics | None = None) -> np.ndarray:
    """``G(chi) = ln mu(chi)`` per cycle in the long run, ``mu`` the eigenvalue of largest
    modulus of the tilted one-period propagator, for fields ``chi (p, m)``: ``(p,)`` (dense;
    ``steps`` fourth-order Magnus steps per cycle)."""
    tau = check_period(period)
    chi = check_chi(machine, chi)
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 2:
        raise ModelError(f"steps: expected an integer >= 2 (Magnus steps per cycle), got "
                         f"{steps!r}")
    if not all(callable(getattr(loop, a, None)) for a in ("points", "velocity", "breakpoints")):
        raise ModelError(f"loop: expected a Loop (thermogeo.protocols.paths), got "
                         f"{type(loop).__name__}")
    P = jet_propagator(machine, loop, tau, np.zeros_like(chi), 0, int(steps), chi, numerics)
    ev = np.linalg.eigvals(P)
    mu = np.take_along_axis(ev, np.argmax(np.abs(ev), axis=-1)[:, None], -1)[:, 0]
    return np.log(np.abs(mu))


@dataclass(frozen=True, eq=False)
class ExactFluctuations:
    """Exact cumulants of the heat per cycle at one period (module docstring).

    Attributes
    ----------
    cumulants : CycleCumulants
    steps : int         Magnus steps per cycle of the last level
    error : float       estimated error of the cumulants (largest, absolute)
    converged : bool
    """

    cumulants: CycleCumulants
    steps: int
    error: float
    converged: bool

    def to_dict(self) -> dict:
        err = float(self.error)
        return {**self.cumulants.to_dict(), "steps": self.steps,
                "error": err if math.isfinite(err) else None,  # NaN: fixed steps, no estimate
                "converged": self.converged}

    def to_dataset(self):
        ds = self.cumulants.to_dataset()
        ds["steps"], ds["error"], ds["converged"] = self.steps, self.error, self.converged
        return ds


def _cumulants(machine, loop, tau, steps, numerics):
    """``(3, p)``: mean, variance and third cumulant per cycle along
    :func:`~thermogeo.response.counting.count_directions`."""
    c = count_directions(len(machine.baths))
    Phi = jet_propagator(machine, loop, tau, c, 3, steps, None, numerics)
    d2 = machine.dim**2
    P = [Phi[:, k * d2:(k + 1) * d2, :d2] for k in range(4)]
    ss = steady_solve(P[0] - np.eye(d2), numerics.uniqueness_rcond)
    if not np.all(ss.unique):
        raise NonUniqueSteadyStateError("exact_fluctuations: the one-period propagator has "
                                        "no unique periodic state")

    def tilted(k, y):
        return np.einsum("pij,pnj->pni", P[k], y)

    th = series(ss.drazin_apply, tilted, ss.rho[:, None], 3).theta[:, :, 0]
    k1 = th[1]
    k2 = 2 * th[2] - th[1] ** 2
    k3 = 6 * th[3] - 6 * th[1] * th[2] + 2 * th[1] ** 3
    return np.stack([k1, k2, k3])


def exact_fluctuations(machine: Machine, loop, period, *, steps: int | None = None,
                       rtol: float = 1e-8, start: int = 128, max_steps: int = 2**16,
                       numerics: Numerics | None = None) -> ExactFluctuations:
    """Mean, covariance and third cumulant of the heats per cycle at ``period`` (module
    docstring).

    Parameters
    ----------
    machine : Machine
    loop : Loop
    period : float
    steps : int, optional
        Fixed Magnus steps per cycle (else doubled from ``start`` until two levels agree to
        ``rtol``, each cumulant relative to the largest of its order; at most ``max_steps``).
    rtol : float
    start, max_steps : int
    numerics : Numerics, optional

    Examples
    --------
    >>> from thermogeo.io import load_model
    >>> from thermogeo.protocols import Circle
    >>> m = load_model("models/qubit_pump.toml")
    >>> ex = exact_fluctuations(m, Circle(("Bx", "Bz"), center=(0.8, 0.6), radius=0.5), 5.0)
    >>> ex.converged, round(float(ex.cumulants.heat_mean[0]), 4)
    (True, 0.247)
    """
    tau = check_period(period)
    numerics = numerics or Numerics()
    if not 0 < rtol < 1:
        raise ModelError(f"rtol: expected a number in (0, 1), got {rtol!r}")
    for name, v in (("steps", steps), ("start", start), ("max_steps", max_steps)):
        if v is not None and (isinstance(v, bool) or not isinstance(v, (int, np.integer))
                              or v < 1):
            raise ModelError(f"{name}: expected an integer >= 1, got {v!r}")
    if steps is not None:
        cur, n, err, conv = _cumulants(machine, loop, tau, int(steps), numerics), int(steps), \
            math.nan, True
    else:
        n = start_steps(loop, int(start))
        prev = _cumulants(machine, loop, tau, n, numerics)
        while True:
            n *= 2
            cur = _cumulants(machine, loop, tau, n, numerics)
            diff = np.abs(cur - prev) / 15.0
            big = np.abs(cur).max(axis=1, keepdims=True)
            err = float(diff.max())
            conv = bool(np.all(diff <= rtol * np.maximum(big, np.finfo(float).tiny)))
            if conv:
                break
            if 2 * n > max_steps:
                warnings.warn(f"exact_fluctuations: error estimate {err:.2e} above rtol "
                              f"{rtol:g} at max_steps={max_steps}", AccuracyWarning,
                              stacklevel=2)
                break
            prev = cur
    m = len(machine.baths)
    cum = CycleCumulants.from_cumulants(machine, tau, cur[0, :m], polarize(cur[1], m),
                                        cur[2, :m])
    return ExactFluctuations(cumulants=cum, steps=n, error=err, converged=conv)
