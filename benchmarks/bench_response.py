"""Benchmark: full pointwise response of the Heisenberg dimer on a 200 x 200 grid.

Prints parameter points per second of ``thermogeo.response`` (heat response of every bath and the
metric, one batched call) beside the same quantities computed point by point with QuTiP
(Davies jump operators, ``qutip.liouvillian``, ``qutip.steadystate``, ``qutip.pseudo_inverse``
with the dense method), measured in the same run, and their ratio. QuTiP is timed on a random
subset of the grid (it is far slower) and its results are checked against ours there.

Usage: ``python benchmarks/bench_response.py [--quick]`` (quick: 40 x 40 grid, 20 QuTiP points).
Goal (issue 2): at least 300 times faster than the QuTiP pipeline.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

import thermogeo as tg

ROOT = Path(__file__).resolve().parents[1]


def davies_terms(machine, lam, tol=1e-9):
    """``(H, [[(omega, sqrt(gamma(omega)) A(omega)), ...] of each bath])``: one Davies jump
    operator per Bohr group and bath with the energy ``omega`` it releases, built by hand in the
    lab frame (numpy arrays)."""
    H = machine.hamiltonian_at(lam)
    E, U = np.linalg.eigh(H)
    W = E[None, :] - E[:, None]  # [n, m] = E_m - E_n: the energy released by the jump m -> n
    per_bath = []
    for a, bath in enumerate(machine.baths):
        At = U.conj().T @ machine.couplings[a] @ U
        terms = []
        done = np.zeros(W.shape, bool)
        for n in range(len(E)):
            for m in range(len(E)):
                if done[n, m]:
                    continue
                grp = np.abs(W - W[n, m]) <= tol * max(1.0, np.abs(E).max())
                done |= grp
                w = 0.0 if abs(W[n, m]) <= tol else float(W[n, m])
                Aw = U @ (At * grp) @ U.conj().T
                g = float(bath.rate(np.array(w)))
                if g > 0 and np.abs(Aw).max() > 1e-14:
                    terms.append((w, np.sqrt(g) * Aw))
        per_bath.append(terms)
    return H, per_bath


def davies(machine, lam, tol=1e-9):
    """``(H, [c_ops of each bath])`` as QuTiP objects (:func:`davies_terms`)."""
    import qutip as qt

    H, per_bath = davies_terms(machine, lam, tol)
    return qt.Qobj(H), [[qt.Qobj(c) for _, c in terms] for terms in per_bath]


def qutip_point(machine, lam, tol=1e-9):
    """Lambda (m, k) and metric (k, k) at one point with QuTiP objects (reference pipeline)."""
    import qutip as qt

    Hq, per_bath = davies(machine, lam, tol)
    E, U = np.linalg.eigh(machine.hamiltonian_at(lam))
    dissipators = [qt.liouvillian(qt.qzero_like(Hq), c_ops) for c_ops in per_bath]
    c_all = [c for c_ops in per_bath for c in c_ops]
    L = qt.liouvillian(Hq, c_all)
    rho0 = qt.steadystate(Hq, c_all)
    Lp = qt.pseudo_inverse(L, rho0, method="solve")
    T = machine.temperatures[0]
    p = np.exp(-(E - E.min()) / T)
    p /= p.sum()
    k = len(machine.parameters)
    Lam = np.zeros((len(machine.baths), k))
    G = np.zeros((k, k))
    for i in range(k):
        Vt = U.conj().T @ machine.V[i] @ U
        dE = E[:, None] - E[None, :]
        deg = np.abs(dE) <= tol * max(1.0, np.abs(E).max())
        F = np.where(deg, -p[None, :] / T, (p[:, None] - p[None, :]) / np.where(deg, 1, dE))
        dr = Vt * F
        dr[np.diag_indices_from(dr)] += p / T * np.real(p @ np.diag(Vt))
        z = Lp * qt.operator_to_vector(qt.Qobj(U @ dr @ U.conj().T))
        for a, D in enumerate(dissipators):
            Lam[a, i] = np.real((Hq * qt.vector_to_operator(D * z)).tr())
        for j in range(k):
            G[j, i] = np.real((qt.Qobj(machine.V[j]) * qt.vector_to_operator(z)).tr())
    return Lam, 0.5 * (G + G.T), rho0


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small grid, few QuTiP points")
    args = ap.parse_args(argv)
    n, nq = (40, 20) if args.quick else (200, 100)
    m = tg.load_model(ROOT / "models" / "heisenberg_dimer.toml")
    x = np.linspace(-3, 3, n)
    z = np.linspace(-3, 3, n) + 1e-3  # avoid the degenerate origin
    lam = np.stack(np.meshgrid(x, z, indexing="ij"), axis=-1)

    tg.response(m, lam[:2, :2])  # warm-up
    t0 = time.perf_counter()
    r = tg.response(m, lam)
    t_ours = time.perf_counter() - t0
    rate_ours = n * n / t_ours

    rng = np.random.default_rng(1)
    idx = rng.choice(n * n, nq, replace=False)
    flat = lam.reshape(-1, 2)
    qutip_point(m, flat[idx[0]])  # warm-up
    t0 = time.perf_counter()
    ref = [qutip_point(m, flat[i]) for i in idx]
    t_q = time.perf_counter() - t0
    rate_q = nq / t_q
    Lam_q = np.array([x[0] for x in ref])
    g_q = np.array([x[1] for x in ref])
    err = max(np.abs(Lam_q - r.heat_response.reshape(-1, 2, 2)[idx]).max() /
              np.abs(Lam_q).max(),
              np.abs(g_q - r.metric.reshape(-1, 2, 2)[idx]).max() / np.abs(g_q).max())

    print(f"model: heisenberg_dimer, grid {n} x {n} = {n * n} points, full response "
          "(Lambda of every bath + metric)")
    print(f"thermogeo (batched): {t_ours:8.3f} s  {rate_ours:12.1f} points/s")
    print(f"qutip (per point)  : {t_q:8.3f} s for {nq} points  {rate_q:12.1f} points/s")
    print(f"ratio thermogeo/qutip points per second: {rate_ours / rate_q:10.1f}  (goal >= 300)")
    print(f"max relative difference on the QuTiP points: {err:.2e}")
    return rate_ours / rate_q, err


if __name__ == "__main__":
    main()
