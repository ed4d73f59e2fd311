"""The typer application and the shared helpers of the command modules."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable
from functools import wraps

import numpy as np
import typer

from thermogeo.errors import ModelError, NonUniqueSteadyStateError

app = typer.Typer(help="Thermodynamic geometry of slowly driven quantum thermal machines.",
                  no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)


_NUMBER = re.compile(r"(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?", re.ASCII)
_WORD = re.compile(r"inf|infinity|nan", re.IGNORECASE)


def parse_assignments(text: str | None, option: str) -> dict[str, float]:
    """``"Bx=0.7,Bz=0.4"`` -> ``{"Bx": 0.7, "Bz": 0.4}``; a clear error otherwise (ASCII
    decimal literals without digit separators, or ``inf``/``nan``, whose range the model then
    checks field by field; a name given twice is refused rather than the last one kept)."""
    out: dict[str, float] = {}
    if not text:
        return out
    for item in text.split(","):
        name, eq, value = (x.strip() for x in item.partition("="))
        sign, body = (value[0], value[1:]) if value[:1] in ("+", "-") else ("", value)
        if not eq or not name or not (_NUMBER.fullmatch(body) or _WORD.fullmatch(body)):
            raise ModelError(f"{option}: cannot read {item!r}; expected NAME=NUMBER pairs "
                             "separated by commas, e.g. Bx=0.7,Bz=0.4")
        if name in out:
            raise ModelError(f"{option}: {name!r} is given twice ({text!r})")
        out[name] = float(sign + body)  # the model names the field and its range
    return out


MASTER = typer.Option(
    "", "--master-equation", metavar="KIND",
    help="Master equation instead of the model file's: secular, ule, local, or cluster:WIDTH "
         "(WIDTH an energy; docs/theory.md section 13).")


def with_master(machine, text: str):
    """``machine`` with the master equation of ``--master-equation`` (unchanged if empty)."""
    if not text:
        return machine
    kind, colon, width = (x.strip() for x in text.partition(":"))
    w = None
    if colon:
        try:
            w = float(width)
        except ValueError:
            raise ModelError(f"--master-equation: cannot read the width {width!r} of "
                             f"{text!r}; expected e.g. cluster:0.05") from None
    try:
        return machine.with_master_equation(kind, w)
    except ModelError as e:
        raise ModelError(f"--master-equation: {e}") from None


def to_jsonable(x):
    """numpy scalars/arrays -> plain Python for ``json.dumps``; a non-finite number (NaN,
    +-inf: no value) -> ``None`` (JSON ``null``), so that every output is valid JSON."""
    if isinstance(x, dict):
        return {str(k): to_jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [to_jsonable(v) for v in x]
    if isinstance(x, np.ndarray):
        return to_jsonable(x.tolist())
    if isinstance(x, (np.floating, float)):
        return float(x) if np.isfinite(x) else None
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, np.bool_):
        return bool(x)
    return x


def print_json(obj) -> None:
    typer.echo(json.dumps(to_jsonable(obj), allow_nan=False))


def user_errors(fn: Callable) -> Callable:
    """Turn the library's input errors into a one-line message and exit status 2."""
    @wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except (ModelError, NonUniqueSteadyStateError, ValueError, FileNotFoundError) as e:
            typer.echo(f"error: {type(e).__name__}: {e}", err=True)
            raise typer.Exit(code=2) from None
        except OSError as e:  # a directory given as a file, a permission...: one line
            where = f"{e.filename}: " if e.filename else ""
            typer.echo(f"error: {type(e).__name__}: {where}{e.strerror or e}", err=True)
            raise typer.Exit(code=2) from None
    return wrapper


def check_file_out(path, option: str, expected: str) -> None:
    """Refuse (before any work) an output path that is a folder or whose parent is not an
    existing folder."""
    from pathlib import Path

    path = Path(path)
    if path.is_dir():
        raise ModelError(f"{option}: {str(path)!r} is a folder; expected {expected}")
    if not path.parent.is_dir():
        what = "is not a folder" if path.parent.exists() else "does not exist"
        raise ModelError(f"{option}: the folder {str(path.parent)!r} {what}; expected "
                         f"{expected} in an existing folder")


def check_bias(bias, option: str = "--bias") -> None:
    """Refuse a bias ``X = dT/T`` that leaves a bath at a non-positive temperature."""
    if bias is not None and not (np.isfinite(bias) and 0 < abs(bias) < 2):
        raise ModelError(f"{option}: expected X = dT/T with 0 < |X| < 2 (the hot bath at "
                         f"T(1 + X/2), the others at T(1 - X/2), both > 0), got {bias:g}")


def _print_version(value: bool) -> None:
    if value:
        from thermogeo.version import __version__

        typer.echo(f"thermogeo {__version__}")
        raise typer.Exit()


@app.callback()
def _options(version: bool = typer.Option(
        False, "--version", "-V", callback=_print_version, is_eager=True,
        help="Print the version of thermogeo and exit.")) -> None:
    """Thermodynamic geometry of slowly driven quantum thermal machines."""


def main() -> None:
    """Entry point of the ``thermogeo`` script."""
    app(prog_name="thermogeo")


# Command modules register themselves on ``app`` when imported.
from thermogeo.cli import point  # noqa: E402,F401,I001
from thermogeo.cli import cycles  # noqa: E402,F401
from thermogeo.cli import dynamics  # noqa: E402,F401
from thermogeo.cli import sweeps  # noqa: E402,F401
from thermogeo.cli import reproduce  # noqa: E402,F401
from thermogeo.cli import fluctuations  # noqa: E402,F401

if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
