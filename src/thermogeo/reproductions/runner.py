"""Run reproduction items: compute, save data (NetCDF), draw (PNG + PDF by default), check,
report.

``report.json`` holds one JSON line per item; ``report.md`` is the same report for a reader: per
item whether our claim holds and whether the paper's numbers are reproduced, then every
published number that is not, with ours and the relative difference
(docs/decisions/0610-report-honesty.md).
"""

from __future__ import annotations

import importlib
import json
import math
import re
import time
import traceback
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

from thermogeo.errors import ModelError
from thermogeo.plot.style import DEFAULT_DPI, FIGURE_FORMATS, check_dpi
from thermogeo.reproductions import ITEMS
from thermogeo.reproductions.common import load_params, params_text
from thermogeo.version import __version__

PAPER = "arXiv:2511.16591 (Caselli, Manuel, Arrachea)"


_NUMBERS = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")


def item_module(name: str):
    """The module of one item; a clear error for unknown names."""
    if name not in ITEMS:
        raise ValueError(f"unknown reproduction {name!r}; available: {', '.join(ITEMS)}")
    return importlib.import_module(f"thermogeo.reproductions.{name}")


def _finite(x):
    """NaN and infinities -> None (valid JSON; the report keeps the key)."""
    if isinstance(x, dict):
        return {k: _finite(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_finite(v) for v in x]
    if hasattr(x, "item") and getattr(x, "ndim", 1) == 0:
        x = x.item()
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


def check_formats(formats: Sequence[str], option: str = "formats") -> tuple[str, ...]:
    """Figure formats (file extensions) from ``FIGURE_FORMATS``, at least one."""
    out = tuple(str(f).strip().lower().lstrip(".") for f in formats if str(f).strip())
    bad = [f for f in out if f not in FIGURE_FORMATS]
    if bad or not out:
        raise ModelError(f"{option}: expected figure formats among {', '.join(FIGURE_FORMATS)}, "
                         f"got {', '.join(map(repr, bad or formats)) or 'none'}")
    return tuple(dict.fromkeys(out))


def run_item(name: str, quick: bool, out: Path, *, dpi: int = DEFAULT_DPI,
             formats: Sequence[str] = ("png", "pdf")) -> dict:
    """Compute, save, draw and check one item; returns its report line (never raises).

    The figure is written once per format in ``formats`` (file extensions; PDF, SVG and EPS are
    vector formats whose colour maps are rasterised at ``dpi``)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    dpi, formats = check_dpi(dpi, "dpi"), check_formats(formats)
    mod = item_module(name)
    t0 = time.perf_counter()
    line = {"item": name, "title": mod.TITLE, "quick": quick, "paper_source": PAPER}
    caught: list[warnings.WarningMessage] = []
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            ds = mod.compute(load_params(name, quick), quick)
        ds.attrs.update(item=name, title=mod.TITLE, quick=int(quick), params=params_text(name),
                        thermogeo_version=__version__, source=PAPER)
        ds.to_netcdf(out / f"{name}.nc", engine="h5netcdf")
        fig = mod.draw(ds)
        fig.suptitle(getattr(mod, "TITLE_TEX", mod.TITLE), fontsize=11)
        for ext in formats:
            fig.savefig(out / f"{name}.{ext}", dpi=dpi)
        plt.close(fig)
        line.update(mod.check(ds))
        line.update(figure=f"{name}.{formats[0]}", figures=[f"{name}.{e}" for e in formats],
                    data=f"{name}.nc")
    except Exception as e:  # recorded in the report, never swallowed silently
        line.update(claim_holds=False, published=[], published_reproduced=None,
                    published_note="not computed: the item failed",
                    error=f"{type(e).__name__}: {e}", traceback=traceback.format_exc(limit=5))
    # Warnings are data of the report (counted by kind), not errors and not lost.
    kinds: dict[str, int] = {}
    for w in caught:
        # numbers (point counts, ratios) vary from call to call: one kind per message shape
        key = f"{w.category.__name__}: {_NUMBERS.sub('#', str(w.message))[:160]}"
        kinds[key] = kinds.get(key, 0) + 1
    line["warnings"] = [f"{k} (x{n})" for k, n in kinds.items()]
    line["seconds"] = round(time.perf_counter() - t0, 2)
    return line


def not_reproduced(lines: Sequence[dict]) -> list[tuple[str, dict]]:
    """``(item, comparison)`` for every published number outside its item's tolerance."""
    return [(d["item"], c) for d in lines for c in d.get("published", [])
            if not c["published_reproduced"]]


def describe(c: dict) -> str:
    """One comparison in words: ``ours 1.676 T, published 2.288 T (-26.7 %; tolerance 1 %)``."""
    u = f" {c['units']}" if c.get("units") and c["units"] != "1" else ""
    rel = c["relative_difference"]
    diff = "not finite" if rel is None else f"{100 * rel:+.3g} %"
    return (f"ours {c['ours']:.6g}{u}, published {c['published']:.6g}{u} ({diff}; tolerance "
            f"{100 * c['tolerance']:.3g} %)")


def status_text(line: dict) -> str:
    """``claim holds; published: 1 of 3 reproduced`` (or ``none published``)."""
    if "error" in line:
        return "ERROR"
    claim = "claim holds" if line.get("claim_holds") else "claim FAILS"
    pub = line.get("published", [])
    if not pub:
        return f"{claim}; no published number"
    k = sum(c["published_reproduced"] for c in pub)
    return f"{claim}; published numbers: {k} of {len(pub)} reproduced"


def markdown(lines: Sequence[dict]) -> str:
    """The report for a reader: a table of the items, then every published number not
    reproduced, then every comparison."""
    quick = {bool(d.get("quick")) for d in lines}
    text = [f"# Reproduction of {PAPER}", "",
            "Resolution: " + ("quick" if quick == {True} else "full" if quick == {False}
                              else "mixed (see each item)") + ". `claim holds` asks whether the "
            "paper's qualitative claim holds in our data; `published` whether the paper's "
            "numbers are reproduced within the stated tolerance. The two are different "
            "questions.", "",
            "| item | claim holds | published numbers reproduced | seconds |",
            "| --- | --- | --- | --- |"]
    for d in lines:
        pub = d.get("published", [])
        k = sum(c["published_reproduced"] for c in pub)
        ptext = f"{k} of {len(pub)}" if pub else "none published"
        claim = "error" if "error" in d else ("yes" if d.get("claim_holds") else "**no**")
        if pub and k < len(pub):
            ptext = f"**{ptext}**"
        text.append(f"| {d['item']} | {claim} | {ptext} | {d.get('seconds', '')} |")
    missed = not_reproduced(lines)
    text += ["", "## Published numbers not reproduced", ""]
    if missed:
        text += [f"- **{item}**: {c['quantity']}" + (f" ({c['where']})" if c["where"] else "")
                 + f": {describe(c)}." for item, c in missed]
    else:
        text.append("None: every published number is reproduced within its tolerance.")
    text += ["", "## Every comparison and every claim", ""]
    for d in lines:
        text.append(f"### {d['item']}: {d.get('title', '')}")
        text.append("")
        text.append(f"- claim ({status_text(d)}): {d.get('criterion', d.get('error', ''))}")
        for c in d.get("published", []):
            mark = "reproduced" if c["published_reproduced"] else "NOT reproduced"
            text.append(f"- {c['quantity']}" + (f" ({c['where']})" if c["where"] else "")
                        + f": {describe(c)}: {mark}. Tolerance: {c['tolerance_reason']}")
        if d.get("published_note"):
            text.append(f"- published: {d['published_note']}")
        text.append("")
    return "\n".join(text)


def run(names: Sequence[str] | None = None, *, quick: bool = False,
        out: str | Path = "reproduction",
        on_item: Callable[[dict], None] | None = None, dpi: int = DEFAULT_DPI,
        formats: Sequence[str] = ("png", "pdf")) -> list[dict]:
    """Run items (default: all) and (re)write their lines of ``out/report.json`` (JSON lines;
    lines of items not run this time are kept) and ``out/report.md``."""
    names = list(names or ITEMS)
    for n in names:
        item_module(n)
    dpi = check_dpi(dpi, "dpi")
    formats = check_formats(formats)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    report = out / "report.json"
    lines: dict[str, dict] = {}
    if report.exists():
        for text in report.read_text().splitlines():
            try:
                d = json.loads(text)
                lines[d["item"]] = d
            except (json.JSONDecodeError, KeyError):
                continue
    results = []
    for n in names:
        line = run_item(n, quick, out, dpi=dpi, formats=formats)
        lines[n] = line
        ordered = [_finite(lines[k]) for k in ITEMS if k in lines]
        report.write_text("".join(json.dumps(d, default=float, allow_nan=False) + "\n"
                                  for d in ordered))
        (out / "report.md").write_text(markdown(ordered))
        results.append(line)
        if on_item:
            on_item(line)
    return results
