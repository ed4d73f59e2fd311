"""The generator, steady state and Drazin inverse against QuTiP (an independent library).

The reference is built here, slowly and independently of thermogeo's kernels: the spectrum of
H is split into degenerate levels with projectors P_n, the Davies jump operators are
``sqrt(gamma_alpha(omega)) A_alpha(omega)`` with ``A(omega) = sum_{E_m - E_n = omega} P_n A P_m``
(frequencies merged within DEGENERACY_TOL), the rates come from the KMS formula written out
below, and ``qutip.liouvillian`` / ``qutip.steadystate`` / ``qutip.pseudo_inverse`` do the rest.
QuTiP stacks columns (``vec(rho)[a + b d] = rho[a, b]``); thermogeo is row-major, so QuTiP's
superoperators are permuted before comparing. ``bloch_redfield_tensor`` is deliberately not
used (docs/theory.md section 7: it differs from the Davies generator on degenerate spectra).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import qutip
from zoo import ZOO, ZooCase

from thermogeo import generator, load_model, response
from thermogeo.linalg.steady import steady_solve
from thermogeo.numerics import Numerics

QUTIP_RTOL = 1e-10  # issue 2: agreement with QuTiP to 1e-10
DEGENERACY_TOL = 1e-8  # energies/Bohr frequencies closer than this are one (zoo gaps >= 5e-3)


def kms_rate(density, T: float, omega: float) -> float:
    """gamma(omega) = 2 pi J(|omega|) (n(|omega|) + 1) for omega > 0, 2 pi J n for omega < 0,
    2 pi kappa T at omega = 0 for ohmic s = 1 (zero for s > 1). Ohmic family only."""
    kappa, s, wc = density.strength, density.exponent, density.cutoff
    if omega == 0:
        return 2 * math.pi * kappa * T if s == 1 else 0.0
    a = abs(omega)
    J = kappa * a if math.isinf(wc) else kappa * a**s * wc ** (1 - s) * math.exp(-a / wc)
    n = 1.0 / math.expm1(a / T)
    return 2 * math.pi * J * (n + 1 if omega > 0 else n)


def davies_jumps(H: np.ndarray, couplings, baths) -> list[np.ndarray]:
    """All ``sqrt(gamma_alpha(omega)) A_alpha(omega)`` for a Hermitian ``H (d, d)``."""
    E, U = np.linalg.eigh(H)
    levels = []  # (energy, projector)
    i = 0
    while i < len(E):
        j = i
        while j + 1 < len(E) and E[j + 1] - E[j] < DEGENERACY_TOL:
            j += 1
        Uk = U[:, i:j + 1]
        levels.append((E[i:j + 1].mean(), Uk @ Uk.conj().T))
        i = j + 1
    freqs: list[float] = []
    for Em, _ in levels:
        for En, _ in levels:
            w = Em - En
            if not any(abs(w - f) < DEGENERACY_TOL for f in freqs):
                freqs.append(0.0 if abs(w) < DEGENERACY_TOL else w)
    jumps = []
    for A, bath in zip(couplings, baths):
        for f in freqs:
            Aw = sum(Pn @ A @ Pm for Em, Pm in levels for En, Pn in levels
                     if abs(Em - En - f) < DEGENERACY_TOL)
            g = kms_rate(bath.spectral_density, bath.temperature, f)
            if g > 0 and np.abs(Aw).max() > 0:
                jumps.append(np.sqrt(g) * Aw)
    return jumps


def row_major(S: np.ndarray) -> np.ndarray:
    """QuTiP's column-stacking superoperator ``(d*d, d*d)`` in thermogeo's row-major form."""
    d = int(round(math.sqrt(S.shape[0])))
    return S.reshape(d, d, d, d).transpose(1, 0, 3, 2).reshape(d * d, d * d)


def qutip_reference(machine, lam):
    """(L, rho_0) from QuTiP at one point ``lam (k,)``, row-major / dense."""
    H = machine.hamiltonian_at(lam)
    c_ops = [qutip.Qobj(c) for c in davies_jumps(H, machine.couplings, machine.baths)]
    Hq = qutip.Qobj(H)
    L = qutip.liouvillian(Hq, c_ops)
    rho = qutip.steadystate(Hq, c_ops)
    return L, rho


@pytest.mark.parametrize("case", ZOO, ids=[c.label for c in ZOO])
def test_generator_and_steady_state_match_qutip(case: ZooCase):
    lam = case.lam[:1]
    gen = generator(case.machine, lam)
    L = gen.to_lab(gen.L)[0]
    rho = response(case.machine, lam).steady_state[0]
    Lq, rhoq = qutip_reference(case.machine, lam[0])
    Lq = row_major(Lq.full())
    assert np.abs(L - Lq).max() <= QUTIP_RTOL * np.abs(Lq).max()
    assert np.abs(rho - rhoq.full()).max() <= QUTIP_RTOL


def test_vectorisation_conventions_agree_on_a_random_superoperator():
    """The permutation used above maps QuTiP's spre/spost to row-major kron(A, B^T)."""
    rng = np.random.default_rng(3)
    A = rng.normal(size=(3, 3)) + 1j * rng.normal(size=(3, 3))
    B = rng.normal(size=(3, 3)) + 1j * rng.normal(size=(3, 3))
    S = (qutip.spre(qutip.Qobj(A)) * qutip.spost(qutip.Qobj(B))).full()
    np.testing.assert_allclose(row_major(S), np.kron(A, B.T), rtol=0, atol=1e-14)


@pytest.mark.parametrize("source", ["qubit_pump", "zoo-degenerate"])
def test_drazin_inverse_matches_qutip_pseudo_inverse(models_dir, source):
    if source == "qubit_pump":
        machine, lam = load_model(models_dir / "qubit_pump.toml"), np.array([0.7, 0.4])
    else:  # the exactly degenerate Heisenberg dimer of the zoo
        case = next(c for c in ZOO if c.degenerate and c.machine.qubits == 2)
        machine, lam = case.machine, case.lam[0]
    gen = generator(machine, lam[None])
    LD = gen.to_lab(steady_solve(gen.L, Numerics().uniqueness_rcond).drazin())[0]
    Lq, rhoq = qutip_reference(machine, lam)
    Rq = row_major(qutip.pseudo_inverse(Lq, rhoq, method="direct").full())
    assert np.abs(LD - Rq).max() <= QUTIP_RTOL * np.abs(Rq).max()
