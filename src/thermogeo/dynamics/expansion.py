"""Slow-driving expansion of the heat and work per cycle, and along the path.

For a closed path ``lam(s)``, ``s = t / tau`` (docs/theory.md section 4), with
``z(s) = L^D d_s rho_0``
(the first-order state is ``rho_1 = z / tau``) and ``rho_2 = L^D d_t rho_1 = L^D z' / tau^2``::

    heat current, per unit s      dQ_a/ds = tau J_a + j1_a + j2_a / tau + ...
        J_a  = Tr[H D_a rho_0]                      (zeroth order, steady conduction)
        j1_a = Lambda^a . lam'                      (first order, geometric pumping)
        j2_a = Tr[H D_a L^D z']                     (second order)
    power, per unit s             dW/ds = p0 + p1 / tau + ...
        p0 = Tr[rho_0 dH/ds],  p1 = g(lam', lam') = Tr[z dH/ds]
    per cycle                     Q_a(tau) = tau Q_a^(0) + Q_a^geo + Q_a^(2)/tau
        Q_a^geo = int_0^1 j1_a ds,  Q_a^(2) = int_0^1 j2_a ds,  W^(2) = int_0^1 p1 ds

Balance (exact identities of the expansion, checked in the tests): at equal temperatures
``sum_a j1_a = T dS/ds``; at second order ``sum_a j2_a + p1 = d e1 / ds`` with
``e1 = Tr[H z]`` (the first-order energy), so that ``sum_a Q_a^(2) = -W^(2)`` over a cycle:
the second-order currents balance minus the second-order power up to the total derivative of
the first-order energy, which integrates to zero.

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
from thermogeo.dynamics.grid import check_period
from thermogeo.model.machine import Machine
from thermogeo.numerics import Numerics

DEFAULT_NODES_SMOOTH = 256
"""Equispaced nodes (trapezoid) for a smooth loop."""
DEFAULT_NODES_PIECE = 48
"""Gauss-Legendre nodes on every smooth piece of a loop with corners."""


@dataclass(frozen=True, eq=False)
class PathExpansion:
    """Expansion coefficients sampled at quadrature nodes ``s (n,)`` of a loop.

    Attributes
    ----------
    s, weights : (n,)              nodes and quadrature weights in ``s``
    lam, velocity : (n, k)         ``lam(s)``, ``lam'(s)``
    heat_current : (n, m)          ``J_a`` (zeroth order, per unit time)
    j1 : (n, m)                    ``Lambda^a . lam'``
    j2 : (n, m)                    ``Tr[H D_a L^D z']``
    p0 : (n,)                      ``Tr[rho_0 dH/ds]``
    p1 : (n,)                      ``g(lam', lam')``
    T_dS_ds : (n,)                 ``T dS/ds`` (NaN if the temperatures differ)
    e1 : (n,)                      ``Tr[H z]``
    de1 : (n,)                     ``d e1 / ds`` (spectral derivative)
    jump_heat : (m,)               corner contributions ``sum_c Tr[H D_a L^D Dz_c]`` to ``Q^(2)``
    corners : (c,)                 ``s`` of the corners (empty for smooth loops)
    """

    s: np.ndarray
    weights: np.ndarray
    lam: np.ndarray
    velocity: np.ndarray
    heat_current: np.ndarray
    j1: np.ndarray
    j2: np.ndarray
    p0: np.ndarray
    p1: np.ndarray
    T_dS_ds: np.ndarray
    e1: np.ndarray
    de1: np.ndarray
    jump_heat: np.ndarray
    corners: np.ndarray


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
    J, j1 = np.zeros((n, m)), np.zeros((n, m))
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
                raise NonUniqueSteadyStateError.at(machine, lam[sl][~fg.unique],
                                                   float(np.min(fg.rcond)),
                                                   numerics.uniqueness_rcond)
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
    return PathExpansion(s=s, weights=w, lam=lam, velocity=vel, heat_current=J, j1=j1, j2=j2,
                         p0=p0, p1=p1, T_dS_ds=TdS, e1=e1, de1=de1.real, jump_heat=jump,
                         corners=corners)


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


@dataclass(frozen=True)
class ExpansionCycle:
    """Slow-driving expansion of the heat and work per cycle at period ``tau``.

    ``Q_a(tau) = tau Q_a^(0) + Q_a^geo + Q_a^(2)/tau``, ``W(tau) = tau W^(0) + W^(1) + W^(2)/tau``.

    Attributes
    ----------
    period : float
    bath_names : tuple of str
    temperatures : (m,)
    heat_order0 : (m,)            ``tau int J_a ds`` (steady conduction; 0 at equal temperatures)
    heat_order1 : (m,)            ``Q_a^geo = closed int Lambda^a . dlam`` (independent of tau)
    heat_order2 : (m,)            ``Q_a^(2) / tau``
    work_order1 : float           ``closed int Tr[rho_0 dH]``
    work_order2 : float           ``W^(2)/tau = (1/tau) int g(lam', lam') ds >= L^2/tau``
    heat_order2_coefficient : (m,)  ``Q_a^(2)``
    work_order2_coefficient : float ``W^(2)``
    thermodynamic_length : float  ``L = int sqrt(g(lam', lam')) ds``
    """

    period: float
    bath_names: tuple
    temperatures: np.ndarray
    heat_order0: np.ndarray
    heat_order1: np.ndarray
    heat_order2: np.ndarray
    work_order1: float
    work_order2: float
    heat_order2_coefficient: np.ndarray
    work_order2_coefficient: float
    thermodynamic_length: float

    @property
    def heat(self) -> np.ndarray:
        """Expansion to second order, ``heat_order0 + heat_order1 + heat_order2``, ``(m,)``."""
        return self.heat_order0 + self.heat_order1 + self.heat_order2

    @property
    def work(self) -> float:
        """Expansion to second order, ``-sum_a heat_order0 + work_order1 + work_order2``."""
        return float(-self.heat_order0.sum() + self.work_order1 + self.work_order2)

    @property
    def entropy_production(self) -> float:
        """``-sum_a Q_a / T_a`` of the expansion to second order (per cycle)."""
        return float(-(self.heat / self.temperatures).sum())

    def to_dict(self) -> dict:
        """Plain dictionary (the ``expansion`` entry of ``thermogeo exact --json``)."""
        def per_bath(x):
            return dict(zip(self.bath_names, map(float, x)))
        return {"heat_order0": per_bath(self.heat_order0),
                "heat_order1": per_bath(self.heat_order1),
                "heat_order2": per_bath(self.heat_order2),
                "work_order1": float(self.work_order1),
                "work_order2": float(self.work_order2),
                "heat": per_bath(self.heat), "work": self.work,
                "entropy_production": self.entropy_production,
                "thermodynamic_length": float(self.thermodynamic_length)}


def expansion_cycle(machine: Machine, loop, period, *, nodes: int | None = None,
                    numerics: Numerics | None = None,
                    path: PathExpansion | None = None) -> ExpansionCycle:
    """First- and second-order heat and work per cycle from the slow-driving expansion.

    Parameters
    ----------
    machine : Machine
    loop : Loop
    period : float
        ``tau > 0``.
    nodes : int, optional
        Quadrature nodes (see :func:`path_expansion`).
    numerics : Numerics, optional
    path : PathExpansion, optional
        Reuse coefficients computed before (they do not depend on ``tau``).

    Returns
    -------
    ExpansionCycle

    Examples
    --------
    >>> from thermogeo import load_model
    >>> from thermogeo.protocols.paths import Circle
    >>> e = expansion_cycle(load_model("models/qubit_pump.toml"),
    ...                     Circle(center=(0.8, 0.6), radius=0.5), 100.0)
    >>> round(float(e.heat_order1[0]), 10)
    0.272952688
    """
    tau = check_period(period)
    pe = path if path is not None else path_expansion(machine, loop, nodes, numerics)
    w = pe.weights
    Q2 = w @ pe.j2 + pe.jump_heat
    W2 = float(w @ pe.p1)
    return ExpansionCycle(
        period=tau, bath_names=tuple(machine.bath_names),
        temperatures=np.asarray(machine.temperatures, dtype=float),
        heat_order0=tau * (w @ pe.heat_current), heat_order1=w @ pe.j1,
        heat_order2=Q2 / tau, work_order1=float(w @ pe.p0), work_order2=W2 / tau,
        heat_order2_coefficient=Q2, work_order2_coefficient=W2,
        thermodynamic_length=float(w @ np.sqrt(np.clip(pe.p1, 0, None))))
