"""``thermogeo cycle``, ``optimal``, ``optimize`` and ``map``: loops, the best pumping region,
protocol optimisation and response maps (issue 3)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import typer

from thermogeo.cli.app import (MASTER, app, check_bias, check_file_out, parse_assignments,
                               print_json, user_errors, with_master)
from thermogeo.cli.loops import (CIRCLE, ELLIPSE, LOOP, LOOP_HARMONICS, LOOP_HELP, PLANE, POLYGON,
                                 RECTANGLE, REVERSE, SAVE_LOOP, SECTOR, check_save_loop,
                                 read_loop_file, reported_warnings, save_loop_file, smooth_loop)
from thermogeo.cli.progress import PROGRESS, work
from thermogeo.errors import ModelError
from thermogeo.io import load_model

_LOOP_HELP = LOOP_HELP  # one text per loop option, shared with the dynamics commands



def parse_ranges(text: str, option: str, expected: str) -> dict[str, tuple[float, float]]:
    """``"Bx=0.2:1.0,Bz=0.1:0.9"`` -> ``{"Bx": (0.2, 1.0), "Bz": (0.1, 0.9)}``."""
    rng = {}
    for item in text.split(","):
        name, _, val = item.partition("=")
        try:
            lo, hi = (float(v) for v in val.split(":"))
        except ValueError:
            raise ModelError(f"{option}: cannot read {item!r}; expected {expected}") from None
        rng[name.strip()] = (lo, hi)
    return rng

def _plane(machine, plane: str) -> tuple[str, str]:
    if not plane:
        names = machine.parameter_names
        if len(names) < 2:
            raise ModelError(f"--plane: the model has only the parameters {names}; two are "
                             "needed")
        return names[0], names[1]
    pl = tuple(p.strip() for p in plane.split(","))
    if len(pl) != 2 or pl[0] == pl[1]:
        raise ModelError(f"--plane: expected two different parameter names x,y, got {plane!r}")
    for p in pl:
        machine.parameter_index(p)
    return pl


def _need(d: dict, keys, option):
    missing = [k for k in keys if k not in d]
    if missing:
        raise ModelError(f"{option}: missing {', '.join(missing)}; expected keys "
                         f"{', '.join(keys)}")


def _plane_keys(d: dict, extra, option):
    names = [k for k in d if k not in extra]
    if len(names) != 2:
        raise ModelError(f"{option}: expected the two plane parameters and "
                         f"{', '.join(extra)}, got {', '.join(d)}")
    return names


def build_loop(machine, *, circle="", ellipse="", rectangle="", sector="", polygon="",
               loop_file: Path | None = None, plane: str = "", reverse: bool = False,
               base=None, required: bool = True):
    """The loop described by exactly one of the loop options (see ``thermogeo cycle --help``)."""
    from thermogeo.protocols import Circle, Ellipse, Polygon, Rectangle, Sector

    given = {k: v for k, v in dict(circle=circle, ellipse=ellipse, rectangle=rectangle,
                                   sector=sector, polygon=polygon, loop=loop_file).items() if v}
    if len(given) != 1:
        if not given and not required:
            return None
        raise ModelError("loop: give exactly one of --circle, --ellipse, --rectangle, "
                         f"--sector, --polygon, --loop; got {', '.join(given) or 'none'}")
    kind, text = next(iter(given.items()))
    if kind == "circle":
        d = parse_assignments(text, "--circle")
        if "cw" in d:
            raise ModelError("--circle: 'cw' is not a key of a circle (centre and r); every "
                             "command takes --reverse for the other direction")
        x, y = _plane_keys(d, ["r"], "--circle")
        _need(d, ["r"], "--circle")
        lp = Circle((x, y), center=(d[x], d[y]), radius=d["r"], base=base)
    elif kind == "ellipse":
        d = parse_assignments(text, "--ellipse")
        x, y = _plane_keys(d, ["a", "b", "angle"], "--ellipse")
        _need(d, ["a", "b"], "--ellipse")
        lp = Ellipse((x, y), center=(d[x], d[y]), semi_axes=(d["a"], d["b"]),
                     angle=d.get("angle", 0.0), base=base)
    elif kind == "rectangle":
        rng = parse_ranges(text, "--rectangle", "NAME=LO:HI pairs, e.g. Bx=0.2:1.0,Bz=0.1:0.9")
        if len(rng) != 2:
            raise ModelError(f"--rectangle: expected two ranges NAME=LO:HI, got {text!r}")
        (x, xr), (y, yr) = rng.items()
        lp = Rectangle(xr, yr, plane=(x, y), base=base)
    elif kind == "sector":
        d = parse_assignments(text, "--sector")
        extra = ["r_in", "r_out", "theta0", "theta1", "cx", "cy"]
        bad = [k for k in d if k not in extra]
        if bad:
            raise ModelError(f"--sector: unknown key(s) {', '.join(bad)}; accepted "
                             f"{', '.join(extra)}")
        _need(d, ["r_out", "theta0", "theta1"], "--sector")
        lp = Sector(_plane(machine, plane), r_in=d.get("r_in", 0.0), r_out=d["r_out"],
                    theta0=d["theta0"], theta1=d["theta1"],
                    center=(d.get("cx", 0.0), d.get("cy", 0.0)), base=base)
    elif kind == "polygon":
        expected = "expected x:y vertices separated by ';', e.g. '0.2:0.1;1:0.1;1:1'"
        parts = [p for p in text.split(";") if p.strip()]
        for i, p in enumerate(parts):
            if len(p.split(":")) != 2:
                raise ModelError(f"--polygon: vertex {i} {p.strip()!r} has "
                                 f"{len(p.split(':'))} coordinate(s); {expected}")
        try:
            v = [tuple(float(c) for c in p.split(":")) for p in parts]
        except ValueError:
            raise ModelError(f"--polygon: cannot read {text!r}; {expected}") from None
        lp = Polygon(_plane(machine, plane), vertices=v, base=base)
    else:
        lp = read_loop_file(Path(text), plane, base, lambda p: _plane(machine, p))
    for name in lp.plane:
        machine.parameter_index(name)
    check_at(machine, base, lp.plane, f"the loop (plane {','.join(lp.plane)})")
    return lp.reversed() if reverse else lp


def check_at(machine, base, plane, by: str) -> None:
    """Refuse ``--at`` values of the plane's parameters: ``by`` sets them, they would be
    ignored."""
    fixed = [k for k in (base or {}) if k in plane]
    if fixed:
        others = ", ".join(n for n in machine.parameter_names if n not in plane) or "none"
        raise ModelError(f"--at: {', '.join(fixed)} is set by {by}; --at sets only the other "
                         f"parameters ({others})")


def _machine(model: Path, set_: str, master: str = ""):
    m = with_master(load_model(model), master)
    values = parse_assignments(set_, "--set")
    return m.with_values(**values) if values else m


def _base(machine, at: str):
    d = parse_assignments(at, "--at")
    for k in d:
        machine.parameter_index(k)
    return d or None


_SET_HELP = ("Change constants, parameter defaults or bath fields, e.g. "
             "J=2,R.strength=2,L.temperature=1.1.")

CYCLE_RTOL = 1e-8
"""Default ``--rtol`` of ``cycle``: the per-cycle figures to 8 digits (issue 3)."""
CYCLE_MAX_NODES = 2048
"""Default ``--max-nodes`` of ``cycle`` (docs/decisions/0322-cli-accuracy-defaults.md)."""
AREA_AUTO_POINTS = 40_000
"""``cycle`` computes the area integral by default when its first two levels take at most
this many points (docs/decisions/0322-cli-accuracy-defaults.md)."""
AREA_MAX_POINTS = 2**14
"""Default ``--max-area-points`` of ``cycle``: rotor points of the last level of the area
integral (the library's default, 2**17, takes minutes on three qubits)."""


@app.command("cycle")
@user_errors
@reported_warnings
def cycle_cmd(
    model: Path = typer.Argument(..., help="TOML model file."),
    circle: str = CIRCLE, ellipse: str = ELLIPSE, rectangle: str = RECTANGLE,
    sector: str = SECTOR, polygon: str = POLYGON, loop: Path = LOOP, plane: str = PLANE,
    reverse: bool = REVERSE,
    bias: float = typer.Option(None, "--bias", help="X = dT/T, 0 < |X| < 2: sets the bath "
                               "temperatures to T(1 + X/2) for --bath and T(1 - X/2) for every "
                               "other bath, T the mean of the model's temperatures (their "
                               "common value when equal; X < 0: --bath is the colder side), "
                               "and adds the engine or refrigerator figures there. Without "
                               "--bias, a model whose baths differ in temperature (--bath "
                               "against the others) gets the figures at its own temperatures."),
    bath: str = typer.Option(None, "--bath", help="Bath of A (default: the first)."),
    share: float = typer.Option(None, "--share", help="Refrigerator figures: the share f of "
                                "the dissipated work released into the cold bath, given "
                                "explicitly (e.g. 1); default: computed from the second-order "
                                "heats."),
    timing: str = typer.Option("uniform", "--timing", help="uniform or constant_dissipation."),
    at: str = typer.Option("", "--at", help="Values of the other parameters, e.g. Bx=0.1."),
    set_: str = typer.Option("", "--set", help=_SET_HELP),
    master: str = MASTER,
    correlations: str = typer.Option("", "--correlations", help="Correlation measures to "
                                     "follow along the loop (extremes reported), e.g. "
                                     "'concurrence:0,1 negativity:0|1@thermal'."),
    nodes: int = typer.Option(None, "--nodes", help="Fixed quadrature nodes (smooth loops: in "
                              "all; loops with corners: per side) instead of the adaptive "
                              "doubling."),
    rtol: float = typer.Option(CYCLE_RTOL, "--rtol", help="Adaptive quadrature: stop doubling "
                               "the nodes when two levels agree to this relative accuracy."),
    max_nodes: int = typer.Option(CYCLE_MAX_NODES, "--max-nodes", help="Adaptive quadrature: "
                                  "at most this many nodes (per side for loops with corners); "
                                  "then the best estimate is reported as not converged."),
    max_area_points: int = typer.Option(AREA_MAX_POINTS, "--max-area-points", help="Area "
                                        "integral: at most this many rotor points per level; "
                                        "then the best estimate is reported as not converged."),
    area: bool = typer.Option(None, "--area/--no-area", help="Also integrate the rotor over "
                              "the enclosed area (a Stokes check of the line integral). "
                              "Default: when its first two levels take at most "
                              f"{AREA_AUTO_POINTS:,} points (not for polygons of many sides)."),
    show: bool = PROGRESS,
    json: bool = typer.Option(False, "--json", help="Print one JSON object."),
):
    """Geometric heat (line and area integrals), dissipation, thermodynamic length and engine
    figures of one cycle."""
    from thermogeo.protocols import CycleQuadrature, cycle_summary
    from thermogeo.protocols.cycle import check_loop

    check_bias(bias)
    m = _machine(model, set_, master)
    lp = build_loop(m, circle=circle, ellipse=ellipse, rectangle=rectangle, sector=sector,
                    polygon=polygon, loop_file=loop, plane=plane, reverse=reverse,
                    base=_base(m, at))
    quad = cycle_quadrature(CycleQuadrature, rtol, max_nodes, nodes, lp, max_area_points)
    check_loop(lp, m)
    if area is None:
        area = area_points(lp, quad, nodes) <= AREA_AUTO_POINTS
        if not area:
            typer.echo(f"note: area integral skipped: about {area_points(lp, quad, nodes):,} "
                       f"points for this loop ({len(lp.breakpoints()) - 1} sides); --area "
                       "computes it", err=True)
    with work("cycle", cycle_estimate(lp, quad, nodes, area), show=show):
        c = cycle_summary(m, lp, bias=bias, timing=timing, bath=bath, nodes=nodes,
                          quadrature=quad, area=area, correlations=correlations or None,
                          dissipation_share=share)
    out = c.to_dict()
    out["plane"] = list(lp.plane)
    if json:
        print_json(out)
        return
    typer.echo(f"loop in plane {','.join(lp.plane)} ({c.nodes} nodes, "
               f"{'converged' if c.converged else 'NOT converged'}), timing {c.timing}")
    for b in c.bath_names:
        typer.echo(f"bath {b}: Q_geo = {out['geometric_heat'][b]:+.10g} (line), "
                   f"{_num(out['geometric_heat_area'][b], '+.10g')} (area)")
    typer.echo(f"tau W_diss = {c.dissipated_work_coefficient:.10g}   "
               f"L = {c.thermodynamic_length:.10g}   A = Q_{c.bath} = "
               f"{c.bath_geometric_heat:+.10g}   A^2/L^2 = {c.power_figure_of_merit:.10g}")
    for k, e in out.get("correlations", {}).items():
        typer.echo(f"{k} along the loop: min {_num(e['min'])} (s = {_num(e['s_min'], '.3f')}), "
                   f"max {_num(e['max'])} (s = {_num(e['s_max'], '.3f')})")
    if c.engine is not None:
        e = c.engine
        typer.echo(f"{e.mode} at T_hot = {e.hot_temperature:.6g}, T_cold = "
                   f"{e.cold_temperature:.6g} (X = {e.bias:g}"
                   + (", the model's own temperatures)" if bias is None else ", --bias)")
                   + f": W_geo = {e.geometric_work:+.6g} per cycle, static heat "
                   f"{e.hot_static_heat_rate:.6g} per unit time from the hot side (heat leak "
                   f"kappa_bar = {e.heat_leak:.6g})")
        if e.mode == "refrigerator":  # the engine figures do not apply (NaN): not printed
            _print_refrigerator(e)
        else:
            typer.echo(f"engine: P_max = {e.max_power:.6g} at tau* = {_num(e.best_period)}, "
                       f"efficiency at P_max = {_num(e.efficiency_at_max_power)}, max "
                       f"efficiency = {_num(e.max_efficiency)}, Carnot efficiency = "
                       f"{e.carnot_efficiency:.6g}")


def _num(v, fmt=".6g") -> str:
    """A figure, or "-" where it has no value (None or NaN)."""
    return "-" if v is None or not np.isfinite(v) else f"{v:{fmt}}"


def _print_refrigerator(e) -> None:
    """Text lines of the refrigerator figures (:class:`thermogeo.protocols.engine.
    EngineFigures`); ``--json`` prints the same keys."""
    typer.echo(f"refrigerator (share {e.dissipation_share:.6g} of the dissipated work into "
               f"the cold bath, {e.share_source}): max cooling power = "
               f"{_num(e.cooling_power_max)} at tau_c = {_num(e.best_cooling_period)} "
               f"({_num(e.cooling_per_cycle_at_max_cooling)} per cycle), COP there = "
               f"{_num(e.cop_at_max_cooling)}")
    if not e.cools:
        typer.echo(f"the loop does not cool at any period (no COP); Carnot COP = "
                   f"{e.carnot_cop:.6g}")
        return
    period = ("tau -> inf" if not np.isfinite(e.max_cop_period)
              else f"tau = {e.max_cop_period:.6g}")
    typer.echo(f"best COP = {_num(e.max_cop)} at {period}, Carnot COP = {e.carnot_cop:.6g}")


def _region(text: str, plane, resolution: str):
    from thermogeo.protocols import PolarRegion, RectRegion

    res = None
    if resolution:
        try:
            res = tuple(int(v) for v in resolution.split(","))
        except ValueError:
            raise ModelError(f"--resolution: expected N or N1,N2 integers, got "
                             f"{resolution!r}") from None
        res = res * 2 if len(res) == 1 else res
    if not text:
        return PolarRegion() if res is None else PolarRegion(resolution=res)
    if ":" in text:
        rng = parse_ranges(text, "--region",
                           "NAME=LO:HI for a rectangle or r=R[,cx=..,cy=..] for a disc")
        if set(rng) != set(plane):
            raise ModelError(f"--region: a rectangle needs ranges of the plane parameters "
                             f"{plane}, got {tuple(rng)}")
        kw = {} if res is None else {"resolution": res}
        return RectRegion(rng[plane[0]], rng[plane[1]], **kw)
    d = parse_assignments(text, "--region")
    bad = [k for k in d if k not in ("r", "cx", "cy")]
    if bad:
        raise ModelError(f"--region: unknown key(s) {', '.join(bad)}; a disc takes r, cx, cy; "
                         "a rectangle NAME=LO:HI,NAME=LO:HI")
    kw = {} if res is None else {"resolution": res}
    return PolarRegion(center=(d.get("cx", 0.0), d.get("cy", 0.0)), radius=d.get("r"), **kw)


@app.command("optimal")
@user_errors
@reported_warnings
def optimal_cmd(
    model: Path = typer.Argument(..., help="TOML model file."),
    plane: str = typer.Option("", "--plane", help="x,y parameters (default: the first two)."),
    bath: str = typer.Option(None, "--bath", help="Bath (default: the first)."),
    region: str = typer.Option("", "--region", help="Disc r=R[,cx=..,cy=..] (default r = 15 T "
                               "around the origin) or rectangle Bx=-3:3,Bz=-3:3."),
    resolution: str = typer.Option("", "--resolution", help="Grid nodes N or N1,N2 (disc: "
                                   "radial,angular with angular a multiple of 8)."),
    at: str = typer.Option("", "--at", help="Values of the other parameters."),
    set_: str = typer.Option("", "--set", help=_SET_HELP),
    master: str = MASTER,
    save_loop: Path = SAVE_LOOP,
    loop_harmonics: int = LOOP_HARMONICS,
    show: bool = PROGRESS,
    json: bool = typer.Option(False, "--json", help="Print one JSON object."),
):
    """The connected single-sign region of the rotor pumping the most heat, its boundary loop
    and the non-interacting bound N T ln 2."""
    from thermogeo.protocols import optimal_region

    check_save_loop(save_loop, loop_harmonics)
    m = _machine(model, set_, master)
    pl = _plane(m, plane)
    base = _base(m, at)
    check_at(m, base, pl, f"--plane ({','.join(pl)})")
    reg = _region(region, pl, resolution)
    n1, n2 = reg.resolution
    with work("optimal", f"the rotor of bath {bath or m.bath_names[0]} at {n1} x {n2} = "
              f"{n1 * n2:,} grid points ({m.qubits} qubits), then the line integral along the "
              "best region's boundary", total=n1 * n2, show=show):
        o = optimal_region(m, pl, bath, region=reg, base=base)
    out = o.to_dict()
    written = save_loop_file(smooth_loop(o.loop, loop_harmonics), save_loop, {
        "command": "optimal", "model": str(model), "bath": o.bath,
        "harmonics": loop_harmonics or None,
        "max_geometric_heat": o.max_geometric_heat,
        "loop_geometric_heat": o.loop_geometric_heat})
    if written:
        out["saved_loop"] = written
    if json:
        print_json(out)
        return
    typer.echo(f"bath {o.bath}, plane {','.join(o.plane)}, region {o.region}")
    typer.echo(f"positive part {o.positive_part:+.8g}, negative part {o.negative_part:+.8g} "
               f"({o.regions} single-sign regions)")
    temps = ", ".join(f"{b} {t:g}" for b, t in o.temperatures.items())
    if np.isfinite(o.bound):
        typer.echo(f"max geometric heat {o.max_geometric_heat:.8g} = "
                   f"{o.max_geometric_heat_over_T:.6g} T; bound N T ln 2 = {o.bound:.6g}: "
                   + ("EXCEEDS the non-interacting bound" if o.exceeds_bound
                      else "within the bound"))
    else:
        typer.echo(f"max geometric heat {o.max_geometric_heat:.8g} out of bath {o.bath} "
                   f"(temperatures {temps}; the bound N T ln 2 needs one temperature)")
    if out["loop"] is not None:
        typer.echo(f"boundary loop pumps {o.loop_geometric_heat:.6g} (line integral) out of "
                   f"bath {o.bath}; static heat current from it into the system "
                   f"{o.loop_static_heat_rate:.6g} (per cycle of period tau: tau times it)")
        ns = o.nonsmooth_points()
        typer.echo("boundary where the generator is not smooth: " + (
            "none found" if len(ns) == 0 else
            f"{len(ns)} vertices, {o.nonsmooth_fraction:.3g} of its length, e.g. "
            f"{ns[0].round(6).tolist()} (--json: nonsmooth_boundary)"))
        v = np.asarray(out["loop"]["vertices"])
        typer.echo(f"boundary loop: polygon with {len(v)} vertices ({out['loop']['orientation']}),"
                   f" x in [{v[:, 0].min():.4g}, {v[:, 0].max():.4g}], y in "
                   f"[{v[:, 1].min():.4g}, {v[:, 1].max():.4g}]")
    else:
        typer.echo("boundary loop: none (the region surrounds the centre)")
    if written:
        typer.echo(f"wrote the boundary loop to {written}")


@app.command("optimize")
@user_errors
@reported_warnings
def optimize_cmd(
    model: Path = typer.Argument(..., help="TOML model file."),
    plane: str = typer.Option("", "--plane", help="x,y parameters (default: the first two)."),
    objective: str = typer.Option("power_figure_of_merit", "--objective",
                                  help="power_figure_of_merit (A^2/L^2), geometric_heat or "
                                  "geometric_heat_at_length."),
    family: str = typer.Option("circle", "--family", help="circle or fourier."),
    harmonics: int = typer.Option(3, "--harmonics", help="Harmonics of the Fourier family."),
    start: str = typer.Option("", "--start", help="Starting circle, e.g. Bx=0.8,Bz=0.6,r=0.5 "
                              "(default: around the default point)."),
    bath: str = typer.Option(None, "--bath", help="Bath of A (default: the first)."),
    maxiter: int = typer.Option(100, "--maxiter", help="Optimiser iterations."),
    nodes: int = typer.Option(128, "--nodes", help="Trapezoidal nodes per loop while "
                              "optimising."),
    radius: float = typer.Option(None, "--radius", help="Search box: circle centres and "
                                 "Fourier coefficients within +-radius, radii at most radius "
                                 "(default 15 T, T the highest bath temperature)."),
    at: str = typer.Option("", "--at", help="Values of the other parameters."),
    set_: str = typer.Option("", "--set", help=_SET_HELP),
    master: str = MASTER,
    save_loop: Path = SAVE_LOOP,
    show: bool = PROGRESS,
    json: bool = typer.Option(False, "--json", help="Print one JSON object."),
):
    """Optimise a loop (circle or Fourier) for A^2/L^2, the geometric heat, or the geometric
    heat at fixed thermodynamic length."""
    from thermogeo.protocols import optimize_protocol

    check_save_loop(save_loop)
    if maxiter < 1:
        raise ModelError(f"--maxiter: expected a positive integer, got {maxiter}")
    m = _machine(model, set_, master)
    pl = _plane(m, plane)
    base = _base(m, at)
    check_at(m, base, pl, f"--plane ({','.join(pl)})")
    st = build_loop(m, circle=start, base=base) if start else None
    if st is not None and tuple(st.plane) != pl:
        raise ModelError(f"--start: its parameters {tuple(st.plane)} differ from --plane {pl}")
    shape = 3 if family == "circle" else 2 * (2 * harmonics + 1)
    per_eval = (2 * shape + 1) * nodes
    with work("optimize", f"{objective} over {family} loops ({shape} shape parameters): "
              f"{2 * shape + 1} loops x {nodes} nodes = {per_eval:,} points per evaluation, "
              f"about {maxiter + 1} evaluations (--maxiter {maxiter}), then the figures of the "
              "start and the result", total=(maxiter + 1) * per_eval, show=show):
        r = optimize_protocol(m, pl, objective=objective, family=family, harmonics=harmonics,
                              start=st, bath=bath, maxiter=maxiter, nodes=nodes, base=base,
                              radius=radius)
    out = r.to_dict()
    written = save_loop_file(r.loop, save_loop, {
        "command": "optimize", "model": str(model), "objective": objective,
        "bath": r.after.bath, "bath_geometric_heat": r.after.bath_geometric_heat,
        "thermodynamic_length": r.after.thermodynamic_length, "success": r.success})
    if written:
        out["saved_loop"] = written
    if json:
        print_json(out)
        return
    typer.echo(f"{objective} over {family} loops: {'success' if r.success else 'FAILED'} "
               f"({r.message}; {r.evaluations} batched evaluations)")
    for k in ("bath_geometric_heat", "thermodynamic_length", "power_figure_of_merit",
              "dissipated_work_coefficient"):
        typer.echo(f"  {k:>27}: {getattr(r.before, k):.8g} -> {getattr(r.after, k):.8g}")
    typer.echo(f"loop: {out['loop']}")
    if written:
        typer.echo(f"wrote the loop to {written}")


def _grid(text: str, option: str):
    name, eq, rng = text.partition("=")
    try:
        parts = [float(v) for v in rng.split(":")]
        if not eq or len(parts) != 3 or parts[2] != int(parts[2]) or parts[2] < 2:
            raise ValueError
    except ValueError:
        raise ModelError(f"{option}: cannot read {text!r}; expected NAME=START:STOP:COUNT, "
                         "e.g. Bx=-3:3:201") from None
    return name.strip(), np.linspace(parts[0], parts[1], int(parts[2]))


MAP_HELP = (
    "Rotor of every bath, heat response, metric and entropy on a grid, saved as NetCDF with "
    "coordinates, units and the model embedded; optionally plotted.\n\n"
    "Points without a unique steady state (a dark state) have no value (NaN in the file, "
    "'unique' false); their number is reported (text, and 'non_unique_points' and 'status' "
    "ok/partial/no_unique_point in --json). Exit status: 0 when written, 1 when no point of "
    "the grid has a unique steady state (the file is still written), 2 for bad input "
    "(including a map too large for the available memory).")


@app.command("map", help=MAP_HELP)
@user_errors
@reported_warnings
def map_cmd(
    model: Path = typer.Argument(..., help="TOML model file."),
    x: str = typer.Option(..., "--x", help="x axis NAME=START:STOP:COUNT, e.g. Bx=-3:3:201."),
    y: str = typer.Option(..., "--y", help="y axis NAME=START:STOP:COUNT."),
    out: Path = typer.Option(..., "--out", help="NetCDF file to write."),
    plot: Path = typer.Option(None, "--plot", help="Also draw the rotor map to this image; "
                              "the format is the extension's (.png, or vector .pdf, .svg, .eps)."),
    dpi: int = typer.Option(150, "--dpi", help="Resolution of the --plot image (dots per inch; "
                            "300 for print; in vector formats, of the colour map)."),
    bath: str = typer.Option(None, "--bath", help="Plot only this bath."),
    circle: str = typer.Option("", "--circle", help="Loop to overlay: " + _LOOP_HELP["circle"]),
    ellipse: str = typer.Option("", "--ellipse", help="Loop to overlay: "
                                + _LOOP_HELP["ellipse"]),
    rectangle: str = typer.Option("", "--rectangle", help="Loop to overlay: "
                                  + _LOOP_HELP["rectangle"]),
    sector: str = typer.Option("", "--sector", help="Loop to overlay: " + _LOOP_HELP["sector"]),
    polygon: str = typer.Option("", "--polygon", help="Loop to overlay: "
                                + _LOOP_HELP["polygon"]),
    loop: Path = typer.Option(None, "--loop", help="Loop to overlay: " + _LOOP_HELP["loop"]),
    reverse: bool = typer.Option(False, "--reverse", help=LOOP_HELP["reverse"]),
    save_loop: Path = typer.Option(None, "--save-loop", help="Write the boundary of the "
                                   "single-sign region of the rotor of --bath (default: the "
                                   "first) with the largest |integral| on the grid to this TOML "
                                   "loop file (oriented to pump out of that bath: Q_geo > 0)."),
    loop_harmonics: int = LOOP_HARMONICS,
    show: bool = PROGRESS,
    at: str = typer.Option("", "--at", help="Values of the other parameters."),
    set_: str = typer.Option("", "--set", help=_SET_HELP),
    master: str = MASTER,
    correlations: str = typer.Option("", "--correlations", help="Correlation measures to "
                                     "map too, e.g. 'concurrence:0,1 negativity:0|1@thermal'."),
    json: bool = typer.Option(False, "--json", help="Print one JSON object."),
):
    """Rotor of every bath, heat response, metric and entropy on a grid (see ``MAP_HELP``)."""
    from thermogeo.protocols import response_map, save_map

    check_file_out(out, "--out", "a NetCDF file to write, e.g. map.nc")
    check_save_loop(save_loop, loop_harmonics)
    if plot is not None:
        check_file_out(plot, "--plot", "an image file to write, e.g. map.png")
        from thermogeo.plot.style import check_dpi, check_figure_path

        check_figure_path(plot, "--plot")
        dpi = check_dpi(dpi, "--dpi")
    m = _machine(model, set_, master)
    gx, gy = _grid(x, "--x"), _grid(y, "--y")
    if gx[0] == gy[0]:
        raise ModelError(f"--x, --y: expected two different parameters, got {gx[0]!r} twice")
    for name in (gx[0], gy[0]):
        m.parameter_index(name)
    base = _base(m, at)
    check_at(m, base, (gx[0], gy[0]), "the map's axes (--x, --y)")
    check_map_memory(m, len(gx[1]), len(gy[1]))
    overlay = build_loop(m, circle=circle, ellipse=ellipse, rectangle=rectangle, sector=sector,
                         polygon=polygon, loop_file=loop, plane=f"{gx[0]},{gy[0]}", base=base,
                         reverse=reverse, required=False)
    nx, ny = len(gx[1]), len(gy[1])
    with work("map", f"the response with the rotor at {nx:,} x {ny:,} = {nx * ny:,} points "
              f"({m.qubits} qubits, about {map_bytes(m, nx, ny) / 2**20:,.0f} MB)",
              total=nx * ny, show=show):
        ds = response_map(m, gx, gy, base, correlations=correlations or None)
    save_map(ds, out)
    total = int(ds.unique.size)
    dark = int((~ds.unique).sum())
    status = "ok" if dark == 0 else ("no_unique_point" if dark == total else "partial")
    info = {"out": str(out), "dims": {k: int(v) for k, v in ds.sizes.items()},
            "variables": sorted(ds.data_vars), "plane": [gx[0], gy[0]],
            "status": status, "points": total, "non_unique_points": dark,
            "rotor_range": {str(b): [float(ds.rotor.sel(bath=b).min()),
                                     float(ds.rotor.sel(bath=b).max())]
                            for b in ds.bath.values}}
    if save_loop is not None:
        from thermogeo.protocols.paths import best_region_loop

        b = bath or m.bath_names[0]
        m.bath_index(b)
        best, q = best_region_loop(gx[1], gy[1], ds.rotor.sel(bath=b).values,
                                   (gx[0], gy[0]), base=base)
        written = save_loop_file(smooth_loop(best, loop_harmonics), save_loop, {
            "command": "map", "model": str(model), "bath": b,
            "harmonics": loop_harmonics or None,
            "grid_geometric_heat": q if best is not None else None})
        if written:
            info["saved_loop"] = written
            info["saved_loop_geometric_heat"] = q
    note = (f"{dark} of {total} points have no unique steady state (no value there: NaN in "
            f"{out}, variable 'unique' false)" if dark else "")
    if plot is not None and status != "no_unique_point":
        from thermogeo.plot import plot_rotor

        fig = plot_rotor(ds, bath=bath, loop=overlay)
        fig.savefig(plot, dpi=dpi)
        info["plot"] = str(plot)
    if json:
        print_json(info)
    else:
        typer.echo(f"wrote {out}: {info['dims']}, variables {', '.join(info['variables'])}")
        if "plot" in info:
            typer.echo(f"wrote {plot}")
        if "saved_loop" in info:
            typer.echo(f"wrote {info['saved_loop']}: the boundary of the best region of the "
                       f"rotor of bath {bath or m.bath_names[0]} (Q_geo about "
                       f"{info['saved_loop_geometric_heat']:.6g} on the grid)")
        if note and status != "no_unique_point":
            typer.echo(f"warning: {note}")
    if status == "no_unique_point":
        typer.echo(f"error: {note}: the couplings leave part of the state space dark "
                   "everywhere on the grid" + ("; no plot drawn" if plot is not None else ""),
                   err=True)
        raise typer.Exit(code=EXIT_NO_UNIQUE_POINT)


EXIT_NO_UNIQUE_POINT = 1


def cycle_quadrature(cls, rtol: float, max_nodes: int, nodes: int | None, loop=None,
                     max_area_points: int = AREA_MAX_POINTS):
    """The :class:`~thermogeo.protocols.CycleQuadrature` of ``--rtol``, ``--max-nodes``
    (``--nodes`` checked: a positive integer). A loop with many sides starts with fewer nodes
    per side (32 for up to 32 sides, down to 4: about 1024 in all), since each short side
    needs fewer."""
    if nodes is not None and nodes < 4:
        raise ModelError(f"--nodes: expected an integer >= 4, got {nodes}")
    if not 1e-14 <= rtol < 1:
        raise ModelError(f"--rtol: expected a number in [1e-14, 1), got {rtol:g}")
    sides = 1 if loop is None or loop.smooth else len(loop.breakpoints()) - 1
    start = min(32, max_nodes, max(4, 2 ** int(np.log2(max(1024 // sides, 1)))))
    if max_nodes < 4:
        raise ModelError(f"--max-nodes: expected an integer >= 4, got {max_nodes}")
    if max_area_points < 64:
        raise ModelError(f"--max-area-points: expected an integer >= 64, got {max_area_points}")
    return cls(rtol=rtol, start=start, max_nodes=max_nodes, max_area_points=max_area_points)


def area_points(loop, quad, nodes: int | None) -> int:
    """Points of the first two levels of the area integral (one level with ``nodes``), as
    :func:`thermogeo.protocols.cycle.area_integral` places them (cone or polar nodes)."""
    pieces = 1 if type(loop).__name__ == "Sector" else len(loop.breakpoints()) - 1
    if nodes is not None:
        return nodes * pieces * max(quad.radial_nodes, nodes // 4)
    ns = quad.start if loop.smooth else max(4, quad.start // 2)
    return 5 * ns * pieces * quad.radial_nodes


def cycle_estimate(loop, quad, nodes: int | None, area: bool) -> str:
    """The estimate ``cycle`` prints before its work."""
    pieces = len(loop.breakpoints()) - 1
    per = "" if loop.smooth else f" per side ({pieces} sides)"
    if nodes is not None:
        line = f"line integrals at {nodes} nodes{per}"
    else:
        line = (f"line integrals from {quad.start} nodes{per}, doubled until two levels agree "
                f"to rtol {quad.rtol:g} (at most {quad.max_nodes}"
                f"{'' if loop.smooth else ' per side'})")
    if area:
        line += (f"; area integral of the rotor, up to {quad.max_area_points:,} points per "
                 "level (--no-area skips it)")
    else:
        line += "; no area integral"
    return line + "; one batched response per level"


def map_bytes(machine, nx: int, ny: int) -> int:
    """Memory estimate of a map: points x bytes per point of the response with the rotor
    (the batched generic-spectrum arrays, two directions,
    :func:`thermogeo.lindblad.backend.generic_point_bytes`)."""
    from thermogeo.lindblad.backend import generic_point_bytes

    return int(nx) * int(ny) * generic_point_bytes(machine, 2)


def check_map_memory(machine, nx: int, ny: int) -> None:
    """Refuse a map whose estimate (:func:`map_bytes`) exceeds the available memory, before
    any array of its size is built."""
    from thermogeo.lindblad import structured

    need, have = map_bytes(machine, nx, ny), structured.available_memory_bytes()
    if need > have:
        raise ModelError(f"--x, --y: a map of {nx:,} x {ny:,} = {nx * ny:,} points would need "
                         f"about {need / 2**30:.2f} GiB ({need // (nx * ny):,} bytes per point), "
                         f"but {have / 2**30:.2f} GiB are available; use fewer points (a "
                         "smaller COUNT in NAME=START:STOP:COUNT)")
