"""The repository stands alone (issue 12, item 5).

* No file tracked by git names a reference outside the repository: its physics is stated in
  ``docs/theory.md``, which docstrings, the README, tests and model files cite by section.
* Every such citation ("theory.md section N", "sections N-M", "sections N and M") names a
  section heading ``## N.`` that exists; so does every "section N" inside ``docs/theory.md``.
* Every code reference written in backticks in ``docs/theory.md`` resolves: ``thermogeo.x.y``
  (the longest importable module prefix, then attributes), ``src/thermogeo/...`` (the file or
  directory exists), ``tests/test_x.py::test_name`` (the test function exists), and, in the
  tables whose last column is "code", every name in that column exists in one of the modules
  the same cell cites.

Text only (plus importing the cited modules): deterministic and fast.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
THEORY = ROOT / "docs" / "theory.md"

# Built from pieces so that this file does not contain what it forbids.
FORBIDDEN = ("physics" + ".md", ".." + "/shared", "shared" + "/physics", "shared" + "/style")

# "theory.md section 7", "docs/theory.md sections 2-4", "theory.md\n# section 6-7",
# "[theory.md](theory.md) sections 4 and 6", "sections 5, 6 and 8".
NUMBERS = r"(\d+(?:\s*(?:-|\u2013|,|and|to)\s*\d+)*)"
CITATION = re.compile(r"theory\.md[`)\]]*[\s#*]*sections?\s+" + NUMBERS, re.IGNORECASE)
INTERNAL = re.compile(r"\bsections?\s+" + NUMBERS, re.IGNORECASE)
HEADING = re.compile(r"^## (\d+)\. \S", re.MULTILINE)

SPAN = re.compile(r"`([^`]+)`")
DOTTED = re.compile(r"(thermogeo(?:\.\w+)+)(?:\(.*\))?")
SOURCE = re.compile(r"(src/thermogeo(?:/[\w.]+)*/?)(?:::([\w.]+))?")
TEST_REF = re.compile(r"(tests/[\w/]+\.py)(?:::(\w+))?")
NAME = re.compile(r"([A-Za-z_]\w*(?:\.\w+)*)(?:\(.*\))?")
CELL = re.compile(r"(?<!\\)\|")


# -- helpers ----------------------------------------------------------------------------------

@functools.cache
def tracked_texts() -> tuple[tuple[str, str], ...]:
    """``(path, text)`` of every git-tracked text file present in the working tree."""
    try:
        out = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True,
                             check=True, timeout=60).stdout
    except (OSError, subprocess.SubprocessError):
        pytest.skip("not a git checkout (git ls-files failed)")
    texts = []
    for raw in out.split(b"\0"):
        if not raw:
            continue
        name = raw.decode("utf-8", "surrogateescape")
        path = ROOT / name
        if not path.is_file():  # deleted in the working tree
            continue
        data = path.read_bytes()
        if b"\0" in data[:8192]:
            continue  # binary (figures, data)
        try:
            texts.append((name, data.decode("utf-8")))
        except UnicodeDecodeError:
            continue
    return tuple(texts)


@functools.cache
def theory() -> str:
    return THEORY.read_text(encoding="utf-8")


def sections() -> set[int]:
    return {int(n) for n in HEADING.findall(theory())}


def numbers(text: str) -> list[int]:
    """``"2-4"`` -> ``[2, 3, 4]``; ``"5, 6 and 8"`` -> ``[5, 6, 8]``."""
    out: list[int] = []
    for part in re.split(r"\s*(?:,|and)\s*", text.strip()):
        ends = [int(x) for x in re.split(r"\s*(?:-|\u2013|to)\s*", part) if x]
        out.extend(range(ends[0], ends[-1] + 1) if len(ends) == 2 else ends)
    return out


def line_of(text: str, pos: int) -> int:
    return text.count("\n", 0, pos) + 1


def has_member(obj, name: str) -> bool:
    """``hasattr``, and for classes also the dataclass fields without a default (which are
    annotations, not class attributes)."""
    if hasattr(obj, name):
        return True
    if isinstance(obj, type):
        if dataclasses.is_dataclass(obj) and name in {f.name for f in dataclasses.fields(obj)}:
            return True
        return any(name in vars(c).get("__annotations__", {}) for c in obj.__mro__)
    return False


_FIELD = object()  # a dataclass field: exists, but has no class attribute to look into


def member(obj, name: str):
    try:
        return getattr(obj, name)
    except AttributeError:
        return _FIELD


def module_of(dotted: str):
    """The longest importable module prefix of ``dotted`` and the remaining attribute names."""
    parts = dotted.split(".")
    for i in range(len(parts), 0, -1):
        name = ".".join(parts[:i])
        try:
            return importlib.import_module(name), parts[i:]
        except ModuleNotFoundError as e:
            # only "this module does not exist" moves on; a missing dependency is an error
            if e.name is None or not (name == e.name or name.startswith(e.name + ".")):
                raise
    raise AssertionError(f"no importable module in {dotted!r}")


def resolves(obj, attrs: list[str]) -> str | None:
    """``None`` if the attribute chain exists on ``obj``, else the first missing name."""
    for a in attrs:
        if obj is _FIELD or not has_member(obj, a):
            return a
        obj = member(obj, a)
    return None


def source_module(path: str) -> str | None:
    """``src/thermogeo/a/b.py`` -> ``thermogeo.a.b``; a package directory -> the package."""
    p = path.rstrip("/")
    if p.endswith(".py"):
        p = p[:-3]
        if p.endswith("/__init__"):
            p = p[: -len("/__init__")]
    elif not (ROOT / p / "__init__.py").is_file():
        return None
    return p[len("src/"):].replace("/", ".")


def spans():
    """``(line, content)`` of every backtick span of docs/theory.md."""
    text = theory()
    for m in SPAN.finditer(text):
        yield line_of(text, m.start()), m.group(1).replace("\\|", "|")


def code_tables():
    """``(line, header cells, row cells)`` of every table row of docs/theory.md."""
    lines = theory().split("\n")
    header = None
    for i, line in enumerate(lines, start=1):
        if not line.startswith("|"):
            header = None
            continue
        cells = [c.strip() for c in CELL.split(line.strip())[1:-1]]
        if header is None:
            header = cells
        elif not all(re.fullmatch(r":?-+:?", c) for c in cells):
            yield i, header, cells


# -- (a) no outside references ----------------------------------------------------------------

def test_no_tracked_file_names_an_outside_reference():
    bad = [f"{name}:{line_of(text, text.find(word))}: {word}"
           for name, text in tracked_texts() for word in FORBIDDEN if word in text]
    assert not bad, "files that name a reference outside the repository:\n" + "\n".join(bad)


# -- (b) citations name existing sections -----------------------------------------------------

def test_theory_sections_are_numbered_one_to_n():
    found = [int(n) for n in HEADING.findall(theory())]
    assert found == list(range(1, len(found) + 1)), f"section headings {found}"
    assert len(found) >= 7, "sections 1-7 (machine ... closed forms) are required"


def test_every_citation_names_an_existing_section():
    have = sections()
    bad = []
    for name, text in tracked_texts():
        for m in CITATION.finditer(text):
            missing = [n for n in numbers(m.group(1)) if n not in have]
            if missing:
                bad.append(f"{name}:{line_of(text, m.start())}: {m.group(0)!r} "
                           f"(no section {missing})")
    assert not bad, ("citations of docs/theory.md sections that do not exist (headings: "
                     f"{sorted(have)}):\n" + "\n".join(bad))


def test_theory_cross_references_name_existing_sections():
    have = sections()
    text = theory()
    bad = [f"docs/theory.md:{line_of(text, m.start())}: {m.group(0)!r}"
           for m in INTERNAL.finditer(text)
           if any(n not in have for n in numbers(m.group(1)))]
    assert not bad, "\n".join(bad)


# -- (c) code references in docs/theory.md resolve --------------------------------------------

def test_dotted_references_resolve():
    bad = []
    for line, content in spans():
        m = DOTTED.fullmatch(content)
        if m is None:
            continue
        mod, attrs = module_of(m.group(1))
        missing = resolves(mod, attrs)
        if missing is not None:
            bad.append(f"line {line}: `{content}` ({mod.__name__} has no {missing!r})")
    assert not bad, "\n".join(bad)


def test_source_paths_exist():
    bad = []
    for line, content in spans():
        m = SOURCE.fullmatch(content)
        if m is None:
            continue
        path, attr = m.groups()
        if not (ROOT / path).exists():
            bad.append(f"line {line}: `{content}` (no such file)")
        elif attr:
            mod = importlib.import_module(source_module(path))
            missing = resolves(mod, attr.split("."))
            if missing is not None:
                bad.append(f"line {line}: `{content}` (no {missing!r})")
    assert not bad, "\n".join(bad)


def test_test_references_exist():
    bad = []
    for line, content in spans():
        m = TEST_REF.fullmatch(content)
        if m is None:
            continue
        path, name = m.groups()
        file = ROOT / path
        if not file.is_file():
            bad.append(f"line {line}: `{content}` (no such file)")
        elif name and not re.search(rf"^\s*def {name}\(", file.read_text(encoding="utf-8"),
                                    re.MULTILINE):
            bad.append(f"line {line}: `{content}` (no test function {name})")
    assert not bad, "\n".join(bad)


def test_tables_are_well_formed():
    """Every row has as many cells as its header (a pipe inside a code span must be
    escaped as ``\\|``, or the row splits)."""
    bad = [f"line {i}: {len(cells)} cells, header has {len(header)}"
           for i, header, cells in code_tables() if len(cells) != len(header)]
    assert not bad, "\n".join(bad)


def test_names_in_code_columns_exist_in_the_cited_modules():
    bad = []
    for i, header, cells in code_tables():
        if header[-1].lower() != "code" or len(cells) != len(header):
            continue
        modules, names = [], []
        for content in (c.replace("\\|", "|") for c in SPAN.findall(cells[-1])):
            if SOURCE.fullmatch(content):
                name = source_module(SOURCE.fullmatch(content).group(1))
                if name is not None:
                    modules.append(importlib.import_module(name))
            elif DOTTED.fullmatch(content):
                continue  # checked by test_dotted_references_resolve
            elif NAME.fullmatch(content):
                names.append(NAME.fullmatch(content).group(1))
        if names and not modules:
            bad.append(f"line {i}: {names} without the file that defines them")
            continue
        for name in names:
            parts = name.split(".")
            if not any(resolves(mod, parts) is None for mod in modules):
                bad.append(f"line {i}: `{name}` is in none of "
                           f"{[mod.__name__ for mod in modules]}")
    assert not bad, "\n".join(bad)
