"""``thermogeo sweep`` and ``thermogeo export``: parameter studies into a resumable Zarr store."""

from __future__ import annotations

import functools
from pathlib import Path

import typer

from thermogeo.cli.app import app, print_json, user_errors
from thermogeo.errors import ModelError

EXIT_ERRORS = 1
EXIT_INTERRUPTED = 130


SWEEP_HELP = (
    "Run a sweep file; rerun the same command to resume after an interruption.\n\n"
    "Exit status: 0 when every point is stored (a point whose computation failed is stored "
    "with status 'error' and its message), 1 when points are missing (lost tasks, "
    "--fail-fast), 2 for bad input (including a changed sweep file, an --out that is not a "
    "sweep store, a sweep too large for memory, a damaged store a resume cannot repair), 130 "
    "when interrupted. Error points are kept on a resumed run; --retry-errors recomputes them "
    "(and the missing points), never the ok ones. A resume verifies the store and recomputes "
    "the points whose stored data is missing or unreadable.")


def _os_errors(fn):
    """A file-system error (permission, a path through a file...) as a one-line message."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except OSError as e:
            where = f"{e.filename}: " if e.filename else ""
            raise ModelError(f"{where}{e.strerror or e}") from None
    return wrapper


@app.command(help=SWEEP_HELP)
@user_errors
@_os_errors
def sweep(sweep_file: Path = typer.Argument(..., help="Sweep TOML file."),
          out: Path = typer.Option(..., "--out", help="Result store RESULT.zarr (created, or "
                                   "resumed if it exists)."),
          scheduler: str = typer.Option(
              "", "--scheduler", help="Where to run: 'local' starts a Dask LocalCluster; a "
              "scheduler address (tcp://127.0.0.1:8786) or scheduler file (*.json) uses an "
              "existing Dask cluster; 'serial' runs in this process. Default: a local process "
              "pool."),
          workers: int = typer.Option(0, "--workers", help="Worker processes of the local "
                                      "pool or LocalCluster (default: available cores)."),
          overwrite: bool = typer.Option(False, "--overwrite", help="Discard an existing "
                                         "store, e.g. after changing the sweep file (only a "
                                         "store written by thermogeo; anything else is "
                                         "refused and left as it is)."),
          fail_fast: bool = typer.Option(False, "--fail-fast", help="Stop at the first point "
                                         "that fails."),
          retry_errors: bool = typer.Option(
              False, "--retry-errors", help="Also recompute the points stored with status "
              "'error' (a transient failure such as a killed worker or a memory error); ok "
              "points are kept as stored."),
          progress: bool = typer.Option(True, "--progress/--no-progress",
                                        help="Show a progress bar on stderr."),
          json: bool = typer.Option(False, "--json", help="Print the summary as JSON.")):
    """Run a sweep file; rerun the same command to resume after an interruption."""
    from thermogeo.sweeps import run_sweep

    if workers < 0:
        raise ValueError(f"--workers: expected a positive integer, got {workers}")
    kw = {"workers": workers or None, "overwrite": overwrite, "fail_fast": fail_fast,
          "retry_errors": retry_errors, "progress": progress}
    if scheduler == "serial":
        kw["executor"] = "serial"
    elif scheduler:
        kw["scheduler"] = scheduler
    try:
        s = run_sweep(sweep_file, out, **kw)
    except KeyboardInterrupt:
        typer.echo(f"interrupted: finished blocks are stored in {out}; rerun the same command "
                   "to compute the missing points", err=True)
        raise typer.Exit(code=EXIT_INTERRUPTED) from None
    if json:
        print_json(s.to_dict())
    else:
        kinds = (" (" + ", ".join(f"{k}: {n}" for k, n in s.error_kinds.items()) + ")"
                 if s.error_kinds else "")
        typer.echo(f"{s.path}: {s.total} points: {s.ok} ok, {s.error} error{kinds}, "
                   f"{s.missing} missing; this run computed {s.computed} ({s.before} already "
                   f"stored) in {s.elapsed:.1f} s with {s.executor} ({s.workers} workers)")
        for at, msg in s.errors:
            typer.echo(f"error at {', '.join(f'{k} = {v:g}' for k, v in at.items())}: {msg}")
        if s.damaged:
            typer.echo(f"{s.damaged} stored point(s) had missing or unreadable data in "
                       f"{', '.join(s.damaged_variables)}: their blocks were recomputed")
        if s.lost_chunks:
            typer.echo(f"{s.lost_chunks} task(s) were lost (a worker or the scheduler "
                       "failed); rerun to compute their points")
        if s.stopped:
            typer.echo("stopped at the first error (--fail-fast)")
        for line in _retry_lines(s):
            typer.echo(line)
    if s.stopped or s.missing:
        raise typer.Exit(code=EXIT_ERRORS)


def _retry_lines(s) -> list[str]:
    """End-of-run lines about error points: what ``--retry-errors`` did, and how many error
    points the store holds with the hint that ``--retry-errors`` recomputes them."""
    lines = []
    if s.retry_errors:
        lines.append(f"retried {s.retried} error point(s): {s.recovered} now ok, "
                     f"{s.retried - s.recovered} failed again")
    if s.error and s.retry_errors:
        lines.append(f"the store holds {s.error} error point(s)")
    elif s.error:
        lines.append(f"the store holds {s.error} error point(s); rerun with --retry-errors "
                     "to recompute them (ok points are kept)")
    return lines


@app.command()
@user_errors
@_os_errors
def export(store: Path = typer.Argument(..., help="Result store RESULT.zarr."),
           out: Path = typer.Argument(..., help="NetCDF file to write (replaced if it is a "
                                      "NetCDF file; anything else is refused).")):
    """Write a sweep's results to one NetCDF file; a damaged store is refused (exit 2) with
    the variables that are damaged and the command that recomputes them."""
    from thermogeo.sweeps import export_netcdf

    ds = export_netcdf(store, out)
    st = ds["status"].values
    missing = int((st == "").sum())
    typer.echo(f"{out}: {st.size} points ({int((st == 'ok').sum())} ok, "
               f"{int((st == 'error').sum())} error, {missing} missing), variables "
               f"{', '.join(k for k in ds.data_vars if k not in ('status', 'message', 'run'))}")
