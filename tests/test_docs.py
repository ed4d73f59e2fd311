"""The documentation site (issue 18): built strictly, every tutorial executed, self-contained.

One ``mkdocs build --strict`` into a temporary folder (module fixture) runs every tutorial of
``docs/tutorials`` in a fresh Jupyter kernel; a tutorial that raises, including a failed
``assert`` of one of its key numbers, fails the build, and so does a broken link, a missing
reference or a docstring warning. The tests then read the built pages: each tutorial shows
its executed figures, the generated references list every field the parsers accept, every
page of ``docs/`` is built, and no page refers to a file outside the repository (no absolute
path of the machine that built it, no relative link that leaves the site).

No network and no terminal: the build is a subprocess with captured output.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
TUTORIALS = sorted((DOCS / "tutorials").glob("[0-9]*.py"))
BUILD_TIMEOUT_S = 900  # a hang, not a slow build, should fail the test

yaml = pytest.importorskip("yaml")


def _env() -> dict:
    env = dict(os.environ)
    env["NO_MKDOCS_2_WARNING"] = "1"  # a notice printed by the theme, not a build warning
    env.pop("MPLBACKEND", None)  # the kernels draw with the inline backend of Jupyter
    env.pop("PYTHONWARNINGS", None)
    return env


def _mkdocs(config: Path, site: Path, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-f",
                           str(config), "-d", str(site)], cwd=cwd, env=_env(),
                          capture_output=True, text=True, timeout=BUILD_TIMEOUT_S,
                          stdin=subprocess.DEVNULL)


def _sources() -> list[str]:
    """The Markdown pages of docs/ (paths relative to it), without the hook's folder and the
    reproduction's own files (excluded from the site)."""
    excluded = {"hooks", "figures"}
    return sorted(p.relative_to(DOCS).as_posix() for p in DOCS.rglob("*.md")
                  if not excluded & set(p.relative_to(DOCS).parts))


SOURCES: list[str] = []  # the pages present when the site was built


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("site")
    SOURCES[:] = _sources()
    run = _mkdocs(ROOT / "mkdocs.yml", out, ROOT)
    tail = "\n".join((run.stdout + run.stderr).splitlines()[-60:])
    assert run.returncode == 0, f"mkdocs build --strict failed:\n{tail}"
    return out


def _page(site: Path, source: str) -> Path:
    """The built HTML page of a source file of docs/ (``use_directory_urls: false``)."""
    return site / Path(source).with_suffix(".html")


def test_there_are_six_tutorials_each_asserting_its_numbers():
    assert len(TUTORIALS) >= 6
    for path in TUTORIALS:
        text = path.read_text(encoding="utf-8")
        asserts = re.findall(r"^\s*assert\b", text, re.MULTILINE)
        assert len(asserts) >= 3, f"{path.name}: {len(asserts)} asserts of key numbers"
        assert "# %% [markdown]" in text and "# %%\n" in text, f"{path.name}: not percent format"


def test_every_tutorial_is_executed_with_its_figures(site):
    for path in TUTORIALS:
        html = _page(site, f"tutorials/{path.name}").read_text(encoding="utf-8")
        figures = html.count('src="data:image/png;base64,')
        assert figures >= 1, f"{path.name}: no executed figure in the built page"
        assert "Traceback" not in html and "AssertionError" not in html, path.name


def test_every_page_of_docs_is_built(site):
    assert SOURCES
    missing = [s for s in SOURCES if not _page(site, s).is_file()]
    assert not missing, f"pages of docs/ not in the built site: {missing}"
    for generated in ("decisions/index.md", "api/index.md"):
        assert _page(site, generated).is_file()


def test_references_list_every_field_the_parsers_accept(site):
    from thermogeo.io import model_file
    from thermogeo.sweeps import spec

    model = _page(site, "reference/model-file.md").read_text(encoding="utf-8")
    for field in model_file.TOP_FIELDS + model_file.BATH_FIELDS:
        assert f"<code>{field}</code>" in model, f"model-file reference lacks {field!r}"
    sweep = _page(site, "reference/sweep-file.md").read_text(encoding="utf-8")
    fields = list(spec.TOP_FIELDS) + [f for k in spec.KINDS for f in spec.KIND_FIELDS[k]]
    fields += [f for fs in spec.LOOP_FIELDS.values() for f in fs]
    for field in fields:
        assert f"<code>{field}</code>" in sweep, f"sweep-file reference lacks {field!r}"
    for kind in spec.KINDS + tuple(spec.LOOP_FIELDS):
        assert f'<code>"{kind}"</code>' in sweep, f"sweep-file reference lacks kind {kind!r}"


def test_no_page_refers_outside_the_repository(site):
    """No built page names a path of the machine that built it (the repository, the
    temporary folders, the Python installation), and every relative link or image of every
    page, the executed tutorials included, resolves to a file of the site."""
    local = [str(ROOT), str(Path(sys.prefix)), "/tmp/", "file://", str(Path.home()) + "/"]
    link = re.compile(r'(?:href|src)="([^"#?]+)')
    bad = []
    for page in site.rglob("*.html"):
        html = page.read_text(encoding="utf-8")
        bad += [f"{page.relative_to(site)}: names {p!r}" for p in local if p in html]
        for target in link.findall(html):
            if re.match(r"^[a-z][a-z0-9+.-]*:", target) or target.startswith("//"):
                continue  # an address on the web (theme assets, paper links), not a file
            base = site if target.startswith("/") else page.parent  # "/x": the site's root
            resolved = (base / target.lstrip("/")).resolve()
            if site.resolve() not in resolved.parents and resolved != site.resolve():
                bad.append(f"{page.relative_to(site)}: {target!r} leaves the site")
            elif not resolved.exists():
                bad.append(f"{page.relative_to(site)}: {target!r} does not exist")
    assert not bad, "\n".join(sorted(set(bad))[:40])


def test_a_failing_tutorial_fails_the_build(tmp_path):
    """The notebook options of mkdocs.yml (executed, errors not allowed) turn an error in a
    tutorial into a failed build."""
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))
    jupyter = next(p["mkdocs-jupyter"] for p in config["plugins"]
                   if isinstance(p, dict) and "mkdocs-jupyter" in p)
    assert jupyter["execute"] is True and jupyter["allow_errors"] is False
    docs = tmp_path / "docs"
    (docs / "tutorials").mkdir(parents=True)
    (docs / "index.md").write_text("# index\n")
    (docs / "tutorials" / "broken.py").write_text(
        "# %% [markdown]\n# # A broken tutorial\n\n# %%\nassert 1 + 1 == 3, 'physics changed'\n")
    (tmp_path / "mkdocs.yml").write_text(yaml.safe_dump({
        "site_name": "broken", "docs_dir": "docs", "strict": True,
        "plugins": [{"mkdocs-jupyter": jupyter}]}))
    run = _mkdocs(tmp_path / "mkdocs.yml", tmp_path / "site", tmp_path)
    assert run.returncode != 0
    assert "physics changed" in run.stdout + run.stderr
