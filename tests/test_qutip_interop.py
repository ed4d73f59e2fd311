"""QuTiP both ways (issue 14, item 7; docs/qutip.md, docs/decisions/0011-qutip-both-ways.md).

* Qobj machine -> TOML -> machine: the same lab-frame generator to 1e-14 (relative to its
  largest entry), operators written as Pauli strings where they are real combinations of them
  and as stored matrices otherwise; every field the reader accepts is written.
* Results as Qobj: the steady state against ``qutip.steadystate`` of the exported generator,
  the jump operators against the generator through ``qutip.liouvillian``, the Gibbs state at
  equal temperatures (closed form).
* Bad Qobj terms and bad stored matrices: short errors naming the field and what is wrong.
* ``thermogeo --version``; QuTiP is not imported by ``import thermogeo``.
"""

from __future__ import annotations

import subprocess
import sys
import tomllib

import numpy as np
import pytest
import qutip
from conftest import IDENTITY_RTOL, MODELS
from typer.testing import CliRunner

from thermogeo import Bath, Machine, ModelError, Ohmic, load_model, save_model
from thermogeo.cli.app import app
from thermogeo.interop import (generator_qobj, hamiltonian_qobj, jump_operators_qobj,
                               steady_state_qobj)
from thermogeo.io.model_file import (BATH_FIELDS, TOP_FIELDS, dump_model, machine_from_dict,
                                     machine_to_dict)
from thermogeo.lindblad.generator import generator
from thermogeo.model.pauli import (PAULI_TOL, operator_matrix, pauli_components, pauli_matrix,
                                   pauli_text)
from thermogeo.version import __version__

ROUND_TRIP_RTOL = 1e-14  # issue 14: the same generator after a TOML round trip
QUTIP_RTOL = 1e-10  # agreement with QuTiP's own solvers (as tests/test_qutip_reference.py)
SHORT = 300  # characters: an error message about a Qobj stays on a line or two

X, Y, Z, I2 = qutip.sigmax(), qutip.sigmay(), qutip.sigmaz(), qutip.qeye(2)


def site(op, j: int, n: int = 3):
    """``op`` on qubit ``j`` of ``n`` (qubit 0 leftmost), built with qutip.tensor."""
    return qutip.tensor([op if k == j else I2 for k in range(n)])


def chain_from_qobj() -> Machine:
    """The three-qubit Heisenberg chain of issue 14 (hot bath T = 2 through X0, cold T = 1
    through Z2), every operator a Qobj; plus a term with an identity part and a rotated field
    (round-off in its Pauli components), which exercise both written forms."""
    rng = np.random.default_rng(14)
    exch = sum(site(P, j) * site(P, j + 1) for j in range(2) for P in (X, Y, Z))
    theta = 0.3
    R = (-1j * theta / 2 * Y).expm()
    rotated = sum(site(R * Z * R.dag(), j) for j in range(3))  # cos t Z + sin t X per site
    proj = site(qutip.basis(2, 1).proj(), 1)  # |1><1| on qubit 1: (I - Z1)/2
    A = rng.normal(size=(8, 8)) + 1j * rng.normal(size=(8, 8))
    coupling = qutip.Qobj(0.1 * (A + A.conj().T), dims=[[2, 2, 2], [2, 2, 2]])
    return Machine(
        qubits=3, parameters={"Bx": 0.3, "Bz": 0.7},
        hamiltonian=[("Bx", sum(site(X, j) for j in range(3))),
                     ("Bz", sum(site(Z, j) for j in range(3))),
                     ("0.25*J", exch), (0.2, rotated), (0.15, proj)],
        baths=[Bath("hot", 2.0, site(X, 0), Ohmic(0.01)),
               Bath("cold", 1.0, site(Z, 2) + coupling, Ohmic(0.02, 2.0, 5.0))],
        constants={"J": 1.0}, name="chain")


def lab_generator(machine: Machine, lam) -> np.ndarray:
    gen = generator(machine, np.asarray(lam, dtype=float)[None])
    return gen.to_lab(gen.L)[0]


# -- Qobj machine -> TOML -> machine ------------------------------------------------------

def test_qobj_machine_round_trips_through_toml_with_the_same_generator(tmp_path):
    m = chain_from_qobj()
    again = load_model(save_model(m, tmp_path / "chain.toml"))
    data = tomllib.loads((tmp_path / "chain.toml").read_text())
    ops = [t["operator"] for t in data["hamiltonian"]]
    # Pauli strings where the operators are (the rotated field despite its round-off) ...
    assert ops[:3] == ["X0 + X1 + X2", "Z0 + Z1 + Z2",
                       "X0 X1 + Y0 Y1 + Z0 Z1 + X1 X2 + Y1 Y2 + Z1 Z2"]
    rot = again.hamiltonian[3].operator
    assert isinstance(rot, str) and rot.count("*") == 6  # sin t X_j + cos t Z_j, 3 sites
    assert data["baths"][0]["coupling"] == "X0"
    # ... stored matrices where an identity part makes them no combination of Pauli strings
    assert set(ops[4]) == {"real"} and set(data["baths"][1]["coupling"]) == {"real", "imag"}
    for lam in ([0.3, 0.7], [0.0, 0.0], [-1.1, 0.4]):  # (0, 0): a degenerate spectrum
        L, L2 = lab_generator(m, lam), lab_generator(again, lam)
        assert np.abs(L2 - L).max() <= ROUND_TRIP_RTOL * np.abs(L).max()
    for f in ("H0", "V", "couplings"):
        a, b = getattr(m, f), getattr(again, f)
        assert np.abs(a - b).max() <= ROUND_TRIP_RTOL * np.abs(a).max()
    assert dump_model(again) == dump_model(m)  # written once, a fixed point


def test_every_field_the_reader_accepts_is_written():
    m = chain_from_qobj().with_master_equation("cluster", 0.05)
    table = machine_to_dict(m)
    assert set(table) == set(TOP_FIELDS)
    assert all(set(b) == set(BATH_FIELDS) for b in table["baths"])
    back = machine_from_dict(tomllib.loads(dump_model(m)))
    assert back.master_equation == m.master_equation
    assert back.constants == m.constants and back.name == m.name


def test_pauli_components_against_traces_and_back(rng):
    """``c_P = Tr(P M)/d`` against the trace with the operator string's own matrix, and the
    inverse transform, on a random Hermitian 3-qubit matrix."""
    A = rng.normal(size=(8, 8)) + 1j * rng.normal(size=(8, 8))
    M = A + A.conj().T
    c = pauli_components(M, 3)
    assert np.abs(c.imag).max() <= IDENTITY_RTOL
    for text, idx in (("X0", (1, 0, 0)), ("Y0 Z2", (2, 0, 3)), ("X0 Y1 Z2", (1, 2, 3))):
        P = operator_matrix(text, 3)
        assert c[idx] == pytest.approx(np.trace(P @ M).real / 8, rel=IDENTITY_RTOL)
    assert np.abs(pauli_matrix(c, 3) - M).max() <= IDENTITY_RTOL * np.abs(M).max()
    M0 = M - np.trace(M) / 8 * np.eye(8)  # no identity part: 63 Pauli strings read back
    text = pauli_text(M0, 3)
    assert text is not None and text.count("+") + text.count("-") >= 62
    assert np.abs(operator_matrix(text, 3) - M0).max() <= PAULI_TOL * np.abs(M0).max()


def test_stored_matrices_are_read_and_checked(tmp_path):
    base = tomllib.loads((MODELS / "qubit_pump.toml").read_text())
    good = {**base, "baths": [{**base["baths"][0],
                               "coupling": {"real": [[1.0, 0.0], [0.0, 0.0]]}},
                              base["baths"][1]]}
    m = machine_from_dict(good)
    np.testing.assert_array_equal(m.couplings[0], [[1, 0], [0, 0]])
    cases = [
        ({"real": [[0.0, 1.0], [1.0]]}, r"baths\[0\]\.coupling\.real: row 1 has 1 entries"),
        ({"real": [[0.0, "a"], [1.0, 0.0]]}, r"coupling\.real: row 0, entry 1 is 'a'"),
        ({"re": [[0.0]]}, r"baths\[0\]\.coupling: a stored matrix has the fields 'real'"),
        ({"real": [[0.0, 1.0], [1.0, 0.0]], "imag": [[0.0]]}, "'imag' has shape"),
        ({"real": [[0.0, 1.0], [0.0, 0.0]]}, r"baths\['L'\]\.coupling: .*not Hermitian"),
        ({"real": [[1.0]]}, r"baths\['L'\]\.coupling: expected a \(2, 2\) matrix"),
        (3, r"baths\[0\]\.coupling: expected an operator string .* or a stored matrix"),
    ]
    for value, message in cases:
        data = {**base, "baths": [{**base["baths"][0], "coupling": value}, base["baths"][1]]}
        with pytest.raises(ModelError, match=message):
            machine_from_dict(data)


# -- results as Qobj --------------------------------------------------------------------------

@pytest.mark.parametrize("source", ["chain", "dimer"])
def test_qobj_steady_state_and_jump_operators_agree_with_qutip(source, models_dir):
    if source == "chain":  # unequal temperatures: the steady state is not a Gibbs state
        m, lam = chain_from_qobj(), [0.3, 0.7]
    else:  # exactly degenerate Bohr frequencies
        m, lam = load_model(models_dir / "heisenberg_dimer.toml"), [0.0, 0.5]
    L = generator_qobj(m, lam)
    n = [2] * m.qubits
    assert L.issuper and L.superrep == "super" and L.dims == [[n, n], [n, n]]
    scale = np.abs(L.full()).max()
    H, jumps = hamiltonian_qobj(m, lam), jump_operators_qobj(m, lam)
    assert all(j.dims == [n, n] for j in jumps)
    assert np.abs((qutip.liouvillian(H, jumps) - L).full()).max() <= 1e3 * ROUND_TRIP_RTOL * scale
    for b in m.bath_names:  # each bath's jump operators make its dissipator
        D = sum(qutip.lindblad_dissipator(j) for j in jump_operators_qobj(m, lam, bath=b))
        assert np.abs((D - generator_qobj(m, lam, bath=b)).full()).max() <= \
            1e3 * ROUND_TRIP_RTOL * scale
    rho = steady_state_qobj(m, lam)
    assert rho.isherm and rho.dims == [n, n] and abs(rho.tr() - 1) <= IDENTITY_RTOL
    assert np.abs((rho - qutip.steadystate(L)).full()).max() <= QUTIP_RTOL


@pytest.mark.parametrize("kind, width", [("ule", None), ("cluster", 0.05), ("local", None)])
def test_other_master_equations_export_their_own_jump_operators(kind, width, models_dir):
    """Beyond the secular member: one jump operator per bath and cluster, and again
    ``qutip.liouvillian(H, jumps)`` is the exported generator and ``qutip.steadystate`` of it
    the exported steady state (unequal temperatures)."""
    m = load_model(models_dir / "heisenberg_dimer.toml").with_values(**{"L.temperature": 2.0})
    m, lam = m.with_master_equation(kind, width), [0.3, 0.5]
    L = generator_qobj(m, lam)
    jumps = jump_operators_qobj(m, lam)
    if kind == "ule":  # every frequency in one cluster: one operator per bath
        assert len(jumps) == len(m.baths)
    Lq = qutip.liouvillian(hamiltonian_qobj(m, lam), jumps)
    assert np.abs((Lq - L).full()).max() <= 1e3 * ROUND_TRIP_RTOL * np.abs(L.full()).max()
    assert np.abs((steady_state_qobj(m, lam) - qutip.steadystate(L)).full()).max() <= \
        QUTIP_RTOL


def test_qobj_steady_state_is_the_gibbs_state_at_equal_temperatures(q1):
    lam = [0.7, 0.4]
    H = hamiltonian_qobj(q1, lam)
    gibbs = (-H / q1.temperatures[0]).expm()
    np.testing.assert_allclose(steady_state_qobj(q1, lam).full(), (gibbs / gibbs.tr()).full(),
                               atol=QUTIP_RTOL)
    assert np.abs((qutip.liouvillian(H, jump_operators_qobj(q1, lam)) * qutip.operator_to_vector(
        gibbs)).full()).max() <= QUTIP_RTOL


def test_interop_refuses_what_it_cannot_export(q1, models_dir):
    with pytest.raises(ModelError, match=r"lam: expected one point of shape \(2,\)"):
        steady_state_qobj(q1, [[0.7, 0.4], [0.8, 0.6]])
    with pytest.raises(ModelError, match="unknown bath 'X'"):
        jump_operators_qobj(q1, bath="X")
    from thermogeo import NonUniqueSteadyStateError

    with pytest.raises(NonUniqueSteadyStateError, match="not unique"):
        steady_state_qobj(load_model(models_dir / "dark_singlet.toml"))


# -- bad Qobj terms: short messages naming the term --------------------------------------------

@pytest.mark.parametrize("term, message", [
    (X, r"hamiltonian\[1\]\.operator: expected a \(4, 4\) operator for 2 qubit\(s\), got a "
        r"Qobj of type 'oper', shape \(2, 2\)"),
    (qutip.basis(4, 0), r"hamiltonian\[1\]\.operator: expected an operator Qobj \(type "
                        r"'oper'\).*type 'ket'"),
    (qutip.spre(X), r"hamiltonian\[1\]\.operator: expected an operator Qobj.*type 'super'"),
    (qutip.Qobj(np.eye(4), dims=[[2, 2], [4]]), r"hamiltonian\[1\]\.operator: dims "
                                                r"\[\[2, 2\], \[4\]\] do not describe 2"),
    (qutip.tensor(X * Z, I2), r"hamiltonian\[1\]\.operator: operator is not Hermitian"),
])
def test_a_bad_qobj_term_gives_a_short_error_naming_it(term, message):
    with pytest.raises(ModelError, match=message) as e:
        Machine(qubits=2, parameters={"Bx": 0.1},
                hamiltonian=[("Bx", qutip.tensor(X, I2)), (1.0, term)],
                baths=[Bath("L", 1.0, "X0", Ohmic(0.1))])
    assert len(str(e.value)) <= SHORT and "Qobj data" not in str(e.value)


def test_a_zero_qobj_coupling_and_a_malformed_term_are_described_not_printed():
    for kw, where in ((dict(hamiltonian=[("Bx", X)], baths=[Bath("L", 1.0, 0 * X, Ohmic(1))]),
                       "baths['L'].coupling: a Qobj of type 'oper'"),
                      (dict(hamiltonian=[("Bx", X, Z)], baths=[Bath("L", 1.0, "X0", Ohmic(1))]),
                       "hamiltonian[0]: expected (coefficient, operator), got ('Bx', a Qobj")):
        with pytest.raises(ModelError) as e:
            Machine(qubits=1, parameters={"Bx": 0.1}, **kw)
        assert str(e.value).startswith(where)
        assert len(str(e.value)) <= SHORT and "Qobj data" not in str(e.value)


# -- version and the optional import -----------------------------------------------------------

@pytest.mark.parametrize("flag", ["--version", "-V"])
def test_version_flag_prints_the_package_version(flag):
    r = CliRunner().invoke(app, [flag])
    assert r.exit_code == 0 and r.output == f"thermogeo {__version__}\n"


def test_importing_thermogeo_does_not_import_qutip():
    code = "import sys, thermogeo, thermogeo.interop; print('qutip' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "False", out.stderr


def test_an_unnamed_machine_saved_and_loaded_takes_the_file_name(tmp_path):
    from thermogeo import Bath, Machine, Ohmic, load_model, save_model

    m = Machine(qubits=1, parameters={"Bx": 0.7}, hamiltonian=[("Bx", "X0"), (0.4, "Z0")],
                baths=[Bath("L", 1.0, "X0", Ohmic(0.1)), Bath("R", 1.0, "Z0", Ohmic(0.1))])
    path = tmp_path / "pump.toml"
    save_model(m, path)
    assert load_model(path).name == "pump"
