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
        assert line["claim_holds"] is True, (name, line.get("error"), line.get("ours"))
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


# docs/decisions/0007-names.md: glossary names in every data file and report, none of the old.
GLOSSARY_NAMES = {
    "balance": {"geometric_heat_rate", "geometric_heat_rate_sum", "exact_geometric_heat_rate",
                "exact_geometric_heat_rate_sum", "T_dS_ds", "second_order_heat_rate_sum",
                "dissipated_power"},
    "rotor": {"rotor", "loop", "max_geometric_heat", "bound"},
    "dissipation": {"metric_trace", "dissipated_work_coefficient_single_qubit",
                    "dissipated_work_coefficient_per_qubit_vs_J",
                    "dissipated_work_coefficient_per_qubit_vs_b",
                    "dissipated_work_coefficient_per_qubit_vs_b_noninteracting",
                    "thermodynamic_length_squared_single_qubit",
                    "thermodynamic_length_squared_per_qubit_vs_J"},
    "bound": {"max_geometric_heat_over_T"},
    "merit": {"power_figure_of_merit", "bath_geometric_heat", "thermodynamic_length"},
    "entanglement": {"max_geometric_heat_over_T", "max_concurrence_in_best_region",
                     "max_negativity_in_best_region", "loop", "rotor", "concurrence_0_1"},
}
OLD_NAMES = ("A2_over_L2", "A", "length", "max_pumped_heat", "pumped_heat", "dissipation",
             "best", "single_qubit", "per_qubit_vs_J", "per_qubit_vs_b",
             "min_of_tauWdiss_minus_L2")
OLD_PREFIXES = ("dissipation_", "length2_", "max_pumped", "pumped_heat", "heat_rate_order",
                "power_order")


def _keys(obj) -> set[str]:
    """Every key of a nested JSON object."""
    if not isinstance(obj, dict):
        return set()
    return set(obj) | {k for v in obj.values() for k in _keys(v)}


def test_glossary_names_and_units(reproduction):
    out, _, report = reproduction
    for name, expected in GLOSSARY_NAMES.items():
        with xr.open_dataset(out / f"{name}.nc", engine="h5netcdf") as ds:
            names = set(map(str, ds.variables))
            assert expected <= names, (name, expected - names)
            stale = {v for v in names
                     if v in OLD_NAMES or v.removeprefix("exact_").startswith(OLD_PREFIXES)}
            assert not stale, (name, stale)
            for v, var in ds.variables.items():
                if var.dtype.kind in "fiub":  # text coordinates (machine, bath) carry no units
                    assert var.attrs.get("units"), (name, v)
        assert not _keys(report[name]["ours"]) & set(OLD_NAMES), name
    merit = report["merit"]["ours"]["max_power_figure_of_merit"]
    assert set(merit) == {"non_interacting", "interacting"}
    dissipation = report["dissipation"]["ours"]
    assert "dissipated_work_coefficient_single_qubit" in dissipation
    assert "min_dissipated_work_coefficient_minus_thermodynamic_length_squared" in dissipation


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


def test_entanglement_physics_and_verdict(reproduction):
    """Item entanglement: J = 0 is two free qubits in a product Gibbs state (2 T ln 2, C = 0),
    concurrences are concurrences, and the verdict is the one the data give."""
    out, _, report = reproduction
    line = report["entanglement"]
    ours = line["ours"]
    with xr.open_dataset(out / "entanglement.nc", engine="h5netcdf") as ds:
        q = ds.max_geometric_heat_over_T.load()
        c = ds.max_concurrence_in_best_region.load()
        n = ds.max_negativity_in_best_region.load()
        tol, bound = ds.attrs["concurrence_tolerance"], ds.attrs["bound"]
        beats = q > bound * (1 + ds.attrs["bound_rtol"])
        assert ds.attrs["heat_rtol"] <= BOUND_RTOL and tol <= 1e-6
        assert bound == pytest.approx(2 * math.log(2), rel=1e-15)
        # the dimer without exchange: 2 T ln 2 and a product steady state, whatever the exchange
        # type or the coupling asymmetry b
        free = ds.J.values == 0.0
        assert free.any()
        np.testing.assert_allclose(q.sel(J=0.0), bound, rtol=ds.attrs["heat_rtol"])
        assert float(c.sel(J=0.0).max()) < tol and float(n.sel(J=0.0).max()) < 1e-12
        # concurrences and negativities of two qubits: finite, C in [0, 1], N in [0, 1/2],
        # 2N <= C, and N > 0 where C is above the tolerance (both vanish exactly on separable
        # pairs)
        for v, top in ((c, 1.0), (n, 0.5)):
            assert np.all(np.isfinite(v)) and float(v.min()) >= 0.0
            assert float(v.max()) <= top + 1e-12
        assert np.all(2 * n <= c + 1e-12)
        assert np.all(n.values[c.values >= tol] > 0.0)
        cmap = ds.concurrence_0_1.values
        assert np.all((cmap >= 0.0) & (cmap <= 1.0 + 1e-12))
        # the Heisenberg dimer: Gibbs concurrence max(0, (e^{J/T} - 3)/(e^{J/T} + 3)) at zero
        # field is its largest over uniform fields; separable for J <= T ln 3
        heis = ds.exchange.values[ds.anisotropy.values == 1.0]
        assert len(heis) == 1
        closed = np.maximum(0.0, (np.exp(ds.J.values) - 3) / (np.exp(ds.J.values) + 3))
        ch = c.sel(exchange=heis[0]).values
        assert np.all(ch <= closed[:, None] + tol)
        assert np.all(ch[ds.J.values <= math.log(3)] < tol)
        # the verdict: recomputed from the data
        winners = beats & (c < tol)
        assert ours["beats_bound_while_separable"] is bool(winners.any())
        assert ours["separable_machines_beating_bound"] == int(winners.sum())
        assert len(ours["machines_beating_bound"]) == int(beats.sum())
        for row in ours["machines_beating_bound"]:
            at = dict(exchange=row["exchange"], J=row["J"], b=row["b"])
            assert row["max_geometric_heat_over_T"] == pytest.approx(float(q.sel(at)))
            assert row["max_concurrence_in_best_region"] == pytest.approx(float(c.sel(at)))
            assert float(q.sel(at)) > bound
        assert ("none of" in ours["verdict"]) is not bool(winners.any())
    assert line["claim_holds"] is True


def test_list_and_unknown_item():
    r = CliRunner().invoke(app, ["reproduce", "--list"])
    assert r.exit_code == 0 and all(n in r.output for n in ITEMS)
    r = CliRunner().invoke(app, ["reproduce", "nonsense", "--quick"])
    assert r.exit_code != 0 and "available" in r.output
