"""MkDocs hook: the pages that are generated from the code at every build (issue 18).

* ``<!-- generated: NAME -->`` markers in a page are replaced by the Markdown of
  ``GENERATORS[NAME]``: the tables of the model-file and sweep-file references are read from
  the parsers (field lists, required fields, defaults, accepted values and ranges), so that
  they cannot drift from the code. A field the parsers accept that has no description here
  fails the build, naming it.
* ``decisions/index.md`` lists every decision record (title = first heading) and the
  navigation gets one entry per record.
* The reproduction report's table is read from ``docs/figures/report.json``.

Run by ``mkdocs build`` (``hooks:`` in ``mkdocs.yml``); no file is written to ``docs/``.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import math
import re
from pathlib import Path

from mkdocs.structure.files import File

from thermogeo.baths import limits
from thermogeo.baths.spectral import SPECTRAL_DENSITIES
from thermogeo.io import model_file
from thermogeo.model import machine as machine_module
from thermogeo.protocols import optimal, paths
from thermogeo.protocols.cycle import TIMINGS
from thermogeo.sweeps import spec as sweep_spec

MARKER = re.compile(r"(?<!`)<!-- generated: ([a-z-]+) -->")  # not one quoted as code
DECISIONS = "decisions"


class UndocumentedField(RuntimeError):
    """The parsers accept a field that the reference does not describe."""


def _check(kind: str, fields, described: dict) -> None:
    missing = [f for f in fields if f not in described]
    extra = [f for f in described if f not in fields]
    if missing or extra:
        raise UndocumentedField(
            f"{kind}: fields accepted by the code but not described in docs/hooks/reference.py:"
            f" {missing}; described but no longer accepted: {extra}")


def _table(header: tuple[str, ...], rows) -> str:
    out = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(out)


def _default(value) -> str:
    if value is dataclasses.MISSING or value is inspect.Parameter.empty:
        return "required"
    if isinstance(value, float) and math.isinf(value):
        return '`"inf"`'
    if value is None:
        return "none"
    if hasattr(value, "tolist"):
        value = value.tolist()
    if isinstance(value, float):
        return f"`{value:g}`"
    if isinstance(value, tuple):
        value = list(value)
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    return f"`{value!r}`".replace("'", '"')


# -- model files ------------------------------------------------------------------------------

def model_fields() -> str:
    mq = machine_module.MAX_QUBITS
    big = f"{limits.MAX_MAGNITUDE:g}"
    described = {
        "qubits": ("integer", "required", f"1 to {mq}; the Hilbert space has dimension "
                   "`d = 2**qubits`"),
        "parameters": ("table name = number", "required",
                       "the driving parameters `lam` in order, with their default values; "
                       f"names as below, values finite with `|x| <= {big}`"),
        "constants": ("table name = number", "`{}`", "named numbers usable in coefficients "
                      f"and operator strings; finite, `|x| <= {big}`; not also a parameter"),
        "hamiltonian": ("array of tables `[[hamiltonian]]`", "required (at least one term)",
                        "`H = sum coefficient * operator`, affine in the parameters "
                        "(table below)"),
        "baths": ("array of tables `[[baths]]`", "required (at least one bath)",
                  "table below; bath names unique"),
        "name": ("string", "the file name without `.toml`", "free text"),
        "master_equation": ("table", '`{ kind = "secular" }`', "which master equation the "
                            "machine obeys (table below)"),
    }
    _check("model file, top level", model_file.TOP_FIELDS, described)
    rows = [(f"`{f}`", *described[f]) for f in model_file.TOP_FIELDS]
    names = ("Names of parameters, constants and baths are ASCII identifiers (letters, digits "
             "and `_`, not starting with a digit). A parameter or constant name may not read as "
             "a Pauli factor (`X0`, `Z12`) or a number (refused, in any case: "
             + ", ".join(f"`{r}`" for r in machine_module.RESERVED) + ").")
    return _table(("field", "type", "default", "accepted values"), rows) + "\n\n" + names


def hamiltonian_fields() -> str:
    rows = [("`coefficient`", "number or string", "`1.0`",
             machine_module.COEFFICIENT_GRAMMAR.replace("'", "`")),
            ("`operator`", "string or table", "required",
             _operator_forms() + " (grammar below)")]
    return _table(("field", "type", "default", "accepted values"), rows)


def _operator_forms() -> str:
    forms = getattr(model_file, "OPERATOR_FORMS", "an operator string such as 'X0 + 2*X1'")
    forms = re.sub(r"'([^']*)'", r"`\1`", forms)
    return re.sub(r"(\{ real.*?\] \})", r"`\1`", forms)


def master_equation_fields() -> str:
    from thermogeo.model import master

    doc = inspect.getdoc(master)
    bullets = [b.strip() for b in doc.split("\n* ")[1:]]
    bullets[-1] = bullets[-1].split("\n\n")[0]
    kinds = {b.split("``")[1]: re.sub(r"\s+", " ", b.split(":", 1)[1]).strip().rstrip(";.")
             for b in bullets}
    _check("[master_equation] kinds", master.KINDS, kinds)
    defaults = {f.name: f.default for f in dataclasses.fields(master.MasterEquation)}
    _check("[master_equation] fields", master.FIELDS, defaults)
    rows = [("`kind`", "string", _default(defaults["kind"]),
             ", ".join(f"`\"{k}\"`" for k in master.KINDS)),
            ("`width`", "number", "none", "`kind = \"cluster\"` only (required there): Bohr "
             "frequencies closer than this energy (> 0) share a cluster")]
    return (_table(("field", "type", "default", "accepted values"), rows) + "\n\n"
            + _table(("kind", "generator"), [(f"`{k}`", v.replace("``", "`"))
                                            for k, v in kinds.items()]))


def bath_fields() -> str:
    described = {
        "name": ("string", "required", "an identifier (`L`, `hot`): `<name>.temperature` "
                 "addresses it in sweeps and `--set`"),
        "temperature": ("number", "required",
                        f"`{limits.MIN_SCALE:g} <= T <= {limits.MAX_MAGNITUDE:g}` "
                        "(energy units, `k_B = 1`)"),
        "coupling": ("string or table", "required", "Hermitian: " + _operator_forms()),
        "spectral_density": ("inline table", "required", "`kind` plus its fields (table "
                             "below)"),
    }
    _check("model file, [[baths]]", model_file.BATH_FIELDS, described)
    return _table(("field", "type", "default", "accepted values"),
                  [(f"`{f}`", *described[f]) for f in model_file.BATH_FIELDS])


def spectral_density_fields() -> str:
    out = []
    for kind, cls in SPECTRAL_DENSITIES.items():
        accepted = {
            "strength": f"`0 <= kappa <= {limits.MAX_MAGNITUDE:g}` (dimensionless)",
            "exponent": f"`1 <= s <= {limits.MAX_EXPONENT:g}` (1 ohmic, > 1 super-ohmic; "
                        "sub-ohmic is refused: no finite dephasing rate)",
            "cutoff": f"`{limits.MIN_SCALE:g} <= omega_c <= {limits.MAX_MAGNITUDE:g}` or "
                      '`"inf"` (only with `exponent = 1`)',
        }
        fields = [f.name for f in dataclasses.fields(cls)]
        _check(f"spectral density {kind!r}", fields, accepted)
        rows = [("`kind`", "string", "required", f'`"{kind}"`')]
        rows += [(f"`{f.name}`", "number" if f.name != "cutoff" else 'number or `"inf"`',
                  _default(f.default), accepted[f.name]) for f in dataclasses.fields(cls)]
        doc = inspect.getdoc(cls).split("\n\n")[0].replace("\n", " ")
        out.append(f"**`kind = \"{kind}\"`**: {doc}\n\n"
                   + _table(("field", "type", "default", "accepted values"), rows))
    return "\n\n".join(out)


def operator_grammar() -> str:
    from thermogeo.model import pauli

    doc = inspect.getdoc(pauli)
    grammar = doc.split("::", 1)[1].split("\n\n")[1]
    rest = doc.split("::", 1)[1].split("\n\n", 2)[2]
    return "```text\n" + inspect.cleandoc(grammar) + "\n```\n\n" + rest.replace("\n", " ")


# -- sweep files ------------------------------------------------------------------------------

def sweep_fields() -> str:
    kinds = ", ".join(f'`"{k}"`' for k in sweep_spec.KINDS)
    described = {
        "model": ("string", "required", "path of a model file, relative to the sweep file"),
        "kind": ("string", "required", f"one of {kinds}: what is computed at every point"),
        "chunk": ("integer", f"`{sweep_spec.DEFAULT_CHUNK}`",
                  ">= 1: sweep points per task (and per Zarr chunk)"),
        "combos": ("table name = values", "`{}`", "cartesian axes, one dimension each, in "
                   "file order"),
        "cases": ("table name = values", "`{}`", "zipped lists of equal length sharing the "
                  f"dimension `{sweep_spec.CASE_DIM}`"),
        "constants": ("table name = number", "`{}`", "fixed overrides for the whole study"),
    }
    for k in sweep_spec.KINDS:
        described[k] = ("table", "`{}` (required fields below)",
                        f"options of `kind = \"{k}\"`; only the table of the chosen kind "
                        "may be present")
    _check("sweep file, top level", sweep_spec.TOP_FIELDS, described)
    rows = [(f"`{f}`", *described[f]) for f in sweep_spec.TOP_FIELDS]
    return _table(("field", "type", "default", "accepted values"), rows)


KIND_OPTIONS = {
    ("response", "grid"): ("table parameter = values", "one or more driving parameters; "
                           "inner dimensions of the result, not sweep dimensions"),
    ("response", "plane"): ("two parameter names", "the rotor's plane; default: the two grid "
                            "axes when there are two"),
    ("response", "correlations"): ("list of strings", 'correlation measures, e.g. '
                                   '`["concurrence:0,1", "negativity:0|1@thermal"]`'),
    ("optimal", "plane"): ("two parameter names", "the plane of the rotor map"),
    ("optimal", "bath"): ("string", "the bath whose pumped heat is maximised"),
    ("optimal", "region"): ("inline table", "the region mapped (region table below); default "
                            "a polar disc of radius 15 T"),
    ("optimal", "resolution"): ("integer or two integers", "overrides the region's "
                                "resolution (each >= 8)"),
    ("cycle", "loops"): ("table name = loop table", "one or more loops (loop tables below)"),
    ("cycle", "timing"): ("string", "one of " + ", ".join(f'`"{t}"`' for t in TIMINGS)
                          + '; default `"uniform"`'),
    ("cycle", "bias"): ("number", "`X = dT/T`, `0 < |X| < 2`: adds the engine and "
                        "refrigerator figures"),
    ("cycle", "bath"): ("string", "the bath of `A = Q_bath^geo`; default the first bath"),
    ("exact", "loops"): ("table name = loop table", "one or more loops (loop tables below)"),
    ("exact", "periods"): ("values", "periods `tau > 0`"),
    ("fluctuations", "loops"): ("table name = loop table", "one or more loops (loop tables "
                                "below)"),
    ("fluctuations", "periods"): ("values", "periods `tau > 0`; default none"),
    ("fluctuations", "exact"): ("boolean", "`true`: also the exact values at the periods "
                                "(needs `periods`); default `false`"),
}


def kind_options() -> str:
    fields = [(k, f) for k in sweep_spec.KINDS for f in sweep_spec.KIND_FIELDS[k]]
    described = {key: v for key, v in KIND_OPTIONS.items() if key[0] in sweep_spec.KINDS}
    _check("sweep file, kind tables", fields, described)
    rows = [(f"`[{k}]`", f"`{f}`", described[k, f][0],
             "required" if f in sweep_spec.KIND_REQUIRED[k] else "optional",
             described[k, f][1]) for k, f in fields]
    return _table(("table", "field", "type", "required", "accepted values"), rows)


def _loop_parameters(kind: str) -> list[tuple[str, object]]:
    if kind == "rectangle":
        sig = inspect.signature(paths.Rectangle)
        return [(n, p.default) for n, p in sig.parameters.items()]
    cls = {"circle": paths.Circle, "ellipse": paths.Ellipse, "polygon": paths.Polygon,
           "sector": paths.Sector, "fourier": paths.FourierLoop}[kind]
    return [(f.name, f.default if f.default_factory is dataclasses.MISSING else
             f.default_factory()) for f in dataclasses.fields(cls)]


def loop_fields() -> str:
    rows = []
    for kind, fields in sweep_spec.LOOP_FIELDS.items():
        defaults = dict(_loop_parameters(kind))
        missing = [f for f in fields if f not in defaults]
        if missing:
            raise UndocumentedField(f"loop {kind!r}: {missing} are not fields of its class")
        cells = ", ".join(f"`{f}` ({_default(defaults[f])})" for f in fields)
        rows.append((f'`"{kind}"`', cells))
    common = ("Every loop table has `kind`, `plane` (two parameter names, default "
              '`["Bx", "Bz"]`) and optionally `base` (a table of the other parameters\' values; '
              "it may not set a parameter of the plane or a swept name). A loop may instead be "
              '`{ file = "best.toml" }`: a loop file (the same table in TOML, as written by '
              "`thermogeo optimal`, `optimize` or `map --save-loop`; relative to the sweep file), "
              "whose text is part of the sweep's hash.")
    return common + "\n\n" + _table(("kind", "fields (default)"), rows)


def region_fields() -> str:
    rows = []
    for kind, cls in (("polar", optimal.PolarRegion), ("rectangle", optimal.RectRegion)):
        cells = ", ".join(f"`{f.name}` ({_default(f.default)})"
                          for f in dataclasses.fields(cls))
        doc = inspect.getdoc(cls).replace("\n", " ")
        rows.append((f'`"{kind}"`', cells, doc))
    return _table(("kind", "fields (default)", "meaning"), rows)


def values_grammar() -> str:
    return inspect.getdoc(sweep_spec.values_from_toml).split("\n\n")[0].replace("\n", " ")


# -- reproduction report ----------------------------------------------------------------------

def _flat(value, prefix: str = "") -> list[tuple[str, object]]:
    if isinstance(value, dict):
        out = []
        for k, v in value.items():
            out += _flat(v, f"{prefix}.{k}" if prefix else str(k))
        return out
    return [(prefix, value)]


def _number(v) -> str:
    if isinstance(v, float):
        return f"{v:.6g}"
    return str(v)


def reproduction_report(docs: Path) -> str:
    """One section per line of ``docs/figures/report.json``: the claim and whether it holds,
    our numbers, the published ones (as comparisons with a tolerance, or as the paper's
    values of older reports), the figure."""
    path = docs / "figures" / "report.json"
    lines = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    parts = []
    for item in lines:
        holds = item.get("claim_holds", item.get("passed"))
        status = "the claim holds" if holds else "**the claim does not hold**"
        if "error" in item:
            status = f"**the item failed**: {item['error']}"
        resolution = "quick" if item.get("quick") else "full"
        head = (f"### {item['item']}: {item['title']}\n\n"
                f"Criterion: {item.get('criterion', '')}. Result: {status} "
                f"({item.get('seconds', 0):.1f} s at {resolution} resolution).\n")
        paper = item.get("paper")
        paper_flat = dict(_flat(paper)) if isinstance(paper, dict) else {}
        rows = [(f"`{k}`", _number(v), _number(paper_flat.get(k, ""))) for k, v in
                _flat(item.get("ours", {}))]
        body = _table(("quantity", "ours", "paper"), rows) if rows else ""
        if isinstance(paper, str):
            body += f"\n\nThe paper: {paper}."
        published = item.get("published")
        if isinstance(published, list) and published:
            body += "\n\nPublished numbers:\n\n" + _table(
                ("quantity", "ours", "published", "relative difference", "reproduced"),
                [(c.get("quantity", ""), _number(c.get("ours", "")),
                  _number(c.get("published", "")), _number(c.get("relative_difference", "")),
                  "yes" if c.get("published_reproduced") else "**no**") for c in published])
        if item.get("published_note"):
            body += f"\n\n{item['published_note']}"
        figure = f"\n\n![{item['title']}](figures/{item['figure']})" if item.get("figure") else ""
        warnings = item.get("warnings") or []
        note = (f"\n\n{len(warnings)} kind(s) of warning recorded in `report.json` (points "
                "outside the secular regime, quadrature limits)." if warnings else "")
        parts.append(head + "\n" + body + figure + note)
    return "\n\n".join(parts)


GENERATORS = {
    "model-fields": model_fields,
    "hamiltonian-fields": hamiltonian_fields,
    "bath-fields": bath_fields,
    "spectral-density-fields": spectral_density_fields,
    "operator-grammar": operator_grammar,
    "master-equation-fields": master_equation_fields,
    "sweep-fields": sweep_fields,
    "kind-options": kind_options,
    "loop-fields": loop_fields,
    "region-fields": region_fields,
    "values-grammar": values_grammar,
}


# -- decision records -------------------------------------------------------------------------

def _records(docs: Path) -> list[tuple[str, str]]:
    """``(path relative to docs/, title)`` of every decision record, by number."""
    out = []
    for p in sorted((docs / DECISIONS).glob("[0-9]*.md")):
        out.append((f"{DECISIONS}/{p.name}", _title(p)))
    return out


def _nav_paths(nav) -> set[str]:
    out: set[str] = set()
    for entry in nav if isinstance(nav, list) else [nav]:
        if isinstance(entry, str):
            out.add(entry)
        elif isinstance(entry, dict):
            for value in entry.values():
                out |= _nav_paths(value)
    return out


def _title(path: Path) -> str:
    first = next((line for line in path.read_text(encoding="utf-8").splitlines()
                  if line.startswith("# ")), f"# {path.stem}")
    return first[2:].strip()


def on_config(config):
    """Every decision record gets a navigation entry; so does every other page of ``docs/``
    that the navigation of ``mkdocs.yml`` does not list (under "Reference"), so that a page
    added to ``docs/`` is built and reachable without editing the navigation."""
    docs = Path(config["docs_dir"])
    listed = _nav_paths(config["nav"])
    for entry in config["nav"]:
        if isinstance(entry, dict) and "Decision records" in entry:
            entry["Decision records"] = [f"{DECISIONS}/index.md"] + [
                {title: path} for path, title in _records(docs)]
    unlisted = [p for p in sorted(docs.glob("*.md")) + sorted(docs.glob("reference/*.md"))
                if p.relative_to(docs).as_posix() not in listed]
    for entry in config["nav"]:
        if isinstance(entry, dict) and "Reference" in entry:
            entry["Reference"] += [{_title(p): p.relative_to(docs).as_posix()}
                                   for p in unlisted]
    return config


def on_files(files, config):
    docs = Path(config["docs_dir"])
    rows = [(f"[{title.split(' ', 1)[0]}]({Path(path).name})",
             title.split(" ", 1)[1] if " " in title else title) for path, title in _records(docs)]
    text = ("# Decision records\n\nWhere the issues were silent, the choice made and why, one "
            "short record each, numbered by area.\n\n" + _table(("record", "decision"), rows)
            + "\n")
    files.append(File.generated(config, f"{DECISIONS}/index.md", content=text))
    return files


NOTEBOOK_LINK = re.compile(r'href="(?![a-z][a-z0-9+.-]*:|/|#)([^"#?]+)\.(?:md|py)([#?][^"]*)?"')
KERNEL_FILE = re.compile(r"/tmp/ipykernel_\d+/\d+\.py")


ROLE = re.compile(r":(?:class|func|meth|mod|data|attr|exc|obj|const):<code>(~?)([^<]*)</code>")


def _role(m: re.Match) -> str:
    name = m.group(2).rsplit(".", 1)[-1] if m.group(1) else m.group(2)
    return f"<code>{name}</code>"


def on_page_content(html, page, config, files):
    """API pages: the Sphinx roles of the docstrings (``:class:`~a.b.C```) are shown as the
    code they name (``C``), as Sphinx would show them, without rST's literal quotes.

    Executed tutorials (rendered by nbconvert, not by MkDocs): links to other pages written
    as in the Markdown pages (``../theory.md``) point to the built pages, and the file names in
    warnings printed by a cell name the repository's files relative to it (``src/...``) and a
    cell as ``[cell]`` rather than paths of the machine that built the site."""
    if page.file.src_uri.startswith("api/"):
        # the type column of "name : (*b, k) ``lam``" keeps rST's literal quotes: drop them
        return ROLE.sub(_role, html).replace("``", "")
    if not page.file.src_uri.startswith("tutorials/") or not page.file.src_uri.endswith(".py"):
        return html
    html = NOTEBOOK_LINK.sub(lambda m: f'href="{m.group(1)}.html{m.group(2) or ""}"', html)
    root = str(Path(config["config_file_path"]).resolve().parent) + "/"
    return KERNEL_FILE.sub("[cell]", html.replace(root, ""))


def on_page_markdown(markdown, page, config, files):
    docs = Path(config["docs_dir"])

    def fill(m: re.Match) -> str:
        name = m.group(1)
        if name == "reproduction-report":
            return reproduction_report(docs)
        if name not in GENERATORS:
            raise KeyError(f"{page.file.src_uri}: unknown generated section {name!r}; known: "
                           f"{', '.join(GENERATORS)}, reproduction-report")
        return GENERATORS[name]()

    return MARKER.sub(fill, markdown)
