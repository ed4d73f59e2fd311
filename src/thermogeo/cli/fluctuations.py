"""``thermogeo fluctuations``: counting statistics of the heat pumped per cycle (slow driving,
and exact at given periods)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import typer

from thermogeo.cli.app import MASTER, app, check_file_out, print_json, user_errors
from thermogeo.cli.cycles import _base, _grid, _machine, check_at
from thermogeo.cli.dynamics import loop_of
from thermogeo.cli.loops import (CIRCLE, ELLIPSE, LOOP, PLANE, POLYGON, RECTANGLE, REVERSE,
                                 SECTOR)
from thermogeo.errors import ModelError


def parse_period_list(text: str) -> list[float]:
    """``"5,10,20"`` -> periods ``> 0``; a clear error otherwise."""
    out = []
    for item in (x.strip() for x in text.split(",") if x.strip()):
        try:
            tau = float(item)
        except ValueError:
            raise ModelError(f"--period: cannot read {item!r}; expected numbers > 0 separated "
                             "by commas, e.g. 5,10,20") from None
        if not (np.isfinite(tau) and tau > 0):
            raise ModelError(f"--period: expected finite numbers > 0, got {item!r}")
        out.append(tau)
    return out


def _progress(total: int):
    """A rich progress bar over the periods on standard error when it is a terminal."""
    if total < 2 or not sys.stderr.isatty():
        return None
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    p = Progress(TextColumn("exact periods"), BarColumn(), TextColumn("{task.completed}/"
                 "{task.total}"), TimeElapsedColumn(), console=Console(stderr=True),
                 transient=True)
    return p


@app.command("fluctuations")
@user_errors
def fluctuations_cmd(
    model: Path = typer.Argument(..., help="TOML model file."),
    circle: str = CIRCLE, ellipse: str = ELLIPSE, rectangle: str = RECTANGLE,
    sector: str = SECTOR, polygon: str = POLYGON, loop: Path = LOOP, plane: str = PLANE,
    reverse: bool = REVERSE,
    period: str = typer.Option("", "--period", help="Periods tau (comma-separated) at which "
                               "to report the cumulants per cycle, slow-driving and exact."),
    exact: bool = typer.Option(True, "--exact/--no-exact", help="With --period: also the "
                               "exact per-cycle cumulants (tilted one-period propagator)."),
    rtol: float = typer.Option(1e-8, "--rtol", help="Exact cumulants: step doubling until "
                               "two levels agree to this relative accuracy."),
    nodes: int = typer.Option(None, "--nodes", help="Fixed quadrature nodes of the "
                              "slow-driving integrals instead of the adaptive doubling."),
    at: str = typer.Option("", "--at", help="Values of the other parameters, e.g. Bx=0.1."),
    master: str = MASTER,
    set_: str = typer.Option("", "--set", help="Change constants, parameter defaults or bath "
                             "fields, e.g. J=2,R.strength=2,L.temperature=1.1."),
    json: bool = typer.Option(False, "--json", help="Print one JSON object."),
):
    """Mean, variance, covariance and third cumulant of the heat exchanged with each bath per
    cycle: the slow-driving coefficients (conduction part times tau plus the geometric,
    Berry-phase part) and, with --period, the cumulants per cycle at those periods (slow
    driving and exact) with the uncertainty products Var(Q) Sigma / <Q>^2."""
    from thermogeo.dynamics.counting import exact_fluctuations
    from thermogeo.protocols.cycle import check_loop
    from thermogeo.protocols.fluctuations import cycle_fluctuations

    periods = parse_period_list(period)
    if not 0 < rtol < 1:
        raise ModelError(f"--rtol: expected a number in (0, 1), got {rtol:g}")
    m, lp = loop_of(model, set_, at, circle, ellipse, rectangle, sector, polygon, loop, plane,
                    reverse, master=master)
    check_loop(lp, m)
    f = cycle_fluctuations(m, lp, nodes=nodes)
    rows = []
    bar = _progress(len(periods)) if exact else None
    task = bar.add_task("", total=len(periods)) if bar else None
    if bar:
        bar.start()
    try:
        for tau in periods:
            row = {"period": tau, "slow_driving": f.at(tau).to_dict()}
            if exact:
                row["exact"] = exact_fluctuations(m, lp, tau, rtol=rtol).to_dict()
            rows.append(row)
            if bar:
                bar.advance(task)
    finally:
        if bar:
            bar.stop()
    out = {"plane": list(lp.plane), "bath_names": list(m.bath_names),
           "slow_driving": f.to_dict(), "periods": rows}
    if json:
        print_json(out)
        return
    typer.echo(f"loop in plane {','.join(lp.plane)} ({f.nodes} nodes, "
               f"{'converged' if f.converged else 'NOT converged'}); per cycle "
               "kappa(tau) = tau * conduction + geometric + O(1/tau)")
    for i, b in enumerate(m.bath_names):
        typer.echo(f"bath {b}: <Q> = tau*{f.heat_mean_conduction[i]:+.8g} "
                   f"{f.heat_mean_geometric[i]:+.8g}   Var(Q) = tau*"
                   f"{f.heat_covariance_conduction[i, i]:.8g} "
                   f"{f.heat_covariance_geometric[i, i]:+.8g}   <<Q^3>> = tau*"
                   f"{f.heat_third_cumulant_conduction[i]:+.8g} "
                   f"{f.heat_third_cumulant_geometric[i]:+.8g}")
    for row in rows:
        for kind in ("slow_driving", "exact"):
            if kind not in row:
                continue
            r = row[kind]
            cells = "   ".join(
                f"{b}: <Q> {_num(r['heat_mean'][b])}, Var {_num(r['heat_variance'][b])}, "
                f"<<Q^3>> {_num(r['heat_third_cumulant'][b])}, TUR "
                f"{_num(r['uncertainty_product'][b])}" for b in m.bath_names)
            typer.echo(f"tau = {row['period']:g} {kind.replace('_', ' ')}: {cells}")


@app.command("noise-map")
@user_errors
def noise_map_cmd(
    model: Path = typer.Argument(..., help="TOML model file."),
    x: str = typer.Option(..., "--x", help="x axis NAME=START:STOP:COUNT, e.g. Bx=-3:3:201."),
    y: str = typer.Option(..., "--y", help="y axis NAME=START:STOP:COUNT, e.g. Bz=-3:3:201."),
    out: Path = typer.Option(..., "--out", help="NetCDF file to write, e.g. noise.nc."),
    geometric: bool = typer.Option(True, "--geometric/--no-geometric", help="Also the "
                                   "geometric mean and variance densities of every grid cell "
                                   "(the cells' boundaries integrated: slower)."),
    nodes: int = typer.Option(8, "--nodes", help="Gauss-Legendre nodes per cell edge."),
    at: str = typer.Option("", "--at", help="Values of the other parameters, e.g. Bx=0.1."),
    master: str = MASTER,
    set_: str = typer.Option("", "--set", help="Change constants, parameter defaults or bath "
                             "fields, e.g. J=2,R.strength=2,L.temperature=1.1."),
    json: bool = typer.Option(False, "--json", help="Print one JSON object (a summary)."),
):
    """Static heat-current noise (mean, covariance, third cumulant, uncertainty product) on a
    grid of two parameters and the geometric variance density of its cells, saved as
    NetCDF."""
    from thermogeo.protocols.fluctuations import fluctuation_map
    from thermogeo.protocols.maps import save_map

    check_file_out(out, "--out", "a NetCDF file to write, e.g. noise.nc")
    m = _machine(model, set_, master)
    gx, gy = _grid(x, "--x"), _grid(y, "--y")
    if gx[0] == gy[0]:
        raise ModelError(f"--x, --y: expected two different parameters, got {gx[0]!r} twice")
    base = _base(m, at)
    check_at(m, base, (gx[0], gy[0]), "the map's axes (--x, --y)")
    ds = fluctuation_map(m, gx, gy, base, geometric=geometric, nodes=nodes)
    save_map(ds, out)
    unique = int(ds["unique"].values.sum())
    summary = {"out": str(out), "points": int(ds["unique"].size), "unique_points": unique,
               "variables": sorted(ds.data_vars)}
    if json:
        print_json(summary)
        return
    typer.echo(f"wrote {out}: {summary['points']} points ({unique} with a unique steady "
               f"state), variables {', '.join(summary['variables'])}")


def _num(v) -> str:
    return "-" if v is None or not np.isfinite(v) else f"{v:.6g}"
