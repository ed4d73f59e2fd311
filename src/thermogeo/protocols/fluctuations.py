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
from thermogeo.protocols.maps import _axis
from thermogeo.protocols.paths import Loop
from thermogeo.response.counting import (CycleCumulants, Tilted, count_directions,
                                         counting_chunks, counting_statistics, frozen_series,
                                         left, polarize)

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


def connection(machine: Machine, lam: np.ndarray, velocity: np.ndarray, derivative,
               numerics: Numerics) -> tuple[np.ndarray, np.ndarray]:
    """Per node of a path: ``(theta, B)``, each ``(3, N, n_dir)``: the Taylor coefficients
    ``theta_j`` of the scaled CGF and ``B_j = sum_{i=1}^{j} <l_i | d r_{j-i}>`` (``j = 1, 2,
    3``) along :func:`~thermogeo.response.counting.count_directions`, at points
    ``lam (N, k)`` moving with ``velocity (N, k)``; ``derivative`` maps samples
    ``(N, ...)`` of a function along the path to its derivative (module docstring)."""
    c = count_directions(len(machine.baths))
    d = machine.dim
    nd, N = len(c), len(lam)
    theta = np.empty((3, N, nd))
    r_lab = np.empty((2, N, nd, d, d), complex)
    kept = []
    for idx, fg in counting_chunks(machine, lam, numerics, velocity[:, None, :]):
        if not np.all(fg.unique):
            bad = idx[~fg.unique][:3]
            raise ModelError(f"path: no unique steady state at {lam[bad].round(8).tolist()}; "
                             "move the loop")
        ser = frozen_series(fg, c, 3)
        theta[:, idx] = ser.theta[1:]
        r = ser.r[1:].reshape(2, len(idx), nd, d, d)
        r_lab[:, idx] = np.moveaxis(fg.to_lab(np.moveaxis(r, 0, 1)), 1, 0)
        kept.append((idx, fg, ser))
    dr = derivative(np.moveaxis(r_lab, 1, 0))  # (N, 2, nd, d, d)
    B = np.empty((3, N, nd), complex)
    for idx, fg, ser in kept:
        t = Tilted(fg, c)
        drho0 = -fg.drazin(fg.dgen_steady(0)[:, None])
        drho0 = np.broadcast_to(drho0, (len(idx), nd, d * d))
        y = np.moveaxis(fg.to_eig(dr[idx]), 1, 0).reshape(2, len(idx), nd, d * d)

        def lj(j, x, ser=ser, fg=fg, t=t):
            return left(ser, fg.drazin, t.apply, j, x)

        B[0, idx] = lj(1, drho0)
        B[1, idx] = lj(1, y[0]) + lj(2, drho0)
        B[2, idx] = lj(1, y[1]) + lj(2, y[0]) + lj(3, drho0)
    return theta, B


def _level(machine: Machine, loop: Loop, n: int, numerics: Numerics) -> np.ndarray:
    """``(2, 3, n_dir)``: the conduction (``int theta_j ds``) and geometric (``g_j``)
    Taylor coefficients ``j = 1, 2, 3`` along :func:`count_directions` at ``n`` nodes."""
    s, w = loop.quadrature(n)
    theta, B = connection(machine, loop.points(machine, s), loop.velocity(machine, s),
                          lambda f: loop_derivative(loop, n, f), numerics)
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


MAP_SEGMENTS = 256
"""Cell edges of :func:`fluctuation_map` evaluated in one batch (their frozen generators are
kept until the Berry terms are read: memory grows with it)."""


def fluctuation_map(machine: Machine, x, y, base: dict | None = None, *,
                    geometric: bool = True, nodes: int = 8,
                    numerics: Numerics | None = None):
    """Static noise on the grid ``x x y`` of two parameters and the geometric variance
    density on its cells.

    At every grid point: the counting statistics of
    :func:`thermogeo.response.counting.counting_statistics`. On every cell ``[x_i, x_i+1] x
    [y_j, y_j+1]`` (``geometric=True``): the geometric parts of the mean and of the variance
    per cycle of the cell's counter-clockwise boundary divided by its area, i.e. the cell
    averages of the rotor ``Omega^alpha`` and of the Berry curvature of the second-order
    connection (their sum over the cells inside a loop made of cell edges is that loop's
    geometric part: the edge integrals are additive). Each edge is integrated with
    ``nodes`` Gauss-Legendre nodes (``d r_n`` by the Legendre interpolant along the edge).

    Parameters
    ----------
    machine : Machine
    x, y : (str, array (n_x,)) and (str, array (n_y,))
        Parameter names and increasing grid values.
    base : dict, optional
        Values of the other parameters.
    geometric : bool
    nodes : int
    numerics : Numerics, optional

    Returns
    -------
    xarray.Dataset: ``heat_current (x, y, bath)``, ``heat_noise (x, y, bath, bath2)``,
    ``heat_third_cumulant (x, y, bath)``, ``entropy_production_rate (x, y)``,
    ``uncertainty_product (x, y, bath)``, ``unique (x, y)`` and, with ``geometric``,
    ``geometric_mean_density`` and ``geometric_variance_density`` ``(x_cell, y_cell, bath)``
    on the cell centres (dimensions named after the parameters).
    """
    import xarray as xr

    numerics = numerics or Numerics()
    (xn, xv), (yn, yv) = _axis(x, "x"), _axis(y, "y")
    if xn == yn:
        raise ModelError(f"x, y: expected two different parameters, got {xn!r} twice")
    if np.any(np.diff(xv) <= 0) or np.any(np.diff(yv) <= 0):
        raise ModelError("x, y: grid values must increase")
    if not (isinstance(nodes, (int, np.integer)) and 2 <= nodes <= 256):
        raise ModelError(f"nodes: expected an integer in [2, 256], got {nodes!r}")
    ix, iy = machine.parameter_index(xn), machine.parameter_index(yn)
    lam0 = machine.point(base or {})
    X, Y = np.meshgrid(xv, yv, indexing="ij")
    lam = np.broadcast_to(lam0, X.shape + lam0.shape).copy()
    lam[..., ix], lam[..., iy] = X, Y
    st = counting_statistics(machine, lam, numerics=numerics)
    names = list(machine.bath_names)
    units = {"heat_current": "energy / time", "heat_noise": "energy^2 / time",
             "heat_third_cumulant": "energy^3 / time", "entropy_production_rate": "1 / time",
             "uncertainty_product": "1", "geometric_mean_density": "energy / parameter^2",
             "geometric_variance_density": "energy^2 / parameter^2"}
    data = {"heat_current": ((xn, yn, "bath"), st.heat_current),
            "heat_noise": ((xn, yn, "bath", "bath2"), st.heat_noise),
            "heat_third_cumulant": ((xn, yn, "bath"), st.heat_third_cumulant),
            "entropy_production_rate": ((xn, yn), st.entropy_production_rate),
            "uncertainty_product": ((xn, yn, "bath"), st.uncertainty_product),
            "unique": ((xn, yn), st.unique)}
    coords = {xn: xv, yn: yv, "bath": names, "bath2": names}
    if geometric:
        m = len(names)
        # edges: along x at every y (h[i, j]: x_i -> x_i+1), along y at every x (v[i, j])
        h_a, h_b = lam[:-1, :], lam[1:, :]
        v_a, v_b = lam[:, :-1], lam[:, 1:]
        a = np.concatenate([h_a.reshape(-1, lam0.size), v_a.reshape(-1, lam0.size)])
        b = np.concatenate([h_b.reshape(-1, lam0.size), v_b.reshape(-1, lam0.size)])
        g, gw = np.polynomial.legendre.leggauss(nodes)
        u, uw = 0.5 * (g + 1), 0.5 * gw
        D = 2.0 * legendre_derivative_matrix(nodes)
        edge = np.empty((len(a), 2, m))
        for s0 in range(0, len(a), MAP_SEGMENTS):
            A, Bv = a[s0:s0 + MAP_SEGMENTS], b[s0:s0 + MAP_SEGMENTS]
            S = len(A)
            pts = (A[:, None] + u[None, :, None] * (Bv - A)[:, None]).reshape(-1, lam0.size)
            vel = np.repeat(Bv - A, nodes, axis=0)

            def deriv(f, S=S):
                f = f.reshape((S, nodes) + f.shape[1:])
                return np.einsum("ij,sj...->si...", D, f).reshape((S * nodes,) + f.shape[2:])

            _, B = connection(machine, pts, vel, deriv, numerics)
            I = np.einsum("jsnc,n->sjc", B[:2].real.reshape(2, S, nodes, -1), uw)
            edge[s0:s0 + S] = I[:, :, :m]
        nh = h_a.shape[0] * h_a.shape[1]
        H = edge[:nh].reshape(h_a.shape[:2] + (2, m))
        V = edge[nh:].reshape(v_a.shape[:2] + (2, m))
        # counter-clockwise boundary of cell (i, j): bottom + right - top - left
        circ = H[:, :-1] + V[1:, :] - H[:, 1:] - V[:-1, :]
        area = np.diff(xv)[:, None] * np.diff(yv)[None, :]
        geo = -circ * np.array([1.0, 2.0])[None, None, :, None] / area[..., None, None]
        xc, yc = f"{xn}_cell", f"{yn}_cell"
        data["geometric_mean_density"] = ((xc, yc, "bath"), geo[:, :, 0])
        data["geometric_variance_density"] = ((xc, yc, "bath"), geo[:, :, 1])
        coords[xc] = 0.5 * (xv[1:] + xv[:-1])
        coords[yc] = 0.5 * (yv[1:] + yv[:-1])
    ds = xr.Dataset(data, coords=coords)
    for k, unit in units.items():
        if k in ds:
            ds[k].attrs["units"] = unit
    return ds
