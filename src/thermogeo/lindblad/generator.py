"""Global secular (Davies) Lindblad generator at frozen parameters, in the eigenbasis of H.

With ``H = sum_n E_n |n><n|`` and Bohr frequencies grouped by projectors
(:mod:`thermogeo.linalg.bohr`)::

    A_alpha(omega) = sum_{E_m - E_n = omega} |n><n| A_alpha |m><m|
    D_alpha rho    = sum_omega gamma_alpha(omega) [A(omega) rho A(omega)^+
                                                   - 1/2 {A(omega)^+ A(omega), rho}]
    L rho          = -i [H, rho] + sum_alpha D_alpha rho

(Lamb shift neglected). Everything is represented in the eigenframe ``rho~ = U^+ rho U``,
where ``-i[H, .]`` is diagonal and each ``A(omega)`` is a masked copy of ``A~ = U^+ A U``.
Reference: H.-P. Breuer and F. Petruccione, The Theory of Open Quantum Systems, sec. 3.3;
docs/theory.md section 2.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from thermogeo.lindblad.family import Jumps, jump_superop, jumps
from thermogeo.linalg.bohr import BohrGroups, bohr_groups
from thermogeo.model.machine import Machine
from thermogeo.numerics import Numerics


def dissipator_superop(gam: np.ndarray, B: np.ndarray, C: np.ndarray,
                       label: np.ndarray) -> np.ndarray:
    """Eigenframe superoperator of ``sum_omega g_omega (B_w rho C_w^+ - 1/2 {C_w^+ B_w, rho})``.

    With ``B = C = A~`` and ``gam`` the rates this is the Davies dissipator; other arguments
    give its derivatives (the map is linear in ``gam`` and in each of ``B``, ``C``).

    Parameters
    ----------
    gam : (*b, d, d) float
        Rate of the group of each element ``[n, m]`` (jump m -> n).
    B, C : (*b, d, d) complex
        Operators in the eigenframe.
    label : (*b, d, d) int
        Bohr group label of each element.

    Returns
    -------
    (*b, d*d, d*d) complex
    """
    d = B.shape[-1]
    t1 = grouped_sandwich(gam, B, C, label).reshape(B.shape[:-2] + (d, d, d, d))
    same_e = label[..., :, :, None] == label[..., :, None, :]  # [e,a,c]: lab[e,a]==lab[e,c]
    K = np.einsum("...ea,...ec,...eac->...ac", gam * C.conj(), B, same_e)
    eye = np.eye(d)
    t1 -= 0.5 * np.einsum("...ac,bd->...abcd", K, eye)
    t1 -= 0.5 * np.einsum("ac,...db->...abcd", eye, K)
    return t1.reshape(*t1.shape[:-4], d * d, d * d)


def grouped_sandwich(gam: np.ndarray, B: np.ndarray, C: np.ndarray,
                     label: np.ndarray) -> np.ndarray:
    """Eigenframe superoperator of the jump part ``sum_omega g_omega B_w rho C_w^+`` of
    :func:`dissipator_superop` (the part the counting field tilts): ``(*b, d*d, d*d)``."""
    d = B.shape[-1]
    same = label[..., :, None, :, None] == label[..., None, :, None, :]  # [a,b,c,d]
    S = np.einsum("...ac,...bd->...abcd", gam * B, C.conj()) * same
    return S.reshape(*S.shape[:-4], d * d, d * d)


def dissipator_apply(terms, label: np.ndarray, y: np.ndarray,
                     same: np.ndarray | None = None) -> np.ndarray:
    """``sum_terms S(gam, B, C) y`` for the map ``S`` of :func:`dissipator_superop`, without
    forming it (``O(d^4)`` per point, map and operator).

    Parameters
    ----------
    terms : sequence of (gam, B, C), each (p, m, d, d)
        Rates and operators of ``m`` maps at ``p`` points (eigenframe); terms that share
        ``C`` (the same object) share one contraction.
    label : (p, d, d) int
        Bohr group label of each element.
    y : (p, v, d, d)
        Operators to which every map is applied.
    same : (p, d, d, d, d) bool, optional
        ``label[a, c] == label[e, f]`` (:func:`group_mask`), if already computed.

    Returns
    -------
    (p, v, m, d, d)
        ``sum_w g_w (B_w y C_w^+ - 1/2 {C_w^+ B_w, y})`` summed over the terms.
    """
    if same is None:
        same = group_mask(label)
    left: dict = {}  # gam o B summed per C
    for gam, B, C in terms:
        key = id(C)
        left[key] = (left[key][0] + gam * B, C) if key in left else (gam * B, C)
    out = sum(np.einsum("pmac,pvcf,pmef,pacef->pvmae", gB, y, C.conj(), same)
              for gB, C in left.values())
    same_e = label[:, :, :, None] == label[:, :, None, :]  # [e,a,c]
    K = sum(np.einsum("pmea,pmec,peac->pmac", gam * C.conj(), B, same_e)
            for gam, B, C in terms)
    out -= 0.5 * (np.einsum("pmac,pvcb->pvmab", K, y) + np.einsum("pvac,pmcb->pvmab", y, K))
    return out


def group_mask(label: np.ndarray) -> np.ndarray:
    """``(p, d, d, d, d)`` bool: ``label[a, c] == label[e, f]`` (one Bohr group)."""
    return label[:, :, :, None, None] == label[:, None, None, :, :]


@dataclass(frozen=True)
class Generator:
    """The secular generator at a batch of parameter points, in the eigenframe of H.

    Attributes
    ----------
    E : (*b, d) float            eigenvalues of H, ascending
    U : (*b, d, d) complex       eigenvectors (columns)
    groups : BohrGroups          Bohr-frequency grouping
    A : (*b, m, d, d) complex    couplings in the eigenframe, ``U^+ A_alpha U``
    V : (*b, k, d, d) complex    ``U^+ V_i U``
    rates : (*b, m, d, d) float  ``gamma_alpha`` of the group of each element
    D : (*b, m, d*d, d*d)        per-bath dissipators (eigenframe superoperators)
    L : (*b, d*d, d*d)           full generator (eigenframe superoperator)
    jumps : Jumps or None        the jump operators of a non-secular master equation
                                 (:mod:`thermogeo.lindblad.family`); None for ``secular``
    """

    E: np.ndarray
    U: np.ndarray
    groups: BohrGroups
    A: np.ndarray
    V: np.ndarray
    rates: np.ndarray
    D: np.ndarray
    L: np.ndarray
    jumps: Jumps | None = None

    def to_lab(self, S: np.ndarray) -> np.ndarray:
        """Eigenframe superoperator ``(*b, ..., d*d, d*d)`` -> lab frame (``U . U^+``
        conjugation); axes after the batch axes (e.g. the bath axis of ``D``) are kept."""
        d = self.U.shape[-1]
        W = np.einsum("...ac,...bd->...abcd", self.U, self.U.conj()).reshape(
            *self.U.shape[:-2], d * d, d * d)
        W = W.reshape(W.shape[:-2] + (1,) * max(0, S.ndim - W.ndim) + W.shape[-2:])
        return W @ S @ np.conj(np.swapaxes(W, -1, -2))

    def state_to_lab(self, rho: np.ndarray) -> np.ndarray:
        """Eigenframe operator ``(*b, d, d)`` -> lab frame."""
        return self.U @ rho @ np.conj(np.swapaxes(self.U, -1, -2))


def hamiltonian_part(E: np.ndarray) -> np.ndarray:
    """Diagonal of ``-i[H, .]`` in the eigenframe, ``(*b, d*d)``."""
    w = E[..., :, None] - E[..., None, :]
    return (-1j * w).reshape(*E.shape[:-1], -1)


@dataclass(frozen=True)
class Spectrum:
    """Eigenvalues ``E (b, d)``, eigenvectors ``U (b, d, d)`` and Bohr groups of ``H`` at a
    batch of points, computed once and shared by whoever needs them."""

    E: np.ndarray
    U: np.ndarray
    groups: BohrGroups

    def take(self, idx) -> Spectrum:
        """The spectra of the points ``idx``."""
        return Spectrum(self.E[idx], self.U[idx], self.groups.take(idx))


def spectrum(machine: Machine, lam: np.ndarray, numerics: Numerics | None = None
             ) -> Spectrum:
    """:class:`Spectrum` of ``H(lam)`` at points ``lam (*b, k)``."""
    numerics = numerics or Numerics()
    E, U = np.linalg.eigh(machine.hamiltonian_at(lam))
    return Spectrum(E, U, bohr_groups(E, numerics.degeneracy_tol))


def generator(machine: Machine, lam: np.ndarray, numerics: Numerics | None = None,
              spec: Spectrum | None = None) -> Generator:
    """Generator of ``machine`` at parameter points ``lam (*b, k)``: the secular (Davies)
    one, or the member of the family of :mod:`thermogeo.lindblad.family` that
    ``machine.master_equation`` names.

    Returns a :class:`Generator` in the eigenframe (no chunking: callers chunk large
    batches, see :func:`thermogeo.response.response`). ``spec``: the points' spectrum, if
    already computed (:func:`spectrum`).
    """
    numerics = numerics or Numerics()
    spec = spec or spectrum(machine, lam, numerics)
    E, U, groups = spec.E, spec.U, spec.groups
    Ud = np.conj(np.swapaxes(U, -1, -2))[..., None, :, :]
    A = Ud @ machine.couplings @ U[..., None, :, :]
    V = Ud @ machine.V @ U[..., None, :, :]
    rates = np.stack([b.rate(groups.omega) for b in machine.baths], axis=-3)
    J = None
    if machine.master_equation.secular:
        D = dissipator_superop(rates, A, A, groups.label[..., None, :, :])
    else:
        batch = E.shape[:-1]
        flat = np.asarray(lam, dtype=float).reshape(-1, len(machine.parameters))
        J = jumps(machine, E.reshape(-1, E.shape[-1]), U.reshape((-1,) + U.shape[-2:]), flat,
                  numerics)
        d2 = E.shape[-1] ** 2
        D = jump_superop(J.ops, J.ops).reshape(batch + (len(machine.baths), d2, d2))
    L = D.sum(axis=-3)
    idx = np.arange(L.shape[-1])
    L[..., idx, idx] += hamiltonian_part(E)
    return Generator(E=E, U=U, groups=groups, A=A, V=V, rates=rates, D=D, L=L, jumps=J)
