"""Command line: ``thermogeo exact``, ``convergence`` and ``balance`` (issue 4)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from thermogeo import load_model
from thermogeo.cli.app import app
from thermogeo.dynamics import exact_cycle
from thermogeo.protocols.paths import Circle

from conftest import CLOSED_FORM_RTOL, MODELS

Q1 = str(MODELS / "qubit_pump.toml")
CIRCLE = "Bx=0.8,Bz=0.6,r=0.5"
LOOP = Circle(("Bx", "Bz"), center=(0.8, 0.6), radius=0.5)


def run(*args):
    return CliRunner().invoke(app, list(args))


def test_exact_json_keys_and_values():
    r = run("exact", Q1, "--circle", CIRCLE, "--period", "50", "--json")
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    # the command prints the library's result as it is
    assert d == json.loads(json.dumps(exact_cycle(load_model(Q1), LOOP, 50.0).to_dict()))
    assert set(d["heat"]) == {"L", "R"}
    e = d["expansion"]
    assert e["geometric_heat"]["L"] == pytest.approx(0.2729526880, rel=CLOSED_FORM_RTOL)
    # the exact heat at tau = 50 sits between Q_geo and the second-order expansion's error
    q2 = e["geometric_heat"]["L"] + e["heat_order2"]["L"]
    assert abs(d["heat"]["L"] - q2) < abs(d["heat"]["L"] - e["geometric_heat"]["L"]) / 10
    # W_diss = -sum_a Q_a^(2)/tau (docs/theory.md section 4)
    assert e["dissipated_work"] == pytest.approx(-sum(e["heat_order2"].values()), rel=1e-9)
    assert abs(d["first_law_residual"]) < 10 * d["error_estimate"]


def test_exact_text_output():
    r = run("exact", Q1, "--circle", CIRCLE, "--period", "20")
    assert r.exit_code == 0, r.output
    d = json.loads(run("exact", Q1, "--circle", CIRCLE, "--period", "20", "--json").stdout)
    e = d["expansion"]
    # the text shows the same numbers under the paper's symbols: every order of the
    # expansion (the zeroth, tau Q^(0), too) and their sum
    for b in ("L", "R"):
        assert e["heat"][b] == pytest.approx(e["heat_order0"][b] + e["geometric_heat"][b]
                                             + e["heat_order2"][b], rel=1e-12)
        assert (f"bath {b}: Q exact {d['heat'][b]:+.10g}   expansion {e['heat'][b]:+.10g} = "
                f"tau Q0 {e['heat_order0'][b]:+.6g} + Q_geo {e['geometric_heat'][b]:+.10g} + "
                f"Q2/tau {e['heat_order2'][b]:+.6g}" in r.stdout)
    assert (f"expansion {e['work']:+.10g} = W1 {e['work_order1']:+.6g} + W_diss "
            f"{e['dissipated_work']:+.6g}") in r.stdout
    assert f"first-law residual {d['first_law_residual']:+.3e}" in r.stdout
    assert r.stdout.endswith("\n")


def test_convergence_json_and_plot(tmp_path):
    png = tmp_path / "conv.png"
    r = run("convergence", Q1, "--circle", CIRCLE, "--periods", "10:300:3", "--rtol", "1e-9",
            "--plot", str(png), "--json")
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    assert len(d["periods"]) == 3
    assert d["slope_order1"]["L"] == pytest.approx(-1.0, abs=0.15)
    assert d["slope_order2"]["L"] == pytest.approx(-2.0, abs=0.25)
    assert d["geometric_heat"]["L"] == pytest.approx(0.2729526880, rel=CLOSED_FORM_RTOL)
    assert png.stat().st_size > 1000


def test_balance_json_and_plot(tmp_path):
    png = tmp_path / "balance.png"
    r = run("balance", Q1, "--circle", CIRCLE, "--nodes", "64", "--period", "100",
            "--plot", str(png), "--json")
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    assert d["residual_order1"] < 1e-10 and d["residual_order2"] < 1e-6
    # the exact rates at tau = 100 are the expansion's up to O(1/tau)
    for k, exact in (("geometric_heat_rate_sum", "exact_geometric_heat_rate_sum"),
                     ("second_order_heat_rate_sum", "exact_second_order_heat_rate_sum"),
                     ("dissipated_power", "exact_dissipated_power")):
        x, y = np.array(d[k]), np.array(d[exact])
        assert x.shape == (64,)
        assert np.abs(x - y).max() < 0.05 * np.abs(x).max(), k
    assert png.stat().st_size > 1000


@pytest.mark.parametrize("args, needle", [
    (("exact", Q1, "--circle", "Bx=0.8,r=0.5", "--period", "5"), "--circle"),
    (("exact", Q1, "--circle", "Bx=0.8,Foo=0.6,r=0.5", "--period", "5"), "Foo"),
    (("exact", Q1, "--circle", CIRCLE, "--period", "-5"), "period"),
    (("exact", Q1, "--circle", CIRCLE, "--period", "5", "--rtol", "1e-30"), "rtol"),
    (("convergence", Q1, "--circle", CIRCLE, "--periods", "10:5:3"), "--periods"),
    (("exact", str(MODELS / "dark_singlet.toml"), "--circle", "Bx=0.3,Bz=0.5,r=0.1",
      "--period", "50"), "unique"),
])
def test_bad_input_exits_2(args, needle):
    r = run(*args)
    assert r.exit_code == 2, r.output
    assert needle in r.output


def test_short_period_warns():
    r = run("exact", Q1, "--circle", CIRCLE, "--period", "0.1", "--json")
    assert r.exit_code == 0
    assert "relaxation time" in r.output


def test_exact_method_option():
    a = json.loads(run("exact", Q1, "--circle", CIRCLE, "--period", "20", "--json",
                       "--method", "magnus", "--rtol", "1e-9").stdout)
    b = json.loads(run("exact", Q1, "--circle", CIRCLE, "--period", "20", "--json",
                       "--method", "spectral", "--rtol", "1e-9").stdout)
    assert a["method"] == "magnus" and b["method"] == "spectral"
    assert a["heat"]["L"] == pytest.approx(b["heat"]["L"], abs=1e-8)
    r = run("exact", Q1, "--circle", CIRCLE, "--period", "20", "--method", "euler")
    assert r.exit_code == 2 and "method" in r.output


def test_exact_steps_and_nodes_build_the_method():
    a = json.loads(run("exact", Q1, "--circle", CIRCLE, "--period", "20", "--json",
                       "--method", "magnus", "--steps", "64").stdout)
    assert (a["method"], a["order"], a["steps"], a["converged"]) == ("magnus", "4", 64, False)
    assert "fixed 64 Magnus-4 steps" in a["message"]
    b = json.loads(run("exact", Q1, "--circle", CIRCLE, "--period", "20", "--json",
                       "--method", "spectral", "--nodes", "32").stdout)
    assert (b["method"], b["order"], b["steps"]) == ("spectral", "spectral", 32)


def test_an_option_the_method_ignores_warns():
    r = run("exact", Q1, "--circle", CIRCLE, "--period", "20", "--json", "--method",
            "spectral", "--steps", "64")
    assert r.exit_code == 0, r.output
    assert "IgnoredOptionWarning: --steps=64 is ignored by --method spectral" in r.output
    r = run("convergence", Q1, "--circle", CIRCLE, "--periods", "10,20", "--nodes", "32",
            "--method", "magnus", "--rtol", "1e-6", "--json")
    assert r.exit_code == 0, r.output
    assert "--nodes=32 is ignored by --method magnus (it takes --steps)" in r.output


@pytest.mark.parametrize("flag, value", [("--steps", "1"), ("--nodes", "3")])
def test_bad_steps_or_nodes_exit_2(flag, value):
    method = "spectral" if flag == "--nodes" else "magnus"
    r = run("exact", Q1, "--circle", CIRCLE, "--period", "20", "--method", method, flag, value)
    assert r.exit_code == 2 and flag[2:] in r.output
