"""Benchmark: exact periodic dynamics and the slow-driving expansion of Heisenberg chains with
the structured (eigenframe, block by block) kernels, N = 4 to 12 qubits (issue 7).

For each N and case (the machines of ``bench_many_qubits.py``: uniform or random fields, baths
at the ends) it prints, each measured in a fresh subprocess so that the peak memory is that of
the case alone:

* ``exact s``: ``exact_cycle(method="eigenframe", steps=S)`` on a circle of radius 0.2 around
  (Bx, Bz) = (0.7, 0.4) at a period of ``PERIOD_FACTOR`` relaxation times (two passes, S/2 and
  S steps, each propagating whole cycles until the limit cycle repeats);
* ``per point s``: that time divided by the number of frozen points the passes computed (one
  eigendecomposition each), and its ratio to one ``numpy.linalg.eigh`` of the (real) H;
* ``expansion s``: ``expansion_cycle`` with the structured path expansion (its default nodes);
* ``tau/t_rel``: the period over the slowest relaxation time on the loop (the period is set
  from the relaxation time at the loop's centre; nearly dark points on the loop, as on
  uniform-field chains, make the driving less slow than intended);
* ``|Q - Q_exp| / |Q2|``: how far the exact heat is from the expansion to second order,
  relative to the second-order term (small when the driving is slow), the largest ``|Q|``, the
  error estimate and the first-law residual ``|W + sum Q|`` (both absolute);
* ``peak MB`` (``resource.getrusage``) of the subprocess.

Usage::

    python benchmarks/bench_many_qubit_dynamics.py [--quick] [--max-qubits N] [--steps S]

``--quick``: N = 4 and 6 (seconds). No timing is asserted.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

PERIOD_FACTOR = 200.0
CASES = ("random-ends", "uniform-ends")


def run_case(n: int, case: str, steps: int) -> dict:
    """Measure one case in this process (called in a subprocess by :func:`main`)."""
    import resource
    import warnings

    sys.path.insert(0, str(Path(__file__).parent))
    from bench_many_qubits import build

    from thermogeo.dynamics import ExactOptions, exact_cycle, expansion_cycle
    from thermogeo.dynamics.eigenframe import relaxation_rate
    from thermogeo.numerics import Numerics
    from thermogeo.protocols.paths import Circle
    from thermogeo.response.structured import frozen_point

    m = build(n, case)
    numerics = Numerics(kernel="structured")
    loop = Circle(("Bx", "Bz"), center=(0.7, 0.4), radius=0.2)
    H = m.hamiltonian_at(m.point()).real.copy()
    t = time.perf_counter()
    np.linalg.eigh(H)
    t_eigh = time.perf_counter() - t
    del H
    t_rel = 1.0 / relaxation_rate(frozen_point(m, m.point(), np.zeros(2), numerics))
    tau = PERIOD_FACTOR * t_rel
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # slow-driving/secular warnings are data here
        t = time.perf_counter()
        ex = exact_cycle(m, loop, tau, expansion=False,
                         options=ExactOptions(method="eigenframe", steps=steps, rtol=1e-4,
                                              numerics=numerics))
        t_exact = time.perf_counter() - t
        t = time.perf_counter()
        e = expansion_cycle(m, loop, tau, numerics=numerics)
        t_exp = time.perf_counter() - t
    points = 1 + (steps // 2 + steps) * 2  # s = 0, two passes of (at least) two cycles
    q2 = max(np.abs(e.heat_order2).max(), 1e-300)
    return dict(N=n, case=case, d=m.dim, steps=steps, tau=tau, eigh=t_eigh, exact=t_exact,
                slowness=float(tau / ex.relaxation_time),
                per_point=t_exact / points, expansion=t_exp,
                dev_over_q2=float(np.abs(ex.heat - e.heat).max() / q2),
                error_estimate=float(ex.error_estimate),
                heat=float(np.abs(ex.heat).max()), first_law=float(abs(ex.first_law_residual)),
                peak_MB=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="N = 4 and 6 only")
    p.add_argument("--max-qubits", type=int, default=None, help="largest N (default 10)")
    p.add_argument("--steps", type=int, default=32, help="steps per cycle (default 32)")
    p.add_argument("--one", default=None, help=argparse.SUPPRESS)  # internal: "N,case,steps"
    a = p.parse_args(argv)
    if a.one:
        n, case, steps = a.one.split(",")
        print(json.dumps(run_case(int(n), case, int(steps))))
        return
    top = a.max_qubits or (6 if a.quick else 10)
    if not 2 <= top <= 12:
        p.error(f"--max-qubits: expected 2..12, got {top}")
    steps = 16 if a.quick else a.steps
    print(f"{'N':>3} {'case':<13} {'steps':>5} {'exact s':>9} {'per point s':>11} "
          f"{'eigh s':>8} {'ratio':>7} {'expansion s':>11} {'|Q-Qexp|/|Q2|':>13} "
          f"{'tau/t_rel':>9} {'|Q|':>9} {'err est':>9} {'1st law':>9} {'peak MB':>8}")
    for n in range(4, top + 1, 2):
        for case in CASES:
            cmd = [sys.executable, __file__, "--one", f"{n},{case},{steps}"]
            res = subprocess.run(cmd, capture_output=True, text=True)
            if res.returncode != 0:
                print(f"{n:>3} {case:<13} failed: {res.stderr.strip().splitlines()[-1:]}")
                continue
            o = json.loads(res.stdout.strip().splitlines()[-1])
            print(f"{n:>3} {case:<13} {o['steps']:>5} {o['exact']:>9.2f} "
                  f"{o['per_point']:>11.4f} {o['eigh']:>8.4f} "
                  f"{o['per_point'] / o['eigh']:>7.1f} {o['expansion']:>11.2f} "
                  f"{o['dev_over_q2']:>13.2e} {o['slowness']:>9.3g} {o['heat']:>9.2e} "
                  f"{o['error_estimate']:>9.1e} "
                  f"{o['first_law']:>9.1e} {o['peak_MB']:>8.0f}", flush=True)


if __name__ == "__main__":
    main()
