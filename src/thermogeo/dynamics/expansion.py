"""Slow-driving expansion of the heat and work per cycle, and along the path.

For a closed path ``lam(s)``, ``s = t / tau`` (docs/theory.md section 4), with
``z(s) = L^D d_s rho_0``
(the first-order state is ``rho_1 = z / tau``) and ``rho_2 = L^D d_t rho_1 = L^D z' / tau^2``::

    heat current, per unit s      dQ_a/ds = tau J_a + j1_a + j2_a / tau + ...
        J_a  = Tr[H D_a rho_0]                      heat_current (zeroth order, conduction)
        j1_a = Lambda^a . lam'                      geometric_heat_rate (first order)
        j2_a = Tr[H D_a L^D z']                     second_order_heat_rate
    power, per unit s             dW/ds = p0 + p1 / tau + ...
        p0 = Tr[rho_0 dH/ds]                        quasistatic_power
        p1 = g(lam', lam') = Tr[z dH/ds]            dissipated_power
    per cycle                     Q_a(tau) = tau Q_a^(0) + Q_a^geo + Q_a^(2)/tau
        Q_a^geo = int_0^1 j1_a ds  (geometric_heat),  Q_a^(2) = int_0^1 j2_a ds,
        W^(2) = int_0^1 p1 ds      (dissipated_work_coefficient; W_diss = W^(2)/tau)

Names as in the glossary, docs/decisions/0007-names.md.

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


#: Units of the expansion's quantities (k_B = hbar = 1, time = 1/energy; ``s = t / tau`` is
#: dimensionless; docs/decisions/0007-names.md). Shared by the ``to_dataset()`` of the results
#: of :mod:`thermogeo.dynamics`.
UNITS = {
    # per cycle
    "heat": "energy", "work": "energy", "heat_order0": "energy", "geometric_heat": "energy",
    "heat_order2": "energy", "heat_order2_coefficient": "energy time",
    "work_order1": "energy", "dissipated_work": "energy",
    "dissipated_work_coefficient": "energy time",
    "thermodynamic_length": "(energy time)^(1/2)", "entropy_production": "nats",
    "temperatures": "energy", "first_law_residual": "energy", "error_estimate": "energy",
    # along the path, per unit s
    "weights": "1", "parameters": "parameter unit", "velocity": "parameter unit",
    "heat_current": "energy^2 (energy per time)", "geometric_heat_rate": "energy",
    "geometric_heat_rate_sum": "energy", "second_order_heat_rate": "energy time",
    "second_order_heat_rate_sum": "energy time", "quasistatic_power": "energy",
    "dissipated_power": "energy time", "T_dS_ds": "energy", "energy_order1": "energy time",
    "energy_order1_ds": "energy time", "jump_heat": "energy time",
    "exact_geometric_heat_rate": "energy", "exact_geometric_heat_rate_sum": "energy",
    "exact_second_order_heat_rate": "energy time",
    "exact_second_order_heat_rate_sum": "energy time",
    "exact_dissipated_power": "energy time", "exact_energy_order1": "energy time",
    # convergence
    "heat_exact": "energy", "work_exact": "energy", "heat_expansion1": "energy",
    "heat_expansion2": "energy", "work_expansion2": "energy", "error_order1": "energy",
    "error_order2": "energy", "steps": "1", "slope_order1": "1", "slope_order2": "1",
}


def dataset_variables(obj, dims: dict) -> dict:
    """``{name: (dims, values, {"units": ...})}`` for ``xarray.Dataset`` from the fields of
    ``obj`` named in ``dims`` (``name -> dims``); fields that are None are left out."""
    out = {}
    for name, dd in dims.items():
        value = getattr(obj, name)
        if value is None:
            continue
        out[name] = (dd, np.asarray(value), {"units": UNITS[name]} if name in UNITS else {})
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


@dataclass(frozen=True)
class ExpansionCycle:
    """Slow-driving expansion of the heat and work per cycle at period ``tau`` (names as in
    docs/decisions/0007-names.md).

    ``Q_a(tau) = tau Q_a^(0) + Q_a^geo + Q_a^(2)/tau``, ``W(tau) = tau W^(0) + W^(1) + W^(2)/tau``.

    Attributes
    ----------
    period : float
    bath_names : tuple of str
    temperatures : (m,)
    heat_order0 : (m,)            ``tau int J_a ds`` (steady conduction; 0 at equal temperatures)
    geometric_heat : (m,)         ``Q_a^geo = closed int Lambda^a . dlam`` (independent of tau)
    heat_order2 : (m,)            ``Q_a^(2) / tau``
    work_order1 : float           ``W^(1) = closed int Tr[rho_0 dH]``
    dissipated_work : float       ``W_diss = W^(2)/tau = (1/tau) int g(lam', lam') ds >= L^2/tau``
    heat_order2_coefficient : (m,)  ``Q_a^(2)``
    dissipated_work_coefficient : float ``tau W_diss = W^(2)``
    thermodynamic_length : float  ``L = int sqrt(g(lam', lam')) ds``
    """

    period: float
    bath_names: tuple
    temperatures: np.ndarray
    heat_order0: np.ndarray
    geometric_heat: np.ndarray
    heat_order2: np.ndarray
    work_order1: float
    dissipated_work: float
    heat_order2_coefficient: np.ndarray
    dissipated_work_coefficient: float
    thermodynamic_length: float

    @property
    def heat(self) -> np.ndarray:
        """Expansion to second order, ``heat_order0 + geometric_heat + heat_order2``,
        ``(m,)``."""
        return self.heat_order0 + self.geometric_heat + self.heat_order2

    @property
    def work(self) -> float:
        """Expansion to second order, ``-sum_a heat_order0 + work_order1 + dissipated_work``."""
        return float(-self.heat_order0.sum() + self.work_order1 + self.dissipated_work)

    @property
    def entropy_production(self) -> float:
        """``-sum_a Q_a / T_a`` of the expansion to second order (per cycle)."""
        return float(-(self.heat / self.temperatures).sum())

    def to_dict(self) -> dict:
        """Plain dictionary (the ``expansion`` entry of ``thermogeo exact --json``)."""
        def per_bath(x):
            return dict(zip(self.bath_names, map(float, x)))
        return {"heat_order0": per_bath(self.heat_order0),
                "geometric_heat": per_bath(self.geometric_heat),
                "heat_order2": per_bath(self.heat_order2),
                "work_order1": float(self.work_order1),
                "dissipated_work": float(self.dissipated_work),
                "heat": per_bath(self.heat), "work": self.work,
                "entropy_production": self.entropy_production,
                "thermodynamic_length": float(self.thermodynamic_length)}

    def to_dataset(self):
        """``xarray.Dataset`` (coordinate ``bath``): every field and ``heat``, ``work``,
        ``entropy_production``, with ``units`` attributes; ``period`` in the attributes."""
        import xarray as xr

        bath = ("bath",)
        data = dataset_variables(self, {
            "temperatures": bath, "heat_order0": bath, "geometric_heat": bath,
            "heat_order2": bath, "heat_order2_coefficient": bath, "work_order1": (),
            "dissipated_work": (), "dissipated_work_coefficient": (),
            "thermodynamic_length": (), "heat": bath, "work": (), "entropy_production": ()})
        return xr.Dataset(data, coords={"bath": list(self.bath_names)},
                          attrs={"period": float(self.period)})


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
    >>> round(float(e.geometric_heat[0]), 10)
    0.272952688
    """
    tau = check_period(period)
    pe = path if path is not None else path_expansion(machine, loop, nodes, numerics)
    w = pe.weights
    Q2 = w @ pe.second_order_heat_rate + pe.jump_heat
    W2 = float(w @ pe.dissipated_power)
    return ExpansionCycle(
        period=tau, bath_names=tuple(machine.bath_names),
        temperatures=np.asarray(machine.temperatures, dtype=float),
        heat_order0=tau * (w @ pe.heat_current), geometric_heat=w @ pe.geometric_heat_rate,
        heat_order2=Q2 / tau, work_order1=float(w @ pe.quasistatic_power),
        dissipated_work=W2 / tau, heat_order2_coefficient=Q2, dissipated_work_coefficient=W2,
        thermodynamic_length=float(w @ np.sqrt(np.clip(pe.dissipated_power, 0, None))))
