"""Benchmark: exact periodic cycle of the Heisenberg dimer at tau = 1000 against QuTiP.

Ours: :func:`thermogeo.dynamics.exact_cycle` (limit-cycle state, heats, work and first law)
to a relative error estimate below 1e-8, with the spectral collocation method (the default on
smooth loops; best of three runs) and with the Magnus-4 propagator (one run).
Reference: ``qutip.mesolve`` with a time-dependent Liouvillian built by a Python callback at
every time (the same Davies generator, converted to QuTiP's column stacking), propagating our
limit-cycle state over one period with tolerances tightened until it returns to itself to the
same accuracy. That is a lower bound on QuTiP's cost for the same result: it finds neither the
limit cycle (which would take several periods or ``d^2`` propagations) nor the heats.

Usage: ``python benchmarks/bench_exact.py [--quick]`` (quick: tau = 200, one QuTiP tolerance).
Goal (issue 4): at least 10 times faster than ``mesolve``. No timing assertions.
"""

from __future__ import annotations

import os

# Small dense matrices: multithreaded BLAS only adds contention (measured 35x slower batched
# 68x68 products on a loaded 2-core machine). Both sides run single-threaded.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

import thermogeo as tg  # noqa: E402
from thermogeo.dynamics import ExactOptions, exact_cycle  # noqa: E402
from thermogeo.protocols.paths import Circle  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def column_stacking(d: int) -> np.ndarray:
    """Permutation ``P`` with ``vec_col = P vec_row`` (QuTiP stacks columns)."""
    P = np.zeros((d * d, d * d))
    for a in range(d):
        for b in range(d):
            P[b * d + a, a * d + b] = 1.0
    return P


def qutip_cycle(machine, loop, tau, rho, rtol, atol):
    """``rho(tau)`` from ``rho(0)`` with ``qutip.mesolve`` and a callback Liouvillian."""
    import qutip as qt

    d = machine.dim
    P = column_stacking(d)
    dims = [[[d], [d]], [[d], [d]]]

    def liouvillian(t):
        lam = loop.points(machine, np.array([t / tau]))
        g = tg.generator(machine, lam)
        U = g.U[0]
        W = np.einsum("ac,bd->abcd", U, U.conj()).reshape(d * d, d * d)
        L = P @ (W @ g.L[0] @ W.conj().T) @ P.T
        return qt.Qobj(L, dims=dims)

    H = qt.QobjEvo(liouvillian)
    res = qt.mesolve(H, qt.Qobj(rho), [0.0, tau],
                     options={"rtol": rtol, "atol": atol, "nsteps": 10**7, "method": "adams"})
    return res.states[-1].full()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="short run for CI (< 60 s)")
    args = ap.parse_args(argv)
    machine = tg.load_model(ROOT / "models" / "heisenberg_dimer.toml")
    loop = Circle(("Bx", "Bz"), center=(0.8, 0.6), radius=0.5)
    tau = 200.0 if args.quick else 1000.0
    target = 1e-8
    timings = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tau is not long against the dimer's relaxation
        for method in ("spectral", "magnus"):
            best = np.inf
            for _ in range(1 if method == "magnus" else 3):  # best of 3 (first includes warm-up)
                t0 = time.perf_counter()
                ex = exact_cycle(machine, loop, tau, options=ExactOptions(rtol=target,
                                                                          method=method),
                                 expansion=False)
                best = min(best, time.perf_counter() - t0)
            timings[method] = (best, ex)
            unit = "collocation nodes" if method == "spectral" else "Magnus-4 steps"
            print(f"thermogeo exact_cycle ({method:8s}) tau = {tau:g}: {best:8.3f} s  "
                  f"({ex.steps} {unit}, relative error estimate "
                  f"{ex.error_estimate / np.abs(ex.heat).max():.1e}, first-law residual "
                  f"{ex.first_law_residual:+.1e})")
    t_ours, ex = timings["spectral"]
    print(f"  heat per cycle: {dict(zip(machine.bath_names, ex.heat.round(10)))}")
    rho = ex.periodic_state
    tols = [(1e-8, 1e-10)] if args.quick else [(1e-8, 1e-10), (1e-10, 1e-12)]
    for rtol, atol in tols:
        t0 = time.perf_counter()
        end = qutip_cycle(machine, loop, tau, rho, rtol, atol)
        t_qt = time.perf_counter() - t0
        dev = np.abs(end - rho).max() / np.abs(rho).max()
        print(f"qutip.mesolve one cycle (rtol {rtol:.0e}, atol {atol:.0e}): {t_qt:8.3f} s, "
              f"|rho(tau) - rho(0)| / |rho| = {dev:.1e};  ratio mesolve / ours = "
              f"{t_qt / t_ours:.1f} (spectral), {t_qt / timings['magnus'][0]:.1f} (magnus)")


if __name__ == "__main__":
    main()
