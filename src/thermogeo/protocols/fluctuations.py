"""Counting statistics of the heat pumped per cycle by a slowly driven machine.

In the long run the cumulant generating function per cycle of the heats ``Q`` into the
system, ``G(chi) = ln`` of the leading eigenvalue of the tilted one-period propagator, is to
order ``tau^0`` (docs/theory.md section 12)::

    G(chi) = tau int_0^1 theta(chi, lam(s)) ds - closed int <l_chi | d r_chi> + O(1/tau)

with ``theta`` the scaled CGF (:mod:`thermogeo.response.counting`) and ``l_chi``, ``r_chi``
the left and right leading eigenvectors of ``L(chi)`` (``<l|r> = 1``): a conduction part
proportional to the period plus a geometric (Berry-phase) part. Along a direction ``c`` of
chi-space both are expanded in ``x`` (``chi = c x``) with the Drazin recursion, so the
cumulants per cycle are ``kappa_n = n! (tau int theta_n ds + g_n)`` with
``g_n = -closed int sum_{j=1}^{n} <l_j | d r_{n-j}>``. ``<l_j|.>`` is applied through the
generator's right actions (:func:`thermogeo.response.counting.left`); ``d r_0 = d rho_0`` is
exact (``-L^D (d_v L) rho_0`` along the loop's velocity) and ``d r_1``, ``d r_2`` are the
derivatives along the loop of the lab-frame vectors, taken spectrally on the quadrature nodes
(trigonometric interpolation on smooth loops, the Legendre interpolant on every smooth piece
otherwise; docs/decisions/0901). The first cumulant reproduces
``<Q_alpha> = tau int J_alpha ds + Q_alpha^geo`` (:func:`thermogeo.protocols.cycle_summary`).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np

from thermogeo.errors import ModelError, QuadratureWarning
from thermogeo.model.machine import Machine
from thermogeo.numerics import Numerics
from thermogeo.protocols.cycle import CycleQuadrature, check_loop
from thermogeo.protocols.paths import Loop
from thermogeo.response.counting import (CycleCumulants, Tilted, count_directions,
                                         counting_chunks, frozen_series, left, polarize)

#: Units of the slow-driving coefficients (docs/decisions/0007-names.md).
UNITS = {"heat_mean_conduction": "energy / time", "heat_mean_geometric": "energy",
         "heat_covariance_conduction": "energy^2 / time", "heat_covariance_geometric": "energy^2",
         "heat_third_cumulant_conduction": "energy^3 / time",
         "heat_third_cumulant_geometric": "energy^3", "nodes": "1"}
_FACT = np.array([1.0, 2.0, 6.0])
AGREE_FLOOR = 1e-4
"""Coefficients below this fraction of the largest of their order are compared to it."""


@dataclass(frozen=True, eq=False)
class CycleFluctuations:
    """Slow-driving cumulants of the heat per cycle: ``kappa(tau) = tau kappa_conduction +
    kappa_geometric + O(1/tau)`` (module docstring).

    Attributes
    ----------
    machine : Machine
    loop : Loop
    heat_mean_conduction : (m,)          ``int_0^1 J_alpha ds``
    heat_mean_geometric : (m,)           ``Q_alpha^geo``
    heat_covariance_conduction : (m, m)  ``int_0^1 <<J_alpha J_beta>> ds``
    heat_covariance_geometric : (m, m)   the Berry-phase part of ``Cov(Q_alpha, Q_beta)``
    heat_third_cumulant_conduction : (m,)
    heat_third_cumulant_geometric : (m,)
    nodes : int                          quadrature nodes (per piece for loops with corners)
    converged : bool
    """

    machine: Machine
    loop: Loop
    heat_mean_conduction: np.ndarray
    heat_mean_geometric: np.ndarray
    heat_covariance_conduction: np.ndarray
    heat_covariance_geometric: np.ndarray
    heat_third_cumulant_conduction: np.ndarray
    heat_third_cumulant_geometric: np.ndarray
    nodes: int
    converged: bool

    def at(self, period: float) -> CycleCumulants:
        """The cumulants per cycle at ``period`` to order ``tau^0``. With baths at one
        temperature ``Sigma`` vanishes at this order (it is ``W_diss / T = O(1/tau)``): the
        uncertainty product is then NaN."""
        tau = float(period)
        if not (math.isfinite(tau) and tau > 0):
            raise ModelError(f"period: expected a finite number > 0, got {period!r}")
        return CycleCumulants.from_cumulants(
            self.machine, tau, tau * self.heat_mean_conduction + self.heat_mean_geometric,
            tau * self.heat_covariance_conduction + self.heat_covariance_geometric,
            tau * self.heat_third_cumulant_conduction + self.heat_third_cumulant_geometric,
            product=not self.machine.equal_temperatures)

    def to_dict(self) -> dict:
        """Plain dict for JSON (per-bath maps)."""
        b = self.machine.bath_names

        def per(x):
            return {n: float(v) for n, v in zip(b, x)}

        def mat(x):
            return {n: per(row) for n, row in zip(b, x)}

        return {"heat_mean_conduction": per(self.heat_mean_conduction),
                "heat_mean_geometric": per(self.heat_mean_geometric),
                "heat_covariance_conduction": mat(self.heat_covariance_conduction),
                "heat_covariance_geometric": mat(self.heat_covariance_geometric),
                "heat_third_cumulant_conduction": per(self.heat_third_cumulant_conduction),
                "heat_third_cumulant_geometric": per(self.heat_third_cumulant_geometric),
                "nodes": self.nodes, "converged": self.converged}

    def to_dataset(self):
        """An ``xarray.Dataset`` with dimensions ``bath``, ``bath2``."""
        import xarray as xr

        b = list(self.machine.bath_names)
        data = {k: (("bath", "bath2") if "covariance" in k else ("bath",), getattr(self, k))
                for k in UNITS if k != "nodes"}
        ds = xr.Dataset({**data, "nodes": ((), self.nodes), "converged": ((), self.converged)},
                        coords={"bath": b, "bath2": b})
        for k, u in UNITS.items():
            ds[k].attrs["units"] = u
        return ds


def fourier_derivative(f: np.ndarray) -> np.ndarray:
    """Derivative in ``s`` of samples ``f (n, ...)`` at ``s_j = j/n`` of a function of period
    1 (trigonometric interpolant; the Nyquist mode of even ``n`` dropped)."""
    n = f.shape[0]
    k = np.fft.fftfreq(n, d=1.0 / n)
    if n % 2 == 0:
        k[n // 2] = 0.0
    F = np.fft.fft(f, axis=0)
    return np.fft.ifft(2j * np.pi * k.reshape((-1,) + (1,) * (f.ndim - 1)) * F, axis=0)


def legendre_derivative_matrix(n: int) -> np.ndarray:
    """``(n, n)`` differentiation matrix on ``[-1, 1]`` of the polynomial interpolant at the
    Gauss-Legendre nodes (barycentric form, weights ``(-1)^j sqrt((1 - x_j^2) w_j)``)."""
    x, w = np.polynomial.legendre.leggauss(n)
    b = (-1.0) ** np.arange(n) * np.sqrt((1 - x**2) * w)
    dx = x[:, None] - x[None, :]
    np.fill_diagonal(dx, 1.0)
    D = (b[None, :] / b[:, None]) / dx
    np.fill_diagonal(D, 0.0)
    np.fill_diagonal(D, -D.sum(axis=1))
    return D


def loop_derivative(loop: Loop, n: int, f: np.ndarray) -> np.ndarray:
    """``d f / ds`` of samples ``f`` at the nodes of ``loop.quadrature(n)`` (module
    docstring)."""
    bp = loop.breakpoints()
    if len(bp) == 2:
        return fourier_derivative(f)
    D = legendre_derivative_matrix(n)
    out = np.empty(f.shape, complex)
    for p, (a, b) in enumerate(zip(bp[:-1], bp[1:])):
        sl = slice(p * n, (p + 1) * n)
        out[sl] = np.tensordot(D * (2.0 / (b - a)), f[sl], axes=(1, 0))
    return out


def _level(machine: Machine, loop: Loop, n: int, numerics: Numerics) -> np.ndarray:
    """``(2, 3, n_dir)``: the conduction (``int theta_j ds``) and geometric (``g_j``)
    Taylor coefficients ``j = 1, 2, 3`` along :func:`count_directions` at ``n`` nodes."""
    s, w = loop.quadrature(n)
    lam, v = loop.points(machine, s), loop.velocity(machine, s)
    c = count_directions(len(machine.baths))
    d = machine.dim
    nd = len(c)
    theta = np.empty((3, len(s), nd))
    r_lab = np.empty((2, len(s), nd, d, d), complex)
    kept = []
    for idx, fg in counting_chunks(machine, lam, numerics, v[:, None, :]):
        if not np.all(fg.unique):
            bad = idx[~fg.unique][:3]
            raise ModelError(f"loop: no unique steady state at {loop.plane} = "
                             f"{loop.xy(s[bad]).round(8).tolist()}; move the loop")
        ser = frozen_series(fg, c, 3)
        theta[:, idx] = ser.theta[1:]
        r = ser.r[1:].reshape(2, len(idx), nd, d, d)
        r_lab[:, idx] = np.moveaxis(fg.to_lab(np.moveaxis(r, 0, 1)), 1, 0)
        kept.append((idx, fg, ser))
    dr = loop_derivative(loop, n, np.moveaxis(r_lab, 1, 0))  # (nodes, 2, nd, d, d)
    B = np.empty((3, len(s), nd), complex)
    for idx, fg, ser in kept:
        t = Tilted(fg, c)
        drho0 = -fg.drazin(fg.dgen_steady(0)[:, None])
        drho0 = np.broadcast_to(drho0, (len(idx), nd, d * d))
        y = np.moveaxis(fg.to_eig(dr[idx]), 1, 0)
        y = y.reshape(2, len(idx), nd, d * d)

        def lj(j, x, ser=ser, fg=fg, t=t):
            return left(ser, fg.drazin, t.apply, j, x)

        B[0, idx] = lj(1, drho0)
        B[1, idx] = lj(1, y[0]) + lj(2, drho0)
        B[2, idx] = lj(1, y[1]) + lj(2, y[0]) + lj(3, drho0)
    cond = np.einsum("jnc,n->jc", theta, w)
    geo = -np.einsum("jnc,n->jc", B.real, w)
    return np.stack([cond, geo])


def cycle_fluctuations(machine: Machine, loop: Loop, *, nodes: int | None = None,
                       numerics: Numerics | None = None,
                       quadrature: CycleQuadrature | None = None) -> CycleFluctuations:
    """Slow-driving cumulants of the heat per cycle along ``loop`` (module docstring).

    Parameters
    ----------
    machine : Machine
    loop : Loop
        A simple closed loop in a plane of two of the machine's parameters.
    nodes : int, optional
        Fixed quadrature nodes (smooth loops: in total; otherwise per piece) instead of
        doubling from ``quadrature.start`` until two levels agree to ``quadrature.rtol``.
    numerics : Numerics, optional
    quadrature : CycleQuadrature, optional

    Examples
    --------
    >>> from thermogeo.io import load_model
    >>> from thermogeo.protocols import Circle
    >>> m = load_model("models/qubit_pump.toml")
    >>> f = cycle_fluctuations(m, Circle(("Bx", "Bz"), center=(0.8, 0.6), radius=0.5))
    >>> round(float(f.heat_mean_geometric[0]), 10)
    0.272952688
    """
    numerics = numerics or Numerics()
    quad = quadrature or CycleQuadrature()
    check_loop(loop, machine, simple=True)
    if nodes is not None:
        if int(nodes) < 4:
            raise ModelError(f"nodes: expected an integer >= 4, got {nodes!r}")
        n, cur, conv = int(nodes), _level(machine, loop, int(nodes), numerics), True
    else:
        n, prev, conv = quad.start, None, False
        while True:
            cur = _level(machine, loop, n, numerics)
            if prev is not None:
                # every coefficient relative to itself, floored at AGREE_FLOOR of the largest
                # of its order (a cumulant that vanishes by symmetry is round-off)
                big = np.maximum(np.abs(cur).max(axis=(0, 2), keepdims=True),
                                 np.finfo(float).tiny)
                scale = np.maximum(np.abs(cur), AGREE_FLOOR * big)
                if np.all(np.abs(cur - prev) <= quad.rtol * scale):
                    conv = True
                    break
            if 2 * n > quad.max_nodes:
                warnings.warn(f"cycle fluctuations: not converged to rtol {quad.rtol:g} with "
                              f"{n} nodes (per piece for loops with corners)",
                              QuadratureWarning, stacklevel=2)
                break
            prev, n = cur, 2 * n
    m = len(machine.baths)
    kap = cur * _FACT[None, :, None]  # (part, order, direction)
    return CycleFluctuations(
        machine=machine, loop=loop, heat_mean_conduction=kap[0, 0, :m],
        heat_mean_geometric=kap[1, 0, :m], heat_covariance_conduction=polarize(kap[0, 1], m),
        heat_covariance_geometric=polarize(kap[1, 1], m),
        heat_third_cumulant_conduction=kap[0, 2, :m], heat_third_cumulant_geometric=kap[1, 2, :m],
        nodes=n, converged=conv)
