"""``thermogeo check`` and ``thermogeo response``: output contract and closed-form values.

The JSON of ``response`` has exactly the keys of issue 2 and, on model Q1 at (0.7, 0.4), the
values of docs/theory.md section 7; ``check`` lists qubits, parameters, baths and the spectrum
(for the Heisenberg dimer, the closed form of J S1.S2 = (J/4) sigma1.sigma2 in a uniform
field).
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from conftest import CLOSED_FORM_RTOL, IDENTITY_RTOL
from typer.testing import CliRunner

from thermogeo import load_model, response
from thermogeo.cli import app

PRINTED_RTOL = 1e-5  # the text output prints energies with 6 significant digits
KEYS = {"parameters", "heat_current", "heat_response", "rotor", "metric", "entropy",
        "spectrum"}
MEMORY_KEYS = {"peak_memory_MB", "estimated_memory_MB"}  # issue 7: memory reporting
# issue 15: which master equation, how far from its secular regime, the second law
MASTER_KEYS = {"master_equation", "secular_ratio", "entropy_production", "second_law"}


def run(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def q1_values(Bx, Bz, T=1.0):
    """Closed forms for Q1 with kappa_L = kappa_R = 1 (docs/theory.md section 7)."""
    r, th = math.hypot(Bx, Bz), math.atan2(Bx, Bz)
    x = r / T
    S = math.log(2 * math.cosh(x)) - x * math.tanh(x)
    dS = -(r / T**2) / math.cosh(x) ** 2
    grad = np.array([Bx, Bz]) / r * dS
    f = math.cos(th) ** 2
    rot = (1 / T) / math.cosh(x) ** 2 * math.sin(2 * th)
    return dict(entropy=S, L=f * T * grad, R=(1 - f) * T * grad, rotor=rot, spectrum=[-r, r])


def test_response_json_has_exactly_the_issue_keys_and_closed_form_values(models_dir):
    result = run("response", models_dir / "qubit_pump.toml", "--at", "Bx=0.7,Bz=0.4", "--json")
    assert result.exit_code == 0, result.stderr
    out = json.loads(result.stdout)
    assert set(out) == KEYS | MEMORY_KEYS | MASTER_KEYS
    assert out["parameters"] == {"Bx": 0.7, "Bz": 0.4}
    assert out["master_equation"] == {"kind": "secular"}
    assert out["second_law"] is True and abs(out["entropy_production"]) < 1e-14
    assert list(out["heat_current"]) == ["L", "R"] and list(out["rotor"]) == ["L", "R"]
    assert list(out["heat_response"]) == ["L", "R"]
    ref = q1_values(0.7, 0.4)
    np.testing.assert_allclose(out["heat_response"]["L"], [-0.0955342451, -0.0545909972],
                               rtol=CLOSED_FORM_RTOL)
    np.testing.assert_allclose(out["heat_response"]["R"], [-0.2925736256, -0.1671849289],
                               rtol=CLOSED_FORM_RTOL)
    np.testing.assert_allclose(out["heat_response"]["L"], ref["L"], rtol=CLOSED_FORM_RTOL)
    np.testing.assert_allclose(out["heat_response"]["R"], ref["R"], rtol=CLOSED_FORM_RTOL)
    assert out["rotor"]["L"] == pytest.approx(ref["rotor"], rel=CLOSED_FORM_RTOL)
    assert out["rotor"]["R"] == pytest.approx(-ref["rotor"], rel=CLOSED_FORM_RTOL)
    assert out["entropy"] == pytest.approx(ref["entropy"], rel=CLOSED_FORM_RTOL)
    np.testing.assert_allclose(out["spectrum"], ref["spectrum"], rtol=CLOSED_FORM_RTOL)
    np.testing.assert_allclose(list(out["heat_current"].values()), 0.0, atol=IDENTITY_RTOL)
    g = np.array(out["metric"])
    assert g.shape == (2, 2)
    np.testing.assert_array_equal(g, g.T)
    assert np.all(np.linalg.eigvalsh(g) > 0)
    # the same numbers as the library
    lib = response(load_model(models_dir / "qubit_pump.toml"), [0.7, 0.4])
    np.testing.assert_allclose(g, lib.metric, rtol=IDENTITY_RTOL)
    assert isinstance(out["entropy"], float)
    assert all(isinstance(v, float) for v in out["heat_current"].values())


def test_response_defaults_plane_and_unset_parameters(models_dir):
    """Unset parameters keep their defaults; the plane defaults to the first two parameters;
    swapping the plane flips the rotor."""
    path = models_dir / "heisenberg_dimer.toml"
    out = json.loads(run("response", path, "--at", "Bz=0.9", "--json").stdout)
    assert out["parameters"] == {"Bx": 0.3, "Bz": 0.9}
    swapped = json.loads(run("response", path, "--at", "Bz=0.9", "--plane", "Bz,Bx",
                             "--json").stdout)
    for b in ("L", "R"):
        assert swapped["rotor"][b] == pytest.approx(-out["rotor"][b], rel=IDENTITY_RTOL)
    lib = response(load_model(path), [0.3, 0.9], plane=("Bx", "Bz"))
    np.testing.assert_allclose(list(out["rotor"].values()), lib.rotor, rtol=IDENTITY_RTOL)
    np.testing.assert_allclose(out["heat_response"]["L"], lib.heat_response[0],
                               rtol=IDENTITY_RTOL)


def test_response_text_output(models_dir):
    result = run("response", models_dir / "qubit_pump.toml", "--at", "Bx=0.7,Bz=0.4")
    assert result.exit_code == 0
    text = result.stdout
    assert "Bx = 0.7, Bz = 0.4" in text
    assert "bath L" in text and "bath R" in text and "metric g" in text
    assert "+0.4776712254" in text and "-0.4776712254" in text  # rotor of L and R


@pytest.mark.parametrize("args,fragments", [
    (["--at", "Bq=0.3"], ["unknown parameter 'Bq'", "parameters are Bx, Bz"]),
    (["--at", "Bx=fast"], ["--at", "NAME=NUMBER", "Bx=0.7,Bz=0.4"]),
    (["--at", "Bx0.7"], ["--at", "NAME=NUMBER"]),
    (["--plane", "Bx,By"], ["unknown parameter 'By'", "Bx, Bz"]),
    (["--plane", "Bx,Bz,Bx"], ["--plane", "two parameter names"]),
])
def test_response_option_errors(models_dir, args, fragments):
    result = run("response", models_dir / "qubit_pump.toml", *args)
    assert result.exit_code != 0 and result.stdout == ""
    assert result.stderr.startswith("error: ")
    for f in fragments:
        assert f in result.stderr, (f, result.stderr)


def test_check_summarises_the_heisenberg_dimer(models_dir):
    """Spectrum at the default point (Bx, Bz) = (0.3, 0.5), J = 2: the singlet at -3J/4 and the
    triplet at J/4 + 2 m |B|, m = -1, 0, 1 (J S1.S2 = (J/4) sigma1.sigma2, S = sigma/2)."""
    path = models_dir / "heisenberg_dimer.toml"
    result = run("check", path)
    assert result.exit_code == 0, result.stderr
    text = result.stdout
    assert "2 qubit(s), dimension 4" in text
    assert "parameters: Bx = 0.3, Bz = 0.5" in text
    assert "constants: J = 2, b = 2" in text
    assert "bath L: T = 1, coupling X0 + b*X1, ohmic strength 0.001" in text
    assert "bath R: T = 1, coupling Z0 + b*Z1" in text
    assert "spectrum at default point:" in text
    out = json.loads(run("check", path, "--json").stdout)
    assert out["qubits"] == 2 and out["dimension"] == 4
    assert out["parameters"] == {"Bx": 0.3, "Bz": 0.5}
    assert [b["name"] for b in out["baths"]] == ["L", "R"]
    assert out["baths"][0]["spectral_density"] == {"kind": "ohmic", "strength": 0.001,
                                                   "exponent": 1.0, "cutoff": "inf"}
    J, B = 2.0, math.hypot(0.3, 0.5)
    expected = sorted([-3 * J / 4, J / 4 - 2 * B, J / 4, J / 4 + 2 * B])
    np.testing.assert_allclose(out["spectrum"], expected, rtol=CLOSED_FORM_RTOL)
    printed = [float(x) for x in text.split("spectrum at default point:")[1].split()[:4]]
    np.testing.assert_allclose(printed, expected, rtol=PRINTED_RTOL)
    assert out["warnings"] == []


def test_check_of_the_qubit_pump(models_dir):
    out = json.loads(run("check", models_dir / "qubit_pump.toml", "--json").stdout)
    assert out["qubits"] == 1 and out["parameters"] == {"Bx": 0.7, "Bz": 0.4}
    assert [(b["name"], b["coupling"]) for b in out["baths"]] == [("L", "X0"), ("R", "Z0")]
    np.testing.assert_allclose(out["spectrum"], [-math.hypot(0.7, 0.4), math.hypot(0.7, 0.4)],
                               rtol=CLOSED_FORM_RTOL)


def test_check_warns_about_close_bohr_frequencies(tmp_path, models_dir):
    """Strong coupling makes the relaxation rates exceed the Bohr-frequency spacing."""
    text = (models_dir / "qubit_pump.toml").read_text().replace(
        "strength = 1.0", "strength = 50.0")
    path = tmp_path / "strong.toml"
    path.write_text(text)
    result = run("check", path)
    assert result.exit_code == 0
    assert "SecularApproximationWarning" in result.stdout


@pytest.mark.parametrize("at, match", [
    ("Bx=1_0", "cannot read 'Bx=1_0'"),
    ("Bx=1,Bx=2", "'Bx' is given twice"),
    ("Bx=1e400", "Bx: expected a finite real number"),
    ("Bx=\u0663", "cannot read"),
    ("Bx=nan", "got nan"),
])
def test_at_values_are_read_by_the_model_grammar(models_dir, at, match):
    """--at numbers: no digit separators, no non-ASCII digits, no overflow, no NaN, and a
    name given twice is refused instead of the last value silently kept."""
    r = run("response", models_dir / "qubit_pump.toml", "--at", at)
    assert r.exit_code == 2 and match in r.output, r.output


def test_at_accepts_signed_numbers(models_dir):
    r = run("response", models_dir / "qubit_pump.toml", "--at", "Bx=-0.7,Bz=+0.4", "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["parameters"] == {"Bx": -0.7, "Bz": 0.4}
