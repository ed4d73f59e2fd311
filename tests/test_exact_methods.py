"""Solvers of the exact dynamics as method objects (issue 12, item 3; docs/decisions/0403).

* each method object's ``order`` is measured: fitted slopes of the heat error against the step
  count (Magnus and Krylov: 4; Eigenframe: 2, from its step-halving estimate), exponential
  convergence for Spectral;
* string, object and ``ExactOptions`` forms give identical numbers;
* options a method does not use warn (``IgnoredOptionWarning``), invalid ones are refused
  naming the option;
* the result names the method that ran, its order, steps and status.

Model Q1 (docs/theory.md section 7) on the circle centre (0.8, 0.6), radius 0.5.
"""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

import numpy as np
import pytest

from thermogeo.dynamics import (METHODS, Auto, Eigenframe, ExactMethod, ExactOptions,
                                IgnoredOptionWarning, Krylov, Magnus, Spectral, exact_cycle,
                                make_method, periodic_states)
from thermogeo.numerics import Numerics
from thermogeo.protocols.paths import Rectangle

ORDER_TOL = 0.3  # fitted order of Magnus and Krylov: 4 +- 0.3
EIGENFRAME_ORDER_TOL = 0.35  # as tests/test_many_qubit_dynamics.py
STRUCTURED = Numerics(kernel="structured")
RECT = Rectangle((0.4, 1.0), (0.3, 0.8))


def slope(n, err) -> float:
    """Fitted slope of ``log err`` against ``log n``."""
    return float(np.polyfit(np.log(n), np.log(err), 1)[0])


@pytest.fixture(scope="module")
def reference(q1, circle):
    """Heats at tau = 4 and 10 by the spectral solver at rtol 1e-12 (independent of the
    stepping methods)."""
    return {tau: exact_cycle(q1, circle, tau, method=Spectral(rtol=1e-12), expansion=False)
            for tau in (4.0, 10.0)}


def test_magnus_order_is_four(q1, circle, reference):
    steps = np.array([16, 24, 32, 48, 64])
    runs = [exact_cycle(q1, circle, 10.0, method=Magnus(steps=int(n)), expansion=False)
            for n in steps]
    err = [np.abs(r.heat - reference[10.0].heat).max() for r in runs]
    fitted = slope(steps, err)  # measured -4.10
    assert abs(fitted + Magnus.order) < ORDER_TOL, (fitted, err)
    assert all(r.order == 4 and r.method == "magnus" for r in runs)
    assert [r.steps for r in runs] == steps.tolist()


def test_krylov_order_is_four_and_its_numbers_are_magnus(q1, circle, reference):
    steps = np.array([8, 16, 32])
    kr = [exact_cycle(q1, circle, 4.0, method=Krylov(steps=int(n), rtol=1e-10),
                      expansion=False) for n in steps]
    err = [np.abs(r.heat - reference[4.0].heat).max() for r in kr]
    fitted = slope(steps, err)  # measured -4.04
    assert abs(fitted + Krylov.order) < ORDER_TOL, (fitted, err)
    mg = exact_cycle(q1, circle, 4.0, method=Magnus(steps=32), expansion=False)
    np.testing.assert_allclose(kr[-1].heat, mg.heat, atol=1e-9)


def test_eigenframe_order_is_two(q1, circle):
    """The step-halving estimate ``|Q_n - Q_{n/2}| / 3`` of the raw passes falls as
    ``n^-order`` (tau = 4: the steps resolve the relaxation, no truncation term)."""
    steps = np.array([128, 256])
    runs = [exact_cycle(q1, circle, 4.0, method=Eigenframe(steps=int(n), numerics=STRUCTURED),
                        expansion=False) for n in steps]
    fitted = slope(steps, [r.error_estimate for r in runs])  # measured -1.92
    assert abs(fitted + Eigenframe.order) < EIGENFRAME_ORDER_TOL, fitted
    assert runs[-1].order == 2 and runs[-1].method == "eigenframe"


def test_spectral_converges_exponentially(q1, circle):
    """Error against the node count: a straight line on semi-log axes (log-log slope steeper
    than any fixed order here)."""
    ref = exact_cycle(q1, circle, 20.0, method=Spectral(nodes=64, rtol=1e-12), expansion=False)
    nodes = np.array([6, 8, 12, 16, 24])
    runs = [exact_cycle(q1, circle, 20.0, method=Spectral(nodes=int(n)), expansion=False)
            for n in nodes]
    err = np.array([np.abs(r.heat - ref.heat).max() for r in runs])
    rate, _ = np.polyfit(nodes, np.log(err), 1)  # measured -0.65 per node
    r = np.corrcoef(nodes, np.log(err))[0, 1]
    assert rate < -0.4 and r < -0.97, (rate, r, err)
    assert slope(nodes, err) < -2 * Magnus.order  # measured -8.4
    assert Spectral.order == "spectral" and runs[0].order == "spectral"
    assert [x.steps for x in runs] == nodes.tolist()
    # fixed nodes: the estimate is the change from the next smaller count (8 -> 12 here)
    assert runs[2].error_estimate == pytest.approx(np.abs(runs[2].heat - runs[1].heat).max())


@pytest.mark.parametrize("name", ["auto", "magnus", "spectral"])
def test_string_object_and_options_forms_are_identical(q1, circle, name):
    a = exact_cycle(q1, circle, 2.0, method=name, expansion=False)
    b = exact_cycle(q1, circle, 2.0, method=METHODS[name](), expansion=False)
    c = exact_cycle(q1, circle, 2.0, options=ExactOptions(method=name), expansion=False)
    for r in (b, c):
        np.testing.assert_array_equal(r.heat, a.heat)
        assert (r.work, r.steps, r.error_estimate, r.method) == (a.work, a.steps,
                                                                 a.error_estimate, a.method)
        np.testing.assert_array_equal(r.periodic_state, a.periodic_state)


@pytest.mark.parametrize("name, kw", [("krylov", dict(steps=16)),
                                      ("eigenframe", dict(steps=8, numerics=STRUCTURED))])
def test_options_and_object_forms_are_identical(q1, circle, name, kw):
    a = exact_cycle(q1, circle, 2.0, options=ExactOptions(method=name, **kw), expansion=False)
    b = exact_cycle(q1, circle, 2.0, method=make_method(name, **kw), expansion=False)
    np.testing.assert_array_equal(a.heat, b.heat)
    assert a.solver == b.solver == METHODS[name](**kw)


def test_auto_chooses_as_before(q1, circle):
    assert Auto().resolve(circle, q1.dim) == Spectral()
    assert Auto(rtol=1e-9).resolve(RECT, q1.dim) == Magnus(rtol=1e-9)
    assert Auto(steps=32).resolve(circle, q1.dim) == Magnus(steps=32)
    assert Auto(steps=32, numerics=STRUCTURED).resolve(circle, q1.dim) == Eigenframe(
        steps=32, numerics=STRUCTURED)
    assert Auto().resolve(circle, 2**4) == Eigenframe()  # beyond the dense kernels
    for loop in (circle, RECT):
        for opts in (ExactOptions(), ExactOptions(steps=32), ExactOptions(max_unknowns=16)):
            assert opts.resolve(loop, q1.dim).name == opts.resolve_method(loop, q1.dim)


def test_result_states_method_order_and_status(q1, circle):
    r = exact_cycle(q1, circle, 20.0, method=Auto(rtol=1e-9))
    assert (r.method, r.order, r.success) == ("spectral", "spectral", True)
    assert isinstance(r.solver, Spectral) and r.solver.rtol == 1e-9
    assert r.message.startswith("converged") and f"{r.steps} collocation nodes" in r.message
    assert r.step_unit == "collocation nodes"
    d = r.to_dict()
    assert (d["method"], d["order"]) == ("spectral", "spectral")
    ds = r.to_dataset()
    assert ds.attrs["order"] == "spectral" and ds.attrs["message"] == r.message
    f = exact_cycle(q1, RECT, 10.0, method=Magnus(steps=16), expansion=False)
    assert (f.method, f.order, f.steps, f.success) == ("magnus", 4, 16, False)
    assert f.message.startswith("not converged") and "fixed 16 Magnus-4 steps" in f.message
    assert f.to_dict()["order"] == "4"


def test_periodic_states_take_the_solver_that_ran(q1, circle):
    for m in (Magnus(rtol=1e-9), Spectral(rtol=1e-9)):
        r = exact_cycle(q1, circle, 2.0, method=m, expansion=False)
        s = np.array([0.0, 0.3])
        a = periodic_states(q1, circle, 2.0, s, steps=r.steps, method=r.solver)
        b = periodic_states(q1, circle, 2.0, s, steps=r.steps, method=r.method)
        np.testing.assert_array_equal(a, b)
        np.testing.assert_allclose(a[0], r.periodic_state, atol=1e-9)


def test_registry():
    assert set(METHODS) == {"auto", "magnus", "spectral", "krylov", "eigenframe"}
    for name, cls in METHODS.items():
        assert cls.name == name and issubclass(cls, ExactMethod)
        assert dataclasses.is_dataclass(cls) and cls.__dataclass_params__.frozen
    assert (Magnus.order, Krylov.order, Eigenframe.order, Spectral.order) == (
        4, 4, 2, "spectral")
    assert "steps" not in Spectral.option_names() and "nodes" not in Magnus.option_names()
    with pytest.raises(dataclasses.FrozenInstanceError):
        Magnus().steps = 4


# --- options a method ignores warn -------------------------------------------------------

def test_exact_options_warn_about_options_the_named_method_ignores():
    with pytest.warns(IgnoredOptionWarning, match=r"steps=4 is ignored by method 'spectral'"
                      ) as rec:
        opts = ExactOptions(method="spectral", steps=4)
    assert rec[0].filename == __file__  # points at the caller
    with pytest.warns(IgnoredOptionWarning, match=r"max_nodes=64, max_unknowns=100 are "
                      "ignored by method 'magnus'"):
        ExactOptions(method="magnus", max_nodes=64, max_unknowns=100)
    with pytest.warns(IgnoredOptionWarning, match="chunk=16 is ignored by method 'eigenframe'"):
        ExactOptions(method="eigenframe", chunk=16)
    assert opts.steps == 4  # kept on the options, not passed to the spectral solver


def test_exact_options_auto_warns_when_the_chosen_method_ignores_an_option(q1, circle):
    opts = ExactOptions(max_nodes=64, rtol=1e-6)  # used if auto chooses spectral
    exact_cycle(q1, circle, 20.0, options=opts, expansion=False)  # spectral: no warning
    with pytest.warns(IgnoredOptionWarning, match="max_nodes=64 is ignored by method 'magnus'"):
        r = exact_cycle(q1, RECT, 10.0, options=opts, expansion=False)
    assert r.method == "magnus"


def test_method_objects_warn_about_options_a_fixed_count_overrides():
    with pytest.warns(IgnoredOptionWarning, match="min_steps=8 is ignored by Magnus") as rec:
        Magnus(steps=64, min_steps=8)
    assert rec[0].filename == __file__
    with pytest.warns(IgnoredOptionWarning, match="max_nodes=64 is ignored by Spectral"):
        Spectral(nodes=32, max_nodes=64)
    with pytest.warns(IgnoredOptionWarning, match="nodes=48 is ignored by method 'magnus'"):
        m = make_method("magnus", nodes=48, steps=64)
    assert m == Magnus(steps=64)


# --- invalid options are refused, naming the option -------------------------------------

@pytest.mark.parametrize("cls, kw, name", [
    (Magnus, dict(steps=1), "steps"), (Magnus, dict(steps=2.5), "steps"),
    (Magnus, dict(min_steps=1), "min_steps"), (Magnus, dict(min_steps=64, max_steps=32),
                                                "max_steps"),
    (Magnus, dict(chunk=0), "chunk"), (Magnus, dict(rtol=0.5), "rtol"),
    (Magnus, dict(rtol=1e-20), "rtol"), (Magnus, dict(slow_factor=-1.0), "slow_factor"),
    (Magnus, dict(numerics="dense"), "numerics"), (Krylov, dict(max_cycles=0), "max_cycles"),
    (Eigenframe, dict(max_cycles=0), "max_cycles"), (Eigenframe, dict(steps=2**23), "steps"),
    (Spectral, dict(nodes=3), "nodes"), (Spectral, dict(min_nodes=2), "min_nodes"),
    (Spectral, dict(min_nodes=32, max_nodes=16), "max_nodes"),
    (Spectral, dict(max_unknowns=8), "max_unknowns"), (Auto, dict(steps=0), "steps"),
])
def test_invalid_options_are_refused_naming_them(cls, kw, name):
    with pytest.raises(ValueError, match=rf"^{name}: expected "):
        cls(**kw)


def test_unknown_options_and_methods_are_refused(q1, circle):
    with pytest.raises(TypeError, match="nodes"):
        Magnus(nodes=16)
    with pytest.raises(ValueError, match=r"method: expected one of \('auto', 'magnus'"):
        exact_cycle(q1, circle, 2.0, method="rk4")
    with pytest.raises(ValueError, match="method: expected one of"):
        ExactOptions(method="rk4")
    with pytest.raises(ValueError, match="method, options: give one"):
        exact_cycle(q1, circle, 2.0, method="magnus", options=ExactOptions())
    with pytest.raises(ValueError, match="method: 'spectral' needs a smooth"):
        exact_cycle(q1, RECT, 2.0, method="spectral")
    with pytest.raises(ValueError, match="nodes: 2048 collocation nodes .* max_unknowns=4096"):
        exact_cycle(q1, circle, 2.0, method=Spectral(nodes=2048))


def test_imports_in_the_dynamics_package_go_one_way():
    """No module of the package imports another one inside a function (cycle dodging): the
    shared pieces live in dynamics.grid."""
    pkg = Path(__file__).resolve().parents[1] / "src" / "thermogeo" / "dynamics"
    for path in sorted(pkg.glob("*.py")):
        tree = ast.parse(path.read_text())
        for fn in ast.walk(tree):
            if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for node in ast.walk(fn):
                    if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
                            "thermogeo.dynamics"):
                        pytest.fail(f"{path.name}:{node.lineno} imports {node.module} inside "
                                    f"{fn.name}")


def test_step_doubling_refines_every_side_of_a_many_sided_polygon(q1):
    """A polygon of 100 sides at a starting step count below 100 used to keep one step a side
    at both levels: the error estimate read zero and a wrong heat was called converged. Now
    every doubling refines every piece, and the adaptive result equals a fine fixed grid."""
    from thermogeo.dynamics.grid import step_grid
    from thermogeo.dynamics.periodic import exact_cycle
    from thermogeo.protocols.paths import Polygon

    th = np.linspace(0.0, 2 * np.pi, 101)[:-1]
    poly = Polygon(("Bx", "Bz"), vertices=np.c_[0.8 + 0.5 * np.cos(th), 0.6 + 0.5 * np.sin(th)])
    for steps in (100, 128, 256):
        a, b = step_grid(poly, steps), step_grid(poly, 2 * steps)
        per_side = [np.sum((a > lo) & (a <= hi)) for lo, hi in zip(poly.breakpoints()[:-1],
                                                                    poly.breakpoints()[1:])]
        per_side2 = [np.sum((b > lo) & (b <= hi)) for lo, hi in zip(poly.breakpoints()[:-1],
                                                                     poly.breakpoints()[1:])]
        assert np.all(np.array(per_side2) > np.array(per_side))
    c = exact_cycle(q1, poly, 200.0, method="magnus", expansion=False)
    ref = exact_cycle(q1, poly, 200.0, method=Magnus(steps=4000), expansion=False)
    assert c.converged and c.steps >= 200
    assert c.heat[0] == pytest.approx(ref.heat[0], rel=1e-7)
