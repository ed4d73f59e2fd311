"""Throughput of sweeps: points per second of a 2-D sweep over J and b of the Heisenberg
dimer's optimal pumped heat, serially, on a local process pool with 1 and 2 workers (scaling
ratio), and on a Dask LocalCluster with 2 workers (overhead of the Dask path against the pool).

Wall times include starting the workers, as a user sees them; the per-task compute time (sum
over tasks) is printed too, so start-up and scheduling overhead can be told apart.

    python benchmarks/bench_sweeps.py [--quick]

Falls back to the pointwise response kind (and says so) when
``thermogeo.protocols.optimal`` is not installed. No timing is asserted anywhere.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import tempfile
import time
from pathlib import Path

import numpy as np

from thermogeo.sweeps import load_result, run_sweep

ROOT = Path(__file__).resolve().parents[1]
MODEL = (ROOT / "models" / "heisenberg_dimer.toml").as_posix()


def sweep_text(n_j: int, n_b: int, resolution: tuple[int, int], kind: str) -> str:
    head = f'''model = "{MODEL}"
kind = "{kind}"
chunk = 1
[combos]
J = {{ start = 1.0, stop = 3.0, num = {n_j} }}
b = {{ start = 1.5, stop = 3.0, num = {n_b} }}
'''
    if kind == "optimal":
        return head + f'''[optimal]
plane = ["Bx", "Bz"]
bath = "L"
region = {{ kind = "polar", radius = 15.0, resolution = [{resolution[0]}, {resolution[1]}] }}
'''
    n = resolution[0]
    return head + f'''[response]
grid = {{ Bx = {{ start = -3.0, stop = 3.0, num = {n} }}, Bz = [{", ".join(
        str(v) for v in np.linspace(-3.0, 3.0, n))}] }}
'''


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sweep (< 60 s)")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    args = ap.parse_args()
    kind = "optimal" if importlib.util.find_spec("thermogeo.protocols.optimal") else "response"
    if args.quick:
        n_j, n_b, res = 3, 4, (40, 64) if kind == "optimal" else (24, 24)
    else:
        n_j, n_b, res = 6, 6, (80, 128) if kind == "optimal" else (60, 60)
    runs = [("serial", {"executor": "serial"}),
            ("pool-1", {"executor": "processes", "workers": 1}),
            ("pool-2", {"executor": "processes", "workers": 2}),
            ("dask-2", {"scheduler": "local", "workers": 2})]
    out: dict = {"kind": kind, "points": n_j * n_b, "resolution": list(res), "runs": {}}
    if kind != "optimal":
        print("note: thermogeo.protocols.optimal is not available; timing the response kind")
    with tempfile.TemporaryDirectory() as tmp:
        sweep = Path(tmp) / "sweep.toml"
        sweep.write_text(sweep_text(n_j, n_b, res, kind))
        ref = None
        for name, kw in runs:
            store = Path(tmp) / f"{name}.zarr"
            t0 = time.perf_counter()
            s = run_sweep(sweep, store, **kw)
            wall = time.perf_counter() - t0
            ds = load_result(store)
            field = "max_geometric_heat" if kind == "optimal" else "rotor"
            vals = ds[field].values
            if ref is None:
                ref = vals
            same = bool(np.array_equal(vals, ref, equal_nan=True))
            workers = max(1, s.workers)
            overhead = wall - s.task_seconds / workers
            out["runs"][name] = {"wall_s": wall, "points_per_s": s.computed / wall,
                                 "task_seconds": s.task_seconds, "overhead_s": overhead,
                                 "ok": s.ok, "error": s.error, "identical_to_serial": same}
            print(f"{name:8s} {s.computed:3d} points in {wall:7.2f} s = "
                  f"{s.computed / wall:7.3f} points/s; in tasks {s.task_seconds:6.2f} s, "
                  f"start-up+scheduling {overhead:5.2f} s ({s.ok} ok, {s.error} error, "
                  f"identical to serial: {same})")
        if kind == "optimal":
            ds = load_result(Path(tmp) / "serial.zarr")
            best = ds.max_geometric_heat.where(ds.status == "ok")
            i = np.unravel_index(int(np.nanargmax(best.values)), best.shape)
            print(f"largest optimal pumped heat {float(best.values[i]):.4f} T at "
                  f"J = {float(ds.J[i[0]]):.3g}, b = {float(ds.b[i[1]]):.3g} "
                  f"(bound 2 T ln 2 = {2 * np.log(2):.4f} T)")
    r = out["runs"]
    out["scaling_2_over_1"] = r["pool-2"]["points_per_s"] / r["pool-1"]["points_per_s"]
    out["dask_over_pool_wall"] = r["dask-2"]["wall_s"] / r["pool-2"]["wall_s"]
    out["dask_minus_pool_overhead_s"] = r["dask-2"]["overhead_s"] - r["pool-2"]["overhead_s"]
    print(f"scaling ratio, pool 2 workers / 1 worker: {out['scaling_2_over_1']:.2f}x (2 cores, "
          "shared; start-up included)")
    print(f"overhead ratio, Dask LocalCluster / local pool wall time (2 workers): "
          f"{out['dask_over_pool_wall']:.2f} (extra overhead "
          f"{out['dask_minus_pool_overhead_s']:+.2f} s)")
    if args.json:
        print(json.dumps(out))


if __name__ == "__main__":
    main()
