"""Command line of issue 17: ``thermogeo fluctuations`` (--json keys, text, bad input)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from conftest import CLOSED_FORM_RTOL
from thermogeo.cli.app import app

runner = CliRunner()
CIRCLE = "Bx=0.8,Bz=0.6,r=0.5"


@pytest.fixture
def q1(models_dir):
    return str(models_dir / "qubit_pump.toml")


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


def test_fluctuations_json_keys_and_values(q1):
    res = run("fluctuations", q1, "--circle", CIRCLE, "--period", "3", "--rtol", "1e-6",
              "--json")
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    sd = out["slow_driving"]
    # the geometric mean per cycle is the pumped heat of the rotor (docs/theory.md section 7)
    assert sd["heat_mean_geometric"]["L"] == pytest.approx(0.2729526880, rel=CLOSED_FORM_RTOL)
    (row,) = out["periods"]
    assert row["period"] == 3.0
    for kind in ("slow_driving", "exact"):
        r = row[kind]
        for key in ("heat_mean", "heat_variance", "heat_third_cumulant",
                    "uncertainty_product"):
            assert set(r[key]) == {"L", "R"}
        assert r["heat_covariance"]["L"]["R"] == r["heat_covariance"]["R"]["L"]
    # equal temperatures: the tau^0 entropy production vanishes, no product (null); the
    # exact one is finite and positive (the dissipated work over T)
    assert row["slow_driving"]["uncertainty_product"]["L"] is None
    assert row["exact"]["entropy_production"] > 0
    assert row["exact"]["converged"]
    # the exact variance sits within O(1/tau) of slow driving
    v_ex, v_sd = row["exact"]["heat_variance"]["L"], row["slow_driving"]["heat_variance"]["L"]
    assert abs(v_ex - v_sd) < 0.1 * v_sd


def test_fluctuations_text_and_errors(q1):
    res = run("fluctuations", q1, "--circle", CIRCLE, "--period", "2", "--no-exact")
    assert res.exit_code == 0, res.output
    assert "bath L: <Q> = tau*" in res.stdout and "tau = 2 slow driving" in res.stdout
    bad = run("fluctuations", q1, "--circle", CIRCLE, "--period", "0,abc")
    assert bad.exit_code == 2 and "--period" in bad.output
    bad = run("fluctuations", q1, "--circle", CIRCLE, "--period", "-1")
    assert bad.exit_code == 2 and "> 0" in bad.output
    bad = run("fluctuations", q1)
    assert bad.exit_code == 2 and "loop" in bad.output


def test_noise_map_writes_netcdf(models_dir, tmp_path):
    from thermogeo.protocols.maps import load_map

    out = tmp_path / "noise.nc"
    res = run("noise-map", models_dir / "heisenberg_dimer.toml", "--x", "Bx=0.2:1.0:4",
              "--y", "Bz=0.3:0.9:3", "--set", "L.temperature=1.2", "--out", out, "--json")
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["unique_points"] == 12
    ds = load_map(out)
    assert ds["heat_noise"].dims == ("Bx", "Bz", "bath", "bath2")
    assert ds["geometric_variance_density"].shape == (3, 2, 2)
    # unequal temperatures: the steady-state uncertainty relation holds at every point
    assert float(ds["uncertainty_product"].min()) >= 2.0
    bad = run("noise-map", models_dir / "heisenberg_dimer.toml", "--x", "Bx=0:1:3", "--y",
              "Bx=0:1:3", "--out", out)
    assert bad.exit_code == 2 and "two different parameters" in bad.output
