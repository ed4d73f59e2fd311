"""Rotor maps: the rotor of each bath on a grid, its sign-region boundaries (the zero
contour) and, optionally, a loop overlaid.

The figure is titled with the model's name and its bath temperatures (from the map's
attributes); axes and colour bar carry units: energies in units of ``T`` when every bath is at
``T = 1``, otherwise in the energy unit of the model file, in which the title states the
temperatures (docs/decisions/0611-figure-conventions.md).
"""

from __future__ import annotations

import tomllib

import numpy as np

from thermogeo.errors import ModelError
from thermogeo.plot.style import math_name, temperatures_text


def map_model(ds) -> tuple[str, list[str], list[float]]:
    """``(model name, bath names, temperatures)`` from a map's attributes (``model_toml``,
    ``temperatures``); empty when the map does not carry them.

    Examples
    --------
    >>> import xarray as xr
    >>> map_model(xr.Dataset(attrs={"model_toml": 'name = "pump"', "temperatures": "L=2.0,R=1.0"}))
    ('pump', ['L', 'R'], [2.0, 1.0])
    """
    name = ""
    try:
        name = str(tomllib.loads(ds.attrs.get("model_toml", "")).get("name", ""))
    except tomllib.TOMLDecodeError:
        pass
    baths, temps = [], []
    for item in filter(None, str(ds.attrs.get("temperatures", "")).split(",")):
        b, _, t = item.partition("=")
        baths.append(b.strip())
        temps.append(float(t))
    return name, baths, temps


def map_title(ds) -> str:
    """``model heisenberg_dimer, $T = 1$``: the model and its temperatures, for a figure."""
    name, baths, temps = map_model(ds)
    parts = ([f"model {name}"] if name else []) + ([temperatures_text(baths, temps)] if temps
                                                    else [])
    return ", ".join(parts)


def plot_rotor(ds, bath: str | None = None, loop=None, *, ax=None, title: str | None = None,
               clip_percentile: float = 99.0):
    """Draw ``ds.rotor`` (from :func:`thermogeo.protocols.maps.response_map`).

    Parameters
    ----------
    ds : xarray.Dataset
        With ``rotor (x, y, bath)``; the first two dims are the plane's axes.
    bath : str, optional
        One bath (default: one panel per bath).
    loop : Loop, optional
        Drawn over every panel (its plane must be the map's plane).
    ax : matplotlib Axes, optional
        Only with a single bath.
    title : str, optional
        Panel title (default: the bath; with ``ax``, the model and temperatures too).
    clip_percentile : float
        The symmetric colour range is this percentile of ``|rotor|`` (the rotor can be sharply
        peaked near degenerate points).

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt  # the caller's backend (inline figures in notebooks)

    if "rotor" not in ds:
        raise ModelError("dataset: no 'rotor' variable; make the map with response_map")
    xn, yn = ds.rotor.dims[:2]
    baths = [str(b) for b in ds.bath.values]
    if bath is not None and bath not in baths:
        raise ModelError(f"bath: expected one of {baths}, got {bath!r}")
    sel = [bath] if bath is not None else baths
    if loop is not None and tuple(loop.plane) != (xn, yn):
        raise ModelError(f"loop: its plane {tuple(loop.plane)} differs from the map's "
                         f"{(xn, yn)}")
    if ax is not None and len(sel) != 1:
        raise ModelError("ax: give a bath when drawing into an existing axes")
    _, _, temps = map_model(ds)
    in_T = bool(temps) and all(t == 1.0 for t in temps)
    unit, inverse = (r"\,/\,T", r"($1/T$)") if in_T else (" (energy)", "(1/energy)")
    heading = map_title(ds)
    if ax is None:
        fig, axes = plt.subplots(1, len(sel), figsize=(4.8 * len(sel) + 0.4, 4.4),
                                 squeeze=False, layout="constrained")
        axes = axes[0]
        sep = ": " if len(sel) > 1 else "\n"
        fig.suptitle("Rotor of the heat pumped per cycle" + (sep + heading if heading else ""),
                     fontsize=10)
    else:
        fig, axes = ax.figure, [ax]
    x, y = ds[xn].values, ds[yn].values
    for a, b in zip(axes, sel):
        z = ds.rotor.sel(bath=b).transpose(yn, xn).values
        finite = np.abs(z[np.isfinite(z)])
        vmax = float(np.percentile(finite, clip_percentile)) if finite.size else 1.0
        vmax = vmax if vmax > 0 else 1.0
        im = a.pcolormesh(x, y, z, cmap="RdBu_r", vmin=-vmax, vmax=vmax, shading="auto",
                          rasterized=True)
        if np.nanmin(z) < 0 < np.nanmax(z):
            a.contour(x, y, z, levels=[0.0], colors="k", linewidths=0.8)
        if loop is not None:
            p = loop.xy(np.linspace(0, 1, 1001))
            a.plot(p[:, 0], p[:, 1], color="gold", lw=1.6)
            k = len(p) // 8
            a.annotate("", xy=p[k + 5], xytext=p[k],
                       arrowprops=dict(arrowstyle="->", color="gold", lw=1.6))
        a.set_xlabel(f"${math_name(xn)}{unit}$" if in_T else f"${math_name(xn)}${unit}")
        a.set_ylabel(f"${math_name(yn)}{unit}$" if in_T else f"${math_name(yn)}${unit}")
        own = f"bath {b}" + ("" if len(sel) > 1 or ax is None else
                             (f"; {heading}" if heading else ""))
        a.set_title(title or own + "; black: zero of the rotor", fontsize=9)
        a.set_aspect("equal", adjustable="box")
        fig.colorbar(im, ax=a, label=rf"rotor $\Omega^{{{math_name(b)}}}$ {inverse}")
    return fig
