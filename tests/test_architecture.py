"""Architecture and lint: layers import downward only (import-linter), ruff is clean."""

from __future__ import annotations

import shutil
import subprocess
import sys

from conftest import ROOT


def _run(args):
    return subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_layers_import_downward_only():
    exe = shutil.which("lint-imports")
    assert exe, "import-linter is a test dependency (pip install -e '.[test]')"
    r = _run([exe])
    assert r.returncode == 0, r.stdout + r.stderr


def test_ruff_clean():
    r = _run([sys.executable, "-m", "ruff", "check", "src", "tests", "benchmarks"])
    assert r.returncode == 0, r.stdout + r.stderr
