"""Run reproduction items: compute, save data (NetCDF), draw (PNG + PDF), check, report."""

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


def run_item(name: str, quick: bool, out: Path) -> dict:
    """Compute, save, draw and check one item; returns its report line (never raises)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt


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
        fig.suptitle(mod.TITLE, fontsize=10)
        for ext in ("png", "pdf"):
            fig.savefig(out / f"{name}.{ext}", dpi=150)
        plt.close(fig)
        line.update(mod.check(ds))
        line.update(figure=f"{name}.png", data=f"{name}.nc")
    except Exception as e:  # recorded in the report, never swallowed silently
        line.update(passed=False, error=f"{type(e).__name__}: {e}",
                    traceback=traceback.format_exc(limit=5))
    # Warnings are data of the report (counted by kind), not errors and not lost.
    kinds: dict[str, int] = {}
    for w in caught:
        # numbers (point counts, ratios) vary from call to call: one kind per message shape
        key = f"{w.category.__name__}: {_NUMBERS.sub('#', str(w.message))[:160]}"
        kinds[key] = kinds.get(key, 0) + 1
    line["warnings"] = [f"{k} (x{n})" for k, n in kinds.items()]
    line["seconds"] = round(time.perf_counter() - t0, 2)
    return line


def run(names: Sequence[str] | None = None, *, quick: bool = False,
        out: str | Path = "reproduction",
        on_item: Callable[[dict], None] | None = None) -> list[dict]:
    """Run items (default: all) and (re)write their lines of ``out/report.json`` (JSON lines;
    lines of items not run this time are kept)."""
    names = list(names or ITEMS)
    for n in names:
        item_module(n)
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
        line = run_item(n, quick, out)
        lines[n] = line
        report.write_text("".join(json.dumps(_finite(lines[k]), default=float,
                                             allow_nan=False) + "\n"
                                  for k in ITEMS if k in lines))
        results.append(line)
        if on_item:
            on_item(line)
    return results
