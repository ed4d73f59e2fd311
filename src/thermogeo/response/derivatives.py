"""Exact parameter derivatives of the secular generator and of its steady state.

First-order perturbation theory of ``H(lam) = H0 + sum_i lam_i V_i`` in the eigenframe: with
``V~ = U^+ V_i U``, eigenvalues move by ``dE_n = V~_nn`` and eigenvectors by ``dU = U X`` with
the anti-Hermitian ``X_mn = V~_mn / (E_n - E_m)`` between different levels (zero inside a
degenerate level). The eigenframe representation of the lab-frame derivative of a
superoperator ``S(lam)`` is then ``dS~ + [X, S~]`` (``[X, .]`` as a superoperator), where
``dS~`` differentiates the eigenframe matrix elements at fixed Bohr grouping:
the couplings by ``dA~ = [A~, X]`` and the rates by ``gamma'(omega) d omega``.

The secular generator is differentiable only where the perturbation keeps every group of
degenerate Bohr frequencies together; :func:`differentiable` reports where it does not.

The steady-state derivative is ``d_i rho_0 = -L^D (d_i L) rho_0`` in general and, at equal
temperatures (Gibbs state), the Daleckii-Krein formula
``(d_i rho_0)_mn = V_mn (p_m - p_n)/(E_m - E_n)`` (``-(p_n/T)(V_mn - delta_mn <V>)`` for
degenerate levels). See docs/theory.md section 4.
"""

from __future__ import annotations

import numpy as np

from thermogeo.lindblad.generator import Generator, dissipator_superop
from thermogeo.linalg.superop import commutator
from thermogeo.model.machine import Machine


def perturbation_generator(gen: Generator) -> np.ndarray:
    """``X (*b, k, d, d)``: eigenvector rotation per unit change of each parameter."""
    E = gen.E
    dE = E[..., None, :] - E[..., :, None]  # [m, n] = E_n - E_m
    deg = gen.groups.degenerate_levels()
    safe = np.where(deg, 1.0, dE)
    return np.where(deg[..., None, :, :], 0.0, gen.V / safe[..., None, :, :])


def frequency_derivative(gen: Generator) -> np.ndarray:
    """``d omega[n, m] / d lam_i = V~_mm - V~_nn``, ``(*b, k, d, d)``."""
    dE = np.real(np.diagonal(gen.V, axis1=-2, axis2=-1))
    return dE[..., None, :] - dE[..., :, None]


def differentiable(gen: Generator, tol: float) -> np.ndarray:
    """``(*b, k)`` bool: the Bohr grouping survives a change of each parameter.

    False where a derivative would split a group of degenerate Bohr frequencies (including
    mixing inside a degenerate level), i.e. where the secular generator has a kink.
    """
    dW = frequency_derivative(gen)  # (*b, k, d, d)
    lab = gen.groups.label
    n = lab.shape[-1] ** 2
    lab_f = lab.reshape(*lab.shape[:-2], n)
    dW_f = dW.reshape(*dW.shape[:-2], n)
    same = lab_f[..., :, None] == lab_f[..., None, :]
    spread = np.abs(dW_f[..., :, None] - dW_f[..., None, :]) * same[..., None, :, :]
    deg = gen.groups.degenerate_levels() & ~np.eye(lab.shape[-1], dtype=bool)
    mixing = np.abs(gen.V) * deg[..., None, :, :]
    scale = 1.0 + np.abs(gen.V).max(axis=(-2, -1))
    bad = np.maximum(spread.max(axis=(-2, -1)), mixing.max(axis=(-2, -1)))
    return bad <= tol * scale


def dissipator_derivatives(machine: Machine, gen: Generator, X: np.ndarray,
                           params: list[int]) -> np.ndarray:
    """Eigenframe form of ``d D_alpha / d lam_i`` for ``i`` in ``params``:
    ``(*b, len(params), m, d*d, d*d)``."""
    dW = frequency_derivative(gen)
    label = gen.groups.label[..., None, :, :]
    drate = np.stack([b.rate_derivative(gen.groups.omega) for b in machine.baths], axis=-3)
    A = gen.A
    out = []
    for i in params:
        Xi = X[..., i, None, :, :]
        dA = A @ Xi - Xi @ A
        dD = dissipator_superop(drate * dW[..., i, None, :, :], A, A, label)
        dD += dissipator_superop(gen.rates, dA, A, label)
        dD += dissipator_superop(gen.rates, A, dA, label)
        C = commutator(X[..., i, :, :])[..., None, :, :]
        dD += C @ gen.D - gen.D @ C
        out.append(dD)
    return np.stack(out, axis=-4)


def hamiltonian_derivative(gen: Generator, params: list[int]) -> np.ndarray:
    """Eigenframe form of ``d(-i[H, .])/d lam_i = -i[V_i, .]``: ``(*b, len(params), d*d, d*d)``."""
    return -1j * commutator(gen.V[..., params, :, :])


def gibbs_derivative(gen: Generator, T: float) -> np.ndarray:
    """Daleckii-Krein derivative of the Gibbs state, eigenframe, ``(*b, k, d*d)``."""
    E = gen.E
    x = -(E - E.min(axis=-1, keepdims=True)) / T
    p = np.exp(x)
    p /= p.sum(axis=-1, keepdims=True)
    deg = gen.groups.degenerate_levels()
    dE = E[..., :, None] - E[..., None, :]  # [m, n] = E_m - E_n
    dp = p[..., :, None] - p[..., None, :]
    F = np.where(deg, -p[..., None, :] / T, dp / np.where(deg, 1.0, dE))
    V = gen.V
    avg = np.einsum("...n,...knn->...k", p, V).real
    drho = V * F[..., None, :, :]
    d = E.shape[-1]
    idx = np.arange(d)
    drho[..., idx, idx] += (p / T)[..., None, :] * avg[..., None]
    return drho.reshape(*drho.shape[:-2], d * d)
