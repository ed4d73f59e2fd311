"""Which of the paper's dissipation features survive a better master equation.

The dissipation per qubit ``tau W_diss / 2`` of a fixed circle and the best pumped heat
``max Q^geo`` (the best single-sign region of the rotor of bath L) of the dimer (b = 2) against
the exchange J from 1e-6 to 4 on a log axis (and at J = 0), at two coupling strengths, one
curve per master equation of docs/theory.md section 13: ``secular`` (the paper's), ``ule``,
``cluster`` (width ten zero-frequency rates) and ``local``. Where the global members differ by
more than a stated spread the figure is shaded.

Checked (``claim_holds``): ``ule`` and ``cluster`` are continuous through J = 0 (J = 1e-6 within
1e-3 of J = 0) while the secular generator may jump there, and the three global members agree
within the spread at J = 2 T at the weaker coupling. The report states, per master equation,
whether two qubits dissipate less per qubit than one at J = 2 T (the paper's "sometimes
reducing dissipation per qubit") and the size of the jump between J = 0 and J = 1e-6.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import xarray as xr

from thermogeo.errors import SecondLawWarning, SecularApproximationWarning
from thermogeo.plot.style import math_name
from thermogeo.protocols.cycle import cycle_summary
from thermogeo.protocols.optimal import PolarRegion, optimal_region
from thermogeo.protocols.paths import Circle
from thermogeo.reproductions.common import machine, report_fields

NAME = "master_equations"
TITLE = "Dissipation per qubit and best pumped heat against J under four master equations"
TITLE_TEX = (r"Dissipation per qubit $\tau W_{\rm diss}/2$ and best pumped heat "
             r"$\max Q^{\rm geo}$ against the exchange $J$: secular, ULE, cluster, local")
GLOBAL = ("secular", "ule", "cluster")


def _variant(m, kind, strength, width_rates):
    m = m.with_values(**{f"{b}.strength": strength for b in m.bath_names})
    T = float(np.max(m.temperatures))
    width = width_rates * 2 * math.pi * strength * T if kind == "cluster" else None
    return m.with_master_equation(kind, width)


def compute(params: dict, quick: bool) -> xr.Dataset:
    plane = tuple(params["plane"])
    pr = params["protocol"]
    loop = Circle(plane, center=tuple(pr["center"]), radius=pr["radius"])
    lo, hi, n = params["J"]
    Js = np.unique(np.r_[0.0, 2.0, np.logspace(lo, hi, int(n))])
    kinds, strengths = list(params["kinds"]), [float(s) for s in params["strengths"]]
    nodes = int(params["nodes"])
    region = PolarRegion(radius=float(params["region_radius"]),
                         resolution=tuple(params["resolution"]))
    W = np.full((len(strengths), len(kinds), len(Js)), np.nan)
    Q = np.full_like(W, np.nan)
    single = np.full((len(strengths), len(kinds)), np.nan)
    with warnings.catch_warnings():
        # the secular generator outside its regime and the local one breaking the second law
        # are what this item measures, not noise
        warnings.simplefilter("ignore", SecularApproximationWarning)
        warnings.simplefilter("ignore", SecondLawWarning)
        for a, s in enumerate(strengths):
            for k, kind in enumerate(kinds):
                one = _variant(machine("one_qubit"), kind, s, params["cluster_width_rates"])
                single[a, k] = cycle_summary(one, loop, area=False, nodes=nodes,
                                             figures=False).dissipated_work_coefficient
                for j, J in enumerate(Js):
                    m = _variant(machine("dimer", J=float(J), b=params["b"]), kind, s,
                                 params["cluster_width_rates"])
                    W[a, k, j] = cycle_summary(m, loop, area=False, nodes=nodes,
                                               figures=False).dissipated_work_coefficient / 2
                    o = optimal_region(m, plane, m.bath_names[0], region=region)
                    Q[a, k, j] = o.max_geometric_heat
    glob = [kinds.index(g) for g in GLOBAL if g in kinds]
    spread = (np.nanmax(W[:, glob], axis=1) - np.nanmin(W[:, glob], axis=1)) / \
        np.nanmin(W[:, glob], axis=1)
    ds = xr.Dataset(
        {"dissipated_work_coefficient_per_qubit": (("strength", "kind", "J"), W),
         "dissipated_work_coefficient_single_qubit": (("strength", "kind"), single),
         "max_geometric_heat": (("strength", "kind", "J"), Q),
         "global_spread": (("strength", "J"), spread)},
        coords={"strength": strengths, "kind": kinds, "J": Js})
    ds.attrs.update(protocol=f"circle centre {tuple(pr['center'])} radius {pr['radius']} in "
                    f"{plane}", b=params["b"], disagree=params["disagree"],
                    cluster_width_rates=params["cluster_width_rates"],
                    region_radius=params["region_radius"],
                    protocol_tex=(rf"circle of centre $({math_name(plane[0])}, "
                                  rf"{math_name(plane[1])}) = ({pr['center'][0]:g}, "
                                  rf"{pr['center'][1]:g})\,T$, radius ${pr['radius']:g}\,T$"))
    units = {"dissipated_work_coefficient_per_qubit": "energy time",
             "dissipated_work_coefficient_single_qubit": "energy time",
             "max_geometric_heat": "energy", "global_spread": "1", "J": "energy",
             "strength": "1"}
    for name, u in units.items():
        ds[name].attrs["units"] = u
    return ds


LABELS = {"secular": "secular (Davies)", "ule": "universal Lindblad (ULE)",
          "cluster": "partially secular (cluster)", "local": "local"}


def draw(ds: xr.Dataset):
    import matplotlib.pyplot as plt

    S = len(ds.strength)
    fig, axes = plt.subplots(2, S, figsize=(5.2 * S, 7.4), constrained_layout=True,
                             squeeze=False)
    J = ds.J.values
    pos = J > 0
    for a, s in enumerate(ds.strength.values):
        shade = ds.global_spread.values[a] > ds.attrs["disagree"]
        for row, (var, ylabel) in enumerate((
                ("dissipated_work_coefficient_per_qubit",
                 r"dissipated work per qubit $\tau W_{\rm diss}/2$ ($\hbar$)"),
                ("max_geometric_heat", r"best pumped heat $\max Q^{\rm geo}_L$ ($T$)"))):
            ax = axes[row, a]
            for k, kind in enumerate(ds.kind.values):
                y = ds[var].values[a, k]
                line, = ax.plot(J[pos], y[pos], "o-", ms=3, label=LABELS.get(kind, kind))
                ax.plot([J[pos].min() / 3], [y[~pos][0]], marker="<", color=line.get_color(),
                        ms=7, clip_on=False)  # J = 0 at the left edge
                if row == 0:
                    ax.axhline(ds.dissipated_work_coefficient_single_qubit.values[a, k],
                               color=line.get_color(), ls=":", lw=0.8)
            for j in np.flatnonzero(shade[pos]):
                x = J[pos]
                left = x[j - 1] if j > 0 else x[j] / 2
                right = x[j + 1] if j + 1 < len(x) else x[j] * 1.5
                ax.axvspan(math.sqrt(left * x[j]), math.sqrt(x[j] * right), color="0.85",
                           zorder=0, lw=0)
            if row == 1:
                ax.axhline(2 * math.log(2), color="k", ls="--", lw=0.8,
                           label=r"$2\,T\ln 2$")
            ax.set_xscale("log")
            ax.set_xlabel(r"exchange $J\,/\,T$ (triangles: $J = 0$)")
            ax.set_ylabel(ylabel)
            ax.set_title(f"({'abcd'[row * S + a]}) coupling strength $\\kappa = {s:g}$",
                         fontsize=9)
            if a == 0:
                ax.legend(fontsize=7)
    fig.suptitle(ds.attrs["protocol_tex"] + r"; dotted: one qubit; shaded: the global master "
                 f"equations differ by more than {100 * ds.attrs['disagree']:g}%", fontsize=9)
    return fig


def _at(ds, var, a, kind, J):
    return float(ds[var].sel(kind=kind, J=J).values[a])


def _reduced(ds, a, kind) -> list[float]:
    """The J values (J = 0 included) where two qubits dissipate less per qubit than one."""
    w = ds.dissipated_work_coefficient_per_qubit.sel(kind=kind).values[a]
    one = float(ds.dissipated_work_coefficient_single_qubit.sel(kind=kind).values[a])
    return [float(f"{J:.3g}") for J, x in zip(ds.J.values, w) if x < one]


def check(ds: xr.Dataset) -> dict:
    kinds = list(ds.kind.values)
    Jsmall = float(ds.J.values[ds.J.values > 0].min())
    W = "dissipated_work_coefficient_per_qubit"
    ours, features = {}, {}
    continuous = True
    for a, s in enumerate(ds.strength.values):
        reduced = {kind: _reduced(ds, a, kind) for kind in kinds}
        for kind in kinds:
            w0, w1 = _at(ds, W, a, kind, 0.0), _at(ds, W, a, kind, Jsmall)
            jump = abs(w1 - w0) / w0
            ours[f"strength {s:g}, {kind}"] = {
                "dissipation_per_qubit_J0": w0, f"dissipation_per_qubit_J{Jsmall:g}": w1,
                "relative_jump_at_J0": jump,
                "J_where_less_per_qubit_than_one_qubit": reduced[kind],
                "max_geometric_heat_at_J2": _at(ds, "max_geometric_heat", a, kind, 2.0)}
            if kind in ("ule", "cluster") and jump > 1e-3:
                continuous = False
        better = [k for k in ("ule", "cluster") if k in kinds]
        if "secular" in kinds and better:
            both = [J for J in reduced["secular"] if all(J in reduced[k] for k in better)]
            # J values are rounded to 3 digits in the report
            only = [J for J in reduced["secular"] if J not in both]
            features[f"strength {s:g}"] = (
                f"less dissipation per qubit than one qubit survives (secular and "
                f"{' and '.join(better)}) at J = {both or 'none'}; seen only by the secular "
                f"generator (an artefact of the secular approximation) at J = {only or 'none'}")
    a0 = int(np.argmin(ds.strength.values))
    at2 = [_at(ds, W, a0, k, 2.0) for k in GLOBAL if k in kinds]
    agree = (max(at2) - min(at2)) / min(at2) <= ds.attrs["disagree"]
    ours["paper_dissipation_features"] = features
    return {"ours": ours,
            "paper": "interactions redistribute dissipation, sometimes reducing dissipation "
                     "per qubit compared to single-qubit systems (figures 3-4; secular "
                     "generator only)",
            **report_fields(
                continuous and agree,
                "ule and cluster continuous through J = 0 (relative change below 1e-3 from "
                f"J = 0 to J = {Jsmall:g}) and the three global master equations within "
                f"{100 * ds.attrs['disagree']:g}% of each other at J = 2 T (weaker coupling)",
                [],
                "the paper uses the secular generator only; no published number exists for the "
                "other master equations")}
