"""Hostile model input (issue 13, item 3: "Nothing lost, nothing silent").

Every case below used to be accepted and reinterpreted, or to surface later as a dark state
("steady state is not unique") or a traceback. Each must now fail up front with
:class:`thermogeo.ModelError` (a ``ValueError``) whose message names the file, the field and
what is accepted (docs/decisions/0008-input-validation.md).
"""

from __future__ import annotations

import math
import os

import numpy as np
import pytest
from typer.testing import CliRunner

from thermogeo import Bath, Machine, ModelError, Ohmic, load_model, response
from thermogeo.baths.limits import MAX_EXPONENT, MAX_MAGNITUDE, MIN_SCALE
from thermogeo.cli import app
from test_model_input import BASE as MODEL_BASE

BASE = MODEL_BASE.replace('name = "case"', 'name = "hostile"')  # the valid base file

L_SD = 'spectral_density = { kind = "ohmic", strength = 0.05, exponent = 1.0, cutoff = "inf" }'
RANGE = f"|x| <= {MAX_MAGNITUDE:g}"
T_RANGE = f"from {MIN_SCALE:g} to {MAX_MAGNITUDE:g}"
GRAMMAR = "X, Y, Z"  # the operator grammar is restated in every grammar error


def sd(**fields) -> str:
    body = ", ".join(f"{k} = {v}" for k, v in {"kind": '"ohmic"', **fields}.items())
    return f"spectral_density = {{ {body} }}"


# name: (text in BASE, replacement, fragments the message must contain)
CASES = {
    # -- non-finite or unphysical numbers ------------------------------------------------------
    "strength-inf": (L_SD, sd(strength="inf"),
                     ["baths['L'].spectral_density.strength", ">= 0", f"<= {MAX_MAGNITUDE:g}",
                      "got inf"]),
    "strength-nan": (L_SD, sd(strength="nan"),
                     ["baths['L'].spectral_density.strength", ">= 0", "got nan"]),
    "strength-huge": (L_SD, sd(strength="1e300"),
                      ["baths['L'].spectral_density.strength", f"<= {MAX_MAGNITUDE:g}",
                       "1e+300"]),
    "exponent-1e6": (L_SD, sd(strength=0.05, exponent="1e6", cutoff=2.0),
                     ["baths['L'].spectral_density.exponent",
                      f">= 1 and <= {MAX_EXPONENT:g}", "1000000.0"]),
    "exponent-nan": (L_SD, sd(strength=0.05, exponent="nan", cutoff=2.0),
                     ["baths['L'].spectral_density.exponent", ">= 1", "nan"]),
    "cutoff-nan": (L_SD, sd(strength=0.05, cutoff="nan"),
                   ["baths['L'].spectral_density.cutoff", "'inf'", T_RANGE, "nan"]),
    "cutoff-negative": (L_SD, sd(strength=0.05, cutoff=-1.0),
                        ["baths['L'].spectral_density.cutoff", "> 0 or 'inf'", "-1.0"]),
    "cutoff-tiny": (L_SD, sd(strength=0.05, cutoff="1e-9"),
                    ["baths['L'].spectral_density.cutoff", T_RANGE, "1e-09"]),
    "cutoff-huge": (L_SD, sd(strength=0.05, exponent=3.0, cutoff="1e300"),
                    ["baths['L'].spectral_density.cutoff", T_RANGE, "1e+300"]),
    "temperature-1e300": ("temperature = 1.0", "temperature = 1e300",
                          ["baths['L'].temperature", "> 0", T_RANGE, "1e+300"]),
    "temperature-inf": ("temperature = 1.0", "temperature = inf",
                        ["baths['L'].temperature", "> 0", T_RANGE, "got inf"]),
    "temperature-nan": ("temperature = 1.0", "temperature = nan",
                        ["baths['L'].temperature", "> 0", "got nan"]),
    "temperature-tiny": ("temperature = 1.0", "temperature = 1e-9",
                         ["baths['L'].temperature", T_RANGE, "1e-09"]),
    "coefficient-nan": ('coefficient = "Bz"', "coefficient = nan",
                        ["hamiltonian[1].coefficient", "finite", RANGE, "nan"]),
    "coefficient-inf": ('coefficient = "Bz"', "coefficient = -inf",
                        ["hamiltonian[1].coefficient", "finite", "-inf"]),
    "coefficient-overflow": ('coefficient = "Bz"', 'coefficient = "1e400*Bz"',
                             ["hamiltonian[1].coefficient", "'1e400'", "overflows", RANGE]),
    "coefficient-out-of-range": ('coefficient = "Bz"', 'coefficient = "2e6*Bz"',
                                 ["hamiltonian[1].coefficient", "'2e6'", "out of range",
                                  RANGE]),
    "coefficient-product-out-of-range": ('coefficient = "0.25*J"', 'coefficient = "1e6*J"',
                                         ["hamiltonian[2].coefficient", "evaluates to 2e+06",
                                          RANGE]),
    "coefficient-underflow": ('coefficient = "Bz"', 'coefficient = "1e-400*Bz"',
                              ["hamiltonian[1].coefficient", "'1e-400'", "underflows"]),
    "operator-overflow": ('operator = "Z0 + Z1"', 'operator = "1e400*Z0 + Z1"',
                          ["hamiltonian[1].operator", "'1e400'", "overflows", RANGE]),
    "operator-underflow": ('coupling = "X0 + 2*X1"', 'coupling = "X0 + 1e-400*X1"',
                           ["baths['L'].coupling", "'1e-400'", "underflows"]),
    "operator-coefficient-after-evaluation": ('coefficient = "0.25*J"',
                                              'coefficient = "1e5*J"\n# ',
                                              ["hamiltonian[2]", "evaluates to",
                                               RANGE]),
    "parameter-inf": ("Bx = 0.3", "Bx = inf", ["parameters.Bx", "finite", RANGE, "inf"]),
    "parameter-out-of-range": ("Bx = 0.3", "Bx = 2e6", ["parameters.Bx", "out of range",
                                                          RANGE, "2000000.0"]),
    "constant-nan": ("J = 2.0", "J = nan", ["constants.J", "finite", RANGE, "nan"]),
    "constant-huge-integer": ("J = 2.0", "J = 1" + "0" * 400,
                              ["constants.J", "too large", RANGE, "about 401 digits"]),
    "toml-float-underflow": ("Bx = 0.3", "Bx = 1e-400", ["'1e-400' (line 3)", "underflows"]),
    "toml-integer-beyond-digit-limit": ("J = 2.0", "J = 1" + "0" * 5000,
                                        ["malformed TOML", "more than 4300 digits", RANGE]),
    # -- names ---------------------------------------------------------------------------------
    "constant-named-like-a-pauli-factor": ("constants = { J = 2.0 }",
                                           "constants = { J = 2.0, X0 = 1.0 }",
                                           ["constants", "'X0'", "Pauli factor",
                                            "not X, Y or Z followed by digits"]),
    "parameter-named-like-a-pauli-factor": ("parameters = { Bx = 0.3, Bz = 0.5 }",
                                            "parameters = { Bx = 0.3, Bz = 0.5, Z12 = 0.1 }",
                                            ["parameters", "'Z12'", "Pauli factor"]),
    "constant-named-nan": ("constants = { J = 2.0 }", "constants = { J = 2.0, NaN = 1.0 }",
                           ["constants", "'NaN'", "reads as a number"]),
    "constant-non-ascii-name": ("constants = { J = 2.0 }",
                                'constants = { J = 2.0, "\u03b2" = 1.0 }',
                                ["constants", "'\u03b2'", "ASCII identifiers"]),
    "bath-name-with-a-dot": ('name = "R"', 'name = "R.x"',
                             ["baths.name", "'R.x'", "identifier", "<bath>.temperature"]),
    "bath-name-empty": ('name = "R"', 'name = ""', ["baths.name", "identifier", "''"]),
    "bath-name-not-a-string": ('name = "R"', "name = 3", ["baths.name", "identifier", "3"]),
    # -- operators silently reinterpreted --------------------------------------------------------
    "pauli-factor-as-coefficient": ('operator = "Z0 + Z1"', 'operator = "X0*X0"',
                                    ["hamiltonian[1].operator", "'X0' is a Pauli factor",
                                     "separated by spaces", GRAMMAR]),
    "star-after-a-factor": ('operator = "Z0 + Z1"', 'operator = "2*Z0*Z1"',
                            ["hamiltonian[1].operator", "'*' after a Pauli factor", GRAMMAR]),
    "trailing-plus": ('operator = "Z0 + Z1"', 'operator = "Z0 +"',
                      ["hamiltonian[1].operator", "ends with '+'", "term is missing", GRAMMAR]),
    "trailing-minus-in-coupling": ('coupling = "X0 + 2*X1"', 'coupling = "X0 + 2*X1 -"',
                                   ["baths['L'].coupling", "ends with '-'", GRAMMAR]),
    "trailing-star": ('coupling = "X0 + 2*X1"', 'coupling = "X0 + 2*"',
                      ["baths['L'].coupling", "ends with '*'", GRAMMAR]),
    "digit-separator-in-coefficient": ('coefficient = "Bz"', 'coefficient = "1_0*Bz"',
                                       ["hamiltonian[1].coefficient", "'1_0'",
                                        "digit separators", "product"]),
    "digit-separator-in-operator": ('coupling = "X0 + 2*X1"', 'coupling = "X0 + 1_0*X1"',
                                    ["baths['L'].coupling", "'1_0'", "digit separators",
                                     GRAMMAR]),
    "non-ascii-digit-qubit-index": ('operator = "Z0 + Z1"', 'operator = "Z0 + Z\u0661"',
                                    ["hamiltonian[1].operator", "U+0661", "not ASCII",
                                     "digits 0-9"]),
    "fullwidth-digit-qubit-index": ('coupling = "X0 + 2*X1"', 'coupling = "X0 + 2*X\uff11"',
                                    ["baths['L'].coupling", "U+FF11", "not ASCII"]),
    "non-ascii-digit-in-coefficient": ('coefficient = "Bz"', 'coefficient = "\u0662*Bz"',
                                       ["hamiltonian[1].coefficient", "U+0662", "not ASCII",
                                        "product"]),
    "leading-zero-qubit-index": ('operator = "Z0 + Z1"', 'operator = "Z0 + Z01"',
                                 ["hamiltonian[1].operator", "'01'", "leading zero"]),
    "zero-coupling": ('coupling = "X0 + 2*X1"', 'coupling = "0*Z0"',
                      ["baths['L'].coupling", "'0*Z0'", "zero operator",
                       "nonzero Hermitian operator"]),
    "cancelling-coupling": ('coupling = "X0 + 2*X1"', 'coupling = "Z0 - Z0"',
                            ["baths['L'].coupling", "'Z0 - Z0'", "zero operator", "cancel"]),
    "coupling-cancelling-to-rounding": ('coupling = "X0 + 2*X1"',
                                        'coupling = "0.1*Z0 + 0.2*Z0 - 0.3*Z0"',
                                        ["baths['L'].coupling", "zero operator"]),
    "coupling-zero-through-a-constant": ('coupling = "X0 + 2*X1"', 'coupling = "K*X1"',
                                         ["baths['L'].coupling", "zero operator",
                                          "K = 0.0"]),
    "power-in-coefficient": ('coefficient = "Bx"', 'coefficient = "2**Bx"',
                             ["hamiltonian[0].coefficient", "'**'", "no powers",
                              "at most one parameter"]),
    "power-in-operator": ('operator = "Z0 + Z1"', 'operator = "2**Z0"',
                          ["hamiltonian[1].operator", "'**'", GRAMMAR]),
    "sign-inside-a-coefficient": ('coefficient = "Bx"', 'coefficient = "2*-Bx"',
                                  ["hamiltonian[0].coefficient", "'-'", "sign only at the start"]),
    "number-name-as-coefficient": ('coefficient = "Bx"', 'coefficient = "inf*Bx"',
                                   ["hamiltonian[0].coefficient", "unknown name 'inf'"]),
    "complex-coefficient-field": ('coefficient = "Bx"', 'coefficient = "2j*Bx"',
                                  ["hamiltonian[0].coefficient", "complex", "real"]),
    # -- types that used to traceback -----------------------------------------------------------
    "operator-not-a-string": ('operator = "Z0 + Z1"', "operator = 3",
                              ["hamiltonian[1].operator", "operator string"]),
    "coupling-not-a-string": ('coupling = "X0 + 2*X1"', "coupling = [1, 2]",
                              ["baths[0].coupling", "operator string"]),
    "kind-not-a-string": ('kind = "ohmic", strength = 0.05 }', 'kind = [1], strength = 0.05 }',
                          ["baths['R'].spectral_density.kind", "accepted: ohmic"]),
    "model-name-not-a-string": ('name = "hostile"', "name = 5", ["name: expected a string"]),
}


def model_text(key: str) -> str:
    old, new, _ = CASES[key]
    assert BASE.count(old) >= 1, key
    text = BASE.replace(old, new, 1)
    if key == "coupling-zero-through-a-constant":
        text = text.replace("constants = { J = 2.0 }", "constants = { J = 2.0, K = 0.0 }")
    if key == "operator-coefficient-after-evaluation":  # 1e5*J = 2e5 times 10*X0 X1 = 2e6
        text = text.replace('operator = "X0 X1 + Y0 Y1 + Z0 Z1"', 'operator = "10*X0 X1"')
    return text


def test_base_is_valid(tmp_path):
    p = tmp_path / "base.toml"
    p.write_text(BASE)
    assert load_model(p).bath_names == ("L", "R")


@pytest.mark.parametrize("key", sorted(CASES))
def test_hostile_model_file(tmp_path, key):
    path = tmp_path / f"{key}.toml"
    path.write_text(model_text(key), encoding="utf-8")
    with pytest.raises(ModelError) as err:
        load_model(path)
    assert isinstance(err.value, ValueError)
    msg = str(err.value)
    assert msg.startswith(str(path)), msg  # the file first
    for fragment in CASES[key][2]:
        assert fragment in msg, (fragment, msg)


@pytest.mark.parametrize("key", ["strength-inf", "trailing-plus", "zero-coupling",
                                 "bath-name-with-a-dot", "temperature-1e300"])
def test_hostile_model_file_command_line(tmp_path, key):
    path = tmp_path / f"{key}.toml"
    path.write_text(model_text(key), encoding="utf-8")
    result = CliRunner().invoke(app, ["check", str(path)])
    assert result.exit_code == 2 and result.stdout == ""
    assert f"error: ModelError: {path}" in result.stderr
    for fragment in CASES[key][2]:
        assert fragment in result.stderr, (fragment, result.stderr)


# -- files that are not regular UTF-8 text ----------------------------------------------------

def _non_utf8(tmp_path):
    p = tmp_path / "latin1.toml"
    p.write_bytes(BASE.replace('"hostile"', '"caf\u00e9"').encode("latin-1"))
    return p


def _directory(tmp_path):
    p = tmp_path / "dir.toml"
    p.mkdir()
    return p


def _fifo(tmp_path):
    if not hasattr(os, "mkfifo"):
        pytest.skip("no FIFOs on this platform")
    p = tmp_path / "pipe.toml"
    os.mkfifo(p)  # nobody writes: opening it for reading would block
    return p


FILES = {
    "non-utf8": (_non_utf8, ["cannot read model file", "byte 0xe9", "line 1",
                             "not valid UTF-8", "UTF-8 encoded TOML"]),
    "directory": (_directory, ["cannot read model file", "a directory", "regular TOML file"]),
    "fifo": (_fifo, ["cannot read model file", "a FIFO", "regular TOML file"]),
}


@pytest.mark.parametrize("key", sorted(FILES))
def test_unreadable_model_file(tmp_path, key):
    make, fragments = FILES[key]
    path = make(tmp_path)
    with pytest.raises(ModelError) as err:
        load_model(path)
    msg = str(err.value)
    assert msg.startswith(str(path)), msg
    for fragment in fragments:
        assert fragment in msg, (fragment, msg)
    result = CliRunner().invoke(app, ["check", str(path)])
    assert result.exit_code != 0 and result.stdout == ""
    assert str(path) in result.stderr and "Traceback" not in result.stderr


# -- the Python API -----------------------------------------------------------------------------

def qubit(**kw) -> Machine:
    spec = dict(qubits=1, parameters={"Bx": 0.7, "Bz": 0.4},
                hamiltonian=[("Bx", "X0"), ("Bz", "Z0")],
                baths=[Bath("L", 1.0, "X0", Ohmic(1.0)), Bath("R", 1.0, "Z0", Ohmic(1.0))])
    spec.update(kw)
    return Machine(**spec)


NAN, INF = math.nan, math.inf
API = {
    "ohmic-strength-inf": (lambda: Ohmic(INF), ["spectral_density.strength", ">= 0", "inf"]),
    "ohmic-exponent-1e6": (lambda: Ohmic(0.1, exponent=1e6, cutoff=1.0),
                           ["spectral_density.exponent", f"<= {MAX_EXPONENT:g}"]),
    "ohmic-exponent-string": (lambda: Ohmic(0.1, exponent="3"),
                              ["spectral_density.exponent", ">= 1", "'3'"]),
    "ohmic-cutoff-minus-inf": (lambda: Ohmic(0.1, cutoff=-INF),
                               ["spectral_density.cutoff", "> 0 or 'inf'", "-inf"]),
    "bath-temperature-1e300": (lambda: Bath("L", 1e300, "X0", Ohmic(1.0)),
                               ["baths['L'].temperature", "> 0", T_RANGE]),
    "bath-temperature-numpy-nan": (lambda: Bath("L", np.float64(NAN), "X0", Ohmic(1.0)),
                                   ["baths['L'].temperature", "> 0", "nan"]),
    "bath-name-with-a-dot": (lambda: Bath("R.x", 1.0, "Z0", Ohmic(1.0)),
                             ["baths.name", "'R.x'", "identifier"]),
    "coefficient-nan": (lambda: qubit(hamiltonian=[("Bx", "X0"), (NAN, "Z0")]),
                        ["hamiltonian[1].coefficient", "finite", "nan"]),
    "coefficient-string-overflow": (lambda: qubit(hamiltonian=[("Bx", "X0"), ("1e400*Bz", "Z0")]),
                                    ["hamiltonian[1].coefficient", "overflows"]),
    "parameter-default-nan": (lambda: qubit(parameters={"Bx": NAN, "Bz": 0.4}),
                              ["parameters.Bx", "finite", "nan"]),
    "constant-named-like-a-pauli-factor": (
        lambda: qubit(qubits=2, hamiltonian=[("Bx", "X0*X0"), ("Bz", "Z0")],
                      constants={"X0": 1.0}),
        ["constants", "'X0'", "Pauli factor"]),
    "name-with-a-trailing-newline": (lambda: qubit(constants={"J\n": 1.0}),
                                     ["constants", "'J\\n'", "not a valid name"]),
    "matrix-with-nan": (lambda: qubit(hamiltonian=[("Bx", np.array([[0, NAN], [NAN, 0]])),
                                                   ("Bz", "Z0")]),
                        ["hamiltonian[0].operator", "non-finite", RANGE]),
    "matrix-out-of-range": (lambda: qubit(baths=[Bath("L", 1.0, 1e7 * np.eye(2), Ohmic(1.0))]),
                            ["baths['L'].coupling", "out of range", RANGE]),
    "matrix-zero-coupling": (lambda: qubit(baths=[Bath("L", 1.0, np.zeros((2, 2)), Ohmic(1.0))]),
                             ["baths['L'].coupling", "zero operator"]),
    "ragged-matrix": (lambda: qubit(baths=[Bath("L", 1.0, [[0, 1], [1]], Ohmic(1.0))]),
                      ["baths['L'].coupling", "operator string", "(2, 2) array"]),
    "hamiltonian-as-a-string": (lambda: qubit(hamiltonian="X0"),
                                ["hamiltonian", "sequence of (coefficient, operator)"]),
    "hamiltonian-term-as-a-string": (lambda: qubit(hamiltonian=["Bx", ("Bz", "Z0")]),
                                     ["hamiltonian[0]", "(coefficient, operator)"]),
    "with-values-nan": (lambda: qubit().with_values(Bx=NAN), ["Bx", "finite", RANGE]),
    "with-values-string": (lambda: qubit().with_values(Bx="0.5"), ["Bx", "finite", "'0.5'"]),
    "with-values-temperature-inf": (lambda: qubit().with_values(**{"L.temperature": INF}),
                                    ["L.temperature", "> 0", T_RANGE]),
    "with-values-strength-negative": (lambda: qubit().with_values(**{"R.strength": -1.0}),
                                      ["R.strength", ">= 0"]),
    "with-values-zeroes-a-coupling": (
        lambda: qubit(baths=[Bath("L", 1.0, "b*X0", Ohmic(1.0))],
                      constants={"b": 1.0}).with_values(b=0.0),
        ["baths['L'].coupling", "zero operator", "b = 0.0"]),
    "point-inf": (lambda: qubit().point(Bz=INF), ["Bz", "finite"]),
}


@pytest.mark.parametrize("key", sorted(API))
def test_hostile_python_input(key):
    make, fragments = API[key]
    with pytest.raises(ModelError) as err:
        make()
    for fragment in fragments:
        assert fragment in str(err.value), (fragment, str(err.value))


POINTS = {
    "empty-batch": (np.zeros((0, 2)), ["lam: no points", "shape (0, 2)", "(Bx, Bz)"]),
    "nan-in-a-batch": ([[0.7, 0.4], [0.8, NAN], [0.1, 0.2]],
                       ["lam: expected finite values", "point 1 has Bz = nan",
                        "1 bad value(s)"]),
    "inf-in-a-grid": (np.array([[[0.7, 0.4], [0.8, 0.5]], [[INF, 0.4], [0.1, -INF]]]),
                      ["lam: expected finite values", "point (1, 0) has Bx = inf",
                       "2 bad value(s)"]),
    "single-point-nan": ([NAN, 0.4], ["lam: expected finite values", "the point has Bx = nan"]),
    "out-of-range": ([0.7, 1e7], ["lam: expected finite values", RANGE,
                                  "the point has Bz = 10000000.0"]),
    "complex": ([0.7 + 1j, 0.4], ["lam: expected real parameter points", "(Bx, Bz)"]),
    "strings": ([["a", "b"]], ["lam: expected real parameter points"]),
}


@pytest.mark.parametrize("key", sorted(POINTS))
def test_hostile_points(key):
    """``response`` (through ``Machine.as_points``) refuses bad points up front, naming the
    point and the parameter, instead of calling them a dark state."""
    lam, fragments = POINTS[key]
    m = qubit()
    for call in (lambda: m.as_points(lam), lambda: response(m, lam)):
        with pytest.raises(ModelError) as err:
            call()
        for fragment in fragments:
            assert fragment in str(err.value), (fragment, str(err.value))


def test_hamiltonian_at_accepts_an_empty_batch():
    assert qubit().hamiltonian_at(np.zeros((0, 2))).shape == (0, 2, 2)


@pytest.mark.parametrize("setting, fragments", [
    ("L.temperature=1e300", ["L.temperature", "> 0", T_RANGE]),
    ("R.strength=inf", ["R.strength", ">= 0"]),
    ("Bx=nan", ["Bx", "finite", RANGE]),
])
def test_hostile_set_values_on_the_command_line(models_dir, setting, fragments):
    result = CliRunner().invoke(app, ["cycle", str(models_dir / "qubit_pump.toml"),
                                      "--circle", "Bx=0.8,Bz=0.6,r=0.5", "--set", setting])
    assert result.exit_code == 2 and result.stdout == ""
    for fragment in fragments:
        assert fragment in result.stderr, (fragment, result.stderr)


# -- the edges of the accepted ranges are accepted ------------------------------------------------

def test_range_edges_are_accepted():
    m = qubit(parameters={"Bx": MAX_MAGNITUDE, "Bz": -MAX_MAGNITUDE},
              baths=[Bath("L", MIN_SCALE, "X0", Ohmic(MAX_MAGNITUDE, MAX_EXPONENT, MIN_SCALE)),
                     Bath("R", MAX_MAGNITUDE, "Z0", Ohmic(0.0, 1.0, MAX_MAGNITUDE))],
              constants={"X": 1.0, "Z0a": 2.0, "b_1": -MAX_MAGNITUDE})
    assert m.as_points([[MAX_MAGNITUDE, 0.0]]).shape == (1, 2)
    q = qubit(hamiltonian=[("1e6*Bx", "X0"), ("-Bz", "1e6*Z0 - 0.5e6*Z0")])
    np.testing.assert_array_equal(q.V[1], -5e5 * np.diag([1.0, -1.0]))


def test_a_nan_point_is_reported_for_that_point_not_fatal_to_the_batch(models_dir):
    """With check=False (maps, sweeps) a non-finite point is NaN and flagged in ``valid``;
    the other points equal their own single-point responses. With check=True the call is
    refused naming the point and the parameter."""
    m = load_model(models_dir / "qubit_pump.toml")
    lam = np.array([[0.7, 0.4], [np.nan, 0.4], [0.8, 2e6]])
    r = response(m, lam, plane=("Bx", "Bz"), check=False)
    assert r.valid.tolist() == [True, False, False]
    assert np.isnan(r.heat_response[1:]).all() and np.isnan(r.rotor[1:]).all()
    assert not r.unique[1:].any()
    one = response(m, lam[0], plane=("Bx", "Bz"))
    np.testing.assert_allclose(r.heat_response[0], one.heat_response, rtol=1e-14)
    np.testing.assert_allclose(r.rotor[0], one.rotor, rtol=1e-14)
    assert "valid" in r.to_dataset()
    with pytest.raises(ModelError, match="point 1 has Bx = nan"):
        response(m, lam)
