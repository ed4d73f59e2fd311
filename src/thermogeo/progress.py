"""Progress of long computations: the kernels say what they finished, a listener decides what
to show (docs/decisions/0321-progress.md).

The work that takes long is nested several calls deep (``optimal_region`` -> ``cycle_summary``
-> ``response`` -> the frozen generator's chunks), so the kernels do not take a callback
argument each: they call :func:`advance` with the unit of work they finished (``"point"``: the
frozen generator at some parameter points; ``"period"``: one period of a convergence study), and
whoever wants to know opens a :func:`listening` scope around the call. Without a listener (the
default: library calls, sweep workers) :func:`advance` does nothing. The scope is a
:class:`contextvars.ContextVar`, so threads and tasks do not see each other's listeners.

Examples
--------
>>> done = []
>>> with listening(lambda unit, n, note: done.append((unit, n))):
...     advance("point", 4)
>>> advance("point", 1)  # no listener: nothing happens
>>> done
[('point', 4)]
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

Listener = Callable[[str, int, str], None]
"""``listener(unit, n, note)``: ``n`` more units of work are done; ``note`` says which (may be
empty)."""

_LISTENER: ContextVar[Listener | None] = ContextVar("thermogeo_progress", default=None)


def advance(unit: str, n: int = 1, note: str = "") -> None:
    """Report ``n`` finished units of work (``"point"``, ``"period"``, ...) to the listener of
    the current scope, if any."""
    listener = _LISTENER.get()
    if listener is not None:
        listener(unit, int(n), note)


@contextmanager
def listening(listener: Listener) -> Iterator[None]:
    """Send the :func:`advance` reports made inside the ``with`` block to ``listener``."""
    token = _LISTENER.set(listener)
    try:
        yield
    finally:
        _LISTENER.reset(token)
