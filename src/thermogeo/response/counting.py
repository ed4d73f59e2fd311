"""Full counting statistics of the heat exchanged with each bath, at frozen parameters.

The counting field ``chi_alpha`` of bath ``alpha`` tilts the jump terms of ``D_alpha`` by
``exp(chi_alpha q)``, ``q`` the heat a jump brings into the system (docs/theory.md section 12;
the contract is :meth:`thermogeo.lindblad.frozen.FrozenGenerator.tilt`)::

    L(chi) = L + sum_alpha (J_alpha(chi_alpha) - J_alpha(0)),
    J_alpha(chi) rho = sum_w exp(-chi w) gamma_alpha(w) A(w) rho A(w)^+

For real ``chi`` the scaled cumulant generating function of the heats ``Q_alpha(t)`` into the
system, ``theta(chi) = lim_t (1/t) ln E[exp(chi . Q(t))]``, is the eigenvalue of ``L(chi)``
with the largest real part (:func:`scaled_cgf`). Its derivatives at ``chi = 0`` follow without
any finite difference from Rayleigh-Schroedinger perturbation theory with the Drazin inverse
``L^D`` (:func:`series`): along a direction ``c`` of chi-space (``chi = c x``),
``L(x) = L + sum_k x^k M_k`` with ``M_k = sum_alpha c_alpha^k L_alpha^(k) / k!`` and::

    theta_n = sum_{k=1}^{n} Tr[M_k r_{n-k}],                      r_0 = rho_0
    r_n     = L^D (sum_{k=1}^{n-1} theta_k r_{n-k} - sum_{k=1}^{n} M_k r_{n-k})

so that ``theta(c x) = sum_n theta_n x^n`` and the ``n``-th cumulant rate along ``c`` is
``n! theta_n``: the mean ``<J> = Tr[L' rho_0]``, the noise
``<<J^2>> = Tr[L'' rho_0] - 2 Tr[L' L^D L' rho_0]`` and the third cumulant. Directions
``e_alpha`` give every bath's cumulants, ``e_alpha + e_beta`` the cross-correlations
(:func:`counting_statistics`). With ``sigma = -sum_alpha J_alpha / T_alpha`` the entropy
production rate, the thermodynamic uncertainty relation of the steady state reads
``Var(J_alpha) sigma / J_alpha^2 >= 2`` (``k_B = 1``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from thermogeo.errors import CountingUnavailableError, ModelError
from thermogeo.lindblad.backend import frozen_chunks
from thermogeo.lindblad.dense import DenseFrozen
from thermogeo.lindblad.frozen import FrozenGenerator
from thermogeo.lindblad.family import sandwich_superop
from thermogeo.lindblad.generator import generator, grouped_sandwich
from thermogeo.linalg.superop import trace_row
from thermogeo.model.machine import Machine
from thermogeo.numerics import Numerics

#: Units of the static counting statistics (docs/decisions/0007-names.md).
UNITS = {"heat_current": "energy / time", "heat_noise": "energy^2 / time",
         "heat_third_cumulant": "energy^3 / time", "entropy_production_rate": "1 / time",
         "uncertainty_product": "1"}


def count_directions(m: int) -> np.ndarray:
    """``(n, m)`` directions of chi-space: ``e_alpha`` for every bath, then
    ``e_alpha + e_beta`` for every pair ``alpha < beta`` (``n = m (m + 1) / 2``)."""
    eye = np.eye(m)
    pairs = [eye[a] + eye[b] for a in range(m) for b in range(a + 1, m)]
    return np.array([*eye, *pairs]).reshape(-1, m)


def polarize(kappa2: np.ndarray, m: int) -> np.ndarray:
    """Covariance ``(..., m, m)`` from second cumulants ``(..., n)`` along
    :func:`count_directions`: ``C_ab = (k(e_a + e_b) - k(e_a) - k(e_b)) / 2``."""
    C = np.zeros(kappa2.shape[:-1] + (m, m))
    idx = np.arange(m)
    C[..., idx, idx] = kappa2[..., :m]
    j = m
    for a in range(m):
        for b in range(a + 1, m):
            C[..., a, b] = C[..., b, a] = 0.5 * (kappa2[..., j] - kappa2[..., a]
                                                 - kappa2[..., b])
            j += 1
    return C


class Tilted:
    """The Taylor coefficients ``M_k`` of ``L(c x)`` along directions ``c (n, m)`` on a
    frozen generator: :meth:`apply` ``(k, y (b, n, d*d)) -> M_k y``, vector ``n`` along
    direction ``n``."""

    def __init__(self, fg: FrozenGenerator, directions: np.ndarray):
        self.fg = fg
        self.c = np.asarray(directions, dtype=float)

    def apply(self, k: int, y: np.ndarray) -> np.ndarray:
        T = self.fg.tilt(y, k)  # (b, n, m, d*d)
        return np.einsum("nm,bnmc->bnc", self.c**k, T) / math.factorial(k)


@dataclass(frozen=True)
class Series:
    """Rayleigh-Schroedinger coefficients of the leading eigenvalue of ``K(x) = K_0 +
    sum_k x^k M_k`` (module docstring): ``theta (order + 1, b, n)`` with ``theta[0] = 0`` and
    right vectors ``r (order, b, n, d*d)`` normalised by ``Tr r_n = delta_n0``."""

    theta: np.ndarray
    r: np.ndarray


def series(drazin, tilted, r0: np.ndarray, order: int = 3) -> Series:
    """Coefficients of the module docstring's recursion for the eigenvalue of ``K(x)``
    that vanishes at ``x = 0``, with ``<<1| K_0 = 0``, ``K_0 r_0 = 0``, ``Tr r_0 = 1``.

    Parameters
    ----------
    drazin : callable ``y (b, n, D) -> K_0^D y``
    tilted : callable ``(k, y (b, n, D)) -> M_k y``
    r0 : (b, n, D)
    order : int
        Highest coefficient ``theta_order``.
    """
    d = int(round(math.sqrt(r0.shape[-1])))
    one = trace_row(d)
    r = [r0]
    theta = [np.zeros(r0.shape[:-1])]
    for n in range(1, order + 1):
        Mr = [tilted(k, r[n - k]) for k in range(1, n + 1)]
        theta.append(sum(np.real(x @ one) for x in Mr))
        if n < order:
            src = -sum(Mr)
            for k in range(1, n):
                src = src + theta[k][..., None] * r[n - k]
            r.append(drazin(src))
    return Series(theta=np.stack(theta), r=np.stack(r))


def left(series_: Series, drazin, tilted, j: int, y: np.ndarray) -> np.ndarray:
    """``<l_j | y>`` for ``y (b, n, D)``: the ``j``-th coefficient of the left eigenvector
    ``l(x) K(x) = theta l`` normalised by ``<l(x)|r(x)> = 1``, applied through right actions
    only::

        l_0 = <<1|,  l_j = [sum_{k=1}^{j-1} theta_k l_{j-k} - sum_{k=1}^{j} l_{j-k} M_k] K_0^D
                           + c_j <<1|,   c_j = -sum_{i=1}^{j-1} <l_i | r_{j-i}>
    """
    d = int(round(math.sqrt(y.shape[-1])))
    one = trace_row(d)
    if j == 0:
        return y @ one
    th, r = series_.theta, series_.r
    Dy = drazin(y)
    out = sum(th[k] * left(series_, drazin, tilted, j - k, Dy) for k in range(1, j))
    out = out - sum(left(series_, drazin, tilted, j - k, tilted(k, Dy)) for k in range(1, j + 1))
    c = -sum((left(series_, drazin, tilted, i, r[j - i]) for i in range(1, j)),
             np.zeros(y.shape[:-1]))
    return out + c * (y @ one)


@dataclass(frozen=True, eq=False)
class HeatStatistics:
    """Counting statistics of the heat currents at frozen parameter points (``*b``).

    Attributes
    ----------
    machine : Machine
    parameters : (*b, k)
    heat_current : (*b, m)          ``<J_alpha>`` (into the system)
    heat_noise : (*b, m, m)         ``<<J_alpha J_beta>>``: the covariance rate (zero-frequency
                                    noise) of the heats, ``d/dt Cov(Q_alpha, Q_beta)``
    heat_third_cumulant : (*b, m)   ``<<J_alpha^3>>``
    entropy_production_rate : (*b,) ``sigma = -sum_alpha J_alpha / T_alpha``
    uncertainty_product : (*b, m)   ``<<J_alpha^2>> sigma / <J_alpha>^2`` (``>= 2``; NaN where
                                    ``J_alpha = 0`` and for baths at one temperature, where
                                    ``J`` and ``sigma`` vanish)
    unique : (*b,) bool             unique steady state (NaN elsewhere)
    """

    machine: Machine
    parameters: np.ndarray
    heat_current: np.ndarray
    heat_noise: np.ndarray
    heat_third_cumulant: np.ndarray
    entropy_production_rate: np.ndarray
    uncertainty_product: np.ndarray
    unique: np.ndarray

    def to_dataset(self, coords: dict | None = None):
        """An ``xarray.Dataset`` (``coords`` as in :meth:`thermogeo.Response.to_dataset`)."""
        import xarray as xr

        batch = self.parameters.shape[:-1]
        if coords is None:
            coords = {f"axis{i}": np.arange(n) for i, n in enumerate(batch)} if batch else {}
        dims = tuple(coords)
        names = list(self.machine.bath_names)
        ds = xr.Dataset({
            "heat_current": (dims + ("bath",), self.heat_current),
            "heat_noise": (dims + ("bath", "bath2"), self.heat_noise),
            "heat_third_cumulant": (dims + ("bath",), self.heat_third_cumulant),
            "entropy_production_rate": (dims, self.entropy_production_rate),
            "uncertainty_product": (dims + ("bath",), self.uncertainty_product),
            "unique": (dims, self.unique),
        }, coords={**coords, "bath": names, "bath2": names})
        for k, u in UNITS.items():
            ds[k].attrs["units"] = u
        return ds


COUNTING_DENSE_MAX_QUBITS = 5
"""Points served by a backend without :meth:`FrozenGenerator.tilt` (the structured one) are
recomputed on the dense backend up to this many qubits (``d^2 x d^2`` superoperators), else
:class:`~thermogeo.errors.CountingUnavailableError` (docs/decisions/0900)."""


def counting_chunks(machine: Machine, lam: np.ndarray, numerics: Numerics,
                    directions: np.ndarray | None = None):
    """:func:`~thermogeo.lindblad.backend.frozen_chunks` whose backends all implement
    ``tilt``: chunks of another backend are rebuilt densely (:data:`COUNTING_DENSE_MAX_QUBITS`).
    """
    for idx, fg in frozen_chunks(machine, lam, numerics, directions):
        if type(fg).tilt is FrozenGenerator.tilt:
            if machine.qubits > COUNTING_DENSE_MAX_QUBITS:
                raise CountingUnavailableError(
                    f"counting statistics: {machine.qubits} qubits need the structured "
                    f"backend, which has no counting fields; the dense fallback stops at "
                    f"{COUNTING_DENSE_MAX_QUBITS} qubits")
            dirs = None if directions is None or np.ndim(directions) == 2 else directions[idx]
            fg = DenseFrozen(machine, lam[idx], numerics,
                             directions if dirs is None else dirs)
        yield idx, fg


def frozen_series(fg: FrozenGenerator, directions: np.ndarray, order: int = 3) -> Series:
    """:func:`series` of the tilted generator of ``fg`` along ``directions (n, m)``."""
    t = Tilted(fg, directions)
    r0 = np.broadcast_to(fg.rho0[:, None], (len(fg.lam), len(t.c), fg.rho0.shape[-1]))
    return series(fg.drazin, t.apply, np.ascontiguousarray(r0), order)


def uncertainty(J: np.ndarray, var: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    """``var sigma / J^2`` (NaN where ``J = 0``)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(J != 0, var * sigma[..., None] / np.where(J != 0, J, 1.0) ** 2,
                        np.nan)


def counting_statistics(machine: Machine, lam, *, numerics: Numerics | None = None
                        ) -> HeatStatistics:
    """Mean, noise (with cross-correlations) and third cumulant of the heat currents at
    points ``lam (*b, k)`` (module docstring; docs/theory.md section 12).

    Served by the backends that implement ``FrozenGenerator.tilt`` (dense and
    generic-spectrum); points of the structured backend are rebuilt on the dense one up to
    :data:`COUNTING_DENSE_MAX_QUBITS` qubits, beyond which
    :class:`~thermogeo.errors.CountingUnavailableError` is raised.

    Examples
    --------
    >>> from thermogeo.io import load_model
    >>> m = load_model("models/qubit_pump.toml")
    >>> st = counting_statistics(m, [0.7, 0.4])
    >>> st.heat_noise.shape, bool(abs(st.heat_current.sum()) < 1e-12)
    ((2, 2), True)
    """
    numerics = numerics or Numerics()
    lam = np.asarray(lam, dtype=float)
    k = len(machine.parameters)
    if lam.shape[-1:] != (k,):
        raise ModelError(f"lam: expected points with {k} parameters {machine.parameter_names}, "
                         f"got shape {lam.shape}")
    batch = lam.shape[:-1]
    flat = lam.reshape(-1, k)
    m = len(machine.baths)
    c = count_directions(m)
    kap = np.full((len(flat), 4, len(c)), np.nan)
    unique = np.zeros(len(flat), bool)
    for idx, fg in counting_chunks(machine, flat, numerics):
        s = frozen_series(fg, c, 3)
        kap[idx] = np.moveaxis(s.theta, 0, 1) * np.array([1, 1, 2, 6])[:, None]
        unique[idx] = fg.unique
    kap[~unique] = np.nan
    J = kap[:, 1, :m]
    noise = polarize(kap[:, 2], m)
    third = kap[:, 3, :m]
    sigma = -(J / machine.temperatures).sum(axis=-1)
    var = np.diagonal(noise, axis1=-2, axis2=-1)
    return HeatStatistics(machine=machine, parameters=lam, heat_current=J.reshape(batch + (m,)),
                          heat_noise=noise.reshape(batch + (m, m)),
                          heat_third_cumulant=third.reshape(batch + (m,)),
                          entropy_production_rate=sigma.reshape(batch),
                          uncertainty_product=(np.full_like(J, np.nan)
                                               if machine.equal_temperatures
                                               else uncertainty(J, var, sigma)
                                               ).reshape(batch + (m,)),
                          unique=unique.reshape(batch))


def jump_superops(gen, weight: np.ndarray) -> np.ndarray:
    """Eigenframe superoperators ``sum_w f_alpha(w) gamma_alpha(w) A(w) . A(w)^+`` of every
    bath for weights ``f (b, m, d, d)`` of the elements ``[n, m]`` (jump ``m -> n``) of a
    secular :class:`~thermogeo.lindblad.generator.Generator`: ``(b, m, d*d, d*d)``."""
    return grouped_sandwich(gen.rates * weight, gen.A, gen.A, gen.groups.label[:, None])


def tilt_superops(gen, k: int) -> np.ndarray:
    """Eigenframe superoperators of ``L_alpha^(k)`` (docs/theory.md section 12) for every
    bath, ``(b, m, d*d, d*d)``: the secular generator, or a member of the master-equation
    family (``gen.jumps``), whose cross terms are weighted by ``exp(-chi (w + w')/2)``:
    ``(-1/2)^k sum_j C(k, j) sum_c B_j . B_{k-j}^+`` with ``B_j = sum_{w in c} w^j
    sqrt(gamma(w)) A(w)``."""
    if gen.jumps is None:
        return jump_superops(gen, (-gen.groups.omega[:, None]) ** k)
    B = [gen.jumps.weighted(j) for j in range(k + 1)]
    return (-0.5) ** k * sum(math.comb(k, j) * sandwich_superop(B[j], B[k - j])
                             for j in range(k + 1))


def check_chi(machine: Machine, chi) -> np.ndarray:
    """Counting fields ``chi (p, m)`` (or ``(m,)``): finite, one per bath; a clear error
    otherwise."""
    m = len(machine.baths)
    chi = np.asarray(chi, dtype=float)
    if chi.shape[-1:] != (m,) or chi.ndim > 2 or not np.all(np.isfinite(chi)):
        raise ModelError(f"chi: expected finite counting fields of shape (p, {m}) (one per "
                         f"bath {machine.bath_names}), got shape {chi.shape}")
    return chi.reshape(-1, m)


def tilted_generator(machine: Machine, lam, chi, *, numerics: Numerics | None = None,
                     frame: str = "eigen") -> np.ndarray:
    """Dense tilted generator ``L(chi)`` at points ``lam (b, k)`` for counting fields
    ``chi (b, m)`` (or ``(m,)``, shared): ``(b, d*d, d*d)`` in the eigenframe of ``H``
    (``frame="eigen"``) or the lab frame (``"lab"``). The secular generator only (the
    cumulants, :func:`counting_statistics`, serve every master equation)."""
    if frame not in ("eigen", "lab"):
        raise ModelError(f"frame: expected 'eigen' or 'lab', got {frame!r}")
    lam = machine.as_points(lam).reshape(-1, len(machine.parameters))
    gen = generator(machine, lam, numerics or Numerics())
    if gen.jumps is not None:
        raise CountingUnavailableError(
            f"tilted generator at finite chi: only the secular master equation, got "
            f"{machine.master_equation.kind!r} (its cumulants: counting_statistics, "
            "cycle_fluctuations, exact_fluctuations)")
    chi = np.asarray(chi, dtype=float)
    if not np.all(np.isfinite(chi)):
        raise ModelError(f"chi: expected finite counting fields, got {chi.tolist()}")
    try:
        chi = np.broadcast_to(chi, (len(lam), len(machine.baths)))
    except ValueError:
        raise ModelError(f"chi: expected one field per bath {machine.bath_names} (shared) or "
                         f"one row per point, got shape {chi.shape}") from None
    w = -gen.groups.omega[:, None]
    tilt = jump_superops(gen, np.expm1(chi[:, :, None, None] * w)).sum(axis=1)
    L = gen.L + tilt
    return gen.to_lab(L) if frame == "lab" else L


def scaled_cgf(machine: Machine, lam, chi, *, numerics: Numerics | None = None
               ) -> np.ndarray:
    """``theta(chi) = lim (1/t) ln E[exp(chi . Q(t))]``: the eigenvalue of ``L(chi)`` with
    the largest real part, at points ``lam (*b, k)`` and fields ``chi (p, m)``:
    ``(*b, p)`` (dense, secular generator).

    Examples
    --------
    >>> from thermogeo.io import load_model
    >>> m = load_model("models/qubit_pump.toml")
    >>> bool(abs(scaled_cgf(m, [0.7, 0.4], [[0.0, 0.0]])[0]) < 1e-12)
    True
    """
    lam = machine.as_points(lam)
    k = len(machine.parameters)
    chi = check_chi(machine, chi)
    batch = lam.shape[:-1]
    flat = lam.reshape(-1, k)
    out = np.empty((len(flat), len(chi)))
    for j, x in enumerate(chi):
        ev = np.linalg.eigvals(tilted_generator(machine, flat, x, numerics=numerics))
        out[:, j] = np.take_along_axis(ev, np.argmax(ev.real, axis=-1)[:, None], -1)[:, 0].real
    return out.reshape(batch + (len(chi),))


#: Units of the per-cycle heat statistics.
CYCLE_UNITS = {"heat_mean": "energy", "heat_covariance": "energy^2",
               "heat_third_cumulant": "energy^3", "entropy_production": "1",
               "uncertainty_product": "1", "period": "time"}


@dataclass(frozen=True, eq=False)
class CycleCumulants:
    """Cumulants of the heats ``Q_alpha`` into the system per cycle (in the long run) at one
    period.

    Attributes
    ----------
    period : float
    bath_names : tuple of str
    heat_mean : (m,)             ``<Q_alpha>``
    heat_covariance : (m, m)     ``Cov(Q_alpha, Q_beta)``
    heat_third_cumulant : (m,)   ``<<Q_alpha^3>>``
    entropy_production : float   ``Sigma = -sum_alpha <Q_alpha> / T_alpha`` per cycle
    uncertainty_product : (m,)   ``Var(Q_alpha) Sigma / <Q_alpha>^2`` (reported, not bounded:
                                 the steady-state bound 2 need not hold for driven machines)
    """

    period: float
    bath_names: tuple[str, ...]
    heat_mean: np.ndarray
    heat_covariance: np.ndarray
    heat_third_cumulant: np.ndarray
    entropy_production: float
    uncertainty_product: np.ndarray

    @classmethod
    def from_cumulants(cls, machine: Machine, period: float, mean, cov, third, *,
                       product: bool = True) -> CycleCumulants:
        """From the cumulants; ``product=False`` reports the uncertainty product as NaN
        (where ``Sigma`` is not resolved, e.g. at order ``tau^0`` with baths at one
        temperature, where it is the ``O(1/tau)`` dissipated work over ``T``)."""
        mean = np.asarray(mean, dtype=float)
        sigma = float(-(mean / machine.temperatures).sum())
        var = np.diagonal(cov).copy() if product else np.full(len(mean), np.nan)
        return cls(period=float(period), bath_names=tuple(machine.bath_names), heat_mean=mean,
                   heat_covariance=np.asarray(cov, dtype=float),
                   heat_third_cumulant=np.asarray(third, dtype=float),
                   entropy_production=sigma,
                   uncertainty_product=uncertainty(mean, var, np.asarray(sigma)))

    def to_dict(self) -> dict:
        """Plain dict for JSON: per-bath maps (``heat_covariance`` bath -> bath -> value),
        None for NaN."""
        def num(x):
            x = float(x)
            return x if math.isfinite(x) else None

        b = self.bath_names
        return {"period": self.period,
                "heat_mean": {n: num(v) for n, v in zip(b, self.heat_mean)},
                "heat_variance": {n: num(self.heat_covariance[i, i]) for i, n in enumerate(b)},
                "heat_covariance": {n: {o: num(self.heat_covariance[i, j])
                                        for j, o in enumerate(b)} for i, n in enumerate(b)},
                "heat_third_cumulant": {n: num(v) for n, v in zip(b, self.heat_third_cumulant)},
                "entropy_production": num(self.entropy_production),
                "uncertainty_product": {n: num(v)
                                        for n, v in zip(b, self.uncertainty_product)}}

    def to_dataset(self):
        """An ``xarray.Dataset`` with dimensions ``bath``, ``bath2``."""
        import xarray as xr

        b = list(self.bath_names)
        ds = xr.Dataset({"heat_mean": (("bath",), self.heat_mean),
                         "heat_covariance": (("bath", "bath2"), self.heat_covariance),
                         "heat_third_cumulant": (("bath",), self.heat_third_cumulant),
                         "entropy_production": ((), self.entropy_production),
                         "uncertainty_product": (("bath",), self.uncertainty_product)},
                        coords={"bath": b, "bath2": b, "period": self.period})
        for k, u in CYCLE_UNITS.items():
            ds[k].attrs["units"] = u
        return ds
