"""Rotor maps: the rotor of each bath on a grid, its sign-region boundaries (the zero
contour) and, optionally, a loop overlaid."""

from __future__ import annotations

import numpy as np

from thermogeo.errors import ModelError


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
    clip_percentile : float
        The symmetric colour range is this percentile of ``|rotor|`` (the rotor can be sharply
        peaked near degenerate points).

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

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
    if ax is None:
        fig, axes = plt.subplots(1, len(sel), figsize=(4.6 * len(sel), 4), squeeze=False)
        axes = axes[0]
    else:
        fig, axes = ax.figure, [ax]
    x, y = ds[xn].values, ds[yn].values
    for a, b in zip(axes, sel):
        z = ds.rotor.sel(bath=b).transpose(yn, xn).values
        finite = np.abs(z[np.isfinite(z)])
        vmax = float(np.percentile(finite, clip_percentile)) if finite.size else 1.0
        vmax = vmax if vmax > 0 else 1.0
        im = a.pcolormesh(x, y, z, cmap="RdBu_r", vmin=-vmax, vmax=vmax, shading="auto")
        if np.nanmin(z) < 0 < np.nanmax(z):
            a.contour(x, y, z, levels=[0.0], colors="k", linewidths=0.8)
        if loop is not None:
            p = loop.xy(np.linspace(0, 1, 1001))
            a.plot(p[:, 0], p[:, 1], color="gold", lw=1.6)
            k = len(p) // 8
            a.annotate("", xy=p[k + 5], xytext=p[k],
                       arrowprops=dict(arrowstyle="->", color="gold", lw=1.6))
        a.set_xlabel(xn)
        a.set_ylabel(yn)
        a.set_title(title or f"rotor of bath {b}")
        a.set_aspect("equal", adjustable="box")
        fig.colorbar(im, ax=a, label=r"$\Omega$")
    fig.tight_layout()
    return fig
