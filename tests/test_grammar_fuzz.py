"""Property-based fuzzing of the operator grammar and the model-file loader (issue 13, item 3).

Any input either loads to a Hermitian operator equal to an independent parse, or is refused
with :class:`thermogeo.ModelError`; never another exception. The reference below is written
separately from ``thermogeo.model.pauli`` (whole-term regular expressions, its own Pauli
matrices, its own range rules copied from docs/decisions/0008-input-validation.md) for the
grammar of sums of ``[coefficient *] P<k> P<k> ...`` terms.

Hypothesis runs derandomized with a bounded number of examples (deterministic and fast).
"""

from __future__ import annotations

import json
import math
import re
import sys
import tomllib

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from thermogeo import Bath, Machine, ModelError, load_model
from thermogeo.model.pauli import operator_matrix, operator_sparse

FUZZ = settings(max_examples=400, derandomize=True, database=None, deadline=None,
                suppress_health_check=[HealthCheck.too_slow])
QUBITS = 3
CONSTANTS = {"b": 2.0, "J": -0.5, "e1": 1e-3}
LIMIT = 1e6  # docs/decisions/0008-input-validation.md: |x| <= 1e6

# -- the independent reference -------------------------------------------------------------------

SIGMA = {"X": np.array([[0, 1], [1, 0]], complex), "Y": np.array([[0, -1j], [1j, 0]], complex),
         "Z": np.array([[1, 0], [0, -1]], complex)}
R_NUM = r"(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
R_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
R_FACTOR = r"[XYZ](?:0|[1-9][0-9]*)"
R_WS = r"[ \t\r\n]"
R_TERM = re.compile(rf"{R_WS}*((?:[+-]{R_WS}*)*)(?:({R_NUM}|{R_NAME}){R_WS}*\*{R_WS}*)?"
                    rf"({R_FACTOR}(?:{R_WS}+{R_FACTOR})*)(?![A-Za-z0-9_.]){R_WS}*")
R_COEF = re.compile(rf"{R_WS}*([+-]?){R_WS}*({R_NUM}|{R_NAME})((?:{R_WS}*\*{R_WS}*"
                    rf"(?:{R_NUM}|{R_NAME}))*){R_WS}*")


class Refused(Exception):
    """The reference refuses the input."""


def ref_number(token: str, names: dict) -> float:
    if re.fullmatch(R_NUM, token):
        x = float(token)
        tiny = x == 0 and any(ch in "123456789" for ch in re.split("[eE]", token)[0])
        if math.isinf(x) or tiny or 0 < abs(x) < sys.float_info.min or abs(x) > LIMIT:
            raise Refused(token)
        return x
    if token not in names:
        raise Refused(token)
    return names[token]


def ref_operator(text: str, qubits: int = QUBITS, constants=CONSTANTS) -> np.ndarray:
    """The matrix of ``text``, or :class:`Refused`."""
    if not isinstance(text, str):
        raise Refused(text)
    d, pos, M, terms = 2**qubits, 0, np.zeros((2**qubits, 2**qubits), complex), 0
    while pos < len(text):
        m = R_TERM.match(text, pos)
        if m is None or m.end() == pos or (terms and "+" not in m[1] and "-" not in m[1]):
            raise Refused(text)
        c = -1.0 if m[1].count("-") % 2 else 1.0
        if m[2] is not None:
            c *= ref_number(m[2], constants)
        labels = ["I"] * qubits
        for f in m[3].split():
            q = int(f[1:])
            if q >= qubits or labels[q] != "I":
                raise Refused(text)
            labels[q] = f[0]
        P = np.ones((1, 1), complex)
        for p in labels:
            P = np.kron(P, SIGMA.get(p, np.eye(2)))
        M = M + c * P
        pos, terms = m.end(), terms + 1
    if not terms:
        raise Refused(text)
    assert M.shape == (d, d)
    return M


def ref_coefficient(text, parameters: dict, constants: dict) -> tuple[float, str | None]:
    """(value, parameter name or None) of a Hamiltonian coefficient, or :class:`Refused`."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        if not math.isfinite(text) or abs(text) > LIMIT:
            raise Refused(text)
        return float(text), None
    m = R_COEF.fullmatch(text) if isinstance(text, str) else None
    if m is None:
        raise Refused(text)
    value, param = (-1.0 if m[1] == "-" else 1.0), None
    for f in [m[2], *re.findall(rf"{R_NUM}|{R_NAME}", m[3])]:
        if f in parameters and not re.fullmatch(R_NUM, f):
            if param is not None:
                raise Refused(text)
            param = f
        else:
            value *= ref_number(f, constants)
    if abs(value) > LIMIT:
        raise Refused(text)
    return value, param


def assert_same(M: np.ndarray, R: np.ndarray) -> None:
    scale = max(1.0, float(np.abs(R).max()))
    np.testing.assert_allclose(M, R, rtol=0, atol=1e-12 * scale)
    np.testing.assert_allclose(M, M.conj().T, rtol=0, atol=0)


def parse_or_refuse(fn, *args, **kw):
    """``fn(*args, **kw)``, or None if it raised :class:`ModelError` (any other exception
    fails the test)."""
    try:
        return fn(*args, **kw)
    except ModelError:
        return None


# -- operator strings ------------------------------------------------------------------------------

VALID_NUMBERS = st.one_of(
    st.sampled_from(["2", "0.5", "1e-1", ".5", "1.", "0", "00", "1E3", "1e6", "0.25"]),
    st.floats(min_value=0, max_value=2e6).map(repr), st.integers(0, 10**3).map(str))
NUMBERS = st.one_of(
    VALID_NUMBERS, VALID_NUMBERS,
    st.sampled_from(["2e6", "1e400", "1e-400", "5e-324", "1_0", "2j", "\u0663", "inf", "nan",
                     "1e", "1.2.3"]),
    st.floats(allow_nan=False, allow_infinity=False, min_value=0).map(repr))
COEFFICIENTS = st.one_of(NUMBERS, st.sampled_from(["b", "J", "e1", "b", "J", "K", "X0", "Bx",
                                                   "_", ""]))
VALID_FACTORS = st.tuples(st.sampled_from("XYZ"), st.integers(0, QUBITS - 1)).map(
    lambda t: f"{t[0]}{t[1]}")
FACTORS = st.one_of(
    VALID_FACTORS, VALID_FACTORS, VALID_FACTORS,
    st.tuples(st.sampled_from("XYZ"), st.integers(0, QUBITS + 1)).map(lambda t: f"{t[0]}{t[1]}"),
    st.sampled_from(["X01", "Z\u0661", "W0", "x0", "X", "Y-1", "Z0.5", "X0X1", "I0"]))
SPACES = st.sampled_from(["", " ", " ", " ", "  ", "\t", "\n", "\u00a0"])
HOSTILE = ["+", "-", "*", "**", "_", "j", "e", ".", "1_0", "\u0661", "\uff11", "(", ")", "^",
           "X", "X01", "b", "inf", " ", "\n", "\u00a0", "Z0 +", "0*", "#", ",", "=", '"', "\\"]


@st.composite
def operator_texts(draw) -> str:
    """Sums of coefficient * Pauli strings, often valid, sometimes mutated."""
    parts = []
    for i in range(draw(st.integers(1, 4))):
        signs = draw(st.lists(st.sampled_from("+-"), min_size=0 if i == 0 else 1, max_size=2))
        ws = draw(SPACES)
        coef = draw(st.one_of(st.none(), COEFFICIENTS))
        sep = draw(st.sampled_from([" ", " ", " ", " ", "  ", "\t", "*", ""]))
        factors = sep.join(draw(st.lists(FACTORS, min_size=1, max_size=3)))
        parts.append(ws.join(signs) + ws + ("" if coef is None else f"{coef}{ws}*{ws}")
                     + factors)
    text = draw(SPACES).join(parts)
    for _ in range(draw(st.sampled_from([0, 0, 0, 1, 2]))):  # mutations
        at = draw(st.integers(0, len(text)))
        if draw(st.booleans()):
            text = text[:at] + draw(st.sampled_from(HOSTILE)) + text[at:]
        else:
            text = text[:at] + text[at + 1:]
    return text


@st.composite
def valid_operator_texts(draw) -> str:
    """Sums of coefficient * Pauli strings inside the grammar (distinct qubits per term, known
    constants, numbers in range), with varied signs and whitespace."""
    parts = []
    for i in range(draw(st.integers(1, 4))):
        signs = draw(st.lists(st.sampled_from("+-"), min_size=0 if i == 0 else 1, max_size=2))
        ws = draw(st.sampled_from(["", " ", "  ", "\t", "\n"]))
        coef = draw(st.one_of(st.none(), VALID_NUMBERS.filter(lambda x: float(x) <= 1e6),
                              st.sampled_from(sorted(CONSTANTS))))
        qubits = draw(st.permutations(range(QUBITS)))[:draw(st.integers(1, QUBITS))]
        factors = draw(st.sampled_from([" ", "  ", "\t"])).join(
            draw(st.sampled_from("XYZ")) + str(q) for q in qubits)
        parts.append(ws.join(signs) + ws + ("" if coef is None else f"{coef}{ws}*{ws}")
                     + factors)
    return draw(st.sampled_from(["", " ", "\n"])).join(parts)


RANDOM_TEXT = st.lists(st.sampled_from(list("XYZ0123456789 .eE+-*_jb\t") + HOSTILE),
                      max_size=16).map("".join)


@FUZZ
@given(st.one_of(valid_operator_texts(), operator_texts(), RANDOM_TEXT))
def test_operator_strings_equal_the_reference_or_are_refused(text):
    try:
        R = ref_operator(text)
    except Refused:
        R = None
    M = parse_or_refuse(operator_matrix, text, QUBITS, CONSTANTS)
    assert (M is None) == (R is None), (text, M is None)
    if M is not None:
        assert_same(M, R)
        np.testing.assert_array_equal(operator_sparse(text, QUBITS, CONSTANTS).toarray(), M)


def test_reference_examples():
    """The reference itself on the documented examples and refusals."""
    X, Z = SIGMA["X"], SIGMA["Z"]
    assert_same(ref_operator("X0 + 2*X1", 2), np.kron(X, np.eye(2)) + 2 * np.kron(np.eye(2), X))
    assert_same(ref_operator("b*Z1 - -Z0", 2), 2 * np.kron(np.eye(2), Z) + np.kron(Z, np.eye(2)))
    for bad in ["Z0 +", "1_0*X0", "X0*X0", "X\u0661", "2**X0", "X01", "", "X0 X0", "1e400*X0"]:
        with pytest.raises(Refused):
            ref_operator(bad, 2)
    assert ref_coefficient("-0.25*J*Bx", {"Bx": 1.0}, {"J": 2.0}) == (-0.5, "Bx")
    for bad in ["2**Bx", "1_0*Bx", "Bx*Bx", "Bx*", "2*-Bx", "inf", "1e400"]:
        with pytest.raises(Refused):
            ref_coefficient(bad, {"Bx": 1.0}, {"J": 2.0})


# -- model files --------------------------------------------------------------------------------

TEMPLATE = """\
qubits = {qubits}
parameters = {{ Bx = {bx}, Bz = 0.5 }}
constants = {{ b = {b} }}

[[hamiltonian]]
coefficient = {coefficient}
operator = {operator}

[[hamiltonian]]
coefficient = "Bz"
operator = "Z0"

[[baths]]
name = {name}
temperature = {temperature}
coupling = {coupling}
spectral_density = {{ kind = "ohmic", strength = {strength}, exponent = {exponent}, \
cutoff = {cutoff} }}
"""
DEFAULTS = dict(qubits="2", bx="0.3", b="2.0", coefficient='"Bx"', operator='"X0 + X1"',
                name='"L"', temperature="1.0", coupling='"X0 + b*X1"', strength="0.05",
                exponent="1.0", cutoff='"inf"')


def toml_string(text: str) -> str:
    return json.dumps(text)  # JSON strings are TOML basic strings


TOML_NUMBERS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(
        lambda x: "nan" if math.isnan(x) else repr(x)),
    st.integers(-10**8, 10**8).map(str),
    st.sampled_from(["1e400", "1e-400", "-0.0", "1" + "0" * 400, "0x10", "1_000", "+inf",
                     "1e6", "1e-6", "1e-7", "10.0", "3.0"]))
HOSTILE_VALUES = st.one_of(
    TOML_NUMBERS,
    operator_texts().map(toml_string),
    st.sampled_from(['"Bx"', '"0.25*b"', '"2**Bx"', '"-Bx*b"', '"R.x"', '"L"', '"hot"', '""',
                     '"inf"', "[1]", "{ a = 1 }", "true", "'X0'", '"X0 +"', '"0*X0"',
                     '"Z0 - Z0"', "1979-05-27", "", '"\\u00e9"', "= 1"]))
POSITIVE = st.floats(min_value=1e-6, max_value=1e6).map(repr)
PLAUSIBLE = {  # values a user would write, most of them inside the accepted ranges
    "qubits": st.integers(1, 3).map(str),
    "bx": st.floats(-2e6, 2e6).map(repr), "b": st.floats(-10, 10).map(repr),
    "coefficient": st.sampled_from(['"Bx"', '"-Bx"', '"0.25*b"', '"2*b*Bx"', "1.5", "-2",
                                    '"b"', '"Bz*b"', '" + 3 * Bx "']),
    "operator": valid_operator_texts().map(toml_string),
    "coupling": valid_operator_texts().map(toml_string),
    "name": st.sampled_from(['"L"', '"hot_1"', '"_x"', '"Bath2"']),
    "temperature": POSITIVE, "strength": st.floats(0, 1e6).map(repr),
    "exponent": st.floats(1, 10).map(repr),
    "cutoff": st.one_of(POSITIVE, st.just('"inf"')),
}


@st.composite
def model_files(draw) -> bytes:
    fields, hostile = dict(DEFAULTS), draw(st.booleans())
    for key in draw(st.lists(st.sampled_from(sorted(DEFAULTS)), max_size=4, unique=True)):
        fields[key] = draw(st.one_of(PLAUSIBLE[key], HOSTILE_VALUES) if hostile else
                           PLAUSIBLE[key])
    data = TEMPLATE.format(**fields).encode("utf-8")
    if hostile and draw(st.integers(0, 9)) == 0:  # a stray byte (often invalid UTF-8)
        at = draw(st.integers(0, len(data)))
        data = data[:at] + bytes([draw(st.integers(0, 255))]) + data[at:]
    return data


@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    return tmp_path_factory.mktemp("fuzz") / "model.toml"


@settings(FUZZ, max_examples=300)
@given(data=model_files())
def test_model_files_load_to_the_reference_or_are_refused(model_path, data):
    model_path.write_bytes(data)
    m = parse_or_refuse(load_model, model_path)
    if m is None:
        return
    raw = tomllib.loads(data.decode("utf-8"))
    q = raw["qubits"]
    assert isinstance(m, Machine) and m.qubits == q
    # every accepted string is accepted by the reference, with the same matrix
    (h1, _), bath = raw["hamiltonian"], raw["baths"][0]
    assert_same(m.couplings[0], ref_operator(bath["coupling"], q, raw["constants"]))
    value, param = ref_coefficient(h1["coefficient"], raw["parameters"], raw["constants"])
    term = value * ref_operator(h1["operator"], q, raw["constants"])
    Z0 = ref_operator("Z0", q, {})
    lam = m.point()
    H = (lam[0] * term if param == "Bx" else lam[1] * term if param == "Bz" else term) \
        + lam[1] * Z0
    assert_same(m.hamiltonian_at(lam), H)
    # every number is finite and in range
    assert np.all(np.isfinite(lam)) and np.all(np.abs(lam) <= LIMIT)
    T, sd = m.baths[0].temperature, m.baths[0].spectral_density
    assert 1e-6 <= T <= LIMIT and 0 <= sd.strength <= LIMIT and 1 <= sd.exponent <= 10
    assert sd.cutoff == math.inf or 1e-6 <= sd.cutoff <= LIMIT
    assert re.fullmatch(R_NAME, m.baths[0].name)


@FUZZ
@given(st.one_of(st.floats(), st.integers(-10**400, 10**400), st.text(max_size=5),
                 st.none(), st.booleans(), st.complex_numbers()))
def test_machine_values_are_finite_and_in_range_or_refused(v):
    """Python values for parameters, constants, temperatures and strengths."""
    base = Machine(qubits=1, parameters={"Bx": 0.7, "Bz": 0.4},
                   hamiltonian=[("Bx", "X0"), ("Bz", "Z0")],
                   baths=[Bath("L", 1.0, "X0 + Z0", {"kind": "ohmic", "strength": 1.0})],
                   constants={"c": 1.0})
    for name in ("Bx", "c", "L.temperature", "L.strength"):
        m = parse_or_refuse(base.with_values, **{name: v})
        if m is not None:
            assert math.isfinite(float(v)) and abs(float(v)) <= LIMIT
    pts = parse_or_refuse(base.as_points, [[v, 0.4]])
    if pts is not None:
        assert np.all(np.isfinite(pts)) and np.all(np.abs(pts) <= LIMIT)
