"""Hostile input at the command line (issue 13, "Nothing lost, nothing silent").

Every case below used to end in a Python traceback, a silent reinterpretation (an option
ignored, a bias beyond absolute zero, a map of NaN with exit 0) or an unclear message. Each
user error must now exit with status 2 and a one-line message on stderr that names the
option, file or field and what is accepted; stdout carries no partial result and nothing is
written (docs/decisions/0010-cli-user-errors.md).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from conftest import MODELS
from typer.testing import CliRunner

from thermogeo import ModelError, load_model, response
from thermogeo.cli.app import app, print_json, to_jsonable
from thermogeo.lindblad import structured

QUBIT = (MODELS / "qubit_pump.toml").as_posix()
DARK = (MODELS / "dark_singlet.toml").as_posix()
CIRCLE = ["--circle", "Bx=0.8,Bz=0.6,r=0.5"]
SMALL_MAP = ["--x", "Bx=0:1:3", "--y", "Bz=0:1:3"]
BIAS_RANGE = ["--bias", "0 < |X| < 2", "T(1 + X/2)", "T(1 - X/2)"]
CYCLE_SWEEP = f"""
model = "{QUBIT}"
kind = "cycle"
[combos]
"R.strength" = [1.0, 2.0]
[cycle]
bias = 0.01
[cycle.loops.ccw]
kind = "circle"
plane = ["Bx", "Bz"]
center = [0.8, 0.6]
radius = 0.5
"""


def invoke(args):
    return CliRunner().invoke(app, [str(a) for a in args])


def tree(path: Path) -> dict[str, bytes | None]:
    """Every file (with its bytes) and folder (None) under ``path``."""
    return {p.relative_to(path).as_posix(): None if p.is_dir() else p.read_bytes()
            for p in sorted(path.rglob("*"))}


def _folder(tmp: Path) -> str:
    (tmp / "folder").mkdir()
    return "folder"


def _file(tmp: Path) -> str:
    (tmp / "existing").write_text("keep me\n")
    return "existing"


def _nan_loop(tmp: Path) -> str:
    (tmp / "nan.txt").write_text("# Bx Bz\n0.3 0.1\n1.0 nan\n1.0 1.0\n0.3 1.0\n")
    return "nan.txt"


def _sweep(text: str):
    def make(tmp: Path) -> str:
        (tmp / "sweep.toml").write_text(text)
        return "sweep.toml"
    return make


def _swept_base_sweep(tmp: Path) -> str:
    """A third parameter By, swept and also set by the loop's base."""
    (tmp / "three.toml").write_text(
        Path(QUBIT).read_text().replace("parameters = {", "parameters = { By = 0.0,")
        + '\n[[hamiltonian]]\ncoefficient = "By"\noperator = "Y0"\n')
    (tmp / "sweep.toml").write_text(
        CYCLE_SWEEP.replace(QUBIT, "three.toml").replace('"R.strength"', "By")
        .replace("radius = 0.5", "radius = 0.5\nbase = { By = 0.1 }"))
    return "sweep.toml"


def _not_toml_sweep(tmp: Path) -> str:
    (tmp / "model.txt").write_text("this is not TOML = = \n")
    (tmp / "sweep.toml").write_text(CYCLE_SWEEP.replace(QUBIT, "model.txt"))
    return "sweep.toml"


def _no_parameters(tmp: Path) -> str:
    (tmp / "fixed.toml").write_text(
        'qubits = 1\nparameters = {}\n[[hamiltonian]]\ncoefficient = "1.0"\noperator = "Z0"\n'
        '[[baths]]\nname = "L"\ntemperature = 1.0\ncoupling = "X0"\n'
        'spectral_density = { kind = "ohmic", strength = 0.05 }\n')
    return "fixed.toml"


# name: (arguments, with {} replaced by what the setup made in the run folder; setup;
#        fragments the message must contain)
CASES = {
    # -- tracebacks --------------------------------------------------------------------------
    "cycle-loop-is-a-folder": (["cycle", QUBIT, "--loop", "{}"], _folder,
                               ["--loop", "'folder'", "not a file", "two columns x y"]),
    "map-out-is-a-folder": (["map", QUBIT, *SMALL_MAP, "--out", "{}"], _folder,
                            ["--out", "'folder'", "is a folder", "NetCDF file"]),
    "map-plot-is-a-folder": (["map", QUBIT, *SMALL_MAP, "--out", "m.nc", "--plot", "{}"],
                             _folder, ["--plot", "'folder'", "is a folder", "image file"]),
    "map-out-in-a-missing-folder": (["map", QUBIT, *SMALL_MAP, "--out", "missing/m.nc"],
                                    None, ["--out", "'missing'", "does not exist",
                                           "existing folder"]),
    "map-out-through-a-file": (["map", QUBIT, *SMALL_MAP, "--out", "{}/m.nc"], _file,
                               ["--out", "'existing'", "is not a folder"]),
    "reproduce-out-through-a-file": (["reproduce", "--quick", "--out", "{}/sub"], _file,
                                     ["--out", "'existing'", "is a file",
                                      "expected a folder"]),
    "reproduce-out-is-a-file": (["reproduce", "--quick", "--out", "{}"], _file,
                                ["--out", "'existing'", "is a file", "expected a folder"]),
    "map-too-large": (["map", QUBIT, "--x", "Bx=-3:3:100000", "--y", "Bz=-3:3:100000",
                       "--out", "m.nc"], None,
                      ["--x, --y", "100,000 x 100,000 = 10,000,000,000 points", "GiB",
                       "bytes per point", "8.00 GiB are available", "fewer points",
                       "NAME=START:STOP:COUNT"]),
    # -- a bias that puts a bath at or below absolute zero ------------------------------------
    "bias-huge": (["cycle", QUBIT, *CIRCLE, "--bias", "1e6"], None, BIAS_RANGE + ["1e+06"]),
    "bias-minus-two": (["cycle", QUBIT, *CIRCLE, "--bias", "-2"], None, BIAS_RANGE + ["-2"]),
    "bias-two": (["cycle", QUBIT, *CIRCLE, "--bias", "2"], None, BIAS_RANGE + ["got 2"]),
    "bias-zero": (["cycle", QUBIT, *CIRCLE, "--bias", "0"], None, BIAS_RANGE + ["got 0"]),
    "bias-nan": (["cycle", QUBIT, *CIRCLE, "--bias", "nan"], None, BIAS_RANGE + ["nan"]),
    "sweep-bias-beyond-zero-kelvin": (["sweep", "{}", "--out", "r.zarr"],
                                      _sweep(CYCLE_SWEEP.replace("bias = 0.01", "bias = 3.0")),
                                      ["[cycle].bias", "0 < |X| < 2", "T(1 - X/2)", "3.0"]),
    # -- options that would be ignored --------------------------------------------------------
    "cycle-at-sets-a-loop-parameter": (["cycle", QUBIT, *CIRCLE, "--at", "Bx=5"], None,
                                       ["--at", "Bx is set by the loop", "plane Bx,Bz",
                                        "only the other parameters"]),
    "map-at-sets-an-axis": (["map", QUBIT, *SMALL_MAP, "--out", "m.nc", "--at", "Bz=1"],
                            None, ["--at", "Bz is set by the map's axes",
                                   "only the other parameters"]),
    "optimal-at-sets-a-plane-parameter": (["optimal", QUBIT, "--at", "Bz=1"], None,
                                          ["--at", "Bz is set by --plane (Bx,Bz)"]),
    "sweep-varies-a-loop-parameter": (["sweep", "{}", "--out", "r.zarr"],
                                      _sweep(CYCLE_SWEEP.replace('"R.strength"', "Bx")),
                                      ["[cycle].loops.ccw", "the loop sets Bx",
                                       "plane Bx, Bz", "also varies",
                                       "sweep only names off the loop's plane"]),
    "sweep-loop-base-sets-its-plane": (["sweep", "{}", "--out", "r.zarr"],
                                       _sweep(CYCLE_SWEEP.replace(
                                           "radius = 0.5", "radius = 0.5\nbase = { Bx = 1.0 }")),
                                       ["[cycle].loops.ccw.base", "Bx is set by the loop",
                                        "only the other parameters"]),
    "sweep-loop-base-sets-a-swept-name": (["sweep", "{}", "--out", "r.zarr"],
                                          _swept_base_sweep,
                                          ["[cycle].loops.ccw.base", "sets By",
                                           "the sweep also varies"]),
    "sweep-timing-unknown": (["sweep", "{}", "--out", "r.zarr"],
                             _sweep(CYCLE_SWEEP.replace("bias = 0.01",
                                                        'bias = 0.01\ntiming = "fast"')),
                             ["[cycle].timing", "uniform, constant_dissipation", "'fast'"]),
    # -- unclear messages ---------------------------------------------------------------------
    "sweep-model-not-toml": (["sweep", "{}", "--out", "r.zarr"], _not_toml_sweep,
                             ["model:", "model.txt", "is not a TOML model file"]),
    "response-model-without-parameters": (["response", "{}"], _no_parameters,
                                          ["fixed.toml", "parameters", "no driving parameters",
                                           "give at least one"]),
    "polygon-vertex-with-one-coordinate": (["cycle", QUBIT, "--polygon", "0.2:0.1;1;1:1"],
                                           None, ["--polygon", "vertex 1 '1'",
                                                  "1 coordinate(s)", "x:y vertices",
                                                  "separated by ';'"]),
    "loop-file-with-nan": (["cycle", QUBIT, "--loop", "{}"], _nan_loop,
                           ["--loop", "'nan.txt'", "sample 1", "y = nan", "finite number"]),
}


@pytest.mark.parametrize("name", list(CASES))
def test_user_error_is_one_line_exit_2_and_writes_nothing(name, tmp_path, monkeypatch):
    args, setup, fragments = CASES[name]
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(structured, "available_memory_bytes", lambda: 8 * 2**30)
    made = setup(tmp_path) if setup else ""
    before = tree(tmp_path)
    result = invoke([a.replace("{}", made) for a in args])
    assert result.exit_code == 2, (result.exit_code, result.output)
    assert result.stdout == ""  # no partial result
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in result.stderr, (fragment, result.stderr)
    assert tree(tmp_path) == before  # nothing written, nothing removed


def test_help_says_what_bias_sets():
    text = " ".join(invoke(["cycle", "--help"]).stdout.replace("│", " ").split())
    for fragment in ["0 < |X| < 2", "T(1 + X/2) for --bath", "T(1 - X/2) for every other bath"]:
        assert fragment in text, fragment


def test_complex_points_are_refused_by_the_python_api():
    m = load_model(QUBIT)
    for lam in ([0.7 + 0.1j, 0.4], np.array([[0.7, 0.4]], dtype=complex),
                np.array([0.7 + 0j, 0.4], dtype=object)):
        with pytest.raises(ModelError, match=r"lam: expected real parameter points of shape "
                                             r"\(\.\.\., 2\) \(Bx, Bz\)"):
            response(m, lam, plane=("Bx", "Bz"))


def _strict(text: str):
    """``json.loads`` that refuses NaN and infinities (not JSON)."""
    def refuse(token):
        raise ValueError(f"not JSON: {token}")
    return json.loads(text, parse_constant=refuse)


def test_json_output_is_valid_json(capsys):
    assert to_jsonable({"a": np.float64("nan"), "b": [math.inf, np.float32(1.5)]}) == \
        {"a": None, "b": [None, 1.5]}
    print_json({"x": np.array([np.nan, 1.0])})
    assert _strict(capsys.readouterr().out) == {"x": [None, 1.0]}


@pytest.mark.parametrize("as_json", [False, True], ids=["text", "json"])
def test_map_of_a_dark_model_says_so_and_exits_1(as_json, tmp_path):
    out = tmp_path / "dark.nc"
    result = invoke(["map", DARK, *SMALL_MAP, "--out", out] + (["--json"] if as_json else []))
    assert result.exit_code == 1, result.output
    assert out.is_file()  # written all the same
    assert "9 of 9 points have no unique steady state" in result.stderr
    assert "'unique' false" in result.stderr
    if as_json:
        info = _strict(result.stdout)
        assert info["status"] == "no_unique_point"
        assert (info["points"], info["non_unique_points"]) == (9, 9)
        assert info["rotor_range"] == {"L": [None, None], "R": [None, None]}
    else:
        assert f"wrote {out}" in result.stdout


def test_map_of_unique_points_has_status_ok(tmp_path):
    result = invoke(["map", QUBIT, *SMALL_MAP, "--out", tmp_path / "m.nc", "--json"])
    assert result.exit_code == 0, result.output
    info = _strict(result.stdout)
    assert (info["status"], info["non_unique_points"], info["points"]) == ("ok", 0, 9)


def test_map_help_documents_the_exit_status():
    text = " ".join(invoke(["map", "--help"]).stdout.replace("│", " ").split())
    assert "1 when no point of the grid has a unique steady state" in text


def test_check_prints_the_estimate_before_the_spectrum():
    result = invoke(["check", (MODELS / "heisenberg_dimer.toml").as_posix()])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    first = {key: next(i for i, line in enumerate(lines) if line.startswith(key))
             for key in ("kernel:", "Bohr blocks:", "estimated memory", "spectrum at")}
    assert first["kernel:"] < first["Bohr blocks:"] < first["estimated memory"] \
        < first["spectrum at"]


PARTLY_DARK = """\
qubits = 1
parameters = { Bx = 0.3, Bz = 0.5 }
[[hamiltonian]]
coefficient = "Bx"
operator = "X0"
[[hamiltonian]]
coefficient = "Bz"
operator = "Z0"
[[baths]]
name = "L"
temperature = 1.0
coupling = "X0"
spectral_density = { kind = "ohmic", strength = 0.05 }
"""


@pytest.mark.parametrize("as_json", [False, True], ids=["text", "json"])
def test_map_with_some_dark_points_counts_them(as_json, tmp_path):
    """At Bz = 0 the only coupling X0 commutes with H = Bx X0: no unique steady state there."""
    model = tmp_path / "partly_dark.toml"
    model.write_text(PARTLY_DARK)
    result = invoke(["map", model, "--x", "Bx=0.5:1:2", "--y", "Bz=0:1:2", "--out",
                     tmp_path / "m.nc"] + (["--json"] if as_json else []))
    assert result.exit_code == 0, result.output
    if as_json:
        info = _strict(result.stdout)
        assert (info["status"], info["points"], info["non_unique_points"]) == ("partial", 4, 2)
    else:
        assert "warning: 2 of 4 points have no unique steady state" in result.stdout
