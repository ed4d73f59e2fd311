"""Accepted ranges of the numbers that enter a machine (docs/decisions/0008-input-validation.md).

Every number of a model (file fields, constants, parameter defaults and points, Hamiltonian and
operator coefficients after evaluation, bath temperature, strength, exponent and cutoff,
values given to ``Machine.with_values`` or ``--set``) is checked here before any work, so that
a non-finite or absurd value is refused naming its field instead of surfacing later as a
"dark" (non-unique) steady state. Energies are in the model's own unit (hbar = k_B = 1): pick
it so that the numbers are of order one.

* real numbers (parameters, constants, coefficients): finite, ``|x| <= MAX_MAGNITUDE``;
* temperatures: ``MIN_SCALE <= T <= MAX_MAGNITUDE``;
* spectral density: ``0 <= strength <= MAX_MAGNITUDE``, ``1 <= exponent <= MAX_EXPONENT``,
  ``MIN_SCALE <= cutoff <= MAX_MAGNITUDE`` or ``cutoff = inf``.

This module sits in :mod:`thermogeo.baths`, the lowest layer that describes a machine, so the
model and the file reader share it.
"""

from __future__ import annotations

import math

import numpy as np

from thermogeo.errors import ModelError

MAX_MAGNITUDE = 1e6
"""Largest ``|x|`` of any number of a machine (energies in the model's unit)."""

MIN_SCALE = 1e-6
"""Smallest temperature and finite spectral cutoff."""

MAX_EXPONENT = 10.0
"""Largest exponent ``s`` of the ohmic family (``1 <= s <= MAX_EXPONENT``)."""

DECISION = "docs/decisions/0008-input-validation.md"

_REALS = (int, float, np.integer, np.floating)


def show(value) -> str:
    """A short ``repr`` for messages (huge integers and long objects are abbreviated)."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 10**30:
        return f"an integer of about {int(value.bit_length() * 0.30103) + 1} digits"
    shape = getattr(value, "shape", None)
    if not isinstance(value, str) and isinstance(shape, tuple) and len(shape) >= 1:
        # an array or a QuTiP Qobj: what it is, never its entries
        kind = getattr(value, "type", None)
        dims = getattr(value, "dims", None)
        if dims is not None:
            return f"a Qobj of type {kind!r}, shape {shape}, dims {dims}"
        return f"a {type(value).__name__} of shape {shape}"
    if isinstance(value, (tuple, list)) and any(
            isinstance(getattr(v, "shape", None), tuple) and v.shape for v in value):
        inner = ", ".join(show(v) for v in value)
        return f"({inner})" if isinstance(value, tuple) else f"[{inner}]"
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def real(value, where: str) -> float:
    """``value`` as a finite float; :class:`ModelError` naming ``where`` otherwise."""
    if isinstance(value, bool) or not isinstance(value, _REALS):
        raise ModelError(f"{where}: expected a finite real number with |x| <= "
                         f"{MAX_MAGNITUDE:g}, got {show(value)}")
    try:
        x = float(value)
    except OverflowError:
        raise ModelError(f"{where}: {show(value)} is too large for double precision; accepted "
                         f"|x| <= {MAX_MAGNITUDE:g} ({DECISION})") from None
    if not math.isfinite(x):
        raise ModelError(f"{where}: expected a finite real number with |x| <= "
                         f"{MAX_MAGNITUDE:g} (no inf or nan), got {show(value)}")
    return x


def magnitude(value, where: str) -> float:
    """A finite real number with ``|x| <= MAX_MAGNITUDE``."""
    x = real(value, where)
    if abs(x) > MAX_MAGNITUDE:
        raise ModelError(f"{where}: {show(value)} is out of range; accepted |x| <= "
                         f"{MAX_MAGNITUDE:g} in the model's energy unit ({DECISION})")
    return x



def _bounded(value, where: str, lo: float, hi: float, accepted: str) -> float:
    """A real number in ``[lo, hi]``, else a ModelError naming ``where`` and ``accepted``."""
    try:
        x = real(value, where)
    except ModelError:
        raise ModelError(f"{where}: {accepted}, got {show(value)}") from None
    if not lo <= x <= hi:
        raise ModelError(f"{where}: {accepted}, got {show(value)}")
    return x


def temperature(value, where: str) -> float:
    """A temperature: ``MIN_SCALE <= T <= MAX_MAGNITUDE``."""
    accepted = (f"must be a finite number > 0, from {MIN_SCALE:g} to {MAX_MAGNITUDE:g} in the "
                f"model's energy unit ({DECISION})")
    return _bounded(value, where, MIN_SCALE, MAX_MAGNITUDE, accepted)


def strength(value, where: str) -> float:
    """A coupling strength: ``0 <= kappa <= MAX_MAGNITUDE``."""
    accepted = f"must be >= 0 and <= {MAX_MAGNITUDE:g}, a finite real number ({DECISION})"
    return _bounded(value, where, 0, MAX_MAGNITUDE, accepted) + 0.0  # -0.0 -> 0.0


def exponent(value, where: str) -> float:
    """An ohmic exponent: ``1 <= s <= MAX_EXPONENT``."""
    accepted = (f"must be >= 1 and <= {MAX_EXPONENT:g} (ohmic 1, super-ohmic > 1; sub-ohmic "
                f"baths have no finite dephasing rate; {DECISION})")
    return _bounded(value, where, 1, MAX_EXPONENT, accepted)


def cutoff(value, where: str) -> float:
    """A spectral cutoff: ``MIN_SCALE <= omega_c <= MAX_MAGNITUDE`` or ``inf``."""
    accepted = (f"must be > 0 or 'inf': a number from {MIN_SCALE:g} to {MAX_MAGNITUDE:g} in the "
                f"model's energy unit, or 'inf' ({DECISION})")
    if isinstance(value, _REALS) and not isinstance(value, bool) and value == math.inf:
        return math.inf
    return _bounded(value, where, MIN_SCALE, MAX_MAGNITUDE, accepted)
