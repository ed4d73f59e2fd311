"""The master-equation family beyond the secular generator (docs/theory.md section 13):
``ule``, ``cluster`` and ``local`` against the secular limit, finite differences, a test-side
Redfield tensor, closed forms of uncoupled qubits and the exact periodic dynamics."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from thermogeo import Bath, Machine, Ohmic, load_model
from thermogeo.dynamics.methods import Eigenframe
from thermogeo.dynamics.periodic import exact_cycle
from thermogeo.errors import ModelError, SecondLawWarning
from thermogeo.io.model_file import dump_model, machine_from_dict
from thermogeo.lindblad.family import local_part
from thermogeo.lindblad.generator import generator
from thermogeo.protocols.paths import Circle
from thermogeo.response.response import response
from thermogeo.response.thermal import thermal_response

from conftest import MODELS
from zoo import FD_STEP, UNEQUAL_T, ZOO

KINDS = (("ule", None), ("cluster", 0.05), ("local", None))
FD_RTOL = 1e-5  # central differences of step FD_STEP on smooth generators


def dimer(J=2.0, strength=0.02, hot=1.3):
    """The shipped Heisenberg dimer with bath L at ``hot`` and both baths at ``strength``."""
    m = load_model(MODELS / "heisenberg_dimer.toml")
    return m.with_values(J=J, **{"L.temperature": hot, "L.strength": strength,
                                 "R.strength": strength})


def fit_slope(x, y) -> float:
    return float(np.polyfit(np.log(x), np.log(y), 1)[0])


# --- the family's limits ------------------------------------------------------------------
@pytest.mark.parametrize("case", [c for c in ZOO if not c.degenerate], ids=repr)
def test_cluster_of_zero_width_is_the_secular_generator(case):
    """One Bohr frequency per cluster is the Davies generator, element by element."""
    sec = generator(case.machine, case.lam)
    fam = generator(case.machine.with_master_equation("cluster", 1e-9), case.lam)
    assert np.abs(fam.L - sec.L).max() <= 1e-12 * np.abs(sec.L).max()


@pytest.mark.parametrize("kind", ["ule", "cluster"])
def test_converges_to_secular_linearly_in_the_coupling(kind):
    """At a fixed spectrum the non-secular steady state and heat currents approach the
    secular ones as the coupling vanishes, the difference linear in the strength. At
    J = 0.02 the width 0.05 merges the exchange-split frequencies (gap J), so ``cluster``
    differs from ``secular`` at finite coupling."""
    lam = np.array([0.3, 0.55])
    strengths = np.array([1e-5, 1e-4, 1e-3])
    drho, dJ = [], []
    for k in strengths:
        m = dimer(J=0.02, strength=k)
        sec = response(m, lam)
        other = response(m.with_master_equation(kind, 0.05 if kind == "cluster" else None),
                         lam)
        drho.append(np.abs(other.steady_state - sec.steady_state).max())
        dJ.append(np.abs(other.heat_current - sec.heat_current).max() / k)
    assert fit_slope(strengths, drho) == pytest.approx(1.0, abs=0.05)
    # J itself is O(k): its relative difference vanishes at least linearly (measured: ~k^2)
    assert fit_slope(strengths, dJ) > 0.9


def test_continuous_through_zero_exchange_where_secular_jumps():
    """The dissipation metric of the dimer at J = 0, 1e-6, 1e-5: the secular generator drops
    by a factor ~2 at a splitting far below the rates; ``ule`` and ``cluster`` do not."""
    lam = np.array([0.8, 0.6])
    base = load_model(MODELS / "heisenberg_dimer.toml")
    for kind, width in (("secular", None), ("ule", None), ("cluster", 0.05)):
        g = [np.trace(response(base.with_values(J=J).with_master_equation(kind, width),
                               lam).metric) for J in (0.0, 1e-6, 1e-5)]
        jump = abs(g[1] - g[0]) / g[0]
        if kind == "secular":
            assert jump > 0.3
        else:
            assert jump < 1e-4
            assert abs(g[2] - g[1]) / g[0] < 1e-4


def redfield_steady_state(m: Machine, lam: np.ndarray) -> np.ndarray:
    """Test-side Bloch-Redfield steady state (no secular approximation, no Lamb shift):
    ``D rho = Lam rho A + A rho Lam^+ - A Lam rho - rho Lam^+ A``, ``Lam = sum_nm
    gamma(E_m - E_n)/2 A_nm |n><m|`` in the eigenbasis, dense in the lab frame."""
    H = m.hamiltonian_at(lam[None])[0]
    E, U = np.linalg.eigh(H)
    d = len(E)
    w = E[None, :] - E[:, None]
    eye = np.eye(d)
    L = -1j * (np.kron(H, eye) - np.kron(eye, H.T))
    for b, A in zip(m.baths, m.couplings):
        Lam = U @ (0.5 * b.rate(w) * (U.conj().T @ A @ U)) @ U.conj().T
        L = L + (np.kron(Lam, A.T) + np.kron(A, Lam.conj()) - np.kron(A @ Lam, eye)
                 - np.kron(eye, (Lam.conj().T @ A).T))
    ev, vec = np.linalg.eig(L)
    r = vec[:, np.argmin(np.abs(ev))].reshape(d, d)
    return r / np.trace(r)


def test_ule_against_bloch_redfield():
    """``ule`` and an independent Redfield tensor differ at the order of the coupling."""
    lam = np.array([0.3, 0.55])
    strengths = np.array([1e-4, 1e-3, 1e-2])
    diff = []
    for k in strengths:
        m = dimer(strength=k).with_master_equation("ule")
        diff.append(np.abs(response(m, lam).steady_state - redfield_steady_state(m, lam)).max())
    assert fit_slope(strengths, diff) == pytest.approx(1.0, abs=0.05)
    assert diff[0] < 2 * strengths[0]


# --- derivatives against finite differences -----------------------------------------------
def _fd_checks(m, lam, plane):
    i, j = (m.parameter_index(p) for p in plane)
    e = np.eye(len(lam))
    r = response(m, lam, plane=plane)

    def at(x):
        return response(m, x)

    def central(f, axis):
        return (f(at(lam + FD_STEP * e[axis])) - f(at(lam - FD_STEP * e[axis]))) / (2 * FD_STEP)

    dLx = central(lambda q: q.heat_response, i)
    dLy = central(lambda q: q.heat_response, j)
    rotor_fd = dLx[:, j] - dLy[:, i]
    scale = np.abs(r.heat_response).max()
    assert np.allclose(r.rotor, rotor_fd, atol=FD_RTOL * scale / FD_STEP * 1e-3 + 1e-7,
                       rtol=1e-4)
    # Lambda^alpha_i = Tr[H D_alpha L^D d_i rho_0] summed over baths is Tr[H d_i rho_0]
    # (sum_alpha D_alpha = L + i[H, .], L L^D = 1 on traceless operators, Tr[H [H, .]] = 0),
    # with d_i rho_0 from finite differences; the rotor summed over baths is then
    # Tr[V_x d_y rho_0] - Tr[V_y d_x rho_0]
    H = m.hamiltonian_at(lam[None])[0]
    drho = {a: central(lambda q: q.steady_state, a) for a in (i, j)}
    for a in (i, j):
        assert np.trace(H @ drho[a]).real == pytest.approx(r.heat_response[:, a].sum(),
                                                           rel=1e-4, abs=1e-9)
    curl = (np.trace(m.V[i] @ drho[j]) - np.trace(m.V[j] @ drho[i])).real
    assert r.rotor.sum() == pytest.approx(curl, rel=1e-4, abs=1e-9)


@pytest.mark.parametrize("kind,width", KINDS)
def test_rotor_and_response_against_finite_differences(kind, width):
    m = dimer(strength=0.02).with_master_equation(kind, width)
    _fd_checks(m, np.array([0.35, 0.5]), ("Bx", "Bz"))


@pytest.mark.parametrize("kind,width", [("ule", None), ("cluster", 0.05)])
def test_rotor_at_a_level_crossing(kind, width):
    """At the dimer's singlet-triplet crossing (2|B| = J) the secular generator has a kink;
    the family's derivatives (divided differences through the degeneracy) are exact."""
    m = dimer(strength=0.02).with_master_equation(kind, width)
    _fd_checks(m, np.array([0.6, 0.8]), ("Bx", "Bz"))


@pytest.mark.parametrize("kind,width", KINDS)
def test_thermal_response_against_finite_differences(kind, width):
    m = dimer(strength=0.02).with_master_equation(kind, width)
    lam = np.array([0.3, 0.55])
    K = thermal_response(m, lam)
    h = 1e-5
    fd = np.stack([(response(m.with_values(**{f"{b}.temperature": m.baths[a].temperature + h}),
                             lam).heat_current
                    - response(m.with_values(**{f"{b}.temperature":
                                                m.baths[a].temperature - h}),
                               lam).heat_current) / (2 * h)
                   for a, b in enumerate(m.bath_names)], axis=-1)
    assert np.allclose(K, fd, rtol=1e-6, atol=1e-9 * np.abs(K).max())


@pytest.mark.parametrize("case", UNEQUAL_T[:3], ids=repr)
def test_first_law_and_response_on_the_zoo(case):
    """Every member: heat currents sum to zero in the steady state (first law) and the
    steady state is a density matrix."""
    plane = case.machine.parameter_names[:2]
    for kind, width in KINDS:
        if len(plane) < 2:
            continue
        with warnings.catch_warnings():  # local: may break the second law on the zoo
            warnings.simplefilter("ignore", SecondLawWarning)
            r = response(case.machine.with_master_equation(kind, width), case.lam,
                         plane=plane)
        scale = np.abs(r.heat_current).max() + 1e-300
        assert np.abs(r.heat_current.sum(axis=-1)).max() <= 1e-10 * scale + 1e-14
        assert np.all(np.isfinite(r.rotor))
        ev = np.linalg.eigvalsh(r.steady_state)
        assert ev.min() > -1e-10
        assert np.allclose(np.trace(r.steady_state, axis1=-2, axis2=-1), 1.0)


# --- local master equation ------------------------------------------------------------------
def two_qubits(exchange: float, ising: bool = False) -> Machine:
    """Qubit 0 on a hot bath (T = 2, X0), qubit 1 on a cold bath (T = 1, X1), fields
    ``a Z0 + b Z1 + 0.3 X0`` and an exchange ``g (X0 X1 + Y0 Y1)`` or ``g Z0 Z1``."""
    op = "Z0 Z1" if ising else "X0 X1 + Y0 Y1"
    return Machine(qubits=2, parameters={"a": 1.0, "b": 0.5},
                   hamiltonian=[("a", "Z0"), ("b", "Z1"), (exchange, op), (0.3, "X0")],
                   baths=[Bath("H", 2.0, "X0", Ohmic(0.01)), Bath("C", 1.0, "X1", Ohmic(0.01))],
                   master_equation="local")


def test_local_part_is_the_single_qubit_projection():
    m = two_qubits(0.7)
    H = m.hamiltonian_at(m.point()[None])[0]
    Hl = local_part(H, 2)
    X, Z, eye = np.array([[0, 1], [1, 0]]), np.diag([1.0, -1.0]), np.eye(2)
    expected = np.kron(Z, eye) + 0.5 * np.kron(eye, Z) + 0.3 * np.kron(X, eye)
    assert np.allclose(Hl, expected, atol=1e-14)
    assert np.allclose(local_part(Hl, 2), Hl, atol=1e-14)  # a projection


def test_local_at_zero_exchange_is_a_product_of_gibbs_states():
    """Uncoupled qubits: each thermalises with its own bath, no heat flows, and the local
    equation equals the global secular one."""
    m = two_qubits(0.0)
    r = response(m, m.point())
    Hq0 = np.array([[1.0, 0.3], [0.3, -1.0]])
    Hq1 = np.diag([0.5, -0.5])

    def gibbs(h, T):
        E, U = np.linalg.eigh(h)
        p = np.exp(-E / T)
        return U @ np.diag(p / p.sum()) @ U.conj().T

    assert np.allclose(r.steady_state, np.kron(gibbs(Hq0, 2.0), gibbs(Hq1, 1.0)), atol=1e-12)
    assert np.abs(r.heat_current).max() < 1e-14
    sec = generator(m.with_master_equation("secular"), m.point()[None])
    loc = generator(m, m.point()[None])
    assert np.abs(sec.L - loc.L).max() < 1e-12 * np.abs(sec.L).max()


def test_local_violates_the_second_law_and_is_flagged():
    m = two_qubits(1.0, ising=True)
    with pytest.warns(SecondLawWarning, match="violates the second law"):
        r = response(m, m.point())
    assert not r.second_law
    assert r.entropy_production < 0
    glob = response(m.with_master_equation("secular"), m.point())
    assert glob.second_law and glob.entropy_production > 0
    assert float(r.to_dataset()["entropy_production"]) < 0


# --- exact periodic dynamics ----------------------------------------------------------------
@pytest.mark.parametrize("kind,width", KINDS)
def test_exact_dynamics_converges_to_the_expansion(kind, width):
    """Heat per cycle of the exact periodic state minus the expansion to first / second
    order falls like 1/tau and 1/tau^2 for every member. At J = 0.02 the clusters of width
    0.05 stay the same along the loop (the generator is smooth in time)."""
    m = dimer(J=0.02, strength=0.05).with_master_equation(kind, width)
    loop = Circle(("Bx", "Bz"), center=(0.8, 0.6), radius=0.5)
    taus = np.array([400.0, 800.0, 1600.0])
    e1, e2 = [], []
    for tau in taus:
        c = exact_cycle(m, loop, tau)
        e = c.expansion
        assert abs(c.first_law_residual) < 1e-9
        first = e.heat_order0 + e.geometric_heat
        e1.append(np.abs(c.heat - first).max())
        e2.append(np.abs(c.heat - first - e.heat_order2).max())
    assert fit_slope(taus, e1) == pytest.approx(-1.0, abs=0.1)
    assert fit_slope(taus, e2) == pytest.approx(-2.0, abs=0.2)


def test_eigenframe_method_refused_for_a_non_secular_generator():
    m = dimer().with_master_equation("ule")
    with pytest.raises(ValueError, match="eigenframe"):
        exact_cycle(m, Circle(("Bx", "Bz"), center=(0.8, 0.6), radius=0.5), 100.0,
                    method=Eigenframe(steps=64), expansion=False)


# --- input ----------------------------------------------------------------------------------
def test_model_file_table_round_trips_and_bad_input_is_named():
    import tomllib

    m = dimer().with_master_equation("cluster", 0.02)
    back = machine_from_dict(tomllib.loads(dump_model(m)))
    assert back.master_equation == m.master_equation
    assert np.array_equal(generator(back, m.point()[None]).L, generator(m, m.point()[None]).L)
    with pytest.raises(ModelError, match=r"master_equation.kind: expected one of secular, ule"):
        dimer().with_master_equation("redfield")
    with pytest.raises(ModelError, match=r"master_equation.width: required for kind 'cluster'"):
        dimer().with_master_equation("cluster")
    with pytest.raises(ModelError, match=r"master_equation.width: only kind 'cluster'"):
        dimer().with_master_equation("ule", 0.1)
    with pytest.raises(ModelError, match=r"master_equation.width: expected a finite energy"):
        dimer().with_master_equation("cluster", -1.0)
    with pytest.raises(ModelError, match=r"master_equation: unknown field\(s\) \['lamb'\]"):
        dimer().with_master_equation({"kind": "ule", "lamb": True})


# --- counting fields of the family --------------------------------------------------------
def test_family_tilt_reduces_to_secular_and_matches_chi_differences():
    """``FrozenGenerator.tilt`` of a family member: with one frequency per cluster it equals
    the secular tilt; for ``ule`` its k = 1, 2 derivatives match central differences in chi of
    the tilted jump terms ``sum_c (e_chi o L_c) y (e_chi o L_c)^+``, ``e_chi = exp(-chi w/2)``
    (the cross term ``A(w) y A(w')^+`` weighted by ``exp(-chi (w + w')/2)``)."""
    from thermogeo.lindblad.dense import DenseFrozen
    from thermogeo.numerics import Numerics

    m = dimer(J=0.7, strength=0.02)
    lam = np.array([[0.3, 0.55], [0.9, -0.4]])
    rng = np.random.default_rng(7)
    d = m.dim
    y = rng.normal(size=(2, 3, d, d)) + 1j * rng.normal(size=(2, 3, d, d))
    y = (y + np.conj(np.swapaxes(y, -1, -2))).reshape(2, 3, d * d)
    num = Numerics()
    sec = DenseFrozen(m, lam, num)
    fam = DenseFrozen(m.with_master_equation("cluster", 1e-9), lam, num)
    for k in (1, 2, 3):
        a, b = sec.tilt(y, k), fam.tilt(y, k)
        assert np.abs(a - b).max() <= 1e-12 * np.abs(a).max()
    ule = DenseFrozen(m.with_master_equation("ule"), lam, num)
    J = ule.gen.jumps
    Y = y.reshape(2, 3, d, d)

    def jump_terms(chi):
        L = J.to_h(J._masked(np.exp(-0.5 * chi * J.omega[:, None]) * J.G * J.A))
        return np.einsum("bmxij,bnjk,bmxlk->bnmil", L, Y, L.conj()).reshape(2, 3, -1, d * d)

    h = 1e-3
    f1 = (jump_terms(h) - jump_terms(-h)) / (2 * h)
    f2 = (jump_terms(h) - 2 * jump_terms(0.0) + jump_terms(-h)) / h**2
    assert np.allclose(ule.tilt(y, 1), f1, rtol=1e-5, atol=1e-6 * np.abs(f1).max())
    assert np.allclose(ule.tilt(y, 2), f2, rtol=1e-4, atol=1e-4 * np.abs(f2).max())


def test_public_steady_state_and_engine_figures_serve_every_member():
    """``steady_state`` (Bohr zero block for the secular generator) goes to the dense backend
    for the family; ``frozen_point`` (Bohr blocks) refuses it; the engine figures of a biased
    cycle stay below the Carnot efficiency under ``ule`` and ``cluster``."""
    from thermogeo.protocols.cycle import cycle_summary
    from thermogeo.response.structured import frozen_point, steady_state

    m = dimer(strength=0.02).with_master_equation("ule")
    lam = np.array([[0.3, 0.5], [0.6, 0.8]])
    assert np.abs(steady_state(m, lam) - response(m, lam).steady_state).max() < 1e-14
    with pytest.raises(ValueError, match="secular generator only"):
        frozen_point(m, lam[0], np.array([1.0, 0.0]))
    loop = Circle(("Bx", "Bz"), center=(0.8, 0.6), radius=0.5)
    for kind, width in (("ule", None), ("cluster", 0.05)):
        c = cycle_summary(dimer(strength=0.02, hot=1.0).with_master_equation(kind, width),
                          loop, bias=0.05, nodes=128)
        assert 0 < c.engine.max_efficiency < c.engine.carnot_efficiency


def test_cli_reads_the_master_equation_from_the_model_file(tmp_path):
    import json

    from typer.testing import CliRunner

    from thermogeo.cli import app

    path = tmp_path / "dimer_ule.toml"
    path.write_text((MODELS / "heisenberg_dimer.toml").read_text()
                    + '\n[master_equation]\nkind = "ule"\n')
    r = CliRunner().invoke(app, ["check", str(path)])
    assert r.exit_code == 0, r.output
    assert "master equation: ule" in r.output
    r = CliRunner().invoke(app, ["response", str(path), "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    lib = response(load_model(path), load_model(path).point(), plane=("Bx", "Bz"))
    assert out["master_equation"] == {"kind": "ule"}
    assert out["rotor"]["L"] == pytest.approx(float(lib.rotor[0]), rel=1e-12)
    path.write_text((MODELS / "heisenberg_dimer.toml").read_text()
                    + '\n[master_equation]\nkind = "cluster"\n')
    r = CliRunner().invoke(app, ["check", str(path)])
    assert r.exit_code != 0
    assert "master_equation.width: required for kind 'cluster'" in r.output


def test_cli_master_equation_option_overrides_the_model_file():
    import json

    from typer.testing import CliRunner

    from thermogeo.cli import app
    from thermogeo.protocols.cycle import cycle_summary

    q1 = MODELS / "qubit_pump.toml"
    r = CliRunner().invoke(app, ["cycle", str(q1), "--circle", "Bx=0.8,Bz=0.6,r=0.5",
                                 "--master-equation", "ule", "--json", "--no-progress"])
    assert r.exit_code == 0, r.output
    lib = cycle_summary(load_model(q1).with_master_equation("ule"),
                        Circle(("Bx", "Bz"), center=(0.8, 0.6), radius=0.5))
    got = json.loads(r.stdout)["geometric_heat"]["L"]
    assert got == pytest.approx(float(lib.geometric_heat[0]), rel=1e-8)
    sec = cycle_summary(load_model(q1), Circle(("Bx", "Bz"), center=(0.8, 0.6), radius=0.5))
    assert abs(got - float(sec.geometric_heat[0])) > 0.1  # Q1 at strength 1: far apart
    r = CliRunner().invoke(app, ["exact", str(q1), "--circle", "Bx=0.8,Bz=0.6,r=0.5",
                                 "--period", "200", "--master-equation", "cluster:0.05",
                                 "--json", "--no-progress"])
    assert r.exit_code == 0, r.output
    assert abs(json.loads(r.stdout)["first_law_residual"]) < 1e-10
    for bad, says in (("cluster:x", "cannot read the width 'x'"),
                      ("redfield", "expected one of secular, ule, cluster, local")):
        r = CliRunner().invoke(app, ["response", str(q1), "--master-equation", bad])
        assert r.exit_code != 0 and says in r.output and "--master-equation" in r.output
