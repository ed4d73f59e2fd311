"""Protocol optimisation (issue 3): the optimiser improves its objective from the start."""

from __future__ import annotations

import numpy as np
import pytest

from thermogeo import ModelError
from thermogeo.protocols import Circle, FourierLoop, optimize_protocol

LENGTH_RTOL = 1e-4  # equality constraint of SLSQP on the fixed-node length, then adaptive



@pytest.fixture(scope="module")
def start():
    return Circle(("Bx", "Bz"), center=(0.8, 0.6), radius=0.3)


def test_circle_improves_power_figure_of_merit(q1, start):
    r = optimize_protocol(q1, ("Bx", "Bz"), objective="power_figure_of_merit",
                          family="circle", start=start, maxiter=40)
    assert r.success, r.message
    assert r.after.power_figure_of_merit > 1.5 * r.before.power_figure_of_merit
    assert isinstance(r.loop, Circle)
    # a stationary point: small changes of the radius do not improve it
    from thermogeo.protocols import cycle_summary
    for f in (0.97, 1.03):
        c = Circle(("Bx", "Bz"), center=r.loop.center, radius=r.loop.radius * f)
        assert cycle_summary(q1, c, area=False).power_figure_of_merit <= \
            r.after.power_figure_of_merit * (1 + 1e-6)
    assert r.to_dict()["loop"]["kind"] == "circle"


def test_fourier_improves_on_its_starting_circle(q1, start):
    r = optimize_protocol(q1, ("Bx", "Bz"), objective="power_figure_of_merit",
                          family="fourier", harmonics=1, start=start, maxiter=8)
    assert isinstance(r.loop, FourierLoop) and r.loop.harmonics == 1
    assert r.after.power_figure_of_merit > r.before.power_figure_of_merit


def test_geometric_heat_at_fixed_length(q1, start):
    r = optimize_protocol(q1, ("Bx", "Bz"), objective="geometric_heat_at_length",
                          family="circle", start=start, maxiter=30)
    assert r.success, r.message
    assert r.after.thermodynamic_length == pytest.approx(r.before.thermodynamic_length,
                                                         rel=LENGTH_RTOL)
    assert r.after.bath_geometric_heat > r.before.bath_geometric_heat


def test_geometric_heat_of_circles_stays_below_T_ln2(q1, start):
    r = optimize_protocol(q1, ("Bx", "Bz"), objective="geometric_heat", start=start, maxiter=30)
    assert r.before.bath_geometric_heat < r.after.bath_geometric_heat <= np.log(2)


def test_bad_input(q1, start):
    with pytest.raises(ModelError, match="objective"):
        optimize_protocol(q1, objective="speed")
    with pytest.raises(ModelError, match="family"):
        optimize_protocol(q1, family="square")
    with pytest.raises(ModelError, match="By"):
        optimize_protocol(q1, ("Bx", "By"))
    with pytest.raises(ModelError, match="plane"):
        optimize_protocol(q1, ("Bz", "Bx"), start=start)


def test_result_dataset_stacks_before_and_after(q1, start):
    r = optimize_protocol(q1, ("Bx", "Bz"), objective="power_figure_of_merit",
                          family="circle", start=start, maxiter=3)
    ds = r.to_dataset()
    assert list(ds.stage.values) == ["before", "after"]
    np.testing.assert_array_equal(ds.power_figure_of_merit.values,
                                  [r.before.power_figure_of_merit, r.after.power_figure_of_merit])
    np.testing.assert_array_equal(ds.geometric_heat.sel(stage="after").values,
                                  r.after.geometric_heat)
    assert ds.power_figure_of_merit.attrs["units"] == "energy / time"
    np.testing.assert_array_equal(ds.x.values, r.x)
    assert ds.attrs["objective"] == "power_figure_of_merit"
    assert r.to_dict()["after"]["power_figure_of_merit"] == r.after.power_figure_of_merit


def test_search_stays_in_its_box(q1, start):
    """The shape parameters are bounded (default 15 T around the origin): the free optimum
    of A^2/L^2 has its centre at about (0.86, 0.86); in a box of radius 0.85 the search stops
    at the wall with a smaller figure; a start outside the box is refused naming the option."""
    free = optimize_protocol(q1, start=start, nodes=32, maxiter=30)
    assert min(free.loop.center) > 0.85
    boxed = optimize_protocol(q1, start=start, nodes=32, maxiter=30, radius=0.85)
    cx, cz = boxed.loop.center
    assert max(abs(cx), abs(cz)) <= 0.85 + 1e-12 and boxed.loop.radius <= 0.85 + 1e-12
    assert boxed.after.power_figure_of_merit < free.after.power_figure_of_merit
    with pytest.raises(ModelError, match="search box of radius 0.1"):
        optimize_protocol(q1, start=start, radius=0.1)
