"""Power figure of merit A^2/L^2 of circular protocols (arXiv:2511.16591).

``A = Q_L^geo`` (geometric heat of bath L per cycle) and ``L`` the thermodynamic length of the
circle at uniform speed; ``P_max = X^2 A^2 / (4 L^2)`` (docs/theory.md section 5). Computed for
circles of every radius and centre distance (not enclosing the degenerate origin), with and
without interaction. The paper reports that interaction does not always raise A^2/L^2: the
check asks that the interacting machine wins on some circles and loses on others.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from thermogeo.protocols.cycle import cycle_summary
from thermogeo.protocols.paths import Circle
from thermogeo.reproductions.common import machine_titles, machines_from, report_fields

NAME = "merit"
TITLE = "Power figure of merit A^2/L^2 of circular protocols with and without interaction"
TITLE_TEX = (r"Power figure of merit $A^2/\mathcal{L}^2$ of circles in the field plane, with "
             r"and without interaction")
MIN_MAP_SIDE = 10  # fewer circles along an axis: lines, not a blocky colour map


def compute(params: dict, quick: bool) -> xr.Dataset:
    cs = np.linspace(*params["centre"][:2], int(params["centre"][2]))
    rs = np.linspace(*params["radius"][:2], int(params["radius"][2]))
    phi = np.deg2rad(params["angle_deg"])
    plane = tuple(params["plane"])
    machines = machines_from(params["machines"])
    out = np.full((len(machines), len(cs), len(rs)), np.nan)
    A = np.full_like(out, np.nan)
    Ls = np.full_like(out, np.nan)
    for k, m in enumerate(machines.values()):
        for i, c in enumerate(cs):
            for j, r in enumerate(rs):
                if r >= 0.95 * c:
                    continue
                loop = Circle(plane, center=(c * np.cos(phi), c * np.sin(phi)), radius=r)
                s = cycle_summary(m, loop, bath=params["bath"], area=False)
                out[k, i, j] = s.power_figure_of_merit
                A[k, i, j], Ls[k, i, j] = s.bath_geometric_heat, s.thermodynamic_length
    dims = ("machine", "centre", "radius")
    ds = xr.Dataset({"power_figure_of_merit": (dims, out, {"units": "energy / time"}),
                     "bath_geometric_heat": (dims, A, {"units": "energy"}),
                     "thermodynamic_length": (dims, Ls, {"units": "(energy time)^(1/2)"})},
                    coords={"machine": list(machines),
                            "machine_title": ("machine", machine_titles(params["machines"])),
                            "centre": ("centre", cs, {"units": "parameter unit"}),
                            "radius": ("radius", rs, {"units": "parameter unit"})})
    ds.attrs.update(angle_deg=params["angle_deg"], bath=params["bath"])
    return ds


def _titles(ds) -> list[str]:
    if "machine_title" in ds.coords:
        return [str(t) for t in ds.machine_title.values]
    return [str(m).replace("_", " ") for m in ds.machine.values]


def draw(ds: xr.Dataset):
    """Colour maps over (radius, centre distance) when both axes have ``MIN_MAP_SIDE`` values
    or more (full resolution); otherwise lines against the radius, one per centre distance."""
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    labels, titles = list(ds.machine.values), _titles(ds)
    merit = ds.power_figure_of_merit
    unit = r"($T^2/\hbar$)"
    ratio = np.log2(merit.sel(machine=labels[-1]) / merit.sel(machine=labels[0]))
    ratio_label = r"$\log_2$ of the ratio of $A^2/\mathcal{L}^2$, interacting / non-interacting"
    angle = ds.attrs.get("angle_deg", 45.0)
    where = rf"centres at ${angle:g}^\circ$ from the $B_x$ axis"
    if min(ds.sizes["centre"], ds.sizes["radius"]) >= MIN_MAP_SIDE:
        fig, axes = plt.subplots(1, len(labels) + 1, figsize=(4.4 * (len(labels) + 1), 4.0),
                                 constrained_layout=True)
        vmax = float(merit.max())
        for k, (ax, lab) in enumerate(zip(axes, labels)):
            im = ax.pcolormesh(ds.radius, ds.centre, merit.sel(machine=lab), vmin=0,
                               vmax=vmax, shading="nearest", cmap="viridis", rasterized=True)
            ax.set_title(f"({'abc'[k]}) {titles[k]}", fontsize=9)
            fig.colorbar(im, ax=ax, label=rf"$A^2/\mathcal{{L}}^2$ {unit}")
        im = axes[-1].pcolormesh(ds.radius, ds.centre, ratio, cmap="RdBu_r", vmin=-2, vmax=2,
                                 shading="nearest", rasterized=True)
        axes[-1].set_title(f"({'abcd'[len(labels)]}) interaction raises (red) or lowers "
                           "(blue) it", fontsize=9)
        fig.colorbar(im, ax=axes[-1], label=ratio_label.replace(", inter", ",\ninter"))
        for ax in axes:
            ax.set_xlabel(r"circle radius $r\,/\,T$")
            ax.set_ylabel("distance of the centre from the origin $/\\,T$\n(" + where + ")")
        return fig
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4.3), constrained_layout=True)
    colors = plt.get_cmap("viridis")(np.linspace(0.0, 0.85, ds.sizes["centre"]))
    styles = ["--", "-"]
    for col, c in zip(colors, ds.centre.values):
        for ls, lab in zip(styles, labels):
            a1.plot(ds.radius, merit.sel(machine=lab, centre=c), ls, marker="o", ms=3,
                    color=col)
        a2.plot(ds.radius, ratio.sel(centre=c), "-o", ms=3, color=col,
                label=rf"centre at ${c:g}\,T$")
    handles = [Line2D([], [], color="0.3", ls=ls, label=t) for ls, t in zip(styles, titles)]
    handles += [Line2D([], [], color=col, label=rf"centre at ${c:g}\,T$")
                for col, c in zip(colors, ds.centre.values)]
    a1.legend(handles=handles, fontsize=7)
    a1.set_ylabel(rf"power figure of merit $A^2/\mathcal{{L}}^2$ {unit}")
    a1.set_title(f"(a) with and without interaction; {where}", fontsize=9)
    a2.axhline(0.0, color="k", lw=0.8)
    a2.set_ylabel(ratio_label.replace(", inter", ",\ninter"))
    a2.set_title("(b) above zero: interaction raises the figure of merit", fontsize=9)
    a2.legend(fontsize=7)
    for ax in (a1, a2):
        ax.set_xlabel(r"circle radius $r\,/\,T$ (circles not containing the origin)")
    return fig


def check(ds: xr.Dataset) -> dict:
    labels = list(ds.machine.values)
    merit = ds.power_figure_of_merit
    a, b = merit.sel(machine=labels[0]), merit.sel(machine=labels[-1])
    ok = np.isfinite(a) & np.isfinite(b)
    frac = float((b > a).where(ok).sum() / ok.sum())
    return {"ours": {"fraction_of_circles_where_interaction_raises": frac,
                     "max_power_figure_of_merit": {lab: float(merit.sel(machine=lab).max())
                                                   for lab in labels}},
            "paper": "interaction does not always raise A^2/L^2",
            **report_fields(
                0.0 < frac < 1.0,
                "interaction raises A^2/L^2 on some circles and lowers it on others", [],
                "the paper states this qualitatively; it gives no value of A^2/L^2 for these "
                "circles to compare")}
