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
              list_: bool = typer.Option(False, "--list", help="List the items and exit.")):
    """Reproduce the reference paper: one PNG/PDF figure, one NetCDF file and one line of
    report.json per item."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from thermogeo.reproductions import ITEMS
    from thermogeo.reproductions.runner import item_module, run

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
    failed = []
    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/"
                  "{task.total}"), TimeElapsedColumn(), transient=False) as progress:
        task = progress.add_task("reproducing", total=len(names))

        def done(line):
            status = "ok" if line.get("passed") else "FAILED"
            if not line.get("passed"):
                failed.append(line["item"])
            progress.console.print(f"{line['item']:12s} {status:6s} {line['seconds']:7.1f} s  "
                                   f"{line.get('error', '')}")
            progress.advance(task)

        run(names, quick=quick, out=out, on_item=done)
    typer.echo(f"wrote {out}/report.json and the figures and data of {len(names)} item(s)")
    if failed:
        typer.echo(f"failed: {', '.join(failed)}", err=True)
        raise typer.Exit(code=1)
