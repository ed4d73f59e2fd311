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


def _layers() -> list[str]:
    import tomllib

    conf = tomllib.loads((ROOT / "pyproject.toml").read_text())
    (contract,) = conf["tool"]["importlinter"]["contracts"]
    return [m.strip() for layer in contract["layers"] for m in layer.split("|")]


def test_every_module_is_inside_the_layers_contract():
    """Each top-level module or package of thermogeo belongs to a layer of the import-linter
    contract (a module outside it could import anything)."""
    pkg = ROOT / "src" / "thermogeo"
    names = {p.stem for p in pkg.glob("*.py") if p.stem != "__init__"}
    names |= {p.name for p in pkg.iterdir() if (p / "__init__.py").exists()}
    covered = {m.removeprefix("thermogeo.") for m in _layers()}
    assert names - covered == set()


def test_no_import_inside_a_function_outside_the_cli():
    """Modules import thermogeo at module level (imports go one way, so no cycle needs
    dodging); only the command-line layer defers imports, to start quickly."""
    import ast

    bad = []
    for path in (ROOT / "src" / "thermogeo").rglob("*.py"):
        if "cli" in path.relative_to(ROOT / "src" / "thermogeo").parts:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for inner in ast.walk(node):
                    if (isinstance(inner, ast.ImportFrom) and inner.module
                            and inner.module.startswith("thermogeo")):
                        bad.append(f"{path.name}:{inner.lineno} {inner.module}")
    assert bad == []
