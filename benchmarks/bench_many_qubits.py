"""Benchmark: full pointwise response of Heisenberg chains from 2 to 12 qubits (issue 7).

For N = 2, 4, ..., 12 and four cases (uniform or random fields; two baths at the chain ends or
one bath at every site) it prints, each measured in a fresh subprocess so that the peak memory
is that of the case alone:

* ``response``: time of ``thermogeo.response`` at one point with the rotor in the (Bx, Bz)
  plane (structured kernels, ``Numerics(kernel="structured")``);
* ``eigh``: time of ``numpy.linalg.eigh`` of the same H as the machine stores it (complex
  dtype), and ``eigh_real`` of its real part when H is real (what the kernels use);
* the ratios ``response / eigh`` and ``response / eigh_real`` (goal: <= 10 for N = 8..12);
* ``peak_MB``: the peak resident memory of the subprocess (``resource.getrusage``; goal:
  < 8 GB at N = 12), machine construction included;
* for N <= 8 (N <= 6 with ``--quick``): the time of ``qutip.steadystate`` alone for the same
  secular (Davies) generator given to QuTiP in the eigenbasis of H, where it is sparse (see
  :func:`qutip_steady`), its ratio to our full response (goal of issue 7: >= 50 at N = 8), and
  the largest difference between the two steady states;
* for N <= 4 (``--lab-max-qubits``): ``qutip.steadystate`` of the generator in the lab frame
  (dense, ``d^4`` entries; what lab-frame jump operators give) and its ratio to our response.

Model: ``H = (J/4) sum_<ij> sigma_i . sigma_j + Bx sum_j h^x_j X_j + Bz sum_j h^z_j Z_j``, J = 2,
``h = 1`` (uniform) or ``h`` uniform in [0.5, 1.5] (random, seeded); baths ohmic with strength
0.01 at T = 1: ``ends`` couples L through ``X_0 + 0.5 Z_0`` and R through ``X_{N-1} + 0.5
Z_{N-1}``; ``sites`` has one such bath per qubit. Point: Bx = 0.7, Bz = 0.4.

Usage::

    python benchmarks/bench_many_qubits.py [--quick] [--min-qubits N] [--max-qubits N]
                                            [--cases uniform-ends,...]

``--quick``: N = 2..8, QuTiP only up to N = 6 (under a minute). No timing is asserted.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

import numpy as np

CASES = ("uniform-ends", "random-ends", "uniform-sites", "random-sites")


def build(n: int, case: str):
    """The benchmark machine with ``n`` qubits for a case name ``<field>-<baths>``."""
    import thermogeo as tg
    from thermogeo import Bath, Machine, Ohmic

    field, where = case.split("-")
    rng = np.random.default_rng(1234 + n)
    hx = np.ones(n) if field == "uniform" else rng.uniform(0.5, 1.5, n)
    hz = np.ones(n) if field == "uniform" else rng.uniform(0.5, 1.5, n)
    ham = [(0.5, tg.exchange(n, "chain"))] if n > 1 else []
    ham += [("Bx", " + ".join(f"{hx[j]:.6f}*X{j}" for j in range(n))),
            ("Bz", " + ".join(f"{hz[j]:.6f}*Z{j}" for j in range(n)))]
    sites = [0, n - 1] if where == "ends" else list(range(n))
    names = ["L", "R"] if where == "ends" else [f"S{j}" for j in sites]
    baths = [Bath(nm, 1.0, f"X{j} + 0.5*Z{j}", Ohmic(0.01)) for nm, j in zip(names, sites)]
    return Machine(qubits=n, parameters={"Bx": 0.7, "Bz": 0.4}, hamiltonian=ham, baths=baths,
                   name=f"chain{n}-{case}")


def qutip_steady(machine, lam):
    """(seconds of ``qutip.steadystate``, steady state in the lab frame).

    QuTiP gets the secular generator itself, in the eigenbasis of H where it is sparse: the
    Bohr blocks of :mod:`thermogeo.lindblad.blocks` assembled into one sparse superoperator
    (reordered to QuTiP's column stacking). Building the Liouvillian from one jump operator
    ``sqrt(gamma) A(omega)`` per Bohr group and bath (physics.md) gives the same matrix but
    takes QuTiP minutes at N = 6 (``d^2`` groups); only the steady-state solve is timed.
    """
    import qutip as qt

    from thermogeo.lindblad.blocks import (block_structure, block_superop, empty_blocks,
                                           sparse_from_blocks, with_hamiltonian)
    from thermogeo.linalg.bohr import bohr_groups

    H = machine.hamiltonian_at(lam)
    E, U = np.linalg.eigh(H)
    groups = bohr_groups(E, 1e-9)
    st = block_structure(E, groups)
    D = empty_blocks(st, complex)
    for a, bath in enumerate(machine.baths):
        At = U.conj().T @ machine.couplings[a] @ U
        Da = block_superop(st, bath.rate(groups.omega), At, At)
        D.add_(Da)
    L = sparse_from_blocks(with_hamiltonian(D)).tocoo()
    d = len(E)
    perm = lambda i: (i % d) * d + i // d  # noqa: E731  row-major -> column stacking
    import scipy.sparse as sp
    Lc = sp.csr_matrix((L.data, (perm(L.row), perm(L.col))), shape=L.shape)
    Lq = qt.Qobj(Lc, dims=[[[d], [d]], [[d], [d]]])
    t = time.perf_counter()
    rho = qt.steadystate(Lq)
    dt = time.perf_counter() - t
    return dt, U @ rho.full() @ U.conj().T


def qutip_lab_steady(machine, lam):
    """Seconds of ``qutip.steadystate`` for the same generator in the lab frame (where it is
    dense: ``d^4`` entries), the form a QuTiP user gets from lab-frame jump operators."""
    import qutip as qt
    import scipy.sparse as sp

    from thermogeo.lindblad.generator import generator

    gen = generator(machine, np.asarray(lam)[None])
    L = gen.to_lab(gen.L)[0]
    del gen
    d = machine.dim
    L = L.reshape(d, d, d, d).transpose(1, 0, 3, 2).reshape(d * d, d * d)  # column stacking
    Lq = qt.Qobj(sp.csr_matrix(L), dims=[[[d], [d]], [[d], [d]]])
    del L
    t = time.perf_counter()
    qt.steadystate(Lq)
    return time.perf_counter() - t


def run_case(n: int, case: str, with_qutip: bool, with_lab: bool) -> dict:
    """Measure one case in this process (called in a subprocess by :func:`main`)."""
    import resource
    import warnings

    import thermogeo as tg
    from thermogeo.numerics import Numerics
    from thermogeo.response.structured import steady_state

    m = build(n, case)
    lam = m.point()
    H = m.hamiltonian_at(lam)
    t = time.perf_counter()
    np.linalg.eigh(H)
    t_eigh = time.perf_counter() - t
    t_eigh_real = None
    if not np.any(H.imag):
        Hr = np.ascontiguousarray(H.real)
        t = time.perf_counter()
        np.linalg.eigh(Hr)
        t_eigh_real = time.perf_counter() - t
        del Hr
    del H
    t = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # secular warnings at accidental degeneracies
        r = tg.response(m, lam, plane=("Bx", "Bz"), numerics=Numerics(kernel="structured"))
    t_resp = time.perf_counter() - t
    out = dict(N=n, case=case, d=m.dim, baths=len(m.baths), eigh=t_eigh,
               eigh_real=t_eigh_real, response=t_resp,
               heat_response_L=r.heat_response[0].tolist(), rotor_L=float(r.rotor[0]))
    if with_qutip:
        tq, rho_q = qutip_steady(m, lam)
        rho = steady_state(m, lam)
        out.update(qutip_steadystate=tq, qutip_rho_diff=float(np.abs(rho - rho_q).max()))
    if with_lab:
        out["qutip_lab"] = qutip_lab_steady(m, lam)
    out["peak_MB"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return out


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="N = 2..8, QuTiP up to N = 6")
    p.add_argument("--max-qubits", type=int, default=None, help="largest N (default 12)")
    p.add_argument("--min-qubits", type=int, default=2, help="smallest N (default 2)")
    p.add_argument("--lab-max-qubits", type=int, default=4,
                   help="largest N for QuTiP on the dense lab-frame generator (default 4; "
                        "N = 6 takes minutes)")
    p.add_argument("--cases", default=",".join(CASES),
                   help=f"comma-separated subset of {', '.join(CASES)}")
    p.add_argument("--one", default=None, help=argparse.SUPPRESS)  # internal: "N,case,q,lab"
    a = p.parse_args(argv)
    if a.one:
        n, case, q, lab = a.one.split(",")
        print(json.dumps(run_case(int(n), case, q == "1", lab == "1")))
        return
    cases = [c.strip() for c in a.cases.split(",") if c.strip()]
    bad = [c for c in cases if c not in CASES]
    if bad:
        p.error(f"--cases: unknown {bad}; accepted: {', '.join(CASES)}")
    top = a.max_qubits or (8 if a.quick else 12)
    if not 2 <= top <= 12:
        p.error(f"--max-qubits: expected 2..12, got {top}")
    q_max = 6 if a.quick else 8
    lab_max = min(a.lab_max_qubits, 4 if a.quick else 12)
    hdr = (f"{'N':>3} {'case':<14} {'baths':>5} {'response s':>10} {'eigh s':>8} "
           f"{'ratio':>6} {'eigh_real s':>11} {'ratio':>6} {'peak MB':>8} {'qutip ss s':>10} "
           f"{'qutip/resp':>10} {'|rho diff|':>10} {'qutip lab s':>11} {'lab/resp':>8}")
    print(hdr)
    for n in range(max(2, a.min_qubits), top + 1, 2):
        for case in cases:
            flags = f"{n},{case},{int(n <= q_max)},{int(n <= lab_max)}"
            cmd = [sys.executable, __file__, "--one", flags]
            res = subprocess.run(cmd, capture_output=True, text=True)
            if res.returncode != 0:
                print(f"{n:>3} {case:<14} failed: {res.stderr.strip().splitlines()[-1:]}")
                continue
            o = json.loads(res.stdout.strip().splitlines()[-1])
            er = o["eigh_real"]
            line = (f"{n:>3} {case:<14} {o['baths']:>5} {o['response']:>10.3f} "
                    f"{o['eigh']:>8.3f} {o['response'] / o['eigh']:>6.2f} "
                    + (f"{er:>11.3f} {o['response'] / er:>6.2f} " if er else f"{'-':>11} {'-':>6} ")
                    + f"{o['peak_MB']:>8.0f} ")
            if "qutip_steadystate" in o:
                line += (f"{o['qutip_steadystate']:>10.3f} "
                         f"{o['qutip_steadystate'] / o['response']:>10.1f} "
                         f"{o['qutip_rho_diff']:>10.1e} ")
            if "qutip_lab" in o:
                line += f"{o['qutip_lab']:>11.3f} {o['qutip_lab'] / o['response']:>8.1f}"
            print(line, flush=True)


if __name__ == "__main__":
    main()
