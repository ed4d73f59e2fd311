"""Figure conventions shared by every figure: names in mathtext, units, files.

Units (docs/decisions/0611-figure-conventions.md): ``hbar = k_B = 1``, so a temperature is an
energy and a time is an inverse energy. Figures of a machine with one temperature ``T`` give
energies in units of ``T`` and times in units of ``hbar / T``; a figure of a machine whose baths
differ in temperature gives its values in the energy unit of the model file and states every
temperature in its title. The file format of a figure is that of its extension (vector
formats: PDF, SVG, EPS, PS); the resolution of raster formats and of rasterised panels is
``dpi``.
"""

from __future__ import annotations

import re
from pathlib import Path

from thermogeo.errors import ModelError

DEFAULT_DPI = 150
"""Resolution of raster output and of rasterised panels in vector output (dots per inch)."""
PUBLICATION_DPI = 300
MIN_DPI, MAX_DPI = 50, 1200
FIGURE_FORMATS = ("png", "pdf", "svg", "eps", "ps", "jpg", "jpeg", "tif", "tiff")
"""Accepted figure file extensions (matplotlib writes the format of the extension)."""
VECTOR_FORMATS = ("pdf", "svg", "eps", "ps")

GREEK = ("alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "kappa",
         "lambda", "mu", "nu", "xi", "pi", "rho", "sigma", "tau", "phi", "chi", "psi", "omega",
         "Gamma", "Delta", "Theta", "Lambda", "Xi", "Pi", "Sigma", "Phi", "Psi", "Omega")
_SUBSCRIPT = re.compile(r"_?([A-Za-z]?[0-9]*)")


def math_name(name: str) -> str:
    """A parameter or bath name in mathtext, without the dollar signs.

    One letter or a Greek name, then one letter and/or digits, is a symbol with a
    subscript (``Bx`` -> ``B_{x}``, ``theta`` -> ``\\theta``, ``h_12`` -> ``h_{12}``); any other
    name is set upright as a word.

    Examples
    --------
    >>> math_name("Bx"), math_name("delta"), math_name("J"), math_name("h_3")
    ('B_{x}', '\\\\delta', 'J', 'h_{3}')
    >>> math_name("field")
    '\\\\mathrm{field}'
    """
    name = str(name)
    if name.isascii():
        heads = [g for g in GREEK if name.startswith(g)] + ([name[0]] if name[:1].isalpha()
                                                             else [])
        for head in sorted(heads, key=len, reverse=True):
            rest = name[len(head):]
            sym = "\\" + head if head in GREEK else head
            if not rest:
                return sym
            m = _SUBSCRIPT.fullmatch(rest)
            if m and m.group(1):
                return f"{sym}_{{{m.group(1)}}}"
    return r"\mathrm{" + re.sub(r"([_{}$\\^&%#])", r"\\\1", name) + "}"


def number(x: float, digits: int = 4) -> str:
    """A number for a figure: ``g`` format, no trailing ``.0``."""
    return f"{float(x):.{digits}g}"


def temperatures_text(names, temperatures) -> str:
    """``$T_{L} = 2$, $T_{R} = 1$`` or ``$T = 1$`` when all baths share one temperature."""
    temps = [float(t) for t in temperatures]
    if len(set(temps)) == 1:
        return f"$T = {number(temps[0])}$"
    return ", ".join(f"$T_{{{math_name(n)}}} = {number(t)}$" for n, t in zip(names, temps))


def check_figure_path(path, option: str) -> Path:
    """Refuse a figure file whose extension is not a format we write, naming the option."""
    path = Path(path)
    ext = path.suffix.lower().lstrip(".")
    if ext not in FIGURE_FORMATS:
        raise ModelError(f"{option}: cannot tell the figure format of {str(path)!r} from its "
                         f"extension; expected one of {', '.join('.' + e for e in FIGURE_FORMATS)}"
                         f" (vector: {', '.join('.' + e for e in VECTOR_FORMATS)})")
    return path


def check_dpi(dpi, option: str = "dpi") -> int:
    """A resolution in dots per inch between ``MIN_DPI`` and ``MAX_DPI``."""
    try:
        value = int(dpi)
        ok = value == float(dpi) and MIN_DPI <= value <= MAX_DPI
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise ModelError(f"{option}: expected a whole number of dots per inch from {MIN_DPI} to "
                         f"{MAX_DPI} (publication: {PUBLICATION_DPI}), got {dpi!r}")
    return value


def save_figure(fig, path, dpi: int = DEFAULT_DPI) -> Path:
    """Write ``fig`` in the format of the extension of ``path`` at ``dpi``."""
    path = check_figure_path(path, "path")
    fig.savefig(path, dpi=check_dpi(dpi))
    return path


def colorbar_labels(fig) -> list[str]:
    """Labels of the colour bars of ``fig`` (empty strings for unlabelled ones)."""
    out = []
    for ax in fig.axes:
        cb = getattr(ax, "_colorbar", None)
        if cb is not None:
            out.append(ax.get_ylabel() if cb.orientation == "vertical" else ax.get_xlabel())
    return out
