"""``thermogeo exact``, ``thermogeo convergence`` and ``thermogeo balance``: the exact
periodic dynamics of a cycle beside the slow-driving expansion."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import typer

from thermogeo.cli.app import MASTER, app, print_json, user_errors
from thermogeo.cli.loops import (CIRCLE, ELLIPSE, LOOP, PLANE, POLYGON, RECTANGLE, REVERSE,
                                 SECTOR, reported_warnings)
from thermogeo.cli.progress import PROGRESS, work
from thermogeo.dynamics.convergence import MAX_PERIODS
from thermogeo.dynamics.periodic import solver_for


def loop_of(model: Path, set_: str, at: str, circle: str, ellipse: str, rectangle: str,
            sector: str, polygon: str, loop: Path | None, plane: str, reverse: bool,
            master: str = ""):
    """The machine (``--set``) and the loop of the shared loop options (``--at`` sets the
    other parameters; :func:`thermogeo.cli.cycles.build_loop`)."""
    from thermogeo.cli.cycles import _base, _machine, build_loop

    m = _machine(model, set_, master)
    lp = build_loop(m, circle=circle, ellipse=ellipse, rectangle=rectangle, sector=sector,
                    polygon=polygon, loop_file=loop, plane=plane, reverse=reverse,
                    base=_base(m, at))
    return m, lp


def parse_periods(text: str) -> np.ndarray:
    """``"10:1000:12"`` -> 12 log-spaced periods; ``"10,50,100"`` -> those periods."""
    try:
        if ":" in text:
            a, b, n = text.split(":")
            lo, hi, k = float(a), float(b), int(n)
            if not (0 < lo < hi and k >= 2):
                raise ValueError
            return np.geomspace(lo, hi, k)
        out = np.array([float(x) for x in text.split(",")])
        if len(out) < 2 or np.any(out <= 0):
            raise ValueError
        return out
    except ValueError:
        raise ValueError(f"--periods: expected START:STOP:COUNT (log-spaced, 0 < START < STOP, "
                         f"COUNT >= 2) or a comma list of at least two periods > 0, got "
                         f"{text!r}") from None


def _method(name: str, rtol: float, steps: int | None = None, nodes: int | None = None):
    """The exact solver's method object (:mod:`thermogeo.dynamics.methods`) for ``--method``,
    ``--rtol``, ``--steps``, ``--nodes``; a flag the method does not take warns
    (``IgnoredOptionWarning``, printed as a ``warning:`` line) instead of being dropped."""
    from thermogeo.dynamics import make_method
    from thermogeo.dynamics.methods import method_object, warn_ignored

    obj = method_object(name)
    flags = {"steps": steps, "nodes": nodes}
    takes = [k for k in flags if k in obj.option_names()]
    warn_ignored({f"--{k}": v for k, v in flags.items() if v is not None and k not in takes},
                 f"by --method {name} (it takes "
                 f"{', '.join('--' + k for k in takes) or 'neither --steps nor --nodes'})")
    return make_method(obj, rtol=rtol, **{k: flags[k] for k in takes})


AT = typer.Option("", "--at", help="Values of the other parameters, e.g. J=1.5 (the loop "
                  "sets those of its plane).")
SET = typer.Option("", "--set", help="Change constants, parameter defaults or bath fields, "
                   "e.g. J=2,R.strength=2,L.temperature=1.1.")
RTOL = typer.Option(1e-8, "--rtol", help="Relative accuracy of the exact heats (1e-13..1e-2).")
JSON = typer.Option(False, "--json", help="Print one JSON object.")
METHOD = typer.Option("auto", "--method", help="Exact solver (thermogeo.dynamics.methods): "
                      "auto (spectral on smooth loops up to 3 qubits, else magnus, eigenframe "
                      "beyond the dense kernels), magnus (Magnus-4 propagator, order 4), "
                      "spectral (Fourier collocation, smooth loops, exponential convergence), "
                      "krylov (Magnus-4 on the state vector, order 4) or eigenframe "
                      "(exponential midpoint steps block by block in the eigenframe, order 2 "
                      "extrapolated; many qubits).")
STEPS = typer.Option(None, "--steps", help="Fixed steps per cycle of magnus, krylov or "
                     "eigenframe (auto: picks magnus or eigenframe); ignored with a warning by "
                     "spectral. Default: adaptive to --rtol.")
NODES = typer.Option(None, "--nodes", help="Fixed collocation nodes per cycle of spectral; "
                     "ignored with a warning by the other methods. Default: adaptive to "
                     "--rtol.")


@app.command()
@user_errors
@reported_warnings
def exact(model: Path = typer.Argument(..., help="TOML model file."),
          circle: str = CIRCLE, ellipse: str = ELLIPSE, rectangle: str = RECTANGLE,
          sector: str = SECTOR, polygon: str = POLYGON, loop: Path = LOOP,
          plane: str = PLANE, reverse: bool = REVERSE,
          period: float = typer.Option(..., "--period", help="Driving period tau."),
          rtol: float = RTOL, method: str = METHOD, steps: int | None = STEPS,
          nodes: int | None = NODES, at: str = AT, set_: str = SET,
          master: str = MASTER, show: bool = PROGRESS,
          json: bool = JSON):
    """Heat, work, first-law residual and entropy production per cycle of the exact periodic
    state, beside the slow-driving expansion (orders 0, 1 and 2 and their sum). The JSON names
    the solver that ran (method, order, steps, converged, message)."""
    from thermogeo.dynamics import exact_cycle

    m, lp = loop_of(model, set_, at, circle, ellipse, rectangle, sector, polygon, loop, plane,
                    reverse, master=master)
    meth = _method(method, rtol, steps, nodes)
    with work("exact", _exact_estimate(meth, lp, m, period), show=show):
        res = exact_cycle(m, lp, period, method=meth)
    out = res.to_dict()
    if json:
        print_json(out)
        return
    typer.echo(f"period {res.period:g}: {res.method} (order {res.order}), {res.steps} "
               f"{res.step_unit}, error estimate {res.error_estimate:.2e}, relaxation time "
               f"{res.relaxation_time:.4g}")
    typer.echo(f"status: {res.message}")
    e = out["expansion"]
    typer.echo("heat per cycle into the system: exact, and the expansion tau Q^(0) + Q_geo + "
               "Q^(2)/tau term by term")
    for b in m.bath_names:
        typer.echo(f"bath {b}: Q exact {out['heat'][b]:+.10g}   expansion {e['heat'][b]:+.10g} "
                   f"= tau Q0 {e['heat_order0'][b]:+.6g} + Q_geo "
                   f"{e['geometric_heat'][b]:+.10g} + Q2/tau {e['heat_order2'][b]:+.6g}")
    typer.echo(f"work {res.work:+.10g}   expansion {e['work']:+.10g} = W1 "
               f"{e['work_order1']:+.6g} + W_diss {e['dissipated_work']:+.6g}")
    typer.echo(f"first-law residual {res.first_law_residual:+.3e}   entropy production "
               f"{res.entropy_production:+.10g}")


def _exact_estimate(meth, loop, machine, period: float) -> str:
    """The estimate ``exact`` prints before its work."""
    r = solver_for(machine, loop, meth)
    fixed = getattr(r, "steps", None) or getattr(r, "nodes", None)
    how = (f"{fixed} {r.step_unit}" if fixed else
           f"{r.step_unit} refined until the heat agrees to rtol {r.rtol:g}")
    return (f"the periodic state at tau = {period:g} by {r.name} ({how}; dimension "
            f"{machine.dim}, {'smooth loop' if loop.smooth else 'loop with corners'}), then "
            "the expansion along the loop")


CONVERGENCE_HELP = (
    "Error of the first- and second-order expansion against the exact heat per cycle, with "
    "fitted log-log slopes (expected -1 and -2).\n\n"
    "The errors are absolute: exact minus expansion, in units of energy (the expansion to first "
    "order is tau Q^(0) + Q_geo, to second order + Q^(2)/tau). Each slope is fitted, bath by "
    "bath, over the periods of its asymptotic regime, where the error is accounted for by its "
    "leading term: order 1 where |err2| <= 0.05 |err1| (the second-order term explains the "
    "first-order error), order 2 where err2 tau^2 (the third-order coefficient) has settled to "
    "5 % between successive periods; both above 10 times the solver's error estimate. Those "
    "periods are marked '1' and '2'. Without --periods the command chooses the periods: "
    "doubling from 5 relaxation times until every bath of --bath has 3 periods in the regime "
    "of order 2 (or reaches the noise floor), at most --max-periods.")


@app.command("convergence", help=CONVERGENCE_HELP)
@user_errors
@reported_warnings
def convergence_cmd(model: Path = typer.Argument(..., help="TOML model file."),
                    circle: str = CIRCLE, ellipse: str = ELLIPSE, rectangle: str = RECTANGLE,
                    sector: str = SECTOR, polygon: str = POLYGON, loop: Path = LOOP,
                    plane: str = PLANE, reverse: bool = REVERSE,
                    periods: str = typer.Option(
                        "", "--periods", help="START:STOP:COUNT (log-spaced) or a list; "
                        "default: chosen by the command (see above)."),
                    max_periods: int = typer.Option(
                        MAX_PERIODS, "--max-periods", help="Budget of periods of the "
                        "automatic choice."),
                    bath: str = typer.Option("", "--bath", help="Baths whose asymptotic "
                                             "regime ends the automatic choice, e.g. R or L,R "
                                             "(default: all)."),
                    rtol: float = typer.Option(1e-10, "--rtol", help="Relative accuracy of "
                                               "the exact heats (1e-13..1e-2)."),
                    plot: Path | None = typer.Option(None, "--plot", help="Save a log-log "
                                                     "figure (png, pdf, svg)."),
                    method: str = METHOD, steps: int | None = STEPS,
                    nodes: int | None = NODES, at: str = AT, set_: str = SET,
                    master: str = MASTER,
                    show: bool = PROGRESS, json: bool = JSON):
    """Error of the first- and second-order expansion against the exact heat per cycle, with
    fitted log-log slopes (see ``CONVERGENCE_HELP``)."""
    from thermogeo.dynamics import convergence

    m, lp = loop_of(model, set_, at, circle, ellipse, rectangle, sector, polygon, loop, plane,
                    reverse, master=master)
    taus = parse_periods(periods) if periods else None
    if max_periods < 2:
        raise ValueError(f"--max-periods: expected an integer >= 2, got {max_periods}")
    baths = [b.strip() for b in bath.split(",")] if bath else None
    for b in baths or ():
        m.bath_index(b)
    meth = _method(method, rtol, steps, nodes)
    how = (f"{len(taus)} periods {taus.min():.4g}..{taus.max():.4g}" if taus is not None else
           f"periods doubling from 5 relaxation times, at most {max_periods}")
    with work("convergence", f"the exact periodic state at {how} ({solver_for(m, lp, meth).name}"
              f", rtol {rtol:g}), beside the expansion", unit="period",
              total=len(taus) if taus is not None else max_periods, show=show):
        c = convergence(m, lp, taus, method=meth, baths=baths, max_periods=max_periods)
    ds = c.to_dataset()
    if plot is not None:
        from thermogeo.plot.dynamics import convergence_figure
        convergence_figure(ds).savefig(plot)
    names = list(m.bath_names)
    fit = {b: c.asymptotic[:, i] for i, b in enumerate(names)}
    fit2 = {b: c.asymptotic2[:, i] for i, b in enumerate(names)}
    out = {
        "periods": c.periods,
        "heat_exact": {b: c.heat_exact[:, i] for i, b in enumerate(names)},
        "error_kind": c.error_kind,
        "error_order1": {b: c.error_order1[:, i] for i, b in enumerate(names)},
        "error_order2": {b: c.error_order2[:, i] for i, b in enumerate(names)},
        "asymptotic_order1": fit,
        "asymptotic_order2": fit2,
        "slope_order1": dict(zip(names, c.slope_order1)),
        "slope_order2": dict(zip(names, c.slope_order2)),
        "geometric_heat": dict(zip(names, c.geometric_heat)),
        "heat_order2_coefficient": dict(zip(names, c.heat_order2_coefficient)),
        "relaxation_time": c.relaxation_time,
        "error_estimate": c.error_estimate,
        "method": c.method,
        "order": c.order,
        "plane": list(lp.plane),
    }
    if plot is not None:
        out["plot"] = str(plot)
    if json:
        print_json(out)
        return
    typer.echo(f"absolute errors of the expansion (exact minus expansion, energy) per cycle; "
               f"relaxation time {c.relaxation_time:.4g}; '1', '2': in the asymptotic regime of "
               "that order (its fit)")
    typer.echo("period        " + "  ".join(f"err1[{b}]      err2[{b}]     " for b in names))
    for i, t in enumerate(c.periods):
        typer.echo(f"{t:<12.5g}  " + "  ".join(
            f"{out['error_order1'][b][i]:+.3e}{'1' if fit[b][i] else ' '}  "
            f"{out['error_order2'][b][i]:+.3e}{'2' if fit2[b][i] else ' '}" for b in names))

    def where(used):
        return (f"{len(used)} periods {used.min():.4g}..{used.max():.4g}" if len(used) else
                "no period in its asymptotic regime")

    for i, b in enumerate(names):
        typer.echo(f"slopes {b}: order1 {c.slope_order1[i]:.3f} ({where(c.periods[fit[b]])}), "
                   f"order2 {c.slope_order2[i]:.3f} ({where(c.periods[fit2[b]])})")


@app.command()
@user_errors
@reported_warnings
def balance(model: Path = typer.Argument(..., help="TOML model file."),
            circle: str = CIRCLE, ellipse: str = ELLIPSE, rectangle: str = RECTANGLE,
            sector: str = SECTOR, polygon: str = POLYGON, loop: Path = LOOP,
            plane: str = PLANE, reverse: bool = REVERSE,
            period: float | None = typer.Option(None, "--period", help="Also estimate the "
                                                "rates from the exact dynamics at this period."),
            nodes: int = typer.Option(128, "--nodes", help="Points along the path."),
            rtol: float = RTOL,
            plot: Path | None = typer.Option(None, "--plot", help="Save the balance figure."),
            method: str = METHOD, at: str = AT, set_: str = SET,
            master: str = MASTER, show: bool = PROGRESS,
            json: bool = JSON):
    """Energy-entropy balance along the path: geometric heat rates summed vs T dS/ds,
    second-order heat rates summed vs minus the dissipated power (docs/theory.md section 4)."""
    from thermogeo.dynamics import balance_along

    m, lp = loop_of(model, set_, at, circle, ellipse, rectangle, sector, polygon, loop, plane,
                    reverse, master=master)
    if nodes < 4:
        raise ValueError(f"--nodes: expected an integer >= 4, got {nodes}")
    est = f"the expansion at {nodes} points along the loop" + (
        f", and the exact limit cycle at tau = {period:g}" if period is not None else "")
    with work("balance", est, show=show):
        ds = balance_along(m, lp, period=period, nodes=nodes,
                           method=_method(method, rtol)).to_dataset()
    if plot is not None:
        from thermogeo.plot.dynamics import balance_figure
        balance_figure(ds).savefig(plot)
    r1 = float(np.nanmax(np.abs(ds["geometric_heat_rate_sum"] - ds["T_dS_ds"])))
    r2 = float(np.max(np.abs(ds["second_order_heat_rate_sum"] + ds["dissipated_power"]
                             - ds["energy_order1_ds"])))
    out = {"s": ds["s"].values,
           "geometric_heat_rate": {b: ds["geometric_heat_rate"].sel(bath=b).values
                                   for b in m.bath_names},
           "geometric_heat_rate_sum": ds["geometric_heat_rate_sum"].values,
           "T_dS_ds": ds["T_dS_ds"].values,
           "second_order_heat_rate": {b: ds["second_order_heat_rate"].sel(bath=b).values
                                      for b in m.bath_names},
           "second_order_heat_rate_sum": ds["second_order_heat_rate_sum"].values,
           "dissipated_power": ds["dissipated_power"].values,
           "energy_order1_ds": ds["energy_order1_ds"].values,
           "residual_order1": r1, "residual_order2": r2}
    if period is not None:
        for k in ("exact_geometric_heat_rate_sum", "exact_second_order_heat_rate_sum",
                  "exact_dissipated_power"):
            out[k] = ds[k].values
    if plot is not None:
        out["plot"] = str(plot)
    if json:
        print_json(out)
        return
    typer.echo(f"{len(out['s'])} points along the path")
    typer.echo(f"first order:  max |sum_a j1_a - T dS/ds| = {r1:.3e}")
    unbalanced = float(np.max(np.abs(out["second_order_heat_rate_sum"]
                                     + out["dissipated_power"])))
    typer.echo(f"second order: max |sum_a j2_a + p1 - d e1/ds| = {r2:.3e}; "
               f"max |sum_a j2_a + p1| = {unbalanced:.3e}"
               " (the total derivative d e1/ds integrates to zero over the cycle)")
