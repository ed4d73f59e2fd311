"""Slow-driving expansion along a closed path: the per-bath heat rates of orders 0, 1, 2.

For a closed path ``lam(s)``, ``s = t / tau`` (docs/theory.md section 4), with
``z(s) = L^D d_s rho_0`` (the first-order state is ``rho_1 = z / tau``) and
``rho_2 = L^D d_t rho_1 = L^D z' / tau^2``::

    heat current, per unit s      dQ_a/ds = tau J_a + j1_a + j2_a / tau + ...
        J_a  = Tr[H D_a rho_0]                      heat_current (zeroth order, conduction)
        j1_a = Lambda^a . lam'                      geometric_heat_rate (first order)
        j2_a = Tr[H D_a L^D z']                     second_order_heat_rate
    power, per unit s             dW/ds = p0 + p1 / tau + ...
        p0 = Tr[rho_0 dH/ds]                        quasistatic_power
        p1 = g(lam', lam') = Tr[z dH/ds]            dissipated_power

at any bath temperatures. It sits in the response layer (below both
:mod:`thermogeo.dynamics`, which builds the per-cycle expansion and compares it with the exact
dynamics, and :mod:`thermogeo.protocols`, whose engine and refrigerator figures need the
per-bath second-order heats; docs/decisions/0310-unequal-temperature-figures.md).
:mod:`thermogeo.dynamics.expansion` re-exports :func:`path_expansion` and
:class:`PathExpansion`.

Derivatives along the path are spectral: FFT on smooth loops (equispaced nodes), Legendre
differentiation at the Gauss nodes of every smooth piece otherwise. At a corner of the loop the
velocity jumps, ``z`` jumps by ``Dz`` and the relaxation back to the slow manifold adds
``Tr[H D_a L^D Dz]`` to ``Q_a^(2)`` (the delta function in ``z'``).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from thermogeo.errors import NonUniqueSteadyStateError, SecularApproximationWarning
from thermogeo.lindblad.backend import frozen_chunks, uses_dense
from thermogeo.lindblad.frozen import steady_derivative
from thermogeo.model.machine import Machine
from thermogeo.numerics import Numerics

DEFAULT_NODES_SMOOTH = 256
"""Equispaced nodes (trapezoid) for a smooth loop."""
DEFAULT_NODES_PIECE = 48
"""Gauss-Legendre nodes on every smooth piece of a loop with corners."""


#: Units of the quantities along the path, per unit ``s`` (k_B = hbar = 1, time = 1/energy;
#: docs/decisions/0007-names.md).
PATH_UNITS = {
    "weights": "1", "parameters": "parameter unit", "velocity": "parameter unit",
    "heat_current": "energy^2 (energy per time)", "geometric_heat_rate": "energy",
    "geometric_heat_rate_sum": "energy", "second_order_heat_rate": "energy time",
    "second_order_heat_rate_sum": "energy time", "quasistatic_power": "energy",
    "dissipated_power": "energy time", "T_dS_ds": "energy", "energy_order1": "energy time",
    "energy_order1_ds": "energy time", "jump_heat": "energy time",
}


def dataset_variables(obj, dims: dict, units: dict | None = None) -> dict:
    """``{name: (dims, values, {"units": ...})}`` for ``xarray.Dataset`` from the fields of
    ``obj`` named in ``dims`` (``name -> dims``; units from ``units``, default
    :data:`PATH_UNITS`); fields that are None are left out."""
    units = PATH_UNITS if units is None else units
    out = {}
    for name, dd in dims.items():
        value = getattr(obj, name)
        if value is None:
            continue
        out[name] = (dd, np.asarray(value), {"units": units[name]} if name in units else {})
    return out


@dataclass(frozen=True, eq=False)
class PathExpansion:
    """Expansion coefficients sampled at quadrature nodes ``s (n,)`` of a loop (names as in
    docs/decisions/0007-names.md; all rates per unit ``s`` and independent of ``tau``).

    Attributes
    ----------
    s, weights : (n,)              nodes and quadrature weights in ``s``
    lam, velocity : (n, k)         ``lam(s)``, ``lam'(s)``
    heat_current : (n, m)          ``J_a`` (zeroth order, per unit time)
    geometric_heat_rate : (n, m)   ``j1_a = Lambda^a . lam'``
    second_order_heat_rate : (n, m)  ``j2_a = Tr[H D_a L^D z']``
    quasistatic_power : (n,)       ``p0 = Tr[rho_0 dH/ds]``
    dissipated_power : (n,)        ``p1 = g(lam', lam')``
    T_dS_ds : (n,)                 ``T dS/ds`` (NaN if the temperatures differ)
    energy_order1 : (n,)           ``e1 = Tr[H z]``
    energy_order1_ds : (n,)        ``d e1 / ds`` (spectral derivative)
    jump_heat : (m,)               corner contributions ``sum_c Tr[H D_a L^D Dz_c]`` to ``Q^(2)``
    corners : (c,)                 ``s`` of the corners (empty for smooth loops)
    bath_names : tuple of str      ``(m,)``
    parameter_names : tuple of str ``(k,)``
    """

    s: np.ndarray
    weights: np.ndarray
    lam: np.ndarray
    velocity: np.ndarray
    heat_current: np.ndarray
    geometric_heat_rate: np.ndarray
    second_order_heat_rate: np.ndarray
    quasistatic_power: np.ndarray
    dissipated_power: np.ndarray
    T_dS_ds: np.ndarray
    energy_order1: np.ndarray
    energy_order1_ds: np.ndarray
    jump_heat: np.ndarray
    corners: np.ndarray
    bath_names: tuple[str, ...]
    parameter_names: tuple[str, ...]

    @property
    def parameters(self) -> np.ndarray:
        """``lam(s)``, ``(n, k)`` (the name of the variable in :meth:`to_dataset`)."""
        return self.lam

    def to_dataset(self):
        """``xarray.Dataset`` over ``s`` (coordinates ``s``, ``bath``, ``parameter``,
        ``corner``): every field above (``lam`` as ``parameters``) with a ``units``
        attribute."""
        import xarray as xr

        data = dataset_variables(self, {
            "weights": ("s",), "parameters": ("s", "parameter"),
            "velocity": ("s", "parameter"), "heat_current": ("s", "bath"),
            "geometric_heat_rate": ("s", "bath"), "second_order_heat_rate": ("s", "bath"),
            "quasistatic_power": ("s",), "dissipated_power": ("s",), "T_dS_ds": ("s",),
            "energy_order1": ("s",), "energy_order1_ds": ("s",), "jump_heat": ("bath",)})
        return xr.Dataset(data, coords={"s": ("s", self.s, {"units": "1"}),
                                        "bath": list(self.bath_names),
                                        "parameter": list(self.parameter_names),
                                        "corner": ("corner", self.corners, {"units": "1"})})


def _legendre_ops(n: int):
    """Gauss nodes ``g (n,)`` on [-1, 1], the differentiation matrix ``(n, n)`` and the
    extrapolation matrix to the ends ``(2, n)`` of the interpolating polynomial."""
    leg = np.polynomial.legendre
    g, _ = leg.leggauss(n)
    V = leg.legvander(g, n - 1)
    Vinv = np.linalg.inv(V)
    dV = np.stack([leg.legval(g, leg.legder(np.eye(n)[j])) for j in range(n)], axis=-1)
    ends = leg.legvander(np.array([-1.0, 1.0]), n - 1)
    return g, dV @ Vinv, ends @ Vinv


def _derivative(loop, s: np.ndarray, f: np.ndarray):
    """Spectral ``d f / ds`` at the loop's quadrature nodes, ``f (n, ...)``; also the values
    at the two ends of every piece ``(pieces, 2, ...)`` (``None`` for smooth loops)."""
    bp = np.asarray(loop.breakpoints(), dtype=float)
    n = len(s)
    if len(bp) == 2:
        k = np.fft.fftfreq(n, d=1.0 / n)
        if n % 2 == 0:
            k[n // 2] = 0.0
        F = np.fft.fft(f, axis=0)
        shape = (n,) + (1,) * (f.ndim - 1)
        return np.fft.ifft(2j * np.pi * k.reshape(shape) * F, axis=0), None
    pieces = len(bp) - 1
    npp = n // pieces
    _, Dm, Em = _legendre_ops(npp)
    fp = f.reshape(pieces, npp, *f.shape[1:])
    half = 0.5 * np.diff(bp).reshape((pieces,) + (1,) * f.ndim)
    df = np.einsum("ij,pj...->pi...", Dm, fp) / half
    ends = np.einsum("ej,pj...->pe...", Em, fp)
    return df.reshape(f.shape), ends


def path_expansion(machine: Machine, loop, nodes: int | None = None,
                   numerics: Numerics | None = None) -> PathExpansion:
    """First- and second-order expansion coefficients at the loop's quadrature nodes.

    Written once over the frozen-generator backends (:mod:`thermogeo.lindblad.backend`):
    the nodes are taken in the backend's chunks, each differentiated along its own velocity;
    ``z'`` by spectral differentiation of the lab-frame ``z``; ``Tr[H D_a L^D z']`` by
    :meth:`~thermogeo.lindblad.frozen.FrozenGenerator.heat_drazin` of each node, kept after
    the first pass in its released (small) form.

    Parameters
    ----------
    machine : Machine
    loop : Loop
    nodes : int, optional
        Nodes of ``loop.quadrature`` (smooth loops: total, default 256; otherwise per smooth
        piece, default 48; fewer for very large machines, see :data:`STRUCTURED_PATH_BYTES`).
    numerics : Numerics, optional

    Returns
    -------
    PathExpansion
    """
    numerics = numerics or Numerics()
    if nodes is None:
        nodes = DEFAULT_NODES_SMOOTH if loop.smooth else DEFAULT_NODES_PIECE
        if not uses_dense(machine, numerics):
            nodes = _structured_nodes(machine.dim, nodes, loop.smooth)
    if not (isinstance(nodes, (int, np.integer)) and nodes >= 4):
        raise ValueError(f"nodes: expected an integer >= 4, got {nodes!r}")
    s, w = loop.quadrature(int(nodes))
    lam, vel = loop.points(machine, s), loop.velocity(machine, s)
    n, m, d = len(s), len(machine.baths), machine.dim
    method = numerics.derivative_method(machine)
    J, j1 = np.zeros((n, m)), np.zeros((n, m))  # J_a, geometric_heat_rate
    p0, p1, e1, TdS = np.zeros(n), np.zeros(n), np.zeros(n), np.full(n, np.nan)
    z_lab = np.empty((n, d, d), complex)
    kept, kinks = [], 0
    diag = np.arange(d) * (d + 1)
    dirs = vel[:, None, :]
    for sl, fg in frozen_chunks(machine, lam, numerics,
                                dirs if method == "general" else None):
        Vd = fg.direction_operators(dirs[sl])  # (b, 1, d, d)
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            if method == "gibbs":  # L^D d rho_0 in the pass that inverts the small blocks
                drho = steady_derivative(fg, Vd, method)
                z = fg.drazin(drho)
            if not np.all(fg.unique):
                raise NonUniqueSteadyStateError.at(
                    machine, lam[sl][~fg.unique], float(np.min(fg.rcond)),
                    numerics.uniqueness_rcond,
                    elsewhere_unique=bool(kept) or bool(np.any(fg.unique)))
            if method == "general":
                drho = steady_derivative(fg, Vd, method)
                z = fg.drazin(drho)
        rho = fg.rho0[:, None]
        J[sl] = fg.heat(rho)[:, 0]
        j1[sl] = fg.heat(z)[:, 0]
        p0[sl] = fg.trace(Vd, rho)[:, 0, 0].real
        p1[sl] = fg.trace(Vd, z)[:, 0, 0].real
        e1[sl] = np.einsum("ba,ba->b", fg.E, z[:, 0, diag]).real
        if machine.equal_temperatures:
            _, log = fg.entropy()
            TdS[sl] = float(machine.temperatures[0]) * fg.entropy_gradient(log, drho)[:, 0]
        kinks += int((~fg.differentiable(Vd, 1e3 * numerics.degeneracy_tol)).sum())
        z_lab[sl] = fg.to_lab(z.reshape(-1, 1, d, d))[:, 0]
        fg.release()
        kept.append((sl, fg))
        del z, drho, rho
    # the spectral derivative as an explicit (n, n) matrix, applied chunk by chunk: no
    # (n, d, d) temporaries besides z itself
    Dmat, ends_mat = _derivative(loop, s, np.eye(n, dtype=complex))
    j2 = np.zeros((n, m))
    for sl, fg in kept:
        dz = fg.to_eig(np.tensordot(Dmat[sl], z_lab, axes=(1, 0))[:, None])
        j2[sl] = fg.heat_drazin(dz.reshape(dz.shape[0], 1, d * d))[:, 0]
    del kept
    de1, _ = _derivative(loop, s, e1.astype(complex))
    jump = np.zeros(m)
    corners = np.asarray(loop.breakpoints(), dtype=float)[:-1]
    if ends_mat is None:
        corners = corners[:0]
    else:  # relaxation back to the slow manifold after each corner (the jump of z)
        jumpw = ends_mat[:, 0] - np.roll(ends_mat[:, 1], 1, axis=0)  # (corners, n)
        lam_c = loop.points(machine, corners)
        for sl, fc in frozen_chunks(machine, lam_c, numerics):
            if not np.all(fc.unique):
                raise NonUniqueSteadyStateError.at(machine, lam_c[sl][~fc.unique],
                                                   float(np.min(fc.rcond)),
                                                   numerics.uniqueness_rcond)
            dz = fc.to_eig(np.tensordot(jumpw[sl], z_lab, axes=(1, 0))[:, None])
            jump += fc.heat_drazin(dz.reshape(dz.shape[0], 1, d * d))[:, 0].sum(axis=0)
    if kinks:  # as thermogeo.response warns
        warnings.warn(
            f"at {kinks} node(s) of the loop the velocity splits degenerate Bohr frequencies: "
            "the secular generator is not differentiable there and the expansion is "
            "one-sided", SecularApproximationWarning, stacklevel=2)
    return PathExpansion(s=s, weights=w, lam=lam, velocity=vel, heat_current=J,
                         geometric_heat_rate=j1, second_order_heat_rate=j2,
                         quasistatic_power=p0, dissipated_power=p1, T_dS_ds=TdS,
                         energy_order1=e1, energy_order1_ds=de1.real, jump_heat=jump,
                         corners=corners, bath_names=tuple(machine.bath_names),
                         parameter_names=tuple(machine.parameter_names))


STRUCTURED_PATH_BYTES = 4 * 2**30
"""Memory budget of the per-node arrays of the structured path expansion (``U``, ``z`` and
``z'`` in the lab frame: about ``40 d^2`` bytes per node); sets its default node count."""


def _structured_nodes(d: int, default: int, smooth: bool) -> int:
    """Default node count for the structured kernels: ``default`` while the per-node arrays
    fit :data:`STRUCTURED_PATH_BYTES`, else a power of two down to 16 (smooth loops) or 8 per
    piece."""
    fit = STRUCTURED_PATH_BYTES // (40 * d * d)
    if fit >= default:
        return default
    floor = 16 if smooth else 8
    return max(floor, 2 ** int(np.floor(np.log2(max(fit, 1)))))
