"""Feedback on long work (issue 14 item 2, docs/decisions/0321-progress.md): the kernels report
the points they finished to a listener, the long commands print their estimate first and their
progress on stderr only (a bar on a terminal, plain lines otherwise), and --json stays one JSON
object on stdout."""

from __future__ import annotations

import json

import numpy as np
import pytest
import rich.console
from typer.testing import CliRunner

from conftest import MODELS
from thermogeo import progress
from thermogeo.cli.app import app
from thermogeo.dynamics import Magnus, exact_cycle
from thermogeo.response import response

Q1 = str(MODELS / "qubit_pump.toml")
MAP = ["map", Q1, "--x", "Bx=0.2:1:5", "--y", "Bz=0.2:1:4"]


def invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def test_the_kernels_report_every_point_they_finish(q1, circle):
    seen = []
    with progress.listening(lambda unit, n, note: seen.append((unit, n))):
        response(q1, np.full((7, 3, 2), 0.5) + np.arange(7)[:, None, None] / 10)
    assert {u for u, _ in seen} == {"point"} and sum(n for _, n in seen) == 21
    seen.clear()
    with progress.listening(lambda unit, n, note: seen.append((unit, n))):
        exact_cycle(q1, circle, 20.0, method=Magnus(steps=64), expansion=False)
    assert sum(n for _, n in seen) > 64  # generator nodes of the Magnus steps
    progress.advance("point", 5)  # no listener: nothing happens, nothing fails


@pytest.mark.parametrize("terminal", [False, True], ids=["plain", "terminal"])
def test_json_stdout_stays_one_object_with_progress_on_stderr(terminal, tmp_path, monkeypatch):
    monkeypatch.setattr(rich.console.Console, "is_terminal", property(lambda self: terminal))
    r = invoke(*MAP, "--out", tmp_path / "m.nc", "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["points"] == 20  # stdout is the JSON object only
    lines = r.stderr.splitlines()
    assert lines[0].startswith("map: the response with the rotor at 5 x 4 = 20 points")
    if not terminal:
        assert lines[-1].startswith("map: 20 of 20 points") and lines[-1].endswith("(done)")


def test_no_progress_is_silent_and_periods_are_counted(tmp_path):
    r = invoke(*MAP, "--out", tmp_path / "m.nc", "--no-progress")
    assert r.exit_code == 0 and r.stderr == ""
    r = invoke("convergence", Q1, "--circle", "Bx=0.8,Bz=0.6,r=0.5", "--periods", "10,20,40",
               "--rtol", "1e-9", "--json")
    assert r.exit_code == 0, r.output
    assert "convergence: 3 of 3 periods" in r.stderr
    assert len(json.loads(r.stdout)["periods"]) == 3


def test_repeated_warnings_print_once_per_kind():
    """A warning repeated with other numbers (the secular warning at every evaluation of an
    optimisation) prints one line with the count of the others."""
    import warnings

    from thermogeo.cli.loops import reported_warnings
    from thermogeo.errors import SecularApproximationWarning, SlowDrivingWarning

    @reported_warnings
    def noisy():
        for r in (0.06, 0.031, 0.0299):
            warnings.warn(f"smallest ratio {r}", SecularApproximationWarning, stacklevel=2)
        warnings.warn("period 3 is short", SlowDrivingWarning, stacklevel=2)

    import contextlib
    import io
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        noisy()
    lines = err.getvalue().splitlines()
    assert lines == ["warning: SecularApproximationWarning: smallest ratio 0.06 (and 2 more "
                     "like it)", "warning: SlowDrivingWarning: period 3 is short"]


def test_plain_progress_never_shows_more_done_than_its_total():
    """The total is an estimate: the plain line grows it, as the bar does."""
    from thermogeo.cli.progress import _Plain

    p = _Plain("optimal", "point", 100)
    p.update(130, "")
    assert p.line(p.t0).startswith("optimal: 130 of 130 points")
