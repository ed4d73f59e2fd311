"""The generator frozen at parameter points: one interface over two backends.

Every slow-driving quantity (docs/theory.md section 4: heat currents, ``Lambda``, ``G``, the
rotor, the second-order currents, ``E^(1)``, corner terms) is written once, in
:mod:`thermogeo.response.response` and :mod:`thermogeo.dynamics.expansion`, over the operations
of :class:`FrozenGenerator`. Two backends implement them:

* :class:`thermogeo.lindblad.dense.DenseFrozen`: ``d^2 x d^2`` superoperators, batched over many
  points (small machines);
* :class:`thermogeo.lindblad.structured.BlockFrozen`: the Bohr blocks of the secular generator,
  one point at a time, never a ``d^2 x d^2`` matrix (many qubits).

:func:`thermogeo.lindblad.backend.frozen_generator` chooses between them (``Numerics.kernel``).

Conventions. Operators are held in the eigenframe of ``H``, ``y~ = U^+ y U``, vectorised
row-major (``vec(y)[a*d + b] = y[a, b]``), with a leading batch axis of points ``b`` and an
axis ``n`` of vectors: ``(b, n, d*d)``. Derivatives are taken along *directions* of parameter
space ``v (b, n, k)`` fixed when the backend is built (``d_v = sum_i v_i d_i``). With
``V~_v = U^+ (sum_i v_i V_i) U`` first-order perturbation theory gives ``d_v E_n = V~_nn`` and
``d_v U = U X`` with ``X_mn = V~_mn / (E_n - E_m)`` between different levels (zero inside a
degenerate level); the eigenframe form of the lab-frame derivative of a superoperator ``S`` is
``dS~ + [X, S~]``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np

from thermogeo.errors import CountingUnavailableError
from thermogeo.linalg.bohr import BohrGroups
from thermogeo.model.machine import Machine
from thermogeo.numerics import Numerics


class FrozenGenerator(ABC):
    """The generator ``L = -i[H, .] + sum_alpha D_alpha`` at points ``lam (b, k)``.

    Attributes
    ----------
    machine : Machine
    numerics : Numerics
    lam : (b, k)                   the points
    E : (b, d)                     eigenvalues of ``H``, ascending
    U : (b, d, d)                  eigenvectors (columns)
    Vt : (b, k, d, d)              ``U^+ V_i U``
    directions : (b, n, k) or None the directions along which :meth:`dgen` and :meth:`dheat`
                                   differentiate
    rcond : (b,)                   reciprocal condition number of ``L + |1/d>><<1|``
    unique : (b,) bool             unique steady state (``rcond >= numerics.uniqueness_rcond``)
    """

    machine: Machine
    numerics: Numerics
    lam: np.ndarray
    E: np.ndarray
    U: np.ndarray
    Vt: np.ndarray
    directions: np.ndarray | None
    rcond: np.ndarray
    unique: np.ndarray

    # --- what each backend implements -------------------------------------------------
    @property
    @abstractmethod
    def rho0(self) -> np.ndarray:
        """``(b, d*d)``: the steady state ``rho~_0`` (trace one, Hermitian; NaN where not
        unique)."""

    @abstractmethod
    def drazin(self, y: np.ndarray) -> np.ndarray:
        """``L^D y`` for traceless or general ``y (b, n, d*d)`` (``L^D rho_0 = 0``)."""

    @abstractmethod
    def heat(self, y: np.ndarray) -> np.ndarray:
        """``Tr[H D_alpha y]`` for ``y (b, n, d*d)``: ``(b, n, m)``."""

    @abstractmethod
    def heat_drazin(self, y: np.ndarray) -> np.ndarray:
        """``Tr[H D_alpha L^D y]`` for ``y (b, n, d*d)``: ``(b, n, m)``. Only the elements of
        ``y`` in the zero Bohr block are read."""

    @abstractmethod
    def dgen(self, j: int, y: np.ndarray, zero_only: bool = False) -> np.ndarray:
        """``(d_v L) y`` along prepared direction ``j`` for ``y (b, n, d*d)``, eigenframe.

        With ``zero_only`` only the zero-block elements of the result are meaningful (enough
        for :meth:`heat_drazin`); backends may skip the rest."""

    @abstractmethod
    def dheat(self, j: int, y: np.ndarray) -> np.ndarray:
        """``d_v(<<H| D_alpha) y = Tr[V_v D_alpha y] + Tr[H (d_v D_alpha) y]`` along prepared
        direction ``j``, ``(b, n, m)``."""

    @abstractmethod
    def same_level(self) -> np.ndarray:
        """``(b, d, d)`` bool: eigenvalues ``m``, ``n`` belong to one degenerate level."""

    @abstractmethod
    def entropy(self) -> tuple[np.ndarray, object]:
        """``(S (b,), log)``: the von Neumann entropy of ``rho_0`` and ``ln rho~_0`` in a form
        :meth:`entropy_gradient` reads."""

    @abstractmethod
    def entropy_gradient(self, log, drho: np.ndarray) -> np.ndarray:
        """``-Tr[ln rho_0 d rho_0]`` for ``drho (b, n, d*d)``: ``(b, n)``."""

    @abstractmethod
    def dgen_steady(self, j: int) -> np.ndarray:
        """``(d_v L) rho_0`` along prepared direction ``j``, ``(b, d*d)``."""

    @abstractmethod
    def _bohr_order(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(order, starts, point)``: the flat ``[n, m]`` elements of all points sorted by
        Bohr group (``order`` into ``(b*d*d,)``), the start of every group in that order and
        the point each group belongs to."""

    # --- written once for both backends -------------------------------------------------
    @property
    def dim(self) -> int:
        return self.E.shape[-1]

    def direction_operators(self, v: np.ndarray) -> np.ndarray:
        """``V~_v = sum_i v_i V~_i`` for directions ``v (b, n, k)`` or ``(n, k)``:
        ``(b, n, d, d)``."""
        v = np.asarray(v, dtype=float)
        if v.ndim == 2:
            v = np.broadcast_to(v, (len(self.E),) + v.shape)
        return np.einsum("bnk,bkij->bnij", v, self.Vt)

    def perturbation(self, Vd: np.ndarray) -> np.ndarray:
        """``X_mn = V~_mn / (E_n - E_m)`` (zero inside degenerate levels), ``(b, n, d, d)``."""
        deg = self.same_level()[:, None]
        dE = self.E[:, None, None, :] - self.E[:, None, :, None]
        return np.where(deg, 0.0, Vd / np.where(deg, 1.0, dE))

    def gibbs_derivative(self, T: float, Vd: np.ndarray) -> np.ndarray:
        """Daleckii-Krein derivative of the Gibbs state along ``V~_v (b, n, d, d)``,
        ``(b, n, d*d)`` (docs/theory.md section 4)::

            (d rho)_mn = V~_mn (p_m - p_n)/(E_m - E_n),   E_m != E_n
            (d rho)_mn = -(p_n/T)(V~_mn - delta_mn <V>),  m, n in one level
        """
        E = self.E
        p = np.exp(-(E - E.min(axis=-1, keepdims=True)) / T)
        p /= p.sum(axis=-1, keepdims=True)
        deg = self.same_level()
        dE = E[:, :, None] - E[:, None, :]
        dp = p[:, :, None] - p[:, None, :]
        F = np.where(deg, -p[:, None, :] / T, dp / np.where(deg, 1.0, dE))
        avg = np.einsum("bn,bknn->bk", p, Vd).real
        out = Vd * F[:, None]
        d = self.dim
        idx = np.arange(d)
        out[..., idx, idx] += (p / T)[:, None, :] * avg[..., None]
        return out.reshape(*out.shape[:-2], d * d)

    @abstractmethod
    def _bohr_gap(self) -> np.ndarray:
        """``(b,)``: the smallest separation of two distinct Bohr frequencies (inf if one)."""

    @abstractmethod
    def _rate_bound(self) -> np.ndarray:
        """``(b,)``: the column Gershgorin bound ``max_j (|Re L_jj| + sum_{i != j} |L_ij|)``
        on the fastest relaxation rate."""

    def secular_ratio(self) -> np.ndarray:
        """``(b,)``: smallest separation of distinct Bohr frequencies over a bound on the
        fastest relaxation rate. The secular generator needs it ``>> 1``
        (docs/theory.md section 2); ``thermogeo check`` warns below 1 and
        :class:`thermogeo.Response` reports it per point."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return self._bohr_gap() / self._rate_bound()

    def release(self) -> None:
        """Free what :meth:`heat_drazin` on traceless vectors and :meth:`to_eig` do not need
        (the structured backend keeps its left rows ``<<H| D_alpha L^D`` only)."""
        return None  # the dense and generic backends keep everything

    def tilt(self, y: np.ndarray, k: int) -> np.ndarray:
        """``L_alpha^(k) y``: the ``k``-th derivative at ``chi = 0`` of the tilted generator
        in ``chi_alpha``, per bath, for ``y (b, n, d*d)`` (eigenframe): ``(b, n, m, d*d)``.

        Contract (docs/theory.md section 12). The counting field ``chi_alpha`` of bath
        ``alpha`` weights each jump term of ``D_alpha`` by ``exp(chi_alpha q)``, ``q`` the
        heat the jump brings INTO the system; the anticommutator (no-jump) terms are not
        tilted. Secular generator: the jump ``A(w) rho A(w)^+`` of Bohr frequency ``w``
        (``A(w)`` lowers the energy by ``w``, releasing ``w`` to the bath) gets ``q = -w``,
        so ``L_alpha^(k) y = sum_w (-w)^k gamma_alpha(w) A(w) y A(w)^+``. A non-secular
        member with jump operators ``L_c = sum_{w in c} sqrt(gamma(w)) A(w)`` weights the
        cross term ``A(w) y A(w')^+`` by ``exp(-chi (w + w')/2)`` (a convention, exact when
        ``w = w'``), so ``L_alpha^(k) y = sum_c sum_{w,w' in c} (-(w + w')/2)^k
        sqrt(gamma(w) gamma(w')) A(w) y A(w')^+``. Requirements: ``k >= 1``;
        ``sum_alpha Tr[L_alpha^(1) y]`` is the heat current operator's expectation the
        counting statistics report (for the secular generator
        ``Tr[L_alpha^(1) y] = Tr[H D_alpha y]``); the result is linear in ``y``, batched over
        ``b`` and ``n``, with no Python loop over points. The bath axis is the machine's.

        Backends without it raise :class:`~thermogeo.errors.CountingUnavailableError`.
        """
        raise CountingUnavailableError(
            f"{type(self).__name__}: the counting statistics of heat (tilt) are not available "
            "on this backend; use the dense or generic-spectrum backend "
            "(Numerics(kernel='dense'), up to Numerics.dense_max_qubits qubits)")

    def bohr_spread(self, dW: np.ndarray) -> np.ndarray:
        """``(b, n)``: the largest spread of ``dW (b, n, d, d)`` (``[n, m]`` for the jump
        ``m -> n``) inside one group of degenerate Bohr frequencies."""
        order, starts, point = self._bohr_order()
        out = np.zeros(dW.shape[:2])
        for j in range(dW.shape[1]):
            v = np.real(dW[:, j]).reshape(-1)[order]
            np.maximum.at(out[:, j], point,
                          np.maximum.reduceat(v, starts) - np.minimum.reduceat(v, starts))
        return out

    def differentiable(self, Vd: np.ndarray, tol: float) -> np.ndarray:
        """``(b, n)`` bool: the Bohr grouping survives a change along each ``V~_v``.

        False where the derivative would split a group of degenerate Bohr frequencies
        (including mixing inside a degenerate level): there the secular generator has a kink.
        """
        dE = np.real(np.diagonal(Vd, axis1=-2, axis2=-1))
        dW = dE[..., None, :] - dE[..., :, None]  # [n, m]: d(E_m - E_n)
        spread = self.bohr_spread(dW)
        off = self.same_level() & ~np.eye(self.dim, dtype=bool)
        mixing = np.max(np.abs(Vd) * off[:, None], axis=(-2, -1))
        scale = 1.0 + np.abs(Vd).max(axis=(-2, -1))
        return np.maximum(spread, mixing) <= tol * scale

    def to_lab(self, x: np.ndarray) -> np.ndarray:
        """Eigenframe operators ``(b, ..., d, d)`` -> lab frame ``U x U^+``."""
        U = self.U.reshape(self.U.shape[:1] + (1,) * (x.ndim - 3) + self.U.shape[1:])
        return U @ x @ np.conj(np.swapaxes(U, -1, -2))

    def to_eig(self, x: np.ndarray) -> np.ndarray:
        """Lab-frame operators ``(b, ..., d, d)`` -> eigenframe ``U^+ x U``."""
        U = self.U.reshape(self.U.shape[:1] + (1,) * (x.ndim - 3) + self.U.shape[1:])
        return np.conj(np.swapaxes(U, -1, -2)) @ x @ U

    @staticmethod
    def trace(O: np.ndarray, y: np.ndarray) -> np.ndarray:
        """``Tr[O x]`` for operators ``O (b, p, d, d)`` and vectors ``y (b, n, d*d)``:
        ``(b, p, n)``."""
        d = O.shape[-1]
        OT = np.swapaxes(O, -1, -2).reshape(*O.shape[:-2], d * d)
        return np.einsum("bpc,bnc->bpn", OT, y)


def steady_derivative(fg: FrozenGenerator, Vd: np.ndarray, method: str) -> np.ndarray:
    """``d_v rho_0`` along ``V~_v (b, n, d, d)``, eigenframe ``(b, n, d*d)``.

    ``method="gibbs"``: Daleckii-Krein (all baths at one temperature). ``"general"``:
    ``-L^D (d_v L) rho_0``, for which ``Vd`` must be the backend's prepared directions.
    """
    if method == "gibbs":
        return fg.gibbs_derivative(float(fg.machine.temperatures[0]), Vd)
    y = np.stack([fg.dgen_steady(j) for j in range(Vd.shape[1])], axis=1)
    return -fg.drazin(y)


def label_order(label: np.ndarray):
    """``(order, starts, point)`` of :meth:`FrozenGenerator._bohr_order` from Bohr group labels
    ``(b, d, d)``."""
    b = label.shape[0]
    top = int(label.max()) + 1
    glab = (label.reshape(b, -1) + np.arange(b)[:, None] * top).reshape(-1)
    order = np.argsort(glab, kind="stable")
    gs = glab[order]
    starts = np.flatnonzero(np.r_[True, gs[1:] != gs[:-1]])
    return order, starts, gs[starts] // top


def bohr_gap(groups: BohrGroups) -> np.ndarray:
    """``(b,)``: the smallest separation of two distinct Bohr frequencies."""
    w = np.sort(groups.omega.reshape(len(groups.omega), -1), axis=-1)
    gaps = np.diff(w, axis=-1)
    return np.where(gaps > 0, gaps, np.inf).min(axis=-1, initial=np.inf)


def tilt_order(k) -> int:
    """Validate the derivative order of :meth:`FrozenGenerator.tilt` (an integer >= 1)."""
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k: the order of the chi-derivative must be an integer >= 1, "
                         f"got {k!r}")
    return int(k)
