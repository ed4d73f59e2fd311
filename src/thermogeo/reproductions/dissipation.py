"""Dissipation metric maps and dissipated work per qubit (arXiv:2511.16591, figures 3-4).

Maps of ``tr g`` and of the largest eigenvalue of the thermodynamic metric ``g_ij = (G_ij +
G_ji)/2``, ``G_ij = Tr[V_i L^D d_j rho_0]``, in the (Bx, Bz) plane, and the dissipated
work coefficient ``tau W_diss = int_0^1 g(lam', lam') ds`` of a fixed circle per qubit against
the exchange J and the coupling asymmetry b, beside the single-qubit value. Under the global
secular generator two qubits in one uniform field are not independent even at J = 0 (their Bohr
frequencies coincide, so each bath drives collective jumps), which is why the J = 0 curve is
shown too. Checked: the metric is positive semi-definite on every map and ``tau W_diss >= L^2``
for every protocol. Names as in docs/decisions/0007-names.md (``dissipated_work_coefficient``,
``thermodynamic_length``).
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from thermogeo.protocols.cycle import cycle_summary
from thermogeo.protocols.paths import Circle
from thermogeo.plot.style import math_name
from thermogeo.reproductions.common import (grid, machine, machine_titles, machines_from,
                                            report_fields)
from thermogeo.response import response

NAME = "dissipation"
TITLE = "Dissipation metric maps and dissipated work per qubit"
TITLE_TEX = (r"Dissipation metric $g$ in the field plane and dissipated work per qubit "
             r"$\tau W_{\rm diss}$ of a circle")
UNITS = {"metric_trace": "energy time per parameter unit^2",
         "metric_max_eigenvalue": "energy time per parameter unit^2",
         "metric_min_eigenvalue_relative": "1"}  # the other variables: energy time


def _tau_wdiss(m, loop) -> tuple[float, float]:
    """``(tau W_diss, L^2)`` of ``loop`` at uniform speed."""
    c = cycle_summary(m, loop, area=False)
    return float(c.dissipated_work_coefficient), float(c.thermodynamic_length) ** 2


def compute(params: dict, quick: bool) -> xr.Dataset:
    xs, ys = grid(params["grid"])
    plane = tuple(params["plane"])
    machines = machines_from(params["machines"])
    trace, top, bottom = [], [], []
    for m in machines.values():
        X, Y = np.meshgrid(xs, ys, indexing="xy")
        lam = np.broadcast_to(m.point(), X.shape + (len(m.parameters),)).copy()
        lam[..., m.parameter_index(plane[0])] = X
        lam[..., m.parameter_index(plane[1])] = Y
        g = response(m, lam).metric
        trace.append(np.trace(g, axis1=-2, axis2=-1))
        ev = np.linalg.eigvalsh(g)
        top.append(ev[..., -1])
        bottom.append(ev[..., 0] / np.abs(ev[..., -1]).max())
    pr = params["protocol"]
    loop = Circle(plane, center=tuple(pr["center"]), radius=pr["radius"])
    Js = np.linspace(*params["J"][:2], int(params["J"][2]))
    bs = np.linspace(*params["b"][:2], int(params["b"][2]))
    single, single_L2 = _tau_wdiss(machine("one_qubit"), loop)
    vs_J = np.array([_tau_wdiss(machine("dimer", J=J, b=params["b_at_fixed_J"]), loop)
                     for J in Js]) / 2
    vs_b = np.array([_tau_wdiss(machine("dimer", J=params["J_at_fixed_b"], b=b), loop)
                     for b in bs]) / 2
    vs_b0 = np.array([_tau_wdiss(machine("dimer", J=0.0, b=b), loop) for b in bs]) / 2
    maps = ("machine", plane[1], plane[0])
    W, L2 = "dissipated_work_coefficient", "thermodynamic_length_squared"
    ds = xr.Dataset(
        {"metric_trace": (maps, np.array(trace)),
         "metric_max_eigenvalue": (maps, np.array(top)),
         "metric_min_eigenvalue_relative": (maps, np.array(bottom)),
         f"{W}_per_qubit_vs_J": (("J",), vs_J[:, 0]),
         f"{W}_per_qubit_vs_b": (("b",), vs_b[:, 0]),
         f"{W}_per_qubit_vs_b_noninteracting": (("b",), vs_b0[:, 0]),
         f"{L2}_per_qubit_vs_J": (("J",), vs_J[:, 1]),
         f"{L2}_per_qubit_vs_b": (("b",), vs_b[:, 1]),
         f"{L2}_per_qubit_vs_b_noninteracting": (("b",), vs_b0[:, 1]),
         f"{W}_single_qubit": ((), single),
         f"{L2}_single_qubit": ((), single_L2)},
        coords={"machine": list(machines),
                "machine_title": ("machine", machine_titles(params["machines"])),
                plane[0]: xs, plane[1]: ys, "J": Js, "b": bs})
    ds.attrs.update(protocol=f"circle centre {tuple(pr['center'])} radius {pr['radius']} in "
                    f"{plane}", b_at_fixed_J=params["b_at_fixed_J"],
                    protocol_tex=(rf"circle of centre $({math_name(plane[0])}, "
                                  rf"{math_name(plane[1])}) = ({pr['center'][0]:g}, "
                                  rf"{pr['center'][1]:g})\,T$, radius ${pr['radius']:g}\,T$"),
                    J_at_fixed_b=params["J_at_fixed_b"])
    for name in ds.data_vars:
        ds[name].attrs["units"] = (UNITS[name] if name in UNITS else "energy time")  # W, L^2
    for name, units in {plane[0]: "parameter unit", plane[1]: "parameter unit",
                        "J": "energy", "b": "1"}.items():
        ds[name].attrs["units"] = units
    return ds


def draw(ds: xr.Dataset):
    import matplotlib.pyplot as plt
    from matplotlib.colors import LogNorm

    labels = list(ds.machine.values)
    fig = plt.figure(figsize=(4.2 * len(labels), 8.0), constrained_layout=True)
    sub = fig.subfigures(2, 1, height_ratios=[1.1, 1.0])
    axes = sub[0].subplots(1, len(labels))
    px, py = [d for d in ds.metric_trace.dims if d != "machine"][::-1]
    for k, (ax, lab) in enumerate(zip(axes, labels)):
        tr = ds.metric_trace.sel(machine=lab).values
        im = ax.pcolormesh(ds[px], ds[py], tr, norm=LogNorm(vmin=max(np.nanmin(tr), 1e-6 *
                           np.nanmax(tr)), vmax=np.nanmax(tr)), cmap="viridis",
                           shading="gouraud", rasterized=True)
        title = str(ds.machine_title.sel(machine=lab).values) if "machine_title" in ds.coords \
            else lab.replace("_", " ")
        ax.set_title(f"({'abc'[k]}) {title}", fontsize=9)
        ax.set_xlabel(rf"field ${math_name(px)}\,/\,T$")
        ax.set_ylabel(rf"field ${math_name(py)}\,/\,T$")
        ax.set_aspect("equal")
        sub[0].colorbar(im, ax=ax, shrink=0.8,
                        label=r"metric trace $\mathrm{tr}\,g$ ($\hbar/T^2$)")
    a1, a2 = sub[1].subplots(1, 2)
    single = float(ds.dissipated_work_coefficient_single_qubit)
    a1.plot(ds.J, ds.dissipated_work_coefficient_per_qubit_vs_J, "o-",
            label=f"two qubits, $b = {ds.attrs['b_at_fixed_J']:g}$")
    a1.axhline(single, color="k", ls="--", label="one qubit")
    a1.set_xlabel(r"exchange $J\,/\,T$")
    a1.set_title(r"(d) against the exchange $J$", fontsize=9)
    a2.plot(ds.b, ds.dissipated_work_coefficient_per_qubit_vs_b, "o-",
            label=f"two qubits, $J = {ds.attrs['J_at_fixed_b']:g}\\,T$")
    a2.plot(ds.b, ds.dissipated_work_coefficient_per_qubit_vs_b_noninteracting, "s--",
            label="two qubits, $J = 0$")
    a2.axhline(single, color="k", ls="--", label="one qubit")
    a2.set_xlabel(r"coupling asymmetry $b$")
    a2.set_yscale("log")
    a2.set_title(r"(e) against the coupling asymmetry $b$", fontsize=9)
    for ax in (a1, a2):
        ax.set_ylabel(r"dissipated work per qubit $\tau W_{\rm diss}$ ($\hbar$)")
        ax.legend(fontsize=8)
    sub[1].suptitle(ds.attrs.get("protocol_tex", ds.attrs["protocol"]) + r", at uniform speed",
                    fontsize=9)
    return fig


def check(ds: xr.Dataset) -> dict:
    psd = float(np.nanmin(ds.metric_min_eigenvalue_relative.values))
    W, L2 = "dissipated_work_coefficient", "thermodynamic_length_squared"
    suffixes = ("per_qubit_vs_J", "per_qubit_vs_b", "per_qubit_vs_b_noninteracting",
                "single_qubit")
    margin = min(float(np.min(ds[f"{W}_{x}"].values - ds[f"{L2}_{x}"].values))
                 for x in suffixes)
    ours = {f"{W}_single_qubit": float(ds[f"{W}_single_qubit"])}
    for dim in ("J", "b"):
        ours[f"{W}_per_qubit_vs_{dim}"] = dict(zip(map(float, ds[dim].values),
                                                   map(float, ds[f"{W}_per_qubit_vs_{dim}"])))
    ours.update({"min_relative_metric_eigenvalue": psd,
                 f"min_{W}_minus_{L2}": margin})
    return {"ours": ours,
            "paper": "dissipated power depends non-trivially on J and b (figures 3-4)",
            **report_fields(
                psd >= -1e-10 and margin >= -1e-10,
                "metric positive semi-definite on every map (relative 1e-10) and "
                "tau W_diss >= L^2 for every protocol", [],
                "the paper shows these curves as figures without numbers to compare; the "
                "checked claims are the inequalities of the criterion")}
