"""Benchmark: the cost of a non-secular master equation (issue 15).

Heisenberg chains (``J S_i.S_j``, J = 2, fields Bx, Bz on every site; bath L through ``X_0``
at T = 1.3, bath R through ``Z_{N-1}`` at T = 1, ohmic, strength 0.01) of 2, 3 and 4 qubits:
the full response with the rotor in the (Bx, Bz) plane at the same seeded points under the
secular generator (its best kernels, chosen automatically) and under ``ule``. Printed: seconds
and the ratio ``ule / secular`` measured in this run (goal: at most 3 for 2-4 qubits). Then one
point of the 6-qubit chain under ``ule`` (dense backend, real LU in the Hermitian basis): seconds
and the peak resident memory of this process (goal: runs on two cores and 24 GB). Everything
runs with one BLAS thread (``threadpoolctl``), as the test suite does: on a shared two-core
machine threaded LAPACK on these small matrices is several times slower (see
``bench_backends.py`` part 4).

Checks (the run raises if one fails): at every point the ``ule`` heat currents sum to zero
(first law, relative 1e-9) and its rotor matches a central difference of its heat response
(step 1e-5, relative 1e-4) at the first point.

Usage: ``python benchmarks/bench_master_equations.py [--quick]``; ``--quick``: fewer points,
no 6-qubit chain.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
import warnings

import numpy as np
from threadpoolctl import threadpool_limits

from thermogeo import Bath, Machine, Ohmic
from thermogeo.errors import SecularApproximationWarning
from thermogeo.response.response import response

PLANE = ("Bx", "Bz")


def chain(n: int) -> Machine:
    ham = [("Bx", " + ".join(f"X{i}" for i in range(n))),
           ("Bz", " + ".join(f"Z{i}" for i in range(n)))]
    ham += [(0.5, f"X{i} X{i + 1} + Y{i} Y{i + 1} + Z{i} Z{i + 1}") for i in range(n - 1)]
    return Machine(qubits=n, parameters={"Bx": 0.3, "Bz": 0.5}, hamiltonian=ham,
                   baths=[Bath("L", 1.3, "X0", Ohmic(0.01)),
                          Bath("R", 1.0, f"Z{n - 1}", Ohmic(0.01))], name=f"chain{n}")


def timed(m, lam):
    t = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SecularApproximationWarning)
        r = response(m, lam, plane=PLANE)
    return time.perf_counter() - t, r


def check(m, lam, r) -> None:
    J = r.heat_current
    if np.abs(J.sum(axis=-1)).max() > 1e-9 * np.abs(J).max():
        raise AssertionError(f"{m.name}: heat currents do not sum to zero")
    h, e = 1e-5, np.eye(2)
    x0 = lam[0]

    def Lam(x):
        return response(m, x).heat_response

    fd = ((Lam(x0 + h * e[0])[:, 1] - Lam(x0 - h * e[0])[:, 1])
          - (Lam(x0 + h * e[1])[:, 0] - Lam(x0 - h * e[1])[:, 0])) / (2 * h)
    if not np.allclose(r.rotor[0], fd, rtol=1e-4, atol=1e-8 * np.abs(fd).max()):
        raise AssertionError(f"{m.name}: rotor {r.rotor[0]} against central differences {fd}")


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true")
    args = p.parse_args(argv)
    rng = np.random.default_rng(20261202)
    sizes = {2: 40, 3: 12, 4: 3} if args.quick else {2: 400, 3: 100, 4: 20}
    ratios = {}
    print("response with the rotor, secular (automatic kernel) vs ule (dense)")
    for n, pts in sizes.items():
        lam = rng.uniform(0.2, 1.2, (pts, 2))
        m = chain(n)
        ts, _ = timed(m, lam)
        tu, ru = timed(m.with_master_equation("ule"), lam)
        check(m.with_master_equation("ule"), lam, ru)
        ratios[n] = tu / ts
        print(f"  {n} qubits, {pts:4d} points: secular {ts:8.3f} s, ule {tu:8.3f} s, "
              f"ratio ule/secular {tu / ts:6.2f} (goal <= 3)", flush=True)
    if not args.quick:
        m = chain(6).with_master_equation("ule")
        t, r = timed(m, np.array([[0.4, 0.7]]))
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"  6 qubits, 1 point: ule {t:.1f} s, peak resident memory {peak:.0f} MB "
              f"(ratio to 24 GB {peak / 24576:.3f})")
        if not np.isfinite(r.rotor).all():
            raise AssertionError("6 qubits: rotor not finite")
    return ratios


if __name__ == "__main__":
    with threadpool_limits(1):
        main(sys.argv[1:])
