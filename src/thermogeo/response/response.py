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

from thermogeo.errors import (NonUniqueSteadyStateError, SecondLawWarning,
                              SecularApproximationWarning)
from thermogeo.lindblad.backend import frozen_chunks
from thermogeo.lindblad.frozen import FrozenGenerator, steady_derivative
from thermogeo.model.machine import Machine
from thermogeo.numerics import Numerics
from thermogeo.response.correlations import evaluate, parse_requests, units_and_descriptions

_FIELDS = ("spectrum", "steady_state", "heat_current", "entropy", "entropy_gradient",
           "heat_response", "G", "rotor", "rcond", "unique", "differentiable", "secular_ratio")


@dataclass(frozen=True, eq=False)
class Response:
    """Slow-driving response at a batch of parameter points (leading axes ``*b``).

    Attributes
    ----------
    machine : Machine
    parameters : (*b, k)          the points ``lam``
    spectrum : (*b, d)            eigenvalues of H
    steady_state : (*b, d, d) or None  ``rho_0`` (lab frame); None when ``d > 1024`` (see
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
    valid : (*b,) bool            the point's parameters are finite and in range (with
                                  ``check=False`` other points are NaN, not an error)
    correlations : dict           ``{name: (*b,)}``: the requested correlation measures
                                  (:mod:`thermogeo.response.correlations`); empty if none
    secular_ratio : (*b,)         smallest separation of distinct Bohr frequencies over a bound
                                  on the fastest relaxation rate (the secular generator needs
                                  it >> 1; :func:`response` warns below 1)
    entropy_production : (*b,)    ``sigma = -sum_alpha J_alpha / T_alpha`` (property)
    second_law : (*b,) bool       ``sigma >= 0`` within rounding (property)
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
    secular_ratio: np.ndarray
    valid: np.ndarray | None = None
    correlations: dict = field(default_factory=dict)
    correlation_attrs: dict = field(default_factory=dict, repr=False)
    numerics: Numerics = field(default_factory=Numerics)

    @property
    def entropy_production(self) -> np.ndarray:
        """``sigma = -sum_alpha J_alpha / T_alpha`` (*b,): the steady-state entropy
        production rate (docs/theory.md section 3), zero at equal temperatures."""
        return -(self.heat_current / self.machine.temperatures).sum(axis=-1)

    @property
    def second_law(self) -> np.ndarray:
        """(*b,) bool: ``sigma >= 0`` up to rounding (``1e-9`` of ``sum |J_alpha| / T_alpha``
        plus ``1e-12``); always True for the secular generator, whose steady states obey the
        second law by construction (Spohn's theorem: its rounding is not a violation)."""
        if self.machine.master_equation.secular:
            return np.ones(np.shape(self.entropy_production), dtype=bool)
        scale = (np.abs(self.heat_current) / self.machine.temperatures).sum(axis=-1)
        with np.errstate(invalid="ignore"):
            return ~(self.entropy_production < -1e-9 * scale - 1e-12)

    @property
    def metric(self) -> np.ndarray:
        """``g = (G + G^T)/2``, ``(*b, k, k)``: the thermodynamic metric."""
        return 0.5 * (self.G + np.swapaxes(self.G, -1, -2))

    def to_dataset(self, coords: dict | None = None):
        """An ``xarray.Dataset``. ``coords`` maps names of the batch axes to coordinates
        (e.g. ``{"Bx": xs, "Bz": zs}`` for a grid); default: ``axis0``, ``axis1``, ... indexed
        0, 1, ... (none for a single point)."""
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
            "secular_ratio": (dims, self.secular_ratio),
            "entropy_production": (dims, self.entropy_production),
            **({"valid": (dims, self.valid)} if self.valid is not None else {}),
        }
        if self.rotor is not None:
            data["rotor"] = (dims + ("bath",), self.rotor)
        for name, values in self.correlations.items():
            data[name] = (dims, values)
        ds = xr.Dataset(data, coords=c)
        for name, attrs in self.correlation_attrs.items():
            ds[name].attrs.update(attrs)
        units = {"spectrum": "energy", "heat_current": "energy^2 (energy per time)",
                 "entropy": "nats", "heat_response": "energy per parameter unit",
                 "metric": "energy time per parameter unit^2",
                 "rotor": "energy per parameter unit^2",
                 "entropy_production": "energy (k_B = 1: entropy per time)"}
        for k, u in units.items():
            if k in ds:
                ds[k].attrs["units"] = u
        if self.plane is not None:
            ds.attrs["plane"] = ",".join(self.plane)
        return ds


def response(machine: Machine, lam=None, *, plane: tuple[str, str] | None = None,
             correlations=None, numerics: Numerics | None = None,
             check: bool = True) -> Response:
    """Pointwise response of ``machine`` at parameter points ``lam (*b, k)``.

    Parameters
    ----------
    machine : Machine
    lam : array (*b, k), optional
        Parameter points (default: the machine's default point).
    plane : (str, str), optional
        Two parameter names ``(x, y)``: compute the rotor ``d_x Lambda_y - d_y Lambda_x``.
    correlations : list of str, optional
        Correlation measures to evaluate at every point, e.g. ``["concurrence:0,1",
        "negativity:0|1", "mutual:0|1@thermal"]`` (:mod:`thermogeo.response.correlations`):
        on the steady state, or with ``@ground`` / ``@thermal`` on the eigenstates of ``H``.
    numerics : Numerics, optional
    check : bool
        Raise :class:`NonUniqueSteadyStateError` if the steady state is not unique at some
        point, and :class:`ModelError` at a point with a non-finite or out-of-range value
        (default). With ``False`` such points are NaN and flagged in ``unique`` and
        ``valid``; the other points of the batch are computed.

    Examples
    --------
    >>> from thermogeo.io import load_model
    >>> r = response(load_model("models/qubit_pump.toml"), [0.7, 0.4])
    >>> r.heat_response.round(6).tolist()  # (bath, parameter): Lambda^L, Lambda^R
    [[-0.095534, -0.054591], [-0.292574, -0.167185]]
    """
    numerics = numerics or Numerics()
    lam = machine.as_points(lam, allow_invalid=not check)
    k = len(machine.parameters)
    batch = lam.shape[:-1]
    valid = machine.valid_points(lam.reshape(-1, k))
    flat = np.where(valid[:, None], lam.reshape(-1, k), machine.point())
    pidx = None
    if plane is not None:
        if len(plane) != 2 or plane[0] == plane[1]:
            raise ValueError(f"plane: expected two different parameter names, got {plane!r}")
        pidx = (machine.parameter_index(plane[0]), machine.parameter_index(plane[1]))
        plane = (str(plane[0]), str(plane[1]))
    requests = parse_requests(correlations, machine)
    method = numerics.derivative_method(machine)
    need = list(range(k)) if method == "general" else sorted(set(pidx or ()))
    dirs = np.eye(k)[need] if need else None
    # gibbs: L^D d rho_0 in the same pass as the small-block inversions (no inverses kept)
    out: dict = {}
    for idx, fg in frozen_chunks(machine, flat, numerics, dirs,
                                 keep_inverses=method == "general"):
        part = _chunk(fg, pidx, need, method, requests)
        for f in _FIELDS + tuple(r.name for r in requests):
            if part[f] is None:
                out[f] = None
                continue
            if f not in out:
                out[f] = np.empty((len(flat),) + part[f].shape[1:], part[f].dtype)
            out[f][idx] = part[f]
    if not valid.all():  # computed at the default point: masked
        for v in out.values():
            if v is not None and v.dtype.kind in "fc":
                v[~valid] = np.nan
        out["unique"][~valid] = False
    out["valid"] = valid
    out = {f: (v.reshape(batch + v.shape[1:]) if v is not None else None)
           for f, v in out.items()}
    corr = {r.name: out.pop(r.name) for r in requests}
    res = Response(machine=machine, parameters=lam, plane=plane, numerics=numerics,
                   correlations=corr, correlation_attrs=units_and_descriptions(requests), **out)
    if check and not np.all(res.unique):
        raise NonUniqueSteadyStateError.at(machine, lam[~res.unique], np.nanmin(res.rcond),
                                           numerics.uniqueness_rcond)
    close = np.asarray(res.secular_ratio) < 1
    if np.any(close) and machine.master_equation.secular:
        warnings.warn(
            f"at {int(close.sum())} of {close.size} point(s) distinct Bohr frequencies are "
            "closer than a bound on the fastest relaxation rate (smallest ratio "
            f"{float(np.nanmin(res.secular_ratio)):.3g}; Response.secular_ratio): the secular "
            "(Davies) generator may not hold there; weaker coupling or larger splittings "
            "restore it, or a master equation that does not need it (master_equation kind "
            "'ule' or 'cluster')", SecularApproximationWarning, stacklevel=2)
    broken = ~np.asarray(res.second_law) & np.asarray(res.unique)
    if np.any(broken):
        warnings.warn(
            f"at {int(broken.sum())} of {broken.size} point(s) the steady state of the "
            f"{machine.master_equation.kind!r} master equation has negative entropy production "
            f"(smallest {float(np.nanmin(res.entropy_production)):.3g}; "
            "Response.entropy_production): this generator violates the second law there",
            SecondLawWarning, stacklevel=2)
    nd = ~np.asarray(res.differentiable) & np.asarray(res.unique)[..., None]
    # (the non-secular generators report differentiable everywhere)
    if np.any(nd):
        names = [machine.parameter_names[i] for i in np.unique(np.argwhere(nd)[:, -1])]
        warnings.warn(
            f"at {int(nd.any(axis=-1).sum())} point(s) a change of {names} splits degenerate "
            "Bohr frequencies: the secular generator is not differentiable there and the "
            "response is one-sided", SecularApproximationWarning, stacklevel=2)
    return res


def _chunk(fg: FrozenGenerator, pidx, need, method, requests=()) -> dict:
    """Every field of :class:`Response` at the points of one backend chunk, written once
    over the :class:`~thermogeo.lindblad.frozen.FrozenGenerator` operations."""
    machine, numerics = fg.machine, fg.numerics
    b, d, m, k = len(fg.lam), fg.dim, len(machine.baths), len(machine.parameters)
    diff = fg.differentiable(fg.Vt, 1e3 * numerics.degeneracy_tol)
    secular = fg.secular_ratio()
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        if method == "gibbs":
            drho = steady_derivative(fg, fg.Vt, "gibbs")
            z = fg.drazin(drho)
        unique = fg.unique
        if not np.any(unique):  # no solve on a singular generator: every field NaN
            nan = np.full
            return dict(spectrum=fg.E, steady_state=(nan((b, d, d), np.nan, complex)
                                                     if d <= numerics.state_max_dim else None),
                        heat_current=nan((b, m), np.nan), entropy=nan(b, np.nan),
                        entropy_gradient=nan((b, k), np.nan),
                        heat_response=nan((b, m, k), np.nan), G=nan((b, k, k), np.nan),
                        rotor=nan((b, m), np.nan) if pidx is not None else None,
                        rcond=fg.rcond, unique=unique, differentiable=diff,
                        secular_ratio=secular,
                        **{r.name: nan(b, np.nan) for r in requests if r.state == "steady"},
                        **evaluate([r for r in requests if r.state != "steady"], None, fg.E,
                                   fg.U, machine, 1e3 * numerics.degeneracy_tol))
        if method == "general":
            drho = steady_derivative(fg, fg.Vt, "general")
            z = fg.drazin(drho)  # (b, k, d^2)
        rho = fg.rho0
        J = fg.heat(rho[:, None])[:, 0]
        S, log = fg.entropy()
        dS = fg.entropy_gradient(log, drho)
        Lam = np.swapaxes(fg.heat(z), -1, -2)  # (b, m, k)
        G = fg.trace(fg.Vt, z).real  # G_ij = Tr[V_i z_j]
        rotor = None
        if pidx is not None:
            t = []
            for x, y in (pidx, pidx[::-1]):
                jx, zy = need.index(x), z[:, y:y + 1]
                t.append(fg.dheat(jx, zy) - fg.heat_drazin(fg.dgen(jx, zy, zero_only=True)))
            rotor = (t[0] - t[1])[:, 0]
    state = (fg.to_lab(rho.reshape(b, d, d)) if d <= numerics.state_max_dim or requests
             else None)
    corr = evaluate(requests, np.where(unique[:, None, None], state, np.eye(d) / d)
                    if requests else None, fg.E, fg.U, machine, 1e3 * numerics.degeneracy_tol)
    for r in requests:  # the steady state's measures are NaN where it is not unique
        if r.state == "steady":
            corr[r.name][~unique] = np.nan
    if d > numerics.state_max_dim:
        state = None
    for arr in (J, S, dS, Lam, G, state) + ((rotor,) if rotor is not None else ()):
        if arr is not None:
            arr[~unique] = np.nan
    return dict(spectrum=fg.E, steady_state=state, heat_current=J, entropy=S,
                entropy_gradient=dS, heat_response=Lam, G=G, rotor=rotor, rcond=fg.rcond,
                unique=unique, differentiable=diff, secular_ratio=secular, **corr)
