"""Benchmark: the two frozen-generator backends (dense batched, Bohr-block structured) beside
QuTiP, and whether pinning BLAS threads pays (issue 12).

One run prints, with every ratio measured in that run (no timing is asserted):

1. Heisenberg dimer (``models/heisenberg_dimer.toml``), full response with the rotor in the
   (Bx, Bz) plane on an n x n grid (x, z in [-3, 3], z shifted by 1e-3 off the degenerate
   origin; dense backend, one batched call): points/s beside the per-point QuTiP pipeline of
   ``bench_response.qutip_point`` and beside ``qutip.steadystate(H, c_ops)`` alone per point
   (Davies jump operators built as in ``qutip_point``; building them is not timed), both timed
   on a seeded random subset of the grid; the cost of the rotor (points/s without it).
2. Uniform-field Heisenberg chains (``J S_i.S_j`` with J = 2, fields Bx, Bz on every site, bath
   ``X_0`` and bath ``Z_{N-1}``, ohmic, strength 0.01, both at T = 1) of 4 and 6 qubits: the
   structured backend beside the dense one on the same (Bx, Bz) grid points, both with the
   rotor (at 6 qubits the dense backend takes about 30 s and 3 GB a point, so it runs on a
   seeded subset of the grid: ``--dense6-points``).
3. The same chains with J = 1 at unequal temperatures (hot bath T = 2 through ``X_0``, cold bath
   T = 1 through ``Z_{N-1}``, strength 0.01) for 2, 3 and 4 qubits: full response with the
   rotor with the ``auto`` kernel (whole grid) and with each kernel explicitly (seeded subset),
   beside ``qutip.steadystate(H, c_ops)`` alone per point (goal: ratio >= 300).
4. BLAS threads: the 3-qubit chain of part 3 (dense backend) with
   ``threadpoolctl.threadpool_limits(1)`` and with the default thread count, on the machine as
   it is and with 4 extra busy-loop processes (started here, bounded in time, killed at the
   end); repeats are interleaved and the median is printed.

Checks (the run raises if one fails, so ``--quick`` in the tests fails on a wrong answer):
differences are ``max|ours - reference| / max|reference|`` over the compared points and must be
below 1e-6: Lambda and the metric against ``qutip_point``, steady states and heat currents
against ``qutip.steadystate``, the rotor of one backend against the other. Part 1 also prints
the rotor against central differences of Lambda (step 1e-4; its truncation error is printed,
not checked at 1e-6). Points where the secular generator is not differentiable (a
``SecularApproximationWarning``) are counted and left out of the rotor comparisons.

Usage: ``python benchmarks/bench_backends.py [--quick] [--skip-threads]``. ``--quick``: small
grids, few QuTiP points, no 6-qubit chain, a tiny part 4 (under a minute on two cores).
"""

from __future__ import annotations

import argparse
import functools
import importlib.util
import statistics
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np

import thermogeo as tg
from thermogeo import Bath, Machine, Numerics, Ohmic
from thermogeo.errors import SecularApproximationWarning

ROOT = Path(__file__).resolve().parents[1]
RTOL = 1e-6  # relative agreement every check asks for
PLANE = ("Bx", "Bz")


@functools.cache
def _bench_response():
    """``bench_response.py`` (same directory): the reference pipeline ``qutip_point`` and
    the hand-built Davies jump operators ``davies``."""
    spec = importlib.util.spec_from_file_location(
        "bench_response", Path(__file__).resolve().parent / "bench_response.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def davies(machine: Machine, lam, tol: float = 1e-9):
    """``(H, [c_ops of each bath])`` of ``bench_response.davies``."""
    return _bench_response().davies(machine, lam, tol)


# --- machines, grids, references ---------------------------------------------------------
def chain(n: int, J: float, T_hot: float, T_cold: float, strength: float = 0.01) -> Machine:
    """Heisenberg chain ``J sum S_i.S_{i+1} + Bx sum X_j + Bz sum Z_j`` (library builders), bath
    ``H`` through ``X_0`` at ``T_hot`` and bath ``C`` through ``Z_{n-1}`` at ``T_cold``."""
    ham = [(J / 4, tg.exchange(n, "chain")), ("Bx", tg.uniform_field(n, "X")),
           ("Bz", tg.uniform_field(n, "Z"))]
    baths = [Bath("H", T_hot, tg.local_field(0, "X"), Ohmic(strength)),
             Bath("C", T_cold, tg.local_field(n - 1, "Z"), Ohmic(strength))]
    return Machine(qubits=n, parameters={"Bx": 0.7, "Bz": 0.4}, hamiltonian=ham, baths=baths,
                   name=f"chain{n}-J{J:g}-T{T_hot:g}/{T_cold:g}")


def grid(n: int) -> np.ndarray:
    """``(n*n, 2)`` points (Bx, Bz): x, z in [-3, 3], z shifted by 1e-3 (off the origin)."""
    x = np.linspace(-3.0, 3.0, n)
    lam = np.stack(np.meshgrid(x, x + 1e-3, indexing="ij"), axis=-1)
    return lam.reshape(-1, 2)


def qutip_steady(machine: Machine, points: np.ndarray):
    """QuTiP's steady state alone at each point: ``(seconds of the qutip.steadystate calls,
    rho (p, d, d), heat currents (p, m))`` with ``J_alpha = Tr[H D_alpha rho]``."""
    import qutip as qt

    seconds, rhos, currents = 0.0, [], []
    for lam in points:
        Hq, per_bath = davies(machine, lam)
        c_all = [c for cs in per_bath for c in cs]
        t0 = time.perf_counter()
        rho = qt.steadystate(Hq, c_all)
        seconds += time.perf_counter() - t0
        r, H = rho.full(), Hq.full()
        J = []
        for cs in per_bath:
            Dr = sum(c @ r @ c.conj().T - 0.5 * (c.conj().T @ c @ r + r @ c.conj().T @ c)
                     for c in (c.full() for c in cs))
            J.append(np.real(np.trace(H @ Dr)))
        rhos.append(r)
        currents.append(J)
    return seconds, np.array(rhos), np.array(currents)


def run(machine: Machine, lam: np.ndarray, kernel: str, rotor: bool = True):
    """``(Response, seconds)`` of one batched call after a warm-up on two points;
    non-differentiable points are flagged in ``Response.differentiable``, not warned."""
    nm = Numerics(kernel=kernel)
    plane = PLANE if rotor else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SecularApproximationWarning)
        tg.response(machine, lam[:2], plane=plane, numerics=nm)
        t0 = time.perf_counter()
        r = tg.response(machine, lam, plane=plane, numerics=nm)
    return r, time.perf_counter() - t0


def rel(ours, ref) -> float:
    """``max|ours - ref| / max|ref|``."""
    ours, ref = np.asarray(ours), np.asarray(ref)
    return float(np.abs(ours - ref).max() / np.abs(ref).max())


def subset(rng: np.random.Generator, n_points: int, size: int) -> np.ndarray:
    return np.sort(rng.choice(n_points, min(size, n_points), replace=False))


class Table:
    """Rows of timings and a list of checks; :meth:`finish` raises if a check failed."""

    def __init__(self):
        self.failed: list[str] = []

    @staticmethod
    def head(title: str) -> None:
        print(f"\n== {title}", flush=True)
        print(f"  {'what':<56} {'points':>7} {'seconds':>9} {'points/s':>11}")

    @staticmethod
    def row(what: str, points: int, seconds: float) -> float:
        rate = points / seconds
        shown = f"{rate:.1f}" if rate >= 10 else f"{rate:.4f}"
        print(f"  {what:<56} {points:>7d} {seconds:>9.3f} {shown:>11}", flush=True)
        return rate

    @staticmethod
    def ratio(what: str, value: float, note: str = "") -> None:
        print(f"  ratio {what:<62} {value:>9.2f}{'  ' + note if note else ''}", flush=True)

    def check(self, what: str, diff: float, tol: float = RTOL) -> None:
        ok = diff <= tol
        print(f"  max rel. difference {what:<54} {diff:9.2e}  "
              f"{'ok' if ok else f'FAILED (> {tol:.0e})'}", flush=True)
        if not ok:
            self.failed.append(f"{what}: {diff:.2e} > {tol:.0e}")

    def finish(self) -> None:
        if self.failed:
            raise RuntimeError("benchmark results disagree with the reference: "
                               + "; ".join(self.failed))


def smooth(*responses) -> np.ndarray:
    """Points differentiable along every parameter in all ``responses`` (rotor comparisons)."""
    ok = np.ones(len(responses[0].parameters), bool)
    for r in responses:
        ok &= np.all(r.differentiable, axis=-1)
    return ok


# --- the four parts ----------------------------------------------------------------------
def part_dimer(tab: Table, n: int, nq: int) -> None:
    m = tg.load_model(ROOT / "models" / "heisenberg_dimer.toml")
    lam = grid(n)
    tab.head(f"1. Heisenberg dimer, full response with rotor in (Bx, Bz), grid {n} x {n}")
    r, t = run(m, lam, "dense")
    rate = tab.row("thermogeo dense (batched), with rotor", len(lam), t)
    r0, t0 = run(m, lam, "dense", rotor=False)
    rate0 = tab.row("thermogeo dense (batched), without rotor", len(lam), t0)

    idx = subset(np.random.default_rng(1), len(lam), nq)
    pts = lam[idx]
    rs, ts = run(m, pts, "structured")
    tab.row("thermogeo structured, with rotor (subset)", len(pts), ts)
    qutip_point = _bench_response().qutip_point
    qutip_point(m, pts[0])  # warm-up
    t1 = time.perf_counter()
    ref = [qutip_point(m, p) for p in pts]
    rate_q = tab.row("qutip pipeline per point (bench_response.qutip_point)", len(pts),
                     time.perf_counter() - t1)
    qutip_steady(m, pts[:1])  # warm-up
    tss, rho_q, J_q = qutip_steady(m, pts)
    rate_ss = tab.row("qutip.steadystate(H, c_ops) alone per point", len(pts), tss)

    tab.ratio("dense with rotor / qutip pipeline", rate / rate_q, "(goal >= 300)")
    tab.ratio("dense with rotor / qutip steadystate alone", rate / rate_ss)
    tab.ratio("cost of the rotor: points/s without / with", rate0 / rate)
    items = ["concurrence:0,1", "log_negativity:0|1"]
    t2 = time.perf_counter()
    rc = tg.response(m, lam, plane=PLANE, correlations=items, check=False,
                     numerics=tg.Numerics(kernel="dense"))
    rate_c = tab.row("thermogeo dense, rotor + concurrence + log negativity", len(lam),
                     time.perf_counter() - t2)
    tab.ratio("cost of the two measures: points/s with rotor / with both", rate / rate_c,
              "(goal <= 1.2)")
    tab.check("rotor with / without the measures", rel(rc.rotor, r.rotor))

    tab.check("Lambda vs qutip_point", rel(r.heat_response[idx], [x[0] for x in ref]))
    tab.check("metric vs qutip_point", rel(r.metric[idx], [x[1] for x in ref]))
    tab.check("steady state vs qutip.steadystate", rel(r.steady_state[idx], rho_q))
    tab.check("Lambda, rotor off vs on", rel(r0.heat_response, r.heat_response))
    ok = smooth(r)[idx] & smooth(rs)
    tab.check(f"rotor dense vs structured ({ok.sum()} points)", rel(r.rotor[idx][ok],
                                                                    rs.rotor[ok]))
    # independent of the rotor formula: central differences of Lambda (dense, no rotor)
    h = 1e-4
    d = []
    for i in range(2):
        e = np.zeros(2)
        e[i] = h
        lp = run(m, pts + e, "dense", rotor=False)[0].heat_response
        lm = run(m, pts - e, "dense", rotor=False)[0].heat_response
        d.append((lp - lm) / (2 * h))  # d_i Lambda, (p, baths, k)
    fd = d[0][..., 1] - d[1][..., 0]  # d_x Lambda_y - d_y Lambda_x
    diff = rel(r.rotor[idx][ok], fd[ok])
    print(f"  max rel. difference {'rotor vs central differences of Lambda (h = 1e-4)':<54} "
          f"{diff:9.2e}  (truncation error, not checked)")


def part_chains(tab: Table, sizes: list[tuple[int, int]], dense6: int) -> None:
    for nq, n in sizes:
        m = chain(nq, J=2.0, T_hot=1.0, T_cold=1.0)
        lam = grid(n)
        tab.head(f"2. {nq}-qubit Heisenberg chain (J = 2, T = 1), rotor in (Bx, Bz), "
                 f"grid {n} x {n}")
        rs, ts = run(m, lam, "structured")
        rate_s = tab.row("structured (Bohr blocks)", len(lam), ts)
        idx = np.arange(len(lam))
        if nq > 4 and 0 < dense6 < len(lam):
            idx = subset(np.random.default_rng(2), len(lam), dense6)
        rd, td = run(m, lam[idx], "dense")
        what = "dense (batched)" + (" on a seeded subset" if len(idx) < len(lam) else "")
        rate_d = tab.row(what, len(idx), td)
        tab.ratio("structured / dense", rate_s / rate_d)
        ok = smooth(rd) & smooth(rs)[idx]
        tab.check(f"rotor structured vs dense ({ok.sum()} points)",
                  rel(rs.rotor[idx][ok], rd.rotor[ok]))
        tab.check("Lambda structured vs dense", rel(rs.heat_response[idx], rd.heat_response))


def part_unequal(tab: Table, sizes: dict[int, int], n_sub: int, n_qutip: dict[int, int]
                 ) -> None:
    for nq, n in sizes.items():
        m = chain(nq, J=1.0, T_hot=2.0, T_cold=1.0)
        lam = grid(n)
        auto = "dense" if Numerics().use_dense(nq) else "structured"
        tab.head(f"3. {nq}-qubit Heisenberg chain (J = 1, T_hot = 2, T_cold = 1, strength "
                 f"0.01), rotor in (Bx, Bz), grid {n} x {n}")
        ra, ta = run(m, lam, "auto")
        rates = {"auto": tab.row(f"thermogeo auto ({auto}), whole grid", len(lam), ta)}
        idx = subset(np.random.default_rng(3 + nq), len(lam), n_sub)
        res = {}
        for kernel in ("dense", "structured"):
            res[kernel], t = run(m, lam[idx], kernel)
            rates[kernel] = tab.row(f"thermogeo {kernel}, seeded subset", len(idx), t)
        iq = subset(np.random.default_rng(30 + nq), len(lam), n_qutip[nq])
        qutip_steady(m, lam[iq[:1]])  # warm-up
        tss, rho_q, J_q = qutip_steady(m, lam[iq])
        rate_q = tab.row("qutip.steadystate(H, c_ops) alone per point", len(iq), tss)
        for kernel, rate in rates.items():
            tab.ratio(f"{kernel} / qutip steadystate alone", rate / rate_q,
                      "(goal >= 300)" if kernel == "auto" else "")
        tab.check("heat currents vs qutip.steadystate", rel(ra.heat_current[iq], J_q))
        tab.check("steady state vs qutip.steadystate", rel(ra.steady_state[iq], rho_q))
        ok = smooth(res["dense"]) & smooth(res["structured"])
        tab.check(f"rotor structured vs dense ({ok.sum()} points)",
                  rel(res["structured"].rotor[ok], res["dense"].rotor[ok]))
        tab.check("rotor auto vs dense", rel(ra.rotor[idx][ok], res["dense"].rotor[ok]))
        tab.check("Lambda structured vs dense", rel(res["structured"].heat_response,
                                                    res["dense"].heat_response))


def busy_loops(count: int, seconds: float) -> list[subprocess.Popen]:
    """``count`` Python processes spinning for at most ``seconds`` (they stop themselves)."""
    code = f"import time\nt = time.time()\nwhile time.time() - t < {seconds:g}:\n    pass\n"
    return [subprocess.Popen([sys.executable, "-c", code]) for _ in range(count)]


def part_threads(tab: Table, n: int, repeats: int, load_seconds: float) -> None:
    from threadpoolctl import threadpool_info, threadpool_limits

    m = chain(3, J=1.0, T_hot=2.0, T_cold=1.0)
    lam = grid(n)
    default = max((i["num_threads"] for i in threadpool_info()), default=1)
    tab.head(f"4. BLAS threads: 3-qubit chain of part 3, dense, grid {n} x {n} (median of "
             f"{repeats}, default {default} threads)")
    ref = run(m, lam, "dense")[0]

    def measure(tag: str) -> dict:
        times = {1: [], default: []}
        for _ in range(repeats):  # interleaved: drifts of the machine's load hit both alike
            for k in times:
                with threadpool_limits(k):
                    r, t = run(m, lam, "dense")
                times[k].append(t)
                if not np.array_equal(r.rotor, ref.rotor):  # same arithmetic or very close
                    tab.check(f"rotor with {k} BLAS threads ({tag})", rel(r.rotor, ref.rotor))
        return {k: tab.row(f"{tag}, {k} BLAS thread{'s' if k > 1 else ''}", len(lam),
                           statistics.median(v)) for k, v in times.items()}

    idle = measure("no extra load")
    procs = busy_loops(4, load_seconds)
    try:
        time.sleep(0.5)
        loaded = measure("4 busy loops")
        alive = sum(p.poll() is None for p in procs)
        if alive < len(procs):
            print(f"  note: {len(procs) - alive} busy loop(s) ended before the measurement")
    finally:
        for p in procs:
            p.kill()
            p.wait()
    tab.ratio(f"no extra load: 1 thread / {default} threads (points/s)", idle[1] / idle[default])
    tab.ratio(f"4 busy loops : 1 thread / {default} threads (points/s)",
              loaded[1] / loaded[default])
    tab.ratio(f"{default} threads: 4 busy loops / no extra load", loaded[default] / idle[default])


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small grids, few QuTiP points")
    ap.add_argument("--skip-threads", action="store_true", help="skip part 4 (BLAS threads)")
    ap.add_argument("--dense6-points", type=int, default=3,
                    help="6-qubit chain: grid points for the dense backend (about 30 s each; "
                         "0 = the whole grid; default 3)")
    a = ap.parse_args(argv)
    t_start = time.perf_counter()
    tab = Table()
    if a.quick:
        part_dimer(tab, n=40, nq=10)
        part_chains(tab, [(4, 3)], a.dense6_points)
        part_unequal(tab, {2: 8, 3: 8, 4: 8}, n_sub=12, n_qutip={2: 4, 3: 4, 4: 1})
        if not a.skip_threads:
            part_threads(tab, n=8, repeats=1, load_seconds=30)
    else:
        part_dimer(tab, n=200, nq=100)
        part_chains(tab, [(4, 10), (6, 4)], a.dense6_points)
        part_unequal(tab, {2: 40, 3: 40, 4: 20}, n_sub=100, n_qutip={2: 40, 3: 40, 4: 4})
        if not a.skip_threads:
            part_threads(tab, n=30, repeats=3, load_seconds=180)
    print(f"\ntotal {time.perf_counter() - t_start:.1f} s")
    tab.finish()


if __name__ == "__main__":
    main()
