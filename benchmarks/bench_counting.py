"""Benchmark: static heat-current noise map of the Heisenberg dimer on a 200 x 200 grid.

Prints grid points per second of ``thermogeo.response.counting.counting_statistics`` (mean,
noise matrix with the cross-correlation and third cumulant of both baths' heat currents, one
batched call) beside QuTiP's ``countstat_current_noise`` point by point (Davies jump operators
built by hand, ``qutip.liouvillian``, ``qutip.steadystate``, energy-weighted current
superoperators ``I = sum_w (-w) J(w)``, ``J = sum_w w^2 J(w)``, dense pseudo-inverse), measured
in the same run, and their ratio. QuTiP is timed on a random subset of the grid and its noise
is checked against ours there.

Usage: ``python benchmarks/bench_counting.py [--quick]`` (quick: 40 x 40 grid, 10 QuTiP
points). Goal (issue 17): at least 100 times faster than QuTiP point by point.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from bench_response import davies_terms

import thermogeo as tg
from thermogeo.response.counting import counting_statistics

ROOT = Path(__file__).resolve().parents[1]


def energy_currents(machine, lam, tol=1e-9):
    """``(H, c_ops, I_ops, J_ops)`` for QuTiP at one point: the Davies jump operators of every
    Bohr group and bath and, per bath, the energy-weighted current superoperators."""
    import qutip as qt

    H, per_bath = davies_terms(machine, lam, tol)
    c_all, I_ops, J_ops = [], [], []
    for terms in per_bath:
        Ia, Ja = 0, 0
        for w, c in terms:
            c = qt.Qobj(c)
            c_all.append(c)
            S = qt.sprepost(c, c.dag())
            Ia = Ia + (-w) * S
            Ja = Ja + w**2 * S
        I_ops.append(Ia)
        J_ops.append(Ja)
    return qt.Qobj(H), c_all, I_ops, J_ops


def qutip_point(machine, lam):
    """Heat-current noise matrix ``(m, m)`` at one point with QuTiP."""
    import qutip as qt

    H, c_ops, I_ops, J_ops = energy_currents(machine, lam)
    L = qt.liouvillian(H, c_ops)
    rho = qt.steadystate(H, c_ops)
    _, noise, _ = qt.countstat_current_noise(L, [], rhoss=rho, J_ops=J_ops, I_ops=I_ops,
                                             sparse=False)
    return noise[..., 0]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args(argv)
    n, nq = (40, 10) if args.quick else (200, 40)
    m = tg.load_model(ROOT / "models" / "heisenberg_dimer.toml")
    m = m.with_values(**{"L.temperature": 1.2, "R.temperature": 0.8})
    bx, bz = np.linspace(-3, 3, n), np.linspace(-3, 3, n)
    X, Z = np.meshgrid(bx, bz, indexing="ij")
    lam = np.stack([X, Z], axis=-1)
    t0 = time.perf_counter()
    st = counting_statistics(m, lam)
    t_ours = time.perf_counter() - t0
    rng = np.random.default_rng(17)
    pick = rng.choice(n * n, size=nq, replace=False)
    flat = lam.reshape(-1, 2)[pick]
    ours = st.heat_noise.reshape(-1, 2, 2)[pick]
    ok = np.all(np.isfinite(ours), axis=(-1, -2))
    t0 = time.perf_counter()
    ref = np.array([qutip_point(m, p) for p in flat])
    t_qutip = time.perf_counter() - t0
    scale = np.abs(ref[ok]).max(axis=(-1, -2))[:, None, None]
    err = float(np.max(np.abs(ours[ok] - ref[ok]) / scale))
    pps_ours, pps_qutip = n * n / t_ours, nq / t_qutip
    ratio = pps_ours / pps_qutip
    print(f"grid {n} x {n}: thermogeo {pps_ours:,.0f} points/s ({t_ours:.2f} s), QuTiP "
          f"countstat_current_noise {pps_qutip:,.1f} points/s ({nq} points)")
    print(f"largest relative difference of the noise matrices on the QuTiP points: {err:.2e}")
    print(f"ratio thermogeo/qutip points per second: {ratio:.1f} (goal >= 100)")
    return ratio, err


if __name__ == "__main__":
    main()
