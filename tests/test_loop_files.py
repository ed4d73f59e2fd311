"""Loops round-trip (issue 14 item 3, docs/decisions/0320-loop-files.md): loop files written by
``optimal``, ``optimize`` and ``map`` are read by every command taking a loop and by sweep
files; ``--reverse`` is the one spelling of direction, ``lam(1 - s)``; every loop kind works in
``exact``."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from conftest import CLOSED_FORM_RTOL, IDENTITY_RTOL, MODELS
from thermogeo.cli.app import app
from thermogeo.protocols import cycle_summary
from thermogeo.protocols.paths import (Circle, Ellipse, FourierLoop, Polygon, Rectangle,
                                       Reparametrized, SampledLoop, Sector, load_loop,
                                       loop_to_table, save_loop, smoothed)
from thermogeo.sweeps import load_result, load_sweep, run_sweep

Q1 = str(MODELS / "qubit_pump.toml")
CIRCLE = "Bx=0.8,Bz=0.6,r=0.5"
GRID_RTOL = 3e-2  # trapezoid on a 33 x 33 grid against the line integral (a kinked boundary)
BOUNDARY_RTOL = 1e-4  # 4 Gauss nodes per side (optimal) against the adaptive line integral

LOOPS = {
    "circle": Circle(("Bx", "Bz"), center=(0.8, 0.6), radius=0.5),
    "ellipse": Ellipse(("Bx", "Bz"), center=(0.8, 0.6), semi_axes=(0.5, 0.3), angle=0.4),
    "polygon": Polygon(("Bx", "Bz"), vertices=[(0.3, 0.2), (1.2, 0.3), (1.0, 1.1), (0.4, 0.9)]),
    "rectangle": Rectangle((0.4, 1.0), (0.3, 0.8), base={"Bx": 0.0}, plane=("By", "Bz")),
    "sector": Sector(("Bx", "Bz"), r_in=0.2, r_out=1.5, theta0=0.1, theta1=1.2),
    "fourier": SampledLoop(np.stack([0.8 + 0.5 * np.cos(np.arange(9) / 9 * 2 * np.pi),
                                     0.6 + 0.3 * np.sin(np.arange(9) / 9 * 2 * np.pi)], -1)),
}
S = np.linspace(0.0, 1.0, 97)[1:-1] + 1e-3  # off the corners of every loop above


def run(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def run_json(*args):
    r = run(*args, "--json", "--no-progress")
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)


@pytest.mark.parametrize("name", list(LOOPS))
def test_a_loop_file_gives_back_the_same_loop_both_ways(name, tmp_path):
    for lp in (LOOPS[name], LOOPS[name].reversed()):
        back = load_loop(save_loop(lp, tmp_path / "loop.toml", about={"command": "test"}))
        assert type(back) is type(lp) and back.plane == lp.plane and back.base == lp.base
        np.testing.assert_array_equal(back.xy(S), lp.xy(S))  # floats written to round-trip
        np.testing.assert_array_equal(back.breakpoints(), lp.breakpoints())


@pytest.mark.parametrize("name", list(LOOPS))
def test_reversed_is_the_loop_at_one_minus_s(name):
    lp = LOOPS[name]
    rev = lp.reversed()
    assert type(rev) is type(lp)  # the same kind: it can be written and stays smooth
    np.testing.assert_allclose(rev.xy(S), lp.xy(1 - S), rtol=0, atol=IDENTITY_RTOL)
    np.testing.assert_allclose(rev.dxy(S), -lp.dxy(1 - S), rtol=0, atol=IDENTITY_RTOL)
    assert rev.signed_area(64) == pytest.approx(-lp.signed_area(64), rel=IDENTITY_RTOL)


def test_reversal_flips_the_geometric_heat(q1):
    """Orientation reversal flips Q^geo (docs/theory.md section 7), for a loop with corners."""
    lp = LOOPS["polygon"]
    a = cycle_summary(q1, lp, nodes=16, area=False).geometric_heat
    b = cycle_summary(q1, lp.reversed(), nodes=16, area=False).geometric_heat
    np.testing.assert_allclose(b, -a, rtol=IDENTITY_RTOL)


def test_a_retimed_loop_has_no_table():
    retimed = Reparametrized(loop=LOOPS["circle"], phi=lambda s: s, dphi=np.ones_like)
    with pytest.raises(ValueError, match="has no loop table"):
        loop_to_table(retimed)


def test_cli_reads_a_loop_file_as_the_shape_it_holds(tmp_path):
    """The same numbers from --loop FILE as from --circle; --reverse flips the geometric heat
    (cycle and the expansion of exact)."""
    f = save_loop(LOOPS["circle"], tmp_path / "c.toml")
    a = run_json("cycle", Q1, "--circle", CIRCLE, "--nodes", "64", "--no-area")
    b = run_json("cycle", Q1, "--loop", f, "--nodes", "64", "--no-area")
    c = run_json("cycle", Q1, "--loop", f, "--nodes", "64", "--no-area", "--reverse")
    assert a["geometric_heat"] == b["geometric_heat"]
    assert b["geometric_heat"]["L"] == pytest.approx(0.2729526880, rel=CLOSED_FORM_RTOL)
    assert c["geometric_heat"]["L"] == pytest.approx(-b["geometric_heat"]["L"], rel=1e-12)
    e = run_json("exact", Q1, "--loop", f, "--period", "20")
    r = run_json("exact", Q1, "--loop", f, "--period", "20", "--reverse")
    assert e["expansion"]["geometric_heat"]["L"] == pytest.approx(
        -r["expansion"]["geometric_heat"]["L"], rel=1e-9)


@pytest.mark.parametrize("option, value", [
    ("--ellipse", "Bx=0.8,Bz=0.6,a=0.5,b=0.3,angle=0.4"),
    ("--rectangle", "Bx=0.4:1.0,Bz=0.3:0.8"),
    ("--sector", "r_in=0.2,r_out=1.5,theta0=0.1,theta1=1.2"),
    ("--polygon", "0.3:0.2;1.2:0.3;1.0:1.1;0.4:0.9"),
])
def test_exact_takes_every_loop_kind(option, value):
    """exact of every shape: the first law holds and the expansion's geometric heat is the line
    integral of cycle (two independent paths to Q^geo)."""
    d = run_json("exact", Q1, option, value, "--period", "20", "--set", "R.strength=2")
    q = run_json("cycle", Q1, option, value, "--no-area", "--set", "R.strength=2")
    assert abs(d["first_law_residual"]) < 10 * d["error_estimate"] + 1e-12
    assert d["expansion"]["geometric_heat"]["L"] == pytest.approx(q["geometric_heat"]["L"],
                                                                  rel=1e-6)


@pytest.mark.parametrize("args, fragments", [
    (["exact", Q1, "--circle", CIRCLE + ",cw=1", "--period", "20"], ["'cw'", "--reverse"]),
    (["cycle", Q1, "--loop", "{f}", "--plane", "Bz,Bx"], ["--plane", "differs", "Bx,Bz"]),
    (["exact", Q1, "--circle", CIRCLE, "--period", "20", "--at", "Bx=1"], ["--at", "Bx"]),
    (["optimal", Q1, "--save-loop", "{d}"], ["--save-loop", "is a folder"]),
    (["map", Q1, "--x", "Bx=0:1:3", "--y", "Bz=0:1:3", "--out", "{d}/m.nc",
      "--loop-harmonics", "4"], ["--loop-harmonics", "--save-loop FILE"]),
])
def test_loop_input_errors_are_one_line(args, fragments, tmp_path):
    f = save_loop(LOOPS["circle"], tmp_path / "c.toml")
    r = run(*[a.replace("{f}", str(f)).replace("{d}", str(tmp_path)) for a in args])
    assert r.exit_code == 2, r.output
    assert r.stderr.startswith("error: ") and r.stderr.count("\n") == 1, r.stderr
    for frag in fragments:
        assert frag in r.stderr, (frag, r.stderr)


def test_map_writes_the_best_region_of_its_rotor(tmp_path):
    """Stokes across two commands: the rotor of bath L summed over the best region of the map
    grid equals the line integral of Lambda^L along the loop map writes (Q1: Omega^L > 0 in
    quadrant I, the larger part of this grid)."""
    f = tmp_path / "best.toml"
    info = run_json("map", Q1, "--x", "Bx=-1:3:33", "--y", "Bz=-1:3:33", "--out",
                    tmp_path / "m.nc", "--save-loop", f)
    lp = load_loop(f)
    assert isinstance(lp, Polygon) and lp.signed_area(8) > 0  # positive region: ccw
    assert np.all(lp.xy(S) >= -0.125 - 1e-12)  # quadrant I (to a grid step)
    c = run_json("cycle", Q1, "--loop", f, "--no-area", "--nodes", "8")
    assert c["geometric_heat"]["L"] == pytest.approx(info["saved_loop_geometric_heat"],
                                                     rel=GRID_RTOL)


def test_optimal_and_optimize_write_what_they_report(tmp_path):
    o = tmp_path / "o.toml"
    out = run_json("optimal", Q1, "--bath", "L", "--region", "Bx=0.05:3,Bz=0.05:3",
                   "--resolution", "16", "--save-loop", o)
    c = run_json("cycle", Q1, "--loop", o, "--no-area")
    assert c["geometric_heat"]["L"] == pytest.approx(out["loop_geometric_heat"],
                                                     rel=BOUNDARY_RTOL)
    s = tmp_path / "s.toml"
    run_json("optimal", Q1, "--bath", "L", "--region", "Bx=0.05:3,Bz=0.05:3", "--resolution",
             "16", "--save-loop", s, "--loop-harmonics", "6")
    sm = load_loop(s)
    assert isinstance(sm, FourierLoop) and sm.harmonics == 6
    np.testing.assert_allclose(sm.coefficients, smoothed(load_loop(o), 6).coefficients,
                               rtol=0, atol=1e-12)
    z = tmp_path / "z.toml"
    r = run_json("optimize", Q1, "--maxiter", "2", "--nodes", "32", "--save-loop", z)
    assert loop_to_table(load_loop(z)) == r["loop"]
    assert run_json("cycle", Q1, "--loop", z, "--no-area")["bath_geometric_heat"] == \
        pytest.approx(r["after"]["bath_geometric_heat"], rel=1e-8)


def test_sweep_files_name_loop_files(tmp_path):
    """A sweep's loop may be { file = ... }: the file's table replaces it, and its text is part
    of the sweep's hash (a changed loop file is a changed sweep)."""
    save_loop(LOOPS["polygon"], tmp_path / "best.toml")
    (tmp_path / "model.toml").write_text((MODELS / "qubit_pump.toml").read_text())
    (tmp_path / "s.toml").write_text(
        'model = "model.toml"\nkind = "cycle"\n[combos]\n"R.strength" = [1.0, 2.0]\n'
        '[cycle]\nloops = { best = { file = "best.toml" } }\n')
    spec = load_sweep(tmp_path / "s.toml")
    assert spec.options["loops"]["best"] == loop_to_table(LOOPS["polygon"])
    save_loop(LOOPS["polygon"].reversed(), tmp_path / "best.toml")
    assert load_sweep(tmp_path / "s.toml").sha256 != spec.sha256


def test_a_sweep_runs_a_loop_file(tmp_path, q1):
    """The loop file written by map runs in a cycle sweep: the stored geometric heat at each
    swept strength is that of cycle_summary on the loop read back."""
    f = tmp_path / "best.toml"
    run_json("map", Q1, "--x", "Bx=0.1:1.5:9", "--y", "Bz=0.1:1.5:9", "--out",
             tmp_path / "m.nc", "--save-loop", f, "--loop-harmonics", "2")
    (tmp_path / "model.toml").write_text((MODELS / "qubit_pump.toml").read_text())
    (tmp_path / "s.toml").write_text(
        'model = "model.toml"\nkind = "cycle"\n[combos]\n"R.strength" = [1.0, 2.0]\n'
        '[cycle]\nloops = { best = { file = "best.toml" } }\n')
    s = run_sweep(tmp_path / "s.toml", tmp_path / "r.zarr", executor="serial")
    assert (s.ok, s.error) == (2, 0)
    ds = load_result(tmp_path / "r.zarr")
    for k, strength in enumerate((1.0, 2.0)):
        ref = cycle_summary(q1.with_values(**{"R.strength": strength}), load_loop(f))
        got = ds.geometric_heat.isel(R_strength=k).squeeze().values
        np.testing.assert_allclose(got, ref.geometric_heat, rtol=1e-12)
