"""``thermogeo reproduce``: figures, data and a report for arXiv:2511.16591."""

from __future__ import annotations

from pathlib import Path

import typer

from thermogeo.cli.app import app, user_errors
from thermogeo.errors import ModelError


@app.command()
@user_errors
def reproduce(names: list[str] = typer.Argument(None, help="Items to run (default: all)."),
              quick: bool = typer.Option(False, "--quick", help="Coarse resolution (minutes)."),
              out: Path = typer.Option(Path("reproduction"), "--out", help="Output folder."),
              dpi: int = typer.Option(150, "--dpi", help="Resolution of PNG figures and of the "
                                      "colour maps inside vector figures (dots per inch; 300 "
                                      "for print)."),
              formats: str = typer.Option("png,pdf", "--formats", help="Figure formats, comma "
                                          "separated: png, pdf, svg, eps, ps, jpg, tif "
                                          "(pdf, svg, eps, ps are vector)."),
              list_: bool = typer.Option(False, "--list", help="List the items and exit.")):
    """Reproduce the reference paper: one figure per format, one NetCDF file and one line of
    report.json per item, and report.md for a reader.

    Each item says whether the paper's claim holds in our data AND whether the paper's
    published numbers are reproduced (within a stated tolerance); the two differ. The
    published numbers not reproduced are listed at the end, with ours and the relative
    difference. Exit status 1 when a claim fails or an item errs (not for a published number
    that is not reproduced: that is a finding, reported)."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from thermogeo.plot.style import check_dpi
    from thermogeo.reproductions import ITEMS
    from thermogeo.reproductions.runner import (check_formats, describe, item_module,
                                                not_reproduced, run, status_text)

    if list_:
        for n in ITEMS:
            typer.echo(f"{n:12s} {item_module(n).TITLE}")
        return
    for p in (out, *out.parents):  # the first existing one must be a folder
        if p.exists():
            if not p.is_dir():
                raise ModelError(f"--out: {str(p)!r} is a file; expected a folder (created "
                                 "if missing) for the figures, data and report.json")
            break
    names = names or list(ITEMS)
    for n in names:
        item_module(n)
    dpi = check_dpi(dpi, "--dpi")
    fmts = check_formats(formats.split(","), "--formats")
    failed = []
    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/"
                  "{task.total}"), TimeElapsedColumn(), transient=False) as progress:
        task = progress.add_task("reproducing", total=len(names))

        def done(line):
            if not line.get("claim_holds"):
                failed.append(line["item"])
            progress.console.print(f"{line['item']:12s} {line['seconds']:7.1f} s  "
                                   f"{status_text(line)}  {line.get('error', '')}".rstrip(),
                                   highlight=False)
            progress.advance(task)

        lines = run(names, quick=quick, out=out, on_item=done, dpi=dpi, formats=fmts)
    missed = not_reproduced(lines)
    if missed:
        typer.echo("published numbers NOT reproduced:")
        for item, c in missed:
            where = f" ({c['where']})" if c["where"] else ""
            typer.echo(f"  {item}: {c['quantity']}{where}: {describe(c)}")
    else:
        typer.echo("every published number of these items is reproduced within its tolerance")
    typer.echo(f"wrote {out}/report.json, {out}/report.md and the figures "
               f"({', '.join(fmts)}) and data of {len(names)} item(s)")
    if failed:
        typer.echo(f"failed: {', '.join(failed)}", err=True)
        raise typer.Exit(code=1)
