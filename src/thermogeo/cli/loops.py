"""Loops on the command line: the loop options every command shares, loop files (read by
``--loop``, written by ``--save-loop``) and the library's warnings as ``warning:`` lines
(docs/decisions/0320-loop-files.md)."""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable
from functools import wraps
from pathlib import Path

import numpy as np
import typer

from thermogeo.errors import ModelError

LOOP_HELP = {
    "circle": "Circle: centre and radius, e.g. Bx=0.8,Bz=0.6,r=0.5 (the two names set the "
              "plane; counter-clockwise).",
    "ellipse": "Ellipse: centre, semi-axes a, b and angle (radians), e.g. "
               "Bx=0.8,Bz=0.6,a=0.5,b=0.3,angle=0 (counter-clockwise).",
    "rectangle": "Rectangle: ranges, e.g. Bx=0.2:1.0,Bz=0.1:0.9 (counter-clockwise).",
    "sector": "Annular sector in --plane around cx, cy: r_in, r_out, theta0, theta1 "
              "(radians), e.g. r_in=0,r_out=30,theta0=0,theta1=1.5707963 (counter-clockwise).",
    "polygon": "Polygon in --plane: vertices x:y separated by ';', e.g. '0.2:0.1;1:0.1;1:1' "
               "(traversed in the order given).",
    "loop": "Loop file: a TOML loop file (*.toml, as written by --save-loop of optimal, "
            "optimize and map: kind, plane, shape, traversed as stored), or two columns x y "
            "(equispaced samples of a closed loop in --plane, or in the plane named by a first "
            "line '# x y'; commas or blanks).",
    "plane": "x,y parameters of --sector, --polygon and a two-column --loop (default: the first "
             "two).",
    "reverse": "Traverse the loop the other way (lam(1 - s): clockwise for the shapes, which "
               "are counter-clockwise; the reverse of a loop file's direction).",
}

CIRCLE = typer.Option("", "--circle", help=LOOP_HELP["circle"])
ELLIPSE = typer.Option("", "--ellipse", help=LOOP_HELP["ellipse"])
RECTANGLE = typer.Option("", "--rectangle", help=LOOP_HELP["rectangle"])
SECTOR = typer.Option("", "--sector", help=LOOP_HELP["sector"])
POLYGON = typer.Option("", "--polygon", help=LOOP_HELP["polygon"])
LOOP = typer.Option(None, "--loop", help=LOOP_HELP["loop"])
PLANE = typer.Option("", "--plane", help=LOOP_HELP["plane"])
REVERSE = typer.Option(False, "--reverse", help=LOOP_HELP["reverse"])
SAVE_LOOP = typer.Option(None, "--save-loop", help="Write the loop found to this TOML loop "
                         "file (read by --loop of cycle, exact, convergence, balance and by "
                         "sweep files as { file = ... }).")
LOOP_HARMONICS = typer.Option(0, "--loop-harmonics", help="With --save-loop: write a smooth "
                              "Fourier loop with this many harmonics through the boundary "
                              "(equal arc length; corners rounded), which exact solves "
                              "spectrally at any period; 0 (default): the boundary polygon as "
                              "found.")


def reported_warnings(fn: Callable) -> Callable:
    """Print the library's warnings (e.g. SlowDrivingWarning) as ``warning: ...`` lines on
    standard error instead of letting them escape as tracebacks or vanish: one line per kind
    of message (the same text up to its numbers, e.g. a secular warning repeated at every
    evaluation of an optimisation), the first instance and how many more there were."""
    @wraps(fn)
    def wrapper(*args, **kwargs):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                return fn(*args, **kwargs)
            finally:
                first: dict = {}
                for w in caught:
                    key = (w.category.__name__, _NUMBER.sub("#", str(w.message)))
                    if key in first:
                        first[key][1] += 1
                    else:
                        first[key] = [f"warning: {w.category.__name__}: {w.message}", 0]
                for msg, more in first.values():
                    typer.echo(msg + (f" (and {more} more like it)" if more else ""), err=True)
    return wrapper


_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")


def read_loop_file(path: Path, plane: str, base, plane_of: Callable):
    """The loop of ``--loop PATH``: a TOML loop file (``*.toml``,
    :func:`thermogeo.protocols.paths.load_loop`) or two columns ``x y`` of samples
    (:func:`thermogeo.protocols.paths.SampledLoop`, in ``--plane`` or the plane of a first
    line ``# x y``). ``base`` (``--at``) sets the other parameters; ``plane_of(text)`` checks
    a plane against the model."""
    from thermogeo.protocols.paths import SampledLoop, load_loop

    if not path.exists():
        raise FileNotFoundError(f"--loop: no such file {str(path)!r}")
    if not path.is_file():
        raise ModelError(f"--loop: {str(path)!r} is not a file; expected a TOML loop file or "
                         "a file with two columns x y")
    if path.suffix.lower() == ".toml":
        try:
            lp = load_loop(path)
        except ModelError as e:
            raise ModelError(f"--loop: {e}") from None
        if plane and tuple(p.strip() for p in plane.split(",")) != tuple(lp.plane):
            raise ModelError(f"--plane: {plane!r} differs from the plane "
                             f"{','.join(lp.plane)} of the loop file {str(path)!r}; leave "
                             "--plane out (the file names its plane)")
        plane_of(",".join(lp.plane))
        if base:
            from dataclasses import replace

            lp = replace(lp, base={**(lp.base or {}), **base})
        return lp
    raw = path.read_text().replace(",", " ")
    try:
        p = np.loadtxt(raw.splitlines(), ndmin=2)
    except ValueError as e:
        raise ModelError(f"--loop: cannot read {str(path)!r} as two numeric columns: "
                         f"{e}") from None
    if p.shape[1] != 2:
        raise ModelError(f"--loop: expected two columns x y, got {p.shape[1]}")
    if not plane:  # a header line '# x y' names the plane
        first = raw.lstrip().splitlines()[0] if raw.strip() else ""
        head = first.lstrip("#").split() if first.startswith("#") else []
        plane = ",".join(head) if len(head) == 2 else ""
    try:
        return SampledLoop(p, plane=plane_of(plane), base=base)
    except ModelError as e:
        if "samples" not in str(e):
            raise
        raise ModelError(f"--loop: {str(path)!r} (data lines counted from 0): {e}") from None


def check_save_loop(path: Path | None, harmonics: int = 0) -> None:
    """Refuse (before any work) a ``--save-loop`` path that is a folder or in a missing
    folder, and a negative ``--loop-harmonics`` or one without ``--save-loop``."""
    from thermogeo.cli.app import check_file_out

    if harmonics < 0 or harmonics > MAX_HARMONICS:
        raise ModelError(f"--loop-harmonics: expected 0 (the polygon) or 1..{MAX_HARMONICS}, "
                         f"got {harmonics}")
    if harmonics and path is None:
        raise ModelError("--loop-harmonics: applies to the loop written by --save-loop; give "
                         "--save-loop FILE")
    if path is not None:
        check_file_out(path, "--save-loop", "a TOML loop file to write, e.g. best.toml")


MAX_HARMONICS = 64


def smooth_loop(loop, harmonics: int):
    """``loop`` itself (``harmonics`` 0 or no loop) or the smooth Fourier loop through it
    (:func:`thermogeo.protocols.paths.smoothed`)."""
    from thermogeo.protocols.paths import smoothed

    if loop is None or not harmonics:
        return loop
    return smoothed(loop, harmonics)


def save_loop_file(loop, path: Path | None, about: dict) -> str | None:
    """Write ``loop`` to ``path`` (a loop file with ``[about]``); the path written, or None
    (no path, or no loop: a warning line says so)."""
    from thermogeo.protocols.paths import save_loop

    if path is None:
        return None
    if loop is None:
        typer.echo(f"warning: --save-loop: no loop was found; {path} not written", err=True)
        return None
    save_loop(loop, path, about={k: v for k, v in about.items() if v is not None})
    return str(path)
