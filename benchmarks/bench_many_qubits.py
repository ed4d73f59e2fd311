"""Benchmark: full pointwise response of Heisenberg chains from 2 to 12 qubits (issue 7).

For N = 2, 4, ..., 12 and four cases (uniform or random fields; two baths at the chain ends or
one bath at every site) it prints, each measured in a fresh subprocess so that the peak memory
is that of the case alone:

* ``response``: time of ``thermogeo.response`` at one point with the rotor in the (Bx, Bz)
  plane (structured kernels, ``Numerics(kernel="structured")``);
* ``eigh``: time of ``numpy.linalg.eigh`` of the same H as the machine stores it (complex
  dtype), and ``eigh_real`` of its real part when H is real (what the kernels use);
* the ratios ``response / eigh`` and ``response / eigh_real`` (goal: <= 10 for N = 8..12);
* ``peak_MB``: the peak resident memory of the subprocess right after our response, before
  any QuTiP work (``thermogeo.resources.peak_memory_bytes``; goal: < 8 GB at N = 12),
  interpreter and machine construction included; ``est_MB``: the estimate of
  ``thermogeo.resources.structure_summary`` (arrays of the structured kernel only);
* for N <= 8 (N <= 6 with ``--quick``): the time of ``qutip.steadystate`` alone for the same
  secular (Davies) generator given to QuTiP in the eigenbasis of H, where it is sparse (see
  :func:`qutip_steady`), its ratio to our full response (goal of issue 7: >= 50 at N = 8), and
  the largest difference between the two steady states;
* for N <= 6 (``--local-max-qubits``; N <= 4 with ``--quick``): ``local ss s``, the time of
  ``qutip.steadystate(H, c_ops)`` (default method) for the setup a QuTiP user writes by hand:
  the same lab-frame ``H`` from ``qt.tensor`` of Pauli operators and LOCAL thermal jump
  operators ``sqrt(gamma(+-w_j)) sigma_-+^j`` at each coupled site (see :func:`qutip_local`),
  its ratio to our full response, the build time (excluded from the ratio) and the trace
  distance ``T(local)`` between that state and ours. **This is a different master equation
  (local, not the global secular generator) on the same Hilbert space**: it measures the cost
  of the generic lab-frame approach, not the same physics (``T(local)`` is large here: the
  exchange J = 2 is not small against the fields). The same physics in the lab frame is the
  dense global secular generator (``d^4`` entries, 64 GiB at N = 8), hence:
* for N <= 4 (``--lab-max-qubits``): ``qutip.steadystate`` of the global secular generator in
  the lab frame (dense, ``d^4`` entries) and its ratio to our response.

Model: ``H = (J/4) sum_<ij> sigma_i . sigma_j + Bx sum_j h^x_j X_j + Bz sum_j h^z_j Z_j``, J = 2,
``h = 1`` (uniform) or ``h`` uniform in [0.5, 1.5] (random, seeded); baths ohmic with strength
0.01 at T = 1: ``ends`` couples L through ``X_0 + 0.5 Z_0`` and R through ``X_{N-1} + 0.5
Z_{N-1}``; ``sites`` has one such bath per qubit. Point: Bx = 0.7, Bz = 0.4.

Usage::

    python benchmarks/bench_many_qubits.py [--quick] [--min-qubits N] [--max-qubits N]
                                            [--graph chain|ring|all]
                                            [--cases uniform-ends,...]

``--quick``: N = 2..8, QuTiP on our generator up to N = 6, the local and lab-frame QuTiP
references up to N = 4 (QuTiP's sparse LU of the local master equation takes from seconds to
minutes at N = 6 and over 10 minutes at N = 8: see docs/decisions/0703). No timing is
asserted.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

import numpy as np

CASES = ("uniform-ends", "random-ends", "uniform-sites", "random-sites")


def fields(n: int, case: str):
    """``(hx (n,), hz (n,), bath sites)`` of a case name ``<field>-<baths>``."""
    field, where = case.split("-")
    rng = np.random.default_rng(1234 + n)
    hx = np.ones(n) if field == "uniform" else rng.uniform(0.5, 1.5, n).round(6)
    hz = np.ones(n) if field == "uniform" else rng.uniform(0.5, 1.5, n).round(6)
    return hx, hz, ([0, n - 1] if where == "ends" else list(range(n)))


def build(n: int, case: str, graph: str = "chain"):
    """The benchmark machine with ``n`` qubits for a case name ``<field>-<baths>`` on an
    exchange graph (``chain``, ``ring`` or ``all``)."""
    import thermogeo as tg
    from thermogeo import Bath, Machine, Ohmic

    hx, hz, sites = fields(n, case)
    ham = [(0.5, tg.exchange(n, graph))] if n > 1 else []
    ham += [("Bx", " + ".join(f"{hx[j]:.6f}*X{j}" for j in range(n))),
            ("Bz", " + ".join(f"{hz[j]:.6f}*Z{j}" for j in range(n)))]
    names = ["L", "R"] if case.endswith("-ends") else [f"S{j}" for j in sites]
    baths = [Bath(nm, 1.0, f"X{j} + 0.5*Z{j}", Ohmic(0.01)) for nm, j in zip(names, sites)]
    return Machine(qubits=n, parameters={"Bx": 0.7, "Bz": 0.4}, hamiltonian=ham, baths=baths,
                   name=f"{graph}{n}-{case}")


def qutip_local(machine, n: int, case: str, lam):
    """(seconds to build, seconds of ``qutip.steadystate``, steady state): the generic
    lab-frame setup a QuTiP user writes by hand, with LOCAL jump operators.

    ``H`` is the same Hamiltonian built from ``qt.tensor`` of Pauli operators (checked
    against the machine's). For a bath coupling ``A = X_j + 0.5 Z_j`` at site ``j`` the
    jump operators are those of the local thermal master equation of qubit ``j`` alone:
    ``sqrt(gamma(w_j)) <g|A|e> sigma_-^j`` and ``sqrt(gamma(-w_j)) <e|A|g> sigma_+^j`` with
    ``sigma_-^j = R_j qt.sigmam() R_j^+`` the lowering operator of the local field
    ``b_j = (Bx hx_j, 0, Bz hz_j)``, ``w_j = 2 |b_j|`` the local splitting, ``|e>, |g>`` the
    local eigenstates and ``gamma = bath.rate`` (KMS rates, docs/theory.md). This is a different
    (local, non-secular in the global eigenbasis) master equation on the same Hilbert space:
    it measures the cost of the generic lab-frame approach, not the same physics. Only
    ``qt.steadystate(H, c_ops)`` (default method) is timed as the solve.
    """
    import qutip as qt

    t0 = time.perf_counter()
    Bx, Bz = (float(v) for v in lam)
    hx, hz, sites = fields(n, case)
    eye = qt.qeye(2)

    def at(op, j):
        return qt.tensor([op if i == j else eye for i in range(n)])

    paulis = (qt.sigmax(), qt.sigmay(), qt.sigmaz())
    H = 0
    for j in range(n - 1):
        for P in paulis:
            H = H + 0.5 * at(P, j) * at(P, j + 1)
    for j in range(n):
        H = H + Bx * hx[j] * at(paulis[0], j) + Bz * hz[j] * at(paulis[2], j)
    c_ops = []
    for bath, j in zip(machine.baths, sites):
        h = Bx * hx[j] * paulis[0] + Bz * hz[j] * paulis[2]
        w, R = np.linalg.eigh(h.full())
        R = qt.Qobj(R[:, ::-1])  # columns |e>, |g>: R sigma_z R^+ = h / |b|
        sm = (R * qt.sigmam() * R.dag()).to("CSR")  # sparse, as qt.sigmam() itself
        A = paulis[0] + 0.5 * paulis[2]
        e, g = R.full()[:, 0], R.full()[:, 1]
        a_ge = complex(np.conj(g) @ A.full() @ e)
        wj = float(w[1] - w[0])
        down, up = bath.rate(np.array([wj, -wj]))
        c_ops += [np.sqrt(down) * a_ge * at(sm, j), np.sqrt(up) * np.conj(a_ge) * at(sm.dag(), j)]
    t_build = time.perf_counter() - t0
    if n <= 8:
        assert np.allclose(H.full(), machine.hamiltonian_at(lam)), "qutip H != machine H"
    t = time.perf_counter()
    rho = qt.steadystate(H, c_ops)
    return t_build, time.perf_counter() - t, rho.full()


def qutip_steady(machine, lam):
    """(seconds of ``qutip.steadystate``, steady state in the lab frame).

    QuTiP gets the secular generator itself, in the eigenbasis of H where it is sparse: the
    Bohr blocks of :mod:`thermogeo.lindblad.blocks` assembled into one sparse superoperator
    (reordered to QuTiP's column stacking). Building the Liouvillian from one jump operator
    ``sqrt(gamma) A(omega)`` per Bohr group and bath (docs/theory.md) gives the same matrix but
    takes QuTiP minutes at N = 6 (``d^2`` groups); only the steady-state solve is timed.
    """
    import qutip as qt

    from thermogeo.lindblad.levels import empty_blocks
    from thermogeo.lindblad.blocks import (block_structure, block_superop, sparse_from_blocks,
                                           with_hamiltonian)
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


def run_case(n: int, case: str, with_qutip: bool, with_lab: bool, with_local: bool,
             graph: str = "chain") -> dict:
    """Measure one case in this process (called in a subprocess by :func:`main`)."""
    import warnings

    import thermogeo as tg
    from thermogeo.errors import NonUniqueSteadyStateError
    from thermogeo.numerics import Numerics
    from thermogeo.resources import peak_memory_bytes, structure_summary
    from thermogeo.response.structured import steady_state

    m = build(n, case, graph)
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
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # secular warnings at accidental degeneracies
            r = tg.response(m, lam, plane=("Bx", "Bz"), numerics=Numerics(kernel="structured"))
    except NonUniqueSteadyStateError:
        # uniform fields on an all-to-all graph with baths at two sites: permutations of the
        # other sites are a strong symmetry (a correct answer, not a failure)
        return dict(N=n, case=case, d=m.dim, baths=len(m.baths), eigh=t_eigh,
                    eigh_real=t_eigh_real, response=time.perf_counter() - t, unique=False,
                    peak_MB=peak_memory_bytes() / 2**20)
    t_resp = time.perf_counter() - t
    out = dict(N=n, case=case, d=m.dim, baths=len(m.baths), eigh=t_eigh,
               eigh_real=t_eigh_real, response=t_resp,
               heat_response_L=r.heat_response[0].tolist(), rotor_L=float(r.rotor[0]))
    # Peak of our computation alone (machine, eigh, response), before any QuTiP work.
    out["peak_MB"] = peak_memory_bytes() / 2**20
    summary = structure_summary(m, lam, Numerics(kernel="structured"))
    out["estimated_MB"] = summary["estimated_bytes"] / 2**20
    if with_qutip and summary["matrix_free_sizes"]:
        # collective spin multiplets: QuTiP's SuperLU on the sparse generator (zero block
        # 4900 with dense level-pair couplings at N = 8) stops with "Not enough memory to
        # perform factorization" and then crashes the process (measured); not attempted
        out["qutip_skipped"] = True
        with_qutip = False
    if with_qutip:
        tq, rho_q = qutip_steady(m, lam)
        rho = steady_state(m, lam)
        out.update(qutip_steadystate=tq, qutip_rho_diff=float(np.abs(rho - rho_q).max()))
    if with_lab:
        out["qutip_lab"] = qutip_lab_steady(m, lam)
    if with_local:
        tb, tl, rho_l = qutip_local(m, n, case, lam)
        rho = steady_state(m, lam)
        out.update(qutip_local_build=tb, qutip_local=tl,
                   local_trace_distance=float(0.5 * np.abs(np.linalg.eigvalsh(rho - rho_l)).sum()))
    return out


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="N = 2..8, QuTiP up to N = 6")
    p.add_argument("--max-qubits", type=int, default=None, help="largest N (default 12)")
    p.add_argument("--min-qubits", type=int, default=2, help="smallest N (default 2)")
    p.add_argument("--lab-max-qubits", type=int, default=4,
                   help="largest N for QuTiP on the dense lab-frame generator (default 4; "
                        "N = 6 takes minutes)")
    p.add_argument("--local-max-qubits", type=int, default=6,
                   help="largest N for QuTiP's steady state of the hand-written local master "
                        "equation (default 6, 4 with --quick; N = 8 takes QuTiP over 10 minutes)")
    p.add_argument("--cases", default=",".join(CASES),
                   help=f"comma-separated subset of {', '.join(CASES)}")
    p.add_argument("--graph", default="chain", choices=("chain", "ring", "all"),
                   help="exchange graph (default chain; 'all' with uniform fields makes "
                        "collective spin multiplets: matrix-free blocks, decision 0706)")
    p.add_argument("--one", default=None, help=argparse.SUPPRESS)  # "N,case,q,lab,local,g"
    a = p.parse_args(argv)
    if a.one:
        n, case, q, lab, loc, graph = a.one.split(",")
        print(json.dumps(run_case(int(n), case, q == "1", lab == "1", loc == "1", graph)))
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
    local_max = min(a.local_max_qubits, 4 if a.quick else 12)
    if a.graph != "chain":
        local_max = 0  # the hand-written QuTiP setup is the chain's
    hdr = (f"{'N':>3} {'case':<14} {'baths':>5} {'response s':>10} {'eigh s':>8} "
           f"{'ratio':>6} {'eigh_real s':>11} {'ratio':>6} {'peak MB':>8} {'est MB':>7} "
           f"{'qutip ss s':>10} {'qutip/resp':>10} {'|rho diff|':>10} {'local ss s':>10} "
           f"{'local/resp':>10} {'build s':>7} {'T(local)':>8} {'qutip lab s':>11} "
           f"{'lab/resp':>8}")
    print(hdr)
    for n in range(max(2, a.min_qubits), top + 1, 2):
        for case in cases:
            flags = (f"{n},{case},{int(n <= q_max)},{int(n <= lab_max)},{int(n <= local_max)},"
                     f"{a.graph}")
            cmd = [sys.executable, __file__, "--one", flags]
            res = subprocess.run(cmd, capture_output=True, text=True)
            if res.returncode != 0:
                print(f"{n:>3} {case:<14} failed: {res.stderr.strip().splitlines()[-1:]}")
                continue
            o = json.loads(res.stdout.strip().splitlines()[-1])
            if o.get("unique") is False:
                print(f"{n:>3} {case:<14} {o['baths']:>5} steady state not unique (reported in "
                      f"{o['response']:.3f} s; strong permutation symmetry)", flush=True)
                continue
            er = o["eigh_real"]
            line = (f"{n:>3} {case:<14} {o['baths']:>5} {o['response']:>10.3f} "
                    f"{o['eigh']:>8.3f} {o['response'] / o['eigh']:>6.2f} "
                    + (f"{er:>11.3f} {o['response'] / er:>6.2f} " if er else f"{'-':>11} {'-':>6} ")
                    + f"{o['peak_MB']:>8.0f} {o['estimated_MB']:>7.0f} ")
            if "qutip_steadystate" in o:
                line += (f"{o['qutip_steadystate']:>10.3f} "
                         f"{o['qutip_steadystate'] / o['response']:>10.1f} "
                         f"{o['qutip_rho_diff']:>10.1e} ")
            elif o.get("qutip_skipped"):
                line += f"{'skipped':>10} {'-':>10} {'-':>10} "
            else:
                line += f"{'-':>10} {'-':>10} {'-':>10} "
            if "qutip_local" in o:
                line += (f"{o['qutip_local']:>10.3f} {o['qutip_local'] / o['response']:>10.1f} "
                         f"{o['qutip_local_build']:>7.2f} {o['local_trace_distance']:>8.1e} ")
            else:
                line += f"{'-':>10} {'-':>10} {'-':>7} {'-':>8} "
            if "qutip_lab" in o:
                line += f"{o['qutip_lab']:>11.3f} {o['qutip_lab'] / o['response']:>8.1f}"
            print(line, flush=True)


if __name__ == "__main__":
    main()
