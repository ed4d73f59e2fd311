"""Best pumping region (issue 3): Q1 quadrant = T ln 2, non-interacting qubits never exceed
N T ln 2, the Heisenberg dimer does; the boundary loop pumps what the region integral says."""

from __future__ import annotations

import numpy as np
import pytest

from thermogeo import ModelError, load_model
from thermogeo.io.model_file import machine_from_dict
from thermogeo.response import response
from thermogeo.protocols import (Polygon, PolarRegion, RectRegion, Rectangle, cycle_summary,
                                 optimal_region, response_map)

GRID_RTOL = 1e-6  # polar Gauss grid aligned with the quadrants: the region sums are spectral
BOUNDARY_RTOL = 1e-3  # boundary polygon through grid cells vs the exact region
COARSE = (48, 64)


@pytest.fixture(scope="module")
def q1():
    return load_model("models/qubit_pump.toml")


def test_q1_best_region_is_a_quadrant(q1):
    o = optimal_region(q1, ("Bx", "Bz"), "L", resolution=COARSE)
    ln2 = np.log(2)
    assert o.max_geometric_heat == pytest.approx(ln2, rel=GRID_RTOL)
    assert o.positive_part == pytest.approx(2 * ln2, rel=GRID_RTOL)
    assert o.negative_part == pytest.approx(-2 * ln2, rel=GRID_RTOL)
    assert o.regions == 4 and not o.exceeds_bound and o.bound == pytest.approx(ln2)
    # the boundary is the quadrant loop: oriented to take heat out of bath L
    c = cycle_summary(q1, o.loop, nodes=4, area=False)
    assert c.bath_geometric_heat == pytest.approx(ln2, rel=BOUNDARY_RTOL)
    assert o.loop_geometric_heat == pytest.approx(c.bath_geometric_heat, rel=1e-12)
    d = o.to_dict()
    assert d["loop"]["vertices"] and d["exceeds_bound"] is False


@pytest.mark.parametrize("T, kappa_R", [(0.5, 3.0), (2.0, 1.0)])
def test_q1_bound_for_other_temperatures(q1, T, kappa_R):
    m = q1.with_values(**{"L.temperature": T, "R.temperature": T, "R.strength": kappa_R})
    o = optimal_region(m, ("Bx", "Bz"), "R", resolution=COARSE)
    assert o.max_geometric_heat == pytest.approx(T * np.log(2), rel=GRID_RTOL)
    assert not o.exceeds_bound


def test_rectangle_region_stays_below_bound(q1):
    o = optimal_region(q1, ("Bx", "Bz"), "L", region=RectRegion((-4, 4), (-4, 4), (48, 48)))
    assert 0.99 * np.log(2) < o.max_geometric_heat <= np.log(2)


def _two_free_qubits():
    """Two uncoupled qubits, different g-factors (no degenerate Bohr frequencies), couplings
    with opposite asymmetries."""
    return machine_from_dict({
        "name": "free_pair", "qubits": 2, "parameters": {"Bx": 0.3, "Bz": 0.5},
        "hamiltonian": [{"coefficient": "Bx", "operator": "X0 + 0.6*X1"},
                        {"coefficient": "Bz", "operator": "Z0 + 0.6*Z1"}],
        "baths": [{"name": "L", "temperature": 1.0, "coupling": "X0 + 2*X1",
                   "spectral_density": {"kind": "ohmic", "strength": 0.01}},
                  {"name": "R", "temperature": 1.0, "coupling": "2*Z0 + Z1",
                   "spectral_density": {"kind": "ohmic", "strength": 0.01}}]})


def test_non_interacting_qubits_never_exceed_N_T_ln2():
    m = _two_free_qubits()
    o = optimal_region(m, ("Bx", "Bz"), "L", resolution=COARSE)
    assert o.bound == pytest.approx(2 * np.log(2))
    assert o.max_geometric_heat <= o.bound * (1 + GRID_RTOL)
    assert not o.exceeds_bound


def test_heisenberg_dimer_exceeds_bound():
    m = load_model("models/heisenberg_dimer.toml")
    o = optimal_region(m, ("Bx", "Bz"), "L", resolution=COARSE)
    assert o.exceeds_bound
    assert o.max_geometric_heat > 1.15 * 2 * np.log(2)  # measured 1.676 T at J = 2 T, b = 2
    assert o.loop_geometric_heat == pytest.approx(o.max_geometric_heat, rel=1e-2)
    assert o.to_dict()["exceeds_bound"] is True


def test_bad_input(q1):
    with pytest.raises(ModelError, match="By"):
        optimal_region(q1, ("Bx", "By"), "L", resolution=COARSE)
    with pytest.raises(ModelError, match="bath"):
        optimal_region(q1, ("Bx", "Bz"), "Q", resolution=COARSE)
    hot = q1.with_values(**{"L.temperature": 1.5})  # unequal temperatures: no bound (issue 14)
    o = optimal_region(hot, ("Bx", "Bz"), "L", resolution=COARSE)
    assert np.isnan(o.bound) and not o.exceeds_bound and o.to_dict()["bound"] is None
    with pytest.raises(ModelError, match="multiple of 8"):
        PolarRegion(resolution=(32, 30))


def test_map_dataset_and_plot(q1, tmp_path):
    import tomllib

    from thermogeo.plot import plot_rotor
    from thermogeo.protocols import Circle, load_map, save_map

    xs, zs = np.linspace(-2, 2, 9), np.linspace(-1.9, 2.1, 11)
    ds = response_map(q1, ("Bx", xs), ("Bz", zs))
    assert ds.rotor.dims == ("Bx", "Bz", "bath") and ds.rotor.shape == (9, 11, 2)
    # the map is the pointwise response: closed-form rotor of docs/theory.md section 7 at one node
    r, th = np.hypot(xs[7], zs[3]), np.arctan2(xs[7], zs[3])
    omega = np.sin(2 * th) / np.cosh(r) ** 2
    assert float(ds.rotor.sel(bath="L")[7, 3]) == pytest.approx(omega, rel=1e-8)
    path = save_map(ds, tmp_path / "map.nc")
    back = load_map(path)
    np.testing.assert_array_equal(back.rotor.values, ds.rotor.values)
    assert back.unique.dtype == bool and back["Bx"].attrs["units"]
    assert back.rotor.attrs["units"]
    assert machine_from_dict(tomllib.loads(back.attrs["model_toml"])).parameter_names == (
        "Bx", "Bz")
    fig = plot_rotor(back, loop=Circle(("Bx", "Bz"), center=(0.8, 0.6), radius=0.5))
    assert len(fig.axes) == 4  # two panels and their colour bars
    with pytest.raises(ModelError, match="bath"):
        plot_rotor(back, bath="Q")


def test_region_is_frozen_and_its_dataset_carries_values_and_units(q1):
    import dataclasses

    o = optimal_region(q1, ("Bx", "Bz"), "L", resolution=COARSE)
    with pytest.raises(dataclasses.FrozenInstanceError):
        o.max_geometric_heat = 0.0
    ds = o.to_dataset()
    assert float(ds.max_geometric_heat) == o.max_geometric_heat
    assert float(ds.max_geometric_heat_over_T) == o.max_geometric_heat / o.temperature
    assert ds.max_geometric_heat.attrs["units"] == "energy"
    np.testing.assert_array_equal(ds.rotor.values, o.rotor)
    np.testing.assert_array_equal(ds.loop_vertices.values, np.asarray(o.loop.vertices))
    assert list(ds.axis.values) == ["Bx", "Bz"] and ds.attrs["bath"] == "L"
    small = o.to_dataset(grid=False)
    assert all(v.ndim == 0 for v in small.data_vars.values())
    assert float(small.region_radius) == 15.0  # the default disc, 15 T at T = 1


def test_best_mask_holds_the_best_region(models_dir):
    """``OptimalRegion.best_mask``: its weighted rotor sum is the best region's heat."""
    import thermogeo as tg

    m = tg.load_model(models_dir / "heisenberg_dimer.toml")
    o = tg.protocols.optimal_region(m, ("Bx", "Bz"), "L", resolution=(40, 48))
    om = np.where(np.isfinite(o.rotor), o.rotor, 0.0)
    assert o.best_mask.any() and np.all(np.sign(om[o.best_mask]) == o.region_sign)
    assert abs((om * o.weights)[o.best_mask].sum()) == pytest.approx(o.max_geometric_heat,
                                                                     rel=1e-12)


def _best_rectangle(m, bath, edges=(-4.0, -1.0, 0.0, 1.0, 4.0), nodes=8):
    """Brute force: the largest |Q_bath^geo| over all rectangles with corners on ``edges``
    (line integrals with ``nodes`` Gauss nodes per side, every node in one response call)."""
    rects = [Rectangle((x0, x1), (z0, z1), plane=("Bx", "Bz"))
             for i, x0 in enumerate(edges) for x1 in edges[i + 1:]
             for j, z0 in enumerate(edges) for z1 in edges[j + 1:]]
    s, w = rects[0].quadrature(nodes)
    lam = np.concatenate([r.points(m, s) for r in rects])
    vel = np.concatenate([r.velocity(m, s) for r in rects])
    lam_q = response(m, lam).heat_response[:, m.bath_index(bath)]
    q = np.einsum("nk,nk->n", lam_q, vel).reshape(len(rects), len(s)) @ w
    return float(np.abs(q).max())


def test_unequal_temperatures_any_bath_against_brute_force():
    """Issue 14: at unequal temperatures (L at 1.5, R at 1) the rotor of the machine's own
    temperatures is mapped for either bath; the bound does not apply. Brute checks: a
    rectangle grid region agrees with the polar one, the boundary loop pumps the region's
    heat out of the bath (adaptive line integral), and no rectangle with corners on a coarse
    grid pumps more; the static heat of the bath along the loop is the loop average of its
    steady current (cycle_summary)."""
    m = load_model("models/qubit_pump.toml").with_values(
        **{"L.temperature": 1.5, "R.temperature": 1.0})
    for bath, T in (("L", 1.5), ("R", 1.0)):
        o = optimal_region(m, ("Bx", "Bz"), bath, resolution=COARSE)
        assert np.isnan(o.bound) and not o.exceeds_bound and o.temperature == T
        assert o.temperatures == {"L": 1.5, "R": 1.0}
        rect = optimal_region(m, ("Bx", "Bz"), bath, region=RectRegion((-6, 6), (-6, 6), (64, 64)))
        assert rect.max_geometric_heat == pytest.approx(o.max_geometric_heat, rel=2e-3)
        c = cycle_summary(m, o.loop, bath=bath, area=False, figures=False)
        assert c.bath_geometric_heat == pytest.approx(o.max_geometric_heat, rel=BOUNDARY_RTOL)
        assert o.loop_static_heat_rate == pytest.approx(
            c.static_heat_rate[m.bath_index(bath)], rel=1e-6, abs=1e-12)
        assert 0.8 * o.max_geometric_heat < _best_rectangle(m, bath) <= (
            o.max_geometric_heat * (1 + BOUNDARY_RTOL))
    # pumping out of L: the single-qubit quadrant, T_L ln 2 at the hot bath's temperature
    o = optimal_region(m, ("Bx", "Bz"), "L", resolution=COARSE)
    assert o.max_geometric_heat == pytest.approx(1.5 * np.log(2), rel=GRID_RTOL)


def test_boundary_reports_where_the_generator_is_not_smooth():
    """Q1's quadrant boundary: the generator is smooth along the axes and not at the origin
    (H = 0), so only the corner's vertices in the origin's grid cell are reported. A machine
    whose degenerate Bohr frequencies split linearly off Bx = 0 (fields Bz Z0 + (Bz + Bx) Z1)
    reports a side on that axis, with its share of the boundary length."""
    from thermogeo.protocols.optimal import _nonsmooth

    q1 = load_model("models/qubit_pump.toml")
    o = optimal_region(q1, ("Bx", "Bz"), "L", resolution=COARSE)
    pts = o.nonsmooth_points()
    assert len(pts) > 0 and np.all(np.hypot(*pts.T) < 1e-2)
    assert 0 < o.nonsmooth_fraction < 1e-3
    d = o.to_dict()["nonsmooth_boundary"]
    assert d["points"] == pts.tolist() and len(d["runs"]) == 1
    split = machine_from_dict({
        "name": "split", "qubits": 2, "parameters": {"Bx": 0.3, "Bz": 0.5},
        "hamiltonian": [{"coefficient": "Bz", "operator": "Z0 + Z1"},
                        {"coefficient": "Bx", "operator": "Z1"}],
        "baths": [{"name": "L", "temperature": 1.0, "coupling": "X0 + X1",
                   "spectral_density": {"kind": "ohmic", "strength": 0.01}},
                  {"name": "R", "temperature": 1.0, "coupling": "X0 - 2*X1",
                   "spectral_density": {"kind": "ohmic", "strength": 0.01, "exponent": 3,
                                        "cutoff": 10.0}}]})
    loop = Polygon(("Bx", "Bz"), vertices=[(1.0, 0.5), (1.0, 1.5), (0.0, 1.5), (0.0, 0.5)])
    g = np.stack(np.meshgrid(np.linspace(-2, 2, 41), np.linspace(-2, 2, 41), indexing="ij"), -1)
    flags, frac = _nonsmooth(split, loop, g, None, None)
    assert flags.tolist() == [False, False, True, True]
    assert frac == pytest.approx(1 / 4)  # the side on Bx = 0, a quarter of the perimeter
