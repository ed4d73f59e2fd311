"""`thermogeo reproduce --quick` end to end: report.json, data files and figures (issue 5)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import xarray as xr
from typer.testing import CliRunner

from thermogeo.cli import app
from thermogeo.reproductions import ITEMS

BALANCE_RTOL = 1e-8  # issue 5: the balance identities hold to 1e-8
BOUND_RTOL = 1e-4  # issue 5: the non-interacting bound is met to 1e-4


@pytest.fixture(scope="module")
def reproduction(tmp_path_factory):
    out = tmp_path_factory.mktemp("reproduction")
    result = CliRunner().invoke(app, ["reproduce", "--quick", "--out", str(out)])
    lines = [json.loads(t) for t in (out / "report.json").read_text().splitlines()]
    return out, result, {d["item"]: d for d in lines}


def test_every_item_reported_and_passed(reproduction):
    out, result, report = reproduction
    assert set(report) == set(ITEMS)
    for name, line in report.items():
        assert line["passed"] is True, (name, line.get("error"), line.get("ours"))
        assert line["quick"] is True
    assert result.exit_code == 0, result.output


def test_figures_and_data_exist(reproduction):
    import matplotlib.image as mpimg

    out, _, report = reproduction
    for name in ITEMS:
        png = out / f"{name}.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        img = mpimg.imread(png)
        assert img.shape[0] > 300 and img.shape[1] > 300
        assert float(np.std(img[..., :3])) > 0.01  # not a blank canvas
        assert (out / f"{name}.pdf").read_bytes()[:5] == b"%PDF-"
        ds = xr.open_dataset(out / f"{name}.nc", engine="h5netcdf")
        assert ds.attrs["item"] == name and "params" in ds.attrs
        ds.close()


def test_balance_identities(reproduction):
    ours = reproduction[2]["balance"]["ours"]
    assert ours["first_order_balance_rel_error"] < BALANCE_RTOL
    assert ours["second_order_balance_rel_error"] < BALANCE_RTOL
    assert abs(ours["cycle_second_order_rel_error"]) < BALANCE_RTOL


def test_noninteracting_bound_met_and_interaction_exceeds_it(reproduction):
    line = reproduction[2]["bound"]
    bound = 2 * math.log(2)
    assert line["ours"]["noninteracting_rel_error_to_bound"] < BOUND_RTOL
    assert line["ours"]["noninteracting_max"] <= bound * (1 + BOUND_RTOL)
    assert line["ours"]["largest"] > bound
    rotor = reproduction[2]["rotor"]["ours"]
    assert rotor["interacting"] > bound


def test_list_and_unknown_item():
    r = CliRunner().invoke(app, ["reproduce", "--list"])
    assert r.exit_code == 0 and all(n in r.output for n in ITEMS)
    r = CliRunner().invoke(app, ["reproduce", "nonsense", "--quick"])
    assert r.exit_code != 0 and "available" in r.output
