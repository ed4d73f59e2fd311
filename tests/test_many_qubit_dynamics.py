"""Dynamics and the path expansion with the structured (eigenframe, block by block) kernels,
against the dense ones where both run (issue 7).

* ``frozen_point`` (steady state, ``d_s rho_0``, ``z = L^D d_s rho_0``) equals the dense
  ``frozen_path``;
* the structured ``path_expansion`` equals the dense one field by field;
* ``exact_cycle(method="eigenframe")`` converges at second order in the step to the dense
  spectral solution, and in the stiff limit (steps much longer than the relaxation time) it
  still carries the expansion to second order;
* at 6 qubits (structured kernels chosen automatically) the first and second laws hold and the
  exact heats approach the expansion.
"""

from __future__ import annotations

import numpy as np
import pytest

from thermogeo import load_model
from thermogeo.dynamics import ExactOptions, exact_cycle
from thermogeo.dynamics.eigenframe import block_expm_apply, relaxation_rate
from thermogeo.dynamics.expansion import path_expansion
from thermogeo.dynamics.frozen import frozen_path
from thermogeo.lindblad.blocks import dense_from_blocks
from thermogeo.numerics import Numerics
from thermogeo.protocols.paths import Circle, Rectangle
from thermogeo.response.structured import frozen_point

from conftest import MODELS
from test_structured import heisenberg

STRUCTURED = Numerics(kernel="structured")
KERNEL_RTOL = 1e-9  # structured vs dense, relative to the largest entry
CIRCLE = Circle(("Bx", "Bz"), center=(1.6, 1.2), radius=0.3)  # no level crossing
SQUARE = Rectangle(x=(1.3, 1.9), y=(0.9, 1.5), plane=("Bx", "Bz"))
ORDER = 2.0  # the exponential midpoint rule
ORDER_TOL = 0.35
RICHARDSON_SAFETY = 3.0  # the error estimate is within this factor of the true error
SLOW_STATE_RTOL = 0.2  # periodic state minus the first-order slow-driving state, relative



@pytest.fixture(scope="module")
def dimer():
    return load_model(MODELS / "heisenberg_dimer.toml")


def _close(a, b):
    a, b = np.asarray(a), np.asarray(b)
    scale = max(np.nanmax(np.abs(a)), 1e-300)
    assert np.nanmax(np.abs(a - b)) <= KERNEL_RTOL * scale, (np.nanmax(np.abs(a - b)), scale)


@pytest.mark.parametrize("machine", [heisenberg(2), heisenberg(3, temps=(1.0, 1.6)),
                                     heisenberg(3, "all", where="three", temps=(1.0, 2.0, 0.5)),
                                     heisenberg(4, "ring", where="sites")],
                         ids=lambda m: m.name)
def test_frozen_point_matches_dense_frozen_path(machine):
    lam = machine.point()
    vel = np.array([0.3, -0.8])
    fp = frozen_point(machine, lam, vel, STRUCTURED)
    ref = frozen_path(machine, lam[None], vel[None])
    d = machine.dim
    _close(ref.lab(ref.ss.rho)[0].reshape(d, d), fp.to_lab(fp.state()))
    _close(ref.lab(ref.drho)[0].reshape(d, d), fp.to_lab(fp.drho))
    _close(ref.lab(ref.z)[0].reshape(d, d), fp.to_lab(fp.z))
    # the dense generator's decay rates: the slowest one is the block-wise estimate
    ev = np.linalg.eigvals(ref.gen.L[0])
    slow = np.sort(-ev.real)[1]
    assert relaxation_rate(fp) == pytest.approx(slow, rel=1e-8)


def test_block_exponential_matches_dense_expm():
    import scipy.linalg as sla

    m = heisenberg(3, temps=(1.0, 1.6))
    fp = frozen_point(m, m.point(), np.zeros(2), STRUCTURED)
    st = fp.structure
    L = dense_from_blocks(fp.D)
    L[np.arange(st.d**2), np.arange(st.d**2)] += -1j * st.nu.reshape(-1)
    y = np.random.default_rng(3).normal(size=st.d**2) + 0j
    for c in (0.1, 30.0):
        _close(sla.expm(c * L) @ y, block_expm_apply(fp.D, c, y))


@pytest.mark.parametrize("loop", [CIRCLE, SQUARE], ids=["circle", "square"])
def test_structured_path_expansion_matches_dense(dimer, loop):
    a = path_expansion(dimer, loop, nodes=32)
    b = path_expansion(dimer, loop, nodes=32, numerics=STRUCTURED)
    for f in ("heat_current", "geometric_heat_rate", "second_order_heat_rate",
              "quasistatic_power", "dissipated_power", "T_dS_ds", "energy_order1",
              "energy_order1_ds", "jump_heat"):
        x, y = getattr(a, f), getattr(b, f)
        scale = max(np.nanmax(np.abs(x)), 1.0)
        assert np.nanmax(np.abs(x - y)) <= KERNEL_RTOL * scale, f


def test_eigenframe_converges_at_second_order_to_the_dense_solution(q1):
    from thermogeo.dynamics.eigenframe import _pass

    tau = 4.0  # 54 relaxation times: steps of 1/128 cycle and shorter resolve the relaxation
    loop = Circle(("Bx", "Bz"), center=(0.8, 0.6), radius=0.5)
    ref = exact_cycle(q1, loop, tau, expansion=False, options=ExactOptions(rtol=1e-11))
    opts = ExactOptions(method="eigenframe", numerics=STRUCTURED)
    raw = [np.abs(_pass(q1, loop, tau, n, opts, np.zeros((2, 2), complex), False)[1]
                  - ref.heat).max() for n in (128, 256)]
    assert abs(np.log2(raw[0] / raw[1]) - ORDER) < ORDER_TOL
    r = exact_cycle(q1, loop, tau, expansion=False, options=ExactOptions(
        method="eigenframe", steps=512, numerics=STRUCTURED))
    assert r.method == "eigenframe"
    err = np.abs(r.heat - ref.heat).max()  # Richardson-extrapolated: better than the raw pass
    assert err <= RICHARDSON_SAFETY * r.error_estimate
    assert err < raw[1] / 16
    assert np.abs(r.periodic_state - ref.periodic_state).max() < raw[1]


def test_eigenframe_in_the_stiff_limit_keeps_the_second_order(dimer):
    """Steps 10 to 100 relaxation times long: the deviation lands on z/tau + L^D z'/tau^2, so
    the heat misses only the third order, which the error estimate includes."""
    for tau in (3e4, 3e5):
        ref = exact_cycle(dimer, CIRCLE, tau)
        r = exact_cycle(dimer, CIRCLE, tau, expansion=False, options=ExactOptions(
            method="eigenframe", steps=32, numerics=STRUCTURED))
        err = np.abs(r.heat - ref.heat).max()
        assert err <= RICHARDSON_SAFETY * r.error_estimate, (tau, err, r.error_estimate)
        assert err < 0.1 * np.abs(ref.expansion.heat_order2).max()  # second order is carried
        assert r.relaxation_time == pytest.approx(ref.relaxation_time, rel=1e-3)  # other nodes


def test_auto_picks_eigenframe_beyond_the_dense_kernels_and_the_laws_hold():
    """Six qubits, uniform fields, mirror-symmetric baths: the first order vanishes, the heat
    per cycle is the dissipated second order, equal for both baths."""
    m = heisenberg(6, strength=0.05)
    opts = ExactOptions(steps=32, rtol=1e-4)
    assert opts.resolve_method(CIRCLE, m.dim) == "eigenframe"
    tau = 1e6  # about 200 relaxation times of the slowest point on the loop
    r = exact_cycle(m, CIRCLE, tau, options=opts)
    assert r.method == "eigenframe"
    assert tau > 100 * r.relaxation_time
    err = RICHARDSON_SAFETY * r.error_estimate
    # first law: the work balances the heats up to the step error
    assert abs(r.first_law_residual) <= err
    # second law at equal temperatures: the cycle produces entropy
    assert r.entropy_production > 0
    # slow driving: the exact heats are the expansion to second order
    e = r.expansion
    diff = np.abs(r.heat - e.heat).max()
    assert diff <= err
    assert diff < 0.1 * np.abs(e.heat_order2).max()
    assert r.heat[0] == pytest.approx(r.heat[1], rel=1e-6)  # mirror symmetry
    # ... so the entropy production of the exact heats is the dissipated work of the
    # expansion over T (the integrated metric, computed independently of the heats), within
    # the heats' error for each of the two baths, and above the thermodynamic-length bound
    T = float(m.temperatures[0])
    assert abs(r.entropy_production - e.dissipated_work / T) <= 2 * err / T
    assert r.entropy_production * tau * T > e.thermodynamic_length**2
    # the periodic state is the first-order slow-driving state rho_0 + z / tau at s = 0
    # (z = L^D d_s rho_0 from the structured frozen point; measured 4.5% off, the second
    # order at 200 relaxation times)
    s0 = np.zeros(1)
    fp = frozen_point(m, CIRCLE.points(m, s0)[0], CIRCLE.velocity(m, s0)[0], STRUCTURED)
    first = fp.to_lab(fp.z) / tau
    rest = r.periodic_state - fp.to_lab(fp.state()) - first
    assert np.abs(rest).max() < SLOW_STATE_RTOL * np.abs(first).max()


def test_blocks_that_cannot_fit_are_refused_before_allocation():
    """Ten qubits, uniform fields, all-to-all exchange: collective spin multiplets make a zero
    block of 63504 elements (64 GB dense); asked to store every block, the kernels refuse with
    the sizes, not a crash (by default such blocks are matrix-free: test_level_blocks)."""
    import warnings

    from thermogeo import InsufficientMemoryError, response
    from thermogeo.response.structured import steady_state

    m = heisenberg(10, "all")
    stored = Numerics(kernel="structured", dense_block_max=10**9)  # every block stored
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(InsufficientMemoryError, match=r"zero block 63504 x 63504"):
            response(m, m.point(), numerics=stored)
        with pytest.raises(InsufficientMemoryError, match="break the degeneracy"):
            steady_state(m, m.point(), numerics=stored)


def test_eigenframe_refuses_a_dark_sector():
    from thermogeo import NonUniqueSteadyStateError

    m = load_model(MODELS / "dark_singlet.toml")
    lam = m.point()
    loop = Circle(m.parameter_names[:2], center=tuple(lam[:2] + 0.5), radius=0.2)
    with pytest.raises(NonUniqueSteadyStateError, match="not unique"):
        exact_cycle(m, loop, 100.0, options=ExactOptions(method="eigenframe", steps=8,
                                                          numerics=STRUCTURED))
    with pytest.raises(NonUniqueSteadyStateError, match="not unique"):
        path_expansion(m, loop, nodes=8, numerics=STRUCTURED)


def test_overflowing_magnus_steps_say_so():
    """Magnus-4 steps far longer than the relaxation time overflow (the commutator term);
    the adaptive loop grows the steps and, at max_steps, names the remedy."""
    import sys

    from conftest import ROOT
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        from bench_many_qubits import build
    finally:
        sys.path.pop(0)
    m = build(4, "random-ends")
    loop = Circle(("Bx", "Bz"), center=(0.7, 0.4), radius=0.2)
    with pytest.raises(FloatingPointError, match="method='eigenframe'"):
        exact_cycle(m, loop, 6.4e4, expansion=False, options=ExactOptions(
            method="magnus", min_steps=16, max_steps=32, numerics=Numerics(kernel="dense")))


def test_structured_expansion_reports_kinks():
    """As the dense path (through ``response``): a loop crossing D = 0 along D splits the
    degenerate triplet transitions of the uniform-field dimer (test_invariants); the
    structured expansion warns at the two nodes where the velocity is along D, and is silent
    on a loop away from D = 0."""
    import warnings

    from thermogeo import Bath, Machine, Ohmic
    from thermogeo.errors import SecularApproximationWarning

    m = Machine(qubits=2, parameters={"Bx": 0.3, "Bz": 0.5, "D": 0.0},
                hamiltonian=[("Bx", "X0 + X1"), ("Bz", "Z0 + Z1"), ("D", "Z0 Z1"),
                             (0.5, "X0 X1 + Y0 Y1 + Z0 Z1")],
                baths=[Bath("L", 1.0, "X0 + 2*X1", Ohmic(0.05)),
                       Bath("R", 1.0, "Z0 + 2*Z1", Ohmic(0.05))])
    with pytest.warns(SecularApproximationWarning, match="at 2 node"):
        path_expansion(m, Circle(("Bz", "D"), center=(0.5, 0.0), radius=0.2), nodes=16,
                       numerics=STRUCTURED)
    with warnings.catch_warnings():
        warnings.simplefilter("error", SecularApproximationWarning)
        path_expansion(m, Circle(("Bz", "D"), center=(0.5, 0.5), radius=0.2), nodes=16,
                       numerics=STRUCTURED)
