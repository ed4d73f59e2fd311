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
from thermogeo.reproductions.common import machines_from

NAME = "merit"
TITLE = "A^2/L^2 of circular protocols with and without interaction"


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
                            "centre": ("centre", cs, {"units": "parameter unit"}),
                            "radius": ("radius", rs, {"units": "parameter unit"})})
    ds.attrs.update(angle_deg=params["angle_deg"], bath=params["bath"])
    return ds


def draw(ds: xr.Dataset):
    import matplotlib.pyplot as plt

    labels = list(ds.machine.values)
    fig, axes = plt.subplots(1, len(labels) + 1, figsize=(4.2 * (len(labels) + 1), 3.8),
                             constrained_layout=True)
    merit = ds.power_figure_of_merit
    vmax = float(merit.max())
    for ax, lab in zip(axes, labels):
        im = ax.pcolormesh(ds.radius, ds.centre, merit.sel(machine=lab), vmin=0,
                           vmax=vmax, shading="auto", cmap="viridis")
        ax.set_title(f"{lab}: A^2/L^2", fontsize=9)
        ax.set_xlabel("radius / T")
        ax.set_ylabel("centre distance / T")
        fig.colorbar(im, ax=ax)
    ratio = merit.sel(machine=labels[-1]) / merit.sel(machine=labels[0])
    im = axes[-1].pcolormesh(ds.radius, ds.centre, np.log2(ratio), cmap="RdBu_r", vmin=-2,
                             vmax=2, shading="auto")
    axes[-1].set_title(f"log2 ratio {labels[-1]} / {labels[0]}", fontsize=9)
    axes[-1].set_xlabel("radius / T")
    fig.colorbar(im, ax=axes[-1])
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
            "passed": bool(0.0 < frac < 1.0),
            "criterion": "interaction raises A^2/L^2 on some circles and lowers it on others"}
