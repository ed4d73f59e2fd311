"""``thermogeo exact``, ``thermogeo convergence`` and ``thermogeo balance``: the exact
periodic dynamics of a cycle beside the slow-driving expansion."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from functools import wraps
from pathlib import Path

import numpy as np
import typer

from thermogeo.cli.app import app, parse_assignments, print_json, user_errors
from thermogeo.io import load_model
from thermogeo.protocols.paths import Circle


def reported_warnings(fn: Callable) -> Callable:
    """Print the library's warnings (e.g. SlowDrivingWarning) as ``warning: ...`` lines on
    standard error instead of letting them escape as tracebacks or vanish."""
    @wraps(fn)
    def wrapper(*args, **kwargs):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                return fn(*args, **kwargs)
            finally:
                seen = set()
                for w in caught:
                    msg = f"warning: {w.category.__name__}: {w.message}"
                    if msg not in seen:
                        seen.add(msg)
                        typer.echo(msg, err=True)
    return wrapper


def parse_circle(text: str, machine) -> Circle:
    """``"Bx=0.8,Bz=0.6,r=0.5"`` -> a counter-clockwise :class:`Circle` in the plane of the
    two named parameters (``cw=1`` for clockwise)."""
    vals = parse_assignments(text, "--circle")
    radius = vals.pop("r", None)
    cw = bool(vals.pop("cw", 0.0))
    if radius is None or len(vals) != 2:
        raise ValueError(f"--circle: expected two parameter centres and a radius, e.g. "
                         f"Bx=0.8,Bz=0.6,r=0.5 (optional cw=1), got {text!r}")
    names = list(vals)
    for n in names:
        machine.parameter_index(n)
    return Circle((names[0], names[1]), center=(vals[names[0]], vals[names[1]]),
                  radius=radius, clockwise=cw)


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


CIRCLE = typer.Option(..., "--circle", help="Circle in a parameter plane: X=cx,Y=cy,r=R "
                      "(e.g. Bx=0.8,Bz=0.6,r=0.5; add cw=1 for clockwise).")
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
def exact(model: Path = typer.Argument(..., help="TOML model file."), circle: str = CIRCLE,
          period: float = typer.Option(..., "--period", help="Driving period tau."),
          rtol: float = RTOL, method: str = METHOD, steps: int | None = STEPS,
          nodes: int | None = NODES, json: bool = JSON):
    """Heat, work, first-law residual and entropy production per cycle of the exact periodic
    state, beside the slow-driving expansion (orders 1 and 2). The JSON names the solver that
    ran (method, order, steps, converged, message)."""
    from thermogeo.dynamics import exact_cycle

    m = load_model(model)
    loop = parse_circle(circle, m)
    res = exact_cycle(m, loop, period, method=_method(method, rtol, steps, nodes))
    out = res.to_dict()
    if json:
        print_json(out)
        return
    typer.echo(f"period {res.period:g}: {res.method} (order {res.order}), {res.steps} "
               f"{res.step_unit}, error estimate {res.error_estimate:.2e}, relaxation time "
               f"{res.relaxation_time:.4g}")
    typer.echo(f"status: {res.message}")
    e = out["expansion"]
    for b in m.bath_names:
        typer.echo(f"bath {b}: Q exact {out['heat'][b]:+.10g}   expansion: Q_geo "
                   f"{e['geometric_heat'][b]:+.10g}  Q2/tau {e['heat_order2'][b]:+.6g}")
    typer.echo(f"work {res.work:+.10g} (expansion W_diss {e['dissipated_work']:+.6g})")
    typer.echo(f"first-law residual {res.first_law_residual:+.3e}   entropy production "
               f"{res.entropy_production:+.10g}")


@app.command("convergence")
@user_errors
@reported_warnings
def convergence_cmd(model: Path = typer.Argument(..., help="TOML model file."),
                    circle: str = CIRCLE,
                    periods: str = typer.Option("10:1000:12", "--periods",
                                                help="START:STOP:COUNT (log-spaced) or a list."),
                    rtol: float = typer.Option(1e-10, "--rtol", help="Relative accuracy of "
                                               "the exact heats (1e-13..1e-2)."),
                    plot: Path | None = typer.Option(None, "--plot", help="Save a log-log "
                                                     "figure (png, pdf, svg)."),
                    method: str = METHOD, steps: int | None = STEPS,
                    nodes: int | None = NODES, json: bool = JSON):
    """Error of the first- and second-order expansion against the exact heat per cycle, with
    fitted log-log slopes (expected -1 and -2)."""
    from thermogeo.dynamics import convergence

    m = load_model(model)
    loop = parse_circle(circle, m)
    ds = convergence(m, loop, parse_periods(periods),
                     method=_method(method, rtol, steps, nodes)).to_dataset()
    if plot is not None:
        from thermogeo.plot.dynamics import convergence_figure
        convergence_figure(ds).savefig(plot)
    baths = list(m.bath_names)
    out = {
        "periods": ds["period"].values,
        "heat_exact": {b: ds["heat_exact"].sel(bath=b).values for b in baths},
        "error_order1": {b: ds["error_order1"].sel(bath=b).values for b in baths},
        "error_order2": {b: ds["error_order2"].sel(bath=b).values for b in baths},
        "slope_order1": {b: float(ds["slope_order1"].sel(bath=b)) for b in baths},
        "slope_order2": {b: float(ds["slope_order2"].sel(bath=b)) for b in baths},
        "geometric_heat": {b: float(ds["geometric_heat"].sel(bath=b)) for b in baths},
        "error_estimate": ds["error_estimate"].values,
        "method": ds.attrs["method"],
        "order": ds.attrs["order"],
    }
    if plot is not None:
        out["plot"] = str(plot)
    if json:
        print_json(out)
        return
    typer.echo("period        " + "  ".join(f"err1[{b}]     err2[{b}]   " for b in baths))
    for i, t in enumerate(out["periods"]):
        typer.echo(f"{t:<12.5g}  " + "  ".join(
            f"{out['error_order1'][b][i]:+.3e}  {out['error_order2'][b][i]:+.3e}"
            for b in baths))
    typer.echo("slopes: " + ", ".join(f"{b}: order1 {out['slope_order1'][b]:.3f}, order2 "
                                      f"{out['slope_order2'][b]:.3f}" for b in baths))


@app.command()
@user_errors
@reported_warnings
def balance(model: Path = typer.Argument(..., help="TOML model file."), circle: str = CIRCLE,
            period: float | None = typer.Option(None, "--period", help="Also estimate the "
                                                "rates from the exact dynamics at this period."),
            nodes: int = typer.Option(128, "--nodes", help="Points along the path."),
            rtol: float = RTOL,
            plot: Path | None = typer.Option(None, "--plot", help="Save the balance figure."),
            method: str = METHOD, json: bool = JSON):
    """Energy-entropy balance along the path: geometric heat rates summed vs T dS/ds,
    second-order heat rates summed vs minus the dissipated power (docs/theory.md section 4)."""
    from thermogeo.dynamics import balance_along

    m = load_model(model)
    loop = parse_circle(circle, m)
    ds = balance_along(m, loop, period=period, nodes=nodes,
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
