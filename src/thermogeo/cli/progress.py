"""Feedback on long commands, on standard error (docs/decisions/0321-progress.md).

A long command first prints its estimate of the work (one line, ``LABEL: ...``), then shows
the work as it is done: a rich progress bar on a terminal (points or periods done, the total
when it is known, elapsed and remaining time), and otherwise (a log file, a pipe, a test) a
plain line at most every :data:`INTERVAL` seconds and one when the work ends. Standard output
is never touched, so ``--json`` stays one JSON object. The kernels report what they finished
through :mod:`thermogeo.progress`; nothing here changes a result.
"""

from __future__ import annotations

import time
from contextlib import contextmanager

import typer

from thermogeo import progress

INTERVAL = 15.0
"""Seconds between two plain progress lines when standard error is not a terminal."""

PROGRESS = typer.Option(True, "--progress/--no-progress",
                        help="Show the estimate of the work and a progress bar on stderr.")


class _Plain:
    """Progress as plain lines (standard error is not a terminal)."""

    def __init__(self, label: str, unit: str, total: int | None):
        self.label, self.unit, self.total = label, unit, total
        self.done, self.note = 0, ""
        self.t0 = self.last = time.perf_counter()

    def update(self, n: int, note: str) -> None:
        self.done += n
        self.note = note or self.note
        if self.total and self.done > self.total:  # an estimate, not a bound: grow it
            self.total = self.done
        now = time.perf_counter()
        if now - self.last >= INTERVAL:
            self.last = now
            typer.echo(self.line(now), err=True)

    def line(self, now: float) -> str:
        of = f" of {self.total:,}" if self.total else ""
        note = f" ({self.note})" if self.note else ""
        return f"{self.label}: {self.done:,}{of} {self.unit}s{note}, {now - self.t0:.1f} s"

    def close(self, done: bool = True) -> None:
        if done:  # after an error, the error line says what happened
            typer.echo(self.line(time.perf_counter()) + " (done)", err=True)


class _Bar:
    """Progress as a rich bar (standard error is a terminal)."""

    def __init__(self, console, label: str, unit: str, total: int | None):
        from rich.progress import (BarColumn, Progress, SpinnerColumn, TextColumn,
                                   TimeElapsedColumn, TimeRemainingColumn)

        count = ("{task.completed:,.0f} of {task.total:,.0f} " if total else
                 "{task.completed:,.0f} ") + unit + "s"
        cols = [SpinnerColumn(), TextColumn(label), BarColumn(), TextColumn(count),
                TextColumn("{task.fields[note]}"), TimeElapsedColumn()]
        if total:
            cols += [TextColumn("left"), TimeRemainingColumn()]
        self.progress = Progress(*cols, console=console, transient=False)
        self.task = self.progress.add_task(label, total=total, note="")
        self.total, self.done = total, 0
        self.progress.start()

    def update(self, n: int, note: str) -> None:
        self.done += n
        kw = {"note": note} if note else {}
        if self.total and self.done > self.total:  # an estimate, not a bound: grow it
            self.total = self.done
            kw["total"] = self.total
        self.progress.update(self.task, advance=n, **kw)

    def close(self, done: bool = True) -> None:
        self.progress.stop()


@contextmanager
def work(label: str, estimate: str, *, unit: str = "point", total: int | None = None,
         show: bool = True):
    """Print ``LABEL: ESTIMATE`` on stderr, then show the progress of ``unit`` (``"point"``:
    frozen-generator points, ``"period"``) reported inside the block; nothing with ``show``
    False. ``total`` is the expected count (None: not known in advance, e.g. adaptive
    quadrature)."""
    if not show:
        yield
        return
    from rich.console import Console

    typer.echo(f"{label}: {estimate}", err=True)
    console = Console(stderr=True)
    view = (_Bar(console, label, unit, total) if console.is_terminal
            else _Plain(label, unit, total))

    def listener(u: str, n: int, note: str) -> None:
        if u == unit:
            view.update(n, note)

    try:
        with progress.listening(listener):
            yield
    except BaseException:
        view.close(done=False)
        raise
    view.close()
