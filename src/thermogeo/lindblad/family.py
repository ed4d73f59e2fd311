"""Jump operators of the master-equation family beyond the secular generator.

One construction serves every member of :class:`~thermogeo.model.master.MasterEquation`
(docs/theory.md section 13). In the eigenbasis ``K = sum_n e_n |n><n|`` of a *dissipator
Hamiltonian* (``H`` itself; for ``local`` its identity and single-qubit part
:func:`local_part`), with Bohr frequencies ``w[n, m] = e_m - e_n`` grouped into clusters
``c`` (:func:`cluster_labels`)::

    L_{alpha,c}[n, m] = F_{alpha,c}(w[n, m]) A^_alpha[n, m],
    F_{alpha,c}(w)    = sqrt(gamma_alpha(w)) [w in c]
    D_alpha y         = sum_c (L y L^+ - 1/2 {L^+ L, y})

with ``A^ = W^+ A W`` (``W`` the eigenvectors of ``K``). The derivative along a change
``dK`` (``V^ = W^+ dK W``) is the Daleckii-Krein formula of the function ``F`` of the
commutator map ``[K, .]``, exact at degenerate levels through divided differences
(:func:`divided_difference`)::

    (dL)[n, m] = - sum_k F^[1](w_nm, w_km) V^_nk A^_km + sum_l F^[1](w_nm, w_nl) A^_nl V^_lm

Operators are returned in the eigenframe of ``H`` (``U^+ . U``), where the rest of the
library holds them.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from thermogeo.linalg.bohr import bohr_groups, cluster
from thermogeo.model.machine import Machine
from thermogeo.numerics import Numerics

CLOSE = 1e-5
"""Below this separation (relative to ``1 + |w|``) a divided difference inside one cluster
is the mean of the two derivatives (error ``O(gap^2)``) rather than a difference quotient."""


def local_part(M: np.ndarray, qubits: int) -> np.ndarray:
    """The identity and single-qubit Pauli part of operators ``M (..., d, d)``.

    ``t I + sum_j (M_j - t I_2)`` embedded on qubit ``j``, with ``t = Tr M / d`` and ``M_j``
    the partial trace of ``M`` over every qubit but ``j`` divided by ``d / 2``: the orthogonal
    (Hilbert-Schmidt) projection on operators without many-qubit terms.
    """
    M = np.asarray(M)
    d = 2**qubits
    t = np.trace(M, axis1=-2, axis2=-1) / d
    eye2 = np.eye(2)
    out = t[..., None, None] * np.eye(d)
    for j in range(qubits):
        a, b = 2**j, 2**(qubits - j - 1)
        T = M.reshape(M.shape[:-2] + (a, 2, b, a, 2, b))
        Mj = np.einsum("...xiyxjy->...ij", T) / (d / 2) - t[..., None, None] * eye2
        out = out + np.einsum("...ij,xz,yw->...xiyzjw", Mj, np.eye(a), np.eye(b)).reshape(
            M.shape[:-2] + (d, d))
    return out


def cluster_labels(omega: np.ndarray, kind: str, width: float | None,
                   tol: np.ndarray) -> np.ndarray:
    """``(b, d, d)`` int: the cluster of each Bohr frequency ``omega (b, d, d)``.

    ``ule``: one cluster; ``cluster``: chains of frequencies closer than ``max(width, tol)``;
    ``secular``/``local``: chains closer than the degeneracy tolerance ``tol (b,)``.
    """
    b, d = omega.shape[0], omega.shape[-1]
    if kind == "ule":
        return np.zeros(omega.shape, dtype=int)
    gap = np.maximum(width, tol) if kind == "cluster" else tol
    label, _ = cluster(omega.reshape(b, d * d), gap)
    return label.reshape(omega.shape)


def divided_difference(fa, fb, ga, gb, a, b, same):
    """``F^[1](a, b)`` of the cluster function ``F = sqrt(gamma) [w in c]``.

    ``fa, fb``: ``F`` at ``a``, ``b``; ``ga, gb``: ``d sqrt(gamma)/dw`` at ``a``, ``b``
    (zero outside ``c``); ``same``: ``a`` and ``b`` in one cluster (then ``F`` is smooth
    between them). Different clusters are separated, so their quotient is finite.
    """
    gap = a - b
    close = same & (np.abs(gap) <= CLOSE * (1.0 + np.abs(a)))
    quotient = ~close & (gap != 0)  # equal frequencies outside c: F is zero on both
    q = (fa - fb) / np.where(quotient, gap, 1.0)
    return np.where(close, 0.5 * (ga + gb), np.where(quotient, q, 0.0))


@dataclass(frozen=True, eq=False)
class Jumps:
    """Jump operators of one family member at a batch of points.

    Attributes
    ----------
    ops : (b, m, C, d, d) complex     ``L~_{alpha,c}``, eigenframe of ``H``
    T : (b, d, d) complex or None     ``W^+ U`` (eigenframe of ``H`` -> of ``K``); None when
                                      ``K = H``
    W : (b, d, d) complex             eigenvectors of ``K``
    omega : (b, d, d)                 Bohr frequencies of ``K``, ``w[n, m] = e_m - e_n``
    label : (b, d, d) int             their clusters
    ids : (C,) int                    the cluster of each slot of ``ops``
    A : (b, m, d, d) complex          ``A^_alpha`` (eigenframe of ``K``)
    G, dG : (b, m, d, d)              ``sqrt(gamma_alpha(w))`` and its ``w``-derivative
    local : bool                      ``K`` is the local Hamiltonian
    """

    ops: np.ndarray
    T: np.ndarray | None
    W: np.ndarray
    omega: np.ndarray
    label: np.ndarray
    ids: np.ndarray
    A: np.ndarray
    G: np.ndarray
    dG: np.ndarray
    local: bool

    def to_h(self, X: np.ndarray) -> np.ndarray:
        """Operators ``(b, ..., d, d)`` in the eigenframe of ``K`` -> of ``H``."""
        if self.T is None:
            return X
        T = self.T.reshape(self.T.shape[:1] + (1,) * (X.ndim - 3) + self.T.shape[1:])
        return np.conj(np.swapaxes(T, -1, -2)) @ X @ T

    def k_frame(self, V: np.ndarray) -> np.ndarray:
        """Lab-frame operators ``(b, n, d, d)`` -> eigenframe of ``K``."""
        W = self.W[:, None]
        return np.conj(np.swapaxes(W, -1, -2)) @ V @ W

    def derivative(self, Vk: np.ndarray) -> np.ndarray:
        """``dL~_{alpha,c}`` along changes ``V^ (b, n, d, d)`` of ``K`` (eigenframe of ``K``):
        ``(b, n, m, C, d, d)`` in the eigenframe of ``H``."""
        w, lab, A, G, dG = self.omega, self.label, self.A, self.G, self.dG
        wa = w[:, None, :, None, :]  # w_nm     axes (b, alpha, n, k, m)
        wk = w[:, None, None, :, :]  # w_km
        wl = w[:, None, :, :, None]  # w_nl     axes (b, alpha, n, m->l, .)
        out = []
        for c in self.ids:
            inc = lab == c
            F = np.where(inc[:, None], G, 0.0)
            dF = np.where(inc[:, None], dG, 0.0)
            la = inc[:, None, :, None, :]
            # P1[n, k, m] = F^[1](w_nm, w_km)
            same1 = la & inc[:, None, None, :, :]
            P1 = divided_difference(F[:, :, :, None, :], F[:, :, None, :, :],
                                    dF[:, :, :, None, :], dF[:, :, None, :, :], wa, wk, same1)
            # P2[n, l, m] = F^[1](w_nm, w_nl)
            same2 = inc[:, None, :, None, :] & inc[:, None, :, :, None]
            P2 = divided_difference(F[:, :, :, None, :], F[:, :, :, :, None],
                                    dF[:, :, :, None, :], dF[:, :, :, :, None],
                                    wa, wl, same2)
            t = (-np.einsum("bankm,bjnk,bakm->bjanm", P1, Vk, A)
                 + np.einsum("banlm,banl,bjlm->bjanm", P2, A, Vk))
            out.append(t)
        return self.to_h(np.stack(out, axis=3))

    def temperature_derivative(self, machine: Machine) -> np.ndarray:
        """``d L~_{alpha,c} / d T_alpha`` (each bath's own temperature): ``(b, m, C, d, d)``."""
        w = self.omega
        dGT = np.stack([_sqrt_derivative(b.rate(w), b.rate_temperature_derivative(w))
                        for b in machine.baths], axis=1)
        return self.to_h(self._masked(dGT * self.A))

    def weighted(self, j: int) -> np.ndarray:
        """``sum_{w in c} w^j sqrt(gamma(w)) A(w)`` per bath and cluster (``j = 0``: the jump
        operators), eigenframe of ``H``: ``(b, m, C, d, d)``. The counting statistics tilt
        the cross term ``A(w) y A(w')^+`` by ``exp(-chi (w + w')/2)``."""
        return self.to_h(self._masked(self.omega[:, None] ** j * self.G * self.A))

    def _masked(self, X: np.ndarray) -> np.ndarray:
        """``(b, m, d, d)`` -> ``(b, m, C, d, d)``: ``X`` restricted to each cluster slot."""
        inc = self.label[:, None, None] == self.ids[None, None, :, None, None]
        return np.where(inc, X[:, :, None], 0.0)


SLOPE_STEP = 1e-4
"""Below ``|w| < SLOPE_STEP * T`` the slope of ``gamma`` is the central difference of step
``SLOPE_STEP * T`` (the closed form cancels there; error ``~1e-8`` relative)."""


def rate_slope(bath, omega: np.ndarray) -> np.ndarray:
    """``d gamma / d w`` of ``bath``, accurate through ``w = 0`` (where the secular generator
    never needs it and :meth:`~thermogeo.baths.bath.Bath.rate_derivative` returns zero)."""
    h = SLOPE_STEP * bath.temperature
    near = np.abs(omega) < h
    central = (bath.rate(omega + h) - bath.rate(omega - h)) / (2 * h)
    return np.where(near, central, bath.rate_derivative(omega))


def _sqrt_derivative(g: np.ndarray, dg: np.ndarray) -> np.ndarray:
    """``d sqrt(g) = dg / (2 sqrt g)`` (zero where ``g = 0``)."""
    s = np.sqrt(np.maximum(g, 0.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(s > 0, dg / np.where(s > 0, 2 * s, 1.0), 0.0)


def jumps(machine: Machine, E: np.ndarray, U: np.ndarray, lam: np.ndarray,
          numerics: Numerics) -> Jumps:
    """The jump operators of ``machine.master_equation`` (not ``secular``) at points
    ``lam (b, k)`` whose Hamiltonian has eigenvalues ``E`` and eigenvectors ``U``."""
    me = machine.master_equation
    local = me.kind == "local"
    if local:
        H = local_part(machine.hamiltonian_at(lam), machine.qubits)
        e, W = np.linalg.eigh(H)
        Tm = np.conj(np.swapaxes(W, -1, -2)) @ U
    else:
        e, W, Tm = E, U, None
    scale = np.maximum(1.0, np.abs(e).max(axis=-1))
    tol = numerics.degeneracy_tol * scale
    if local:  # secular in K: group representatives, as the Davies generator
        omega = bohr_groups(e, numerics.degeneracy_tol).omega
    else:
        omega = e[..., None, :] - e[..., :, None]
    label = cluster_labels(omega, me.kind, me.width, tol)
    Wh = np.conj(np.swapaxes(W, -1, -2))[:, None]
    A = Wh @ machine.couplings @ W[:, None]
    gam = np.stack([b.rate(omega) for b in machine.baths], axis=1)
    dgam = np.stack([rate_slope(b, omega) for b in machine.baths], axis=1)
    G = np.sqrt(np.maximum(gam, 0.0))
    dG = _sqrt_derivative(gam, dgam)
    GA = G * A
    # the clusters that carry a jump at some point and bath
    weight = np.zeros(int(label.max()) + 1)
    np.add.at(weight, np.broadcast_to(label[:, None], GA.shape).reshape(-1),
              np.abs(GA).reshape(-1))
    ids = np.flatnonzero(weight > 0)
    if ids.size == 0:
        ids = np.zeros(1, dtype=int)
    J = Jumps(ops=np.empty(0), T=Tm, W=W, omega=omega, label=label, ids=ids, A=A, G=G, dG=dG,
              local=local)
    return replace(J, ops=J.weighted(0))


def jump_superop(B: np.ndarray, C: np.ndarray) -> np.ndarray:
    """Superoperator of ``y -> sum_c (B_c y C_c^+ - 1/2 {C_c^+ B_c, y})`` for ``B, C
    (..., C, d, d)``: ``(..., d*d, d*d)`` (row-major vectorisation). ``D = S(L, L)`` and its
    derivative ``S(dL, L) + S(L, dL)``."""
    d = B.shape[-1]
    t = sandwich_superop(B, C).reshape(B.shape[:-3] + (d, d, d, d))
    K = np.einsum("...xea,...xec->...ac", C.conj(), B)
    for r in range(d):  # - 1/2 (K (x) 1) - 1/2 (1 (x) K^T), in place
        t[..., :, r, :, r] -= 0.5 * K
        t[..., r, :, r, :] -= 0.5 * np.swapaxes(K, -1, -2)
    return t.reshape(t.shape[:-4] + (d * d, d * d))


def sandwich_superop(B: np.ndarray, C: np.ndarray) -> np.ndarray:
    """Superoperator of the jump part ``y -> sum_c B_c y C_c^+`` of :func:`jump_superop`
    (the part the counting field tilts) for ``B, C (..., C, d, d)``: ``(..., d*d, d*d)``."""
    d = B.shape[-1]
    S = np.einsum("...xac,...xbe->...abce", B, C.conj())
    return S.reshape(S.shape[:-4] + (d * d, d * d))


def jump_apply(B: np.ndarray, C: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``sum_c (B_c y C_c^+ - 1/2 {C_c^+ B_c, y})`` for ``B, C (b, m, C, d, d)`` and
    ``y (b, n, d, d)``: ``(b, n, m, d, d)``, without forming superoperators (matrix products,
    ``O(C d^3)`` per point, map and operator)."""
    Ch = np.conj(np.swapaxes(C, -1, -2))
    out = jump_sandwich(B, y, C)
    K = (Ch @ B).sum(axis=2)  # (b, m, d, d)
    out -= 0.5 * (K[:, None] @ y[:, :, None] + y[:, :, None] @ K[:, None])
    return out


def jump_sandwich(B: np.ndarray, y: np.ndarray, C: np.ndarray) -> np.ndarray:
    """``sum_c B_c y C_c^+`` for ``B, C (b, m, C, d, d)`` and ``y (b, n, d, d)``:
    ``(b, n, m, d, d)``."""
    Ch = np.conj(np.swapaxes(C, -1, -2))
    return (B[:, None] @ y[:, :, None, None] @ Ch[:, None]).sum(axis=3)
