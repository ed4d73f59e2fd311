"""The researcher's workflow of issue 14, end to end on the command line: a three-qubit
Heisenberg chain between a hot bath (T = 2, through X0) and a cold bath (T = 1, through Z2).

check -> response -> map (with a plot) -> optimal (writing its loop) -> cycle on that loop
(refrigerator figures) -> exact on that loop at a finite period -> convergence. Every step
exits 0, the steps agree with one another where they compute the same quantity, and the
exact heat drawn from the cold bath per cycle approaches the expansion with fitted slopes -1
(first order) and -2 (second order) over the periods the convergence command selects itself
(docs/decisions/0323-convergence-periods.md). Coarse settings, real physics."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from thermogeo.cli.app import app
from thermogeo.protocols.paths import FourierLoop, load_loop

CHAIN = """\
name = "heisenberg_chain3"
qubits = 3
parameters = { Bx = 0.8, Bz = 0.6 }
constants = { J = 1.0 }

[[hamiltonian]]
coefficient = "Bx"
operator = "X0 + X1 + X2"

[[hamiltonian]]
coefficient = "Bz"
operator = "Z0 + Z1 + Z2"

[[hamiltonian]]
coefficient = "0.25*J"                  # J S_i.S_j on the edges 0-1, 1-2
operator = "X0 X1 + Y0 Y1 + Z0 Z1 + X1 X2 + Y1 Y2 + Z1 Z2"

[[baths]]
name = "hot"
temperature = 2.0
coupling = "X0"
spectral_density = { kind = "ohmic", strength = 0.001 }

[[baths]]
name = "cold"
temperature = 1.0
coupling = "Z2"
spectral_density = { kind = "ohmic", strength = 0.001 }
"""
BOX = ("Bx=0.5:1.1", "Bz=0.3:0.9")  # the cold bath's rotor has one sign here
SLOPE1_TOL = 0.1  # first order: fitted where Q^(2)/tau explains the error to 5 %
SLOPE2_TOL = 0.15  # second order: where err2 tau^2 has settled to 5 % between periods
STEADY_RTOL = 1e-10  # sum of the steady heat currents (energy balance of a frozen point)


def run(*args) -> dict | None:
    r = CliRunner().invoke(app, [str(a) for a in args])
    assert r.exit_code == 0, (args[0], r.output)
    assert r.stdout.endswith("\n")
    return json.loads(r.stdout) if "--json" in args else None


def test_three_qubit_refrigerator_workflow(tmp_path):
    model = tmp_path / "chain3.toml"
    model.write_text(CHAIN)
    run("check", model)

    # a frozen point: heat flows from the hot bath through the chain into the cold one
    r = run("response", model, "--at", "Bx=0.7,Bz=0.4", "--json")
    j = r["heat_current"]
    assert j["hot"] > 0 > j["cold"]
    assert j["hot"] + j["cold"] == pytest.approx(0.0, abs=STEADY_RTOL * j["hot"])
    assert -(j["hot"] / 2.0 + j["cold"] / 1.0) > 0  # entropy production

    m = run("map", model, "--x", "Bx=0.5:1.1:7", "--y", "Bz=0.3:0.9:7", "--out",
            tmp_path / "map.nc", "--plot", tmp_path / "map.png", "--bath", "cold", "--json")
    assert m["status"] == "ok" and (tmp_path / "map.png").stat().st_size > 1000
    assert m["rotor_range"]["cold"][1] < 0  # one sign on the box: the best region is all of it

    best = tmp_path / "best.toml"
    o = run("optimal", model, "--bath", "cold", "--region", ",".join(BOX), "--resolution", "8",
            "--save-loop", best, "--loop-harmonics", "1", "--json")
    loop = load_loop(best)
    assert isinstance(loop, FourierLoop) and o["saved_loop"] == str(best)

    c = run("cycle", model, "--loop", best, "--bath", "cold", "--no-area", "--json")
    assert c["geometric_heat"]["cold"] > 0  # the loop pumps heat out of the cold bath
    assert c["mode"] == "refrigerator"

    e = run("exact", model, "--loop", best, "--period", "2e4", "--rtol", "1e-9", "--json")
    assert abs(e["first_law_residual"]) < 10 * e["error_estimate"] + 1e-12
    # two routes to Q^geo: the line integral of cycle and the expansion beside exact
    assert e["expansion"]["geometric_heat"]["cold"] == pytest.approx(
        c["geometric_heat"]["cold"], rel=1e-6)

    v = run("convergence", model, "--loop", best, "--bath", "cold", "--rtol", "1e-9", "--json")
    assert v["error_kind"] == "absolute"
    one = np.asarray(v["asymptotic_order1"]["cold"])
    two = np.asarray(v["asymptotic_order2"]["cold"])
    assert one.sum() >= 3 and two.sum() >= 3  # the command found both regimes
    err1 = np.abs(v["error_order1"]["cold"])
    assert np.all(np.diff(err1[one]) < 0)  # the exact cooling approaches the expansion
    assert v["slope_order1"]["cold"] == pytest.approx(-1.0, abs=SLOPE1_TOL)
    assert v["slope_order2"]["cold"] == pytest.approx(-2.0, abs=SLOPE2_TOL)
