"""Command line of issue 3: cycle, optimal, optimize, map (with --json) and their errors."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from conftest import CLOSED_FORM_RTOL
from thermogeo.cli.app import app

runner = CliRunner()
QUADRANT_RTOL = 1e-6


@pytest.fixture
def q1(models_dir):
    return str(models_dir / "qubit_pump.toml")


def run(*args):
    res = runner.invoke(app, [str(a) for a in args])
    return res


def run_json(*args):
    res = run(*args, "--json")
    assert res.exit_code == 0, res.output
    return json.loads(res.stdout)


def test_cycle_circle(q1):
    out = run_json("cycle", q1, "--circle", "Bx=0.8,Bz=0.6,r=0.5")
    assert out["geometric_heat"]["L"] == pytest.approx(0.2729526880, rel=CLOSED_FORM_RTOL)
    assert out["geometric_heat_area"]["L"] == pytest.approx(0.2729526880, rel=CLOSED_FORM_RTOL)
    # heat is only moved between the baths; tau W_diss >= L^2 (Cauchy-Schwarz, strict for a
    # circle at uniform speed); A^2/L^2 of the printed A and L
    assert sum(out["geometric_heat"].values()) == pytest.approx(0.0, abs=1e-12)
    L2 = out["thermodynamic_length"] ** 2
    assert out["dissipated_work_coefficient"] > L2 * (1 + 1e-6)
    assert out["power_figure_of_merit"] == pytest.approx(
        out["bath_geometric_heat"] ** 2 / L2, rel=1e-12)
    args = ("cycle", q1, "--circle", "Bx=0.8,Bz=0.6,r=0.5", "--set", "R.strength=2",
            "--bias", "0.01")
    out = run_json(*args)
    assert out["geometric_heat"]["L"] == pytest.approx(0.2298805190, rel=CLOSED_FORM_RTOL)
    # the CLI reports the library's figures at the same machine and loop
    from thermogeo import load_model
    from thermogeo.protocols import Circle, cycle_summary

    c = cycle_summary(load_model(q1).with_values(**{"R.strength": 2.0}),
                      Circle(("Bx", "Bz"), center=(0.8, 0.6), radius=0.5), bias=0.01)
    for k, v in c.engine.to_dict().items():
        assert out[k] == (pytest.approx(v, rel=1e-12) if isinstance(v, float) else v), k
    # with a leak the efficiencies stay below eta_C / 2 (at P_max) and eta_C (second law)
    assert out["efficiency_at_max_power"] < out["carnot_efficiency"] / 2
    assert out["max_efficiency"] < out["carnot_efficiency"]
    text = run(*args[:4])
    assert text.exit_code == 0 and "0.272952688" in text.stdout


def test_cycle_other_loops(q1, tmp_path):
    out = run_json("cycle", q1, "--sector", f"r_out=30,theta0=0,theta1={np.pi / 2}",
                   "--reverse")
    assert out["geometric_heat"]["L"] == pytest.approx(-np.log(2), rel=QUADRANT_RTOL)
    rect = run_json("cycle", q1, "--rectangle", "Bx=0.3:1.3,Bz=0.2:0.9")
    poly = run_json("cycle", q1, "--polygon", "0.3:0.2;1.3:0.2;1.3:0.9;0.3:0.9")
    assert rect["geometric_heat"]["L"] == pytest.approx(poly["geometric_heat"]["L"], rel=1e-10)
    t = np.linspace(0, 1, 64, endpoint=False)
    f = tmp_path / "loop.txt"
    np.savetxt(f, np.stack([0.8 + 0.5 * np.cos(2 * np.pi * t), 0.6 + 0.5 * np.sin(2 * np.pi * t)],
                           -1), header="Bx Bz")
    out = run_json("cycle", q1, "--loop", f, "--plane", "Bx,Bz")
    assert out["geometric_heat"]["L"] == pytest.approx(0.2729526880, rel=CLOSED_FORM_RTOL)
    swapped = run_json("cycle", q1, "--loop", f, "--plane", "Bz,Bx")  # mirror: clockwise
    assert swapped["geometric_heat"]["L"] == pytest.approx(-0.2729526880, rel=CLOSED_FORM_RTOL)
    assert run_json("cycle", q1, "--loop", f)["plane"] == ["Bx", "Bz"]  # from the header
    ell = run_json("cycle", q1, "--ellipse", "Bx=0.8,Bz=0.6,a=0.5,b=0.5",
                   "--timing", "constant_dissipation")
    assert ell["dissipated_work_coefficient"] == pytest.approx(ell["thermodynamic_length"] ** 2,
                                                               rel=1e-7)


def test_optimal(q1):
    out = run_json("optimal", q1, "--plane", "Bx,Bz", "--bath", "L", "--resolution", "48,64")
    assert out["max_geometric_heat"] == pytest.approx(np.log(2), rel=1e-6)
    assert out["bound"] == pytest.approx(np.log(2)) and out["exceeds_bound"] is False
    assert out["positive_part"] > 0 > out["negative_part"] and len(out["loop"]["vertices"]) > 3
    assert out["loop_geometric_heat"] == pytest.approx(np.log(2), rel=1e-3)
    out = run_json("optimal", q1, "--region", "Bx=-4:4,Bz=-4:4", "--resolution", "32")
    # a coarse rectangle grid: Gauss-Legendre panels meet the direction-dependent rotor at the
    # degenerate origin, error ~1e-3 (absorbed by the bound margin)
    assert out["region"]["kind"] == "rectangle" and out["exceeds_bound"] is False
    assert out["max_geometric_heat"] == pytest.approx(np.log(2), rel=2e-3)
    text = run("optimal", q1, "--resolution", "48,64")
    assert text.exit_code == 0 and "within the bound" in text.stdout


def test_optimize(q1):
    out = run_json("optimize", q1, "--plane", "Bx,Bz", "--objective", "power_figure_of_merit",
                   "--family", "circle", "--start", "Bx=0.8,Bz=0.6,r=0.3", "--maxiter", "20")
    assert out["after"]["power_figure_of_merit"] > out["before"]["power_figure_of_merit"]
    out = run_json("optimize", q1, "--family", "fourier", "--harmonics", "1", "--start",
                   "Bx=0.8,Bz=0.6,r=0.3", "--maxiter", "4")
    assert out["loop"]["kind"] == "fourier"


def test_map_writes_netcdf_and_plot(q1, tmp_path):
    from thermogeo.protocols import load_map

    nc, png = tmp_path / "map.nc", tmp_path / "map.png"
    out = run_json("map", q1, "--x", "Bx=-3:3:13", "--y", "Bz=-2.9:3.1:11", "--out", nc,
                   "--plot", png, "--circle", "Bx=0.8,Bz=0.6,r=0.5")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"  # a PNG image was written
    ds = load_map(nc)
    assert ds.rotor.shape == (13, 11, 2) and "model_toml" in ds.attrs
    for v in ("rotor", "heat_response", "metric", "entropy"):
        assert v in out["variables"]


@pytest.mark.parametrize("args, needle", [
    (["cycle", "{q1}", "--circle", "Bq=0.8,Bz=0.6,r=0.5"], "Bq"),
    (["cycle", "{q1}", "--circle", "Bx=0.8,Bz=0.6,r=0.5", "--rectangle", "Bx=0:1,Bz=0:1"],
     "exactly one"),
    (["cycle", "{q1}", "--polygon", "0:0;1:1;1:0;0:1"], "intersects itself"),
    (["cycle", "{q1}", "--circle", "Bx=0.8,Bz=0.6"], "r"),
    (["cycle", "{dark}", "--circle", "Bx=0.8,Bz=0.6,r=0.5"], "not unique"),
    (["optimal", "{q1}", "--plane", "Bx,By"], "By"),
    (["optimize", "{q1}", "--objective", "speed"], "objective"),
    (["map", "{q1}", "--x", "Bx=-3:3", "--y", "Bz=-3:3:5", "--out", "x.nc"], "--x"),
])
def test_bad_input(models_dir, q1, args, needle):
    args = [a.format(q1=q1, dark=models_dir / "dark_singlet.toml") for a in args]
    res = run(*args)
    assert res.exit_code == 2
    assert "error:" in res.output and needle in res.output
