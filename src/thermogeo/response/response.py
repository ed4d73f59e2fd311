"""Pointwise slow-driving response of a machine at frozen parameters.

At each parameter point ``lam`` (docs/theory.md section 4)::

    J_alpha             = Tr[H D_alpha rho_0]                       heat current (zeroth order)
    Lambda^alpha_i      = Tr[H D_alpha L^D d_i rho_0]               heat response (first order)
    G_ij                = Tr[V_i L^D d_j rho_0],  g = (G + G^T)/2   dissipation metric
    Omega^alpha         = d_x Lambda^alpha_y - d_y Lambda^alpha_x    rotor in the plane (x, y)

The rotor is evaluated exactly (no finite differences): with ``z_j = L^D d_j rho_0``,
``d_x (L^D) y = -L^D (d_x L) L^D y`` on traceless ``y`` and the symmetric
``d_x d_y rho_0`` term cancelling,

    Omega = Tr[V_x D z_y] + Tr[H (d_x D) z_y] - Tr[H D L^D (d_x L) z_y] - (x <-> y).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np

from thermogeo.errors import NonUniqueSteadyStateError, SecularApproximationWarning
from thermogeo.lindblad.generator import generator
from thermogeo.lindblad.observables import energy_rows, entropy_and_log, heat_current, trace_with
from thermogeo.linalg.steady import steady_solve
from thermogeo.linalg.superop import apply
from thermogeo.model.machine import Machine
from thermogeo.numerics import Numerics
from thermogeo.response.derivatives import (differentiable, dissipator_derivatives,
                                            gibbs_derivative, hamiltonian_derivative,
                                            perturbation_generator)

_FIELDS = ("spectrum", "steady_state", "heat_current", "entropy", "entropy_gradient",
           "heat_response", "G", "rotor", "rcond", "unique", "differentiable")


@dataclass(frozen=True, eq=False)
class Response:
    """Slow-driving response at a batch of parameter points (leading axes ``*b``).

    Attributes
    ----------
    machine : Machine
    parameters : (*b, k)          the points ``lam``
    spectrum : (*b, d)            eigenvalues of H
    steady_state : (*b, d, d) or None  ``rho_0`` (lab frame); None from the structured
                                  kernels when ``d > 1024`` (see
                                  :func:`thermogeo.response.structured.steady_state`)
    heat_current : (*b, m)        ``J_alpha`` (into the system)
    entropy : (*b,)               ``S(rho_0)``
    entropy_gradient : (*b, k)    ``d_i S``
    heat_response : (*b, m, k)    ``Lambda^alpha_i``
    G : (*b, k, k)                ``G_ij = Tr[V_i L^D d_j rho_0]``
    rotor : (*b, m) or None       ``Omega^alpha`` in ``plane``
    plane : (str, str) or None
    rcond : (*b,)                 reciprocal condition number of the steady-state solve
    unique : (*b,) bool           unique steady state (results are NaN where False)
    differentiable : (*b, k) bool the secular generator is differentiable along each parameter
    """

    machine: Machine
    parameters: np.ndarray
    spectrum: np.ndarray
    steady_state: np.ndarray
    heat_current: np.ndarray
    entropy: np.ndarray
    entropy_gradient: np.ndarray
    heat_response: np.ndarray
    G: np.ndarray
    rotor: np.ndarray | None
    plane: tuple[str, str] | None
    rcond: np.ndarray
    unique: np.ndarray
    differentiable: np.ndarray
    numerics: Numerics = field(default_factory=Numerics)

    @property
    def metric(self) -> np.ndarray:
        """``g = (G + G^T)/2``, ``(*b, k, k)``: the thermodynamic metric."""
        return 0.5 * (self.G + np.swapaxes(self.G, -1, -2))

    def to_dataset(self, coords: dict | None = None):
        """An ``xarray.Dataset``. ``coords`` maps names of the batch axes to coordinates
        (e.g. ``{"Bx": xs, "Bz": zs}`` for a grid); default: one axis ``point``."""
        import xarray as xr

        batch = self.parameters.shape[:-1]
        if coords is None:
            coords = {f"axis{i}": np.arange(n) for i, n in enumerate(batch)} if batch else {}
        dims = tuple(coords)
        m = self.machine
        c = {**coords, "bath": list(m.bath_names), "parameter": list(m.parameter_names),
             "parameter2": list(m.parameter_names)}
        data = {
            "spectrum": (dims + ("level",), self.spectrum),
            "heat_current": (dims + ("bath",), self.heat_current),
            "entropy": (dims, self.entropy),
            "entropy_gradient": (dims + ("parameter",), self.entropy_gradient),
            "heat_response": (dims + ("bath", "parameter"), self.heat_response),
            "metric": (dims + ("parameter", "parameter2"), self.metric),
            "unique": (dims, self.unique),
        }
        if self.rotor is not None:
            data["rotor"] = (dims + ("bath",), self.rotor)
        ds = xr.Dataset(data, coords=c)
        units = {"spectrum": "energy", "heat_current": "energy^2 (energy per time)",
                 "entropy": "nats", "heat_response": "energy per parameter unit",
                 "metric": "energy time per parameter unit^2",
                 "rotor": "energy per parameter unit^2"}
        for k, u in units.items():
            if k in ds:
                ds[k].attrs["units"] = u
        if self.plane is not None:
            ds.attrs["plane"] = ",".join(self.plane)
        return ds


def _chunk_size(machine: Machine, n_deriv: int, numerics: Numerics) -> int:
    d, m = machine.dim, len(machine.baths)
    per_point = 16 * d**4 * (m * (2 + n_deriv) + 3 + 2 * n_deriv) * 3
    return max(1, numerics.chunk_bytes // per_point)


def response(machine: Machine, lam=None, *, plane: tuple[str, str] | None = None,
             numerics: Numerics | None = None, check: bool = True) -> Response:
    """Pointwise response of ``machine`` at parameter points ``lam (*b, k)``.

    Parameters
    ----------
    machine : Machine
    lam : array (*b, k), optional
        Parameter points (default: the machine's default point).
    plane : (str, str), optional
        Two parameter names ``(x, y)``: compute the rotor ``d_x Lambda_y - d_y Lambda_x``.
    numerics : Numerics, optional
    check : bool
        Raise :class:`NonUniqueSteadyStateError` if the steady state is not unique at some
        point (default). With ``False`` such points are NaN and flagged in ``unique``.

    Examples
    --------
    >>> from thermogeo.io import load_model
    >>> r = response(load_model("models/qubit_pump.toml"), [0.7, 0.4])
    >>> r.heat_response.round(6).tolist()  # (bath, parameter): Lambda^L, Lambda^R
    [[-0.095534, -0.054591], [-0.292574, -0.167185]]
    """
    numerics = numerics or Numerics()
    lam = machine.as_points(lam)
    k = len(machine.parameters)
    batch = lam.shape[:-1]
    flat = lam.reshape(-1, k)
    pidx = None
    if plane is not None:
        if len(plane) != 2 or plane[0] == plane[1]:
            raise ValueError(f"plane: expected two different parameter names, got {plane!r}")
        pidx = (machine.parameter_index(plane[0]), machine.parameter_index(plane[1]))
        plane = (str(plane[0]), str(plane[1]))
    method = numerics.derivative
    if method == "auto":
        method = "gibbs" if machine.equal_temperatures else "general"
    if method == "gibbs" and not machine.equal_temperatures:
        raise ValueError("numerics.derivative: 'gibbs' needs equal bath temperatures; got "
                         f"{dict(zip(machine.bath_names, machine.temperatures))}")
    need = list(range(k)) if method == "general" else sorted(set(pidx or ()))
    if numerics.use_dense(machine.qubits):
        step = _chunk_size(machine, len(need), numerics)
        parts = [_response_chunk(machine, flat[s:s + step], pidx, need, method, numerics)
                 for s in range(0, len(flat), step)]
    else:
        # Structured eigenframe kernels (no d^2 x d^2 matrix), one point at a time; their
        # steady_state is None above STATE_MAX_DIM (see thermogeo.response.structured).
        from thermogeo.response.structured import structured_chunk

        parts = [structured_chunk(machine, flat[s:s + 1], pidx, need, method, numerics)
                 for s in range(len(flat))]
    out = {f: np.concatenate([p[f] for p in parts]) if parts[0][f] is not None else None
           for f in _FIELDS}
    out = {f: (v.reshape(batch + v.shape[1:]) if v is not None else None)
           for f, v in out.items()}
    res = Response(machine=machine, parameters=lam, plane=plane, numerics=numerics, **out)
    if check and not np.all(res.unique):
        bad = np.argwhere(~np.atleast_1d(res.unique))
        pts = [dict(zip(machine.parameter_names, np.atleast_2d(lam.reshape(-1, k))[
            np.ravel_multi_index(tuple(b), batch) if batch else 0].round(12).tolist()))
            for b in bad[:3]]
        raise NonUniqueSteadyStateError(
            f"the steady state is not unique at {len(bad)} point(s), e.g. {pts} "
            f"(rcond {np.nanmin(res.rcond):.2e} < {numerics.uniqueness_rcond:.0e}): the "
            "couplings leave part of the state space dark (a symmetry sector no bath "
            "reaches); break the symmetry in the couplings or the Hamiltonian")
    nd = ~np.asarray(res.differentiable) & np.asarray(res.unique)[..., None]
    if np.any(nd):
        names = [machine.parameter_names[i] for i in np.unique(np.argwhere(nd)[:, -1])]
        warnings.warn(
            f"at {int(nd.any(axis=-1).sum())} point(s) a change of {names} splits degenerate "
            "Bohr frequencies: the secular generator is not differentiable there and the "
            "response is one-sided", SecularApproximationWarning, stacklevel=2)
    return res


def _response_chunk(machine, lam, pidx, need, method, numerics) -> dict:
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        return _response_chunk_unchecked(machine, lam, pidx, need, method, numerics)


def _response_chunk_unchecked(machine, lam, pidx, need, method, numerics) -> dict:
    gen = generator(machine, lam, numerics)
    ss = steady_solve(gen.L, numerics.uniqueness_rcond)
    E, D, d = gen.E, gen.D, machine.dim
    rho = ss.rho
    J = heat_current(E, D, rho)
    # Non-unique points carry garbage (NaN-masked below); keep eigh away from NaN input.
    finite = np.isfinite(rho).all(axis=-1)
    S, logrho = entropy_and_log(np.where(finite[:, None, None], rho.reshape(-1, d, d),
                                         np.eye(d) / d))
    if need:
        X = perturbation_generator(gen)
        dD = dissipator_derivatives(machine, gen, X, need)  # (b, n, m, d2, d2)
        dL = hamiltonian_derivative(gen, need) + dD.sum(axis=-3)
    if method == "gibbs":
        drho = gibbs_derivative(gen, float(machine.temperatures[0]))
    else:
        drho = -ss.drazin_apply(np.einsum("bnij,bj->bni", dL, rho))
    z = ss.drazin_apply(drho)  # (b, k, d2)
    rows = energy_rows(E, D)  # (b, m, d2)
    Lam = np.einsum("bmc,bkc->bmk", rows, z).real
    G = trace_with(gen.V, z).real
    dS = -trace_with(logrho[:, None], drho)[:, 0, :].real
    rotor = None
    if pidx is not None:
        terms = []
        for a, b in ((0, 1), (1, 0)):
            x, y = pidx[a], pidx[b]
            jx = need.index(x)
            zy = z[:, y]
            Dz = apply(D, zy[:, None, :])  # (b, m, d2)
            t = trace_with(gen.V[:, x][:, None], Dz)[:, 0, :]
            t = t + np.einsum("bmc,bc->bm", energy_rows(E, dD[:, jx]), zy)
            w = ss.drazin_apply(apply(dL[:, jx], zy))
            t = t - np.einsum("bmc,bc->bm", rows, w)
            terms.append(t)
        rotor = (terms[0] - terms[1]).real
    unique = ss.unique
    nan = ~unique
    for arr in (J, S, dS, Lam, G) + ((rotor,) if rotor is not None else ()):
        arr[nan] = np.nan
    diff = differentiable(gen, 1e3 * numerics.degeneracy_tol)
    rho_lab = gen.state_to_lab(rho.reshape(-1, d, d))
    rho_lab[nan] = np.nan
    return dict(spectrum=E, steady_state=rho_lab, heat_current=J, entropy=S,
                entropy_gradient=dS, heat_response=Lam, G=G, rotor=rotor, rcond=ss.rcond,
                unique=unique, differentiable=diff)
