"""Is beating the non-interacting bound 2 T ln 2 an effect of entanglement? (issue 16)

The reference work (arXiv:2511.16591) attributes the heat pumped per cycle beyond ``2 T ln 2``
by two exchange-coupled qubits to entanglement (first version) or to the interaction (revised).
This item tests the claim on data. For two qubits (``models/dimer.toml``: fields
``Bx (X0 + X1) + Bz (Z0 + Z1)``, bath L through ``X0 + b X1``, bath R through ``Z0 + b Z1``,
one temperature ``T``) with the exchange ``(J/4)(X0 X1 + Y0 Y1 + Delta Z0 Z1)`` (XXZ; ``Delta = 0``
is XY, ``Delta = 1`` Heisenberg) or ``(J/4) Z0 Z1`` (Ising), for every ``(exchange, J, b)``:

* the best single-sign region of the rotor of bath L in the (Bx, Bz) plane and the heat it
  pumps, ``max_geometric_heat`` (:func:`thermogeo.protocols.optimal.optimal_region`);
* the largest steady-state concurrence of the pair (and negativity, a second witness that is
  Lipschitz in the state) at the quadrature nodes of that region
  (:func:`thermogeo.response.response` with ``correlations=``).

A machine *beats the bound* when ``max_geometric_heat > 2 T ln 2 (1 + bound_rtol)`` (the margin
of ``optimal_region``); its steady state is *separable in the best region* when the concurrence
stays below ``concurrence_tolerance`` at every node. The tolerance (1e-6) sits far above the
resolution of the concurrence of a nearly pure double-precision state, about
``sqrt(eps) ~ 1e-8`` (the concurrence takes square roots of eigenvalues of ``rho``). With one
temperature the steady state is the Gibbs state of ``H``; for the Heisenberg dimer its
concurrence in any uniform field is ``max(0, e^{-J/4T}(e^{J/T} - 3)/Z)``, zero for
``J <= T ln 3`` and at most the zero-field value ``(e^{J/T} - 3)/(e^{J/T} + 3)`` (a check).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import xarray as xr

from thermogeo.conventions import LN2
from thermogeo.model.builders import exchange
from thermogeo.model.machine import HamiltonianTerm, Machine
from thermogeo.protocols.optimal import optimal_region
from thermogeo.reproductions.common import (compare_published, grid, machine, report_fields,
                                            symmetric_norm)
from thermogeo.response import response

NAME = "entanglement"
TITLE = "Pumped heat beyond 2 T ln 2 against the entanglement of the steady state"
TITLE_TEX = (r"Heat pumped per cycle beyond $2T\ln 2$ against the entanglement of the steady "
             "state")
LOOP_SAMPLES = 256
CONCURRENCE = "concurrence:0,1"
NEGATIVITY = "negativity:0|1"


def exchange_label(delta: float) -> str:
    """Coordinate label of an exchange: ``nan`` is Ising (Z0 Z1 only)."""
    if np.isnan(delta):
        return "Ising ZZ"
    return {0.0: "XY", 1.0: "Heisenberg"}.get(float(delta), f"XXZ Delta={delta:g}")


def exchange_tex(delta: float) -> str:
    """The same label in mathtext for figures."""
    if np.isnan(delta):
        return r"Ising $ZZ$"
    if delta == 0:
        return r"$XY$ ($\Delta = 0$)"
    if delta == 1:
        return r"Heisenberg ($\Delta = 1$)"
    return rf"$XXZ$, $\Delta = {delta:g}$"


def dimer(J: float, b: float, delta: float) -> Machine:
    """The shipped dimer with its exchange term replaced: ``(J/4)(XX + YY + delta ZZ)`` or,
    for ``delta = nan``, ``(J/4) ZZ``."""
    m = machine("dimer", J=J, b=b)
    where = [i for i, t in enumerate(m.hamiltonian) if "J" in str(t.coefficient)]
    if len(where) != 1:
        raise ValueError(f"models/dimer.toml: expected one exchange term with J, got {where}")
    if np.isnan(delta):
        op = exchange(2, kind="ising")
    else:
        kind = {0.0: "xy", 1.0: "heisenberg"}.get(float(delta), "xxz")
        op = exchange(2, kind=kind, delta=float(delta))
    terms = list(m.hamiltonian)
    terms[where[0]] = HamiltonianTerm(terms[where[0]].coefficient, op)
    return dataclasses.replace(m, hamiltonian=terms)


def _at(m: Machine, plane, pts: np.ndarray) -> np.ndarray:
    lam = np.broadcast_to(m.point(), pts.shape[:-1] + (len(m.parameters),)).copy()
    lam[..., m.parameter_index(plane[0])] = pts[..., 0]
    lam[..., m.parameter_index(plane[1])] = pts[..., 1]
    return lam


def _scan_one(m: Machine, plane, bath: str, resolution) -> tuple:
    opt = optimal_region(m, plane, bath, resolution=resolution)
    mask = opt.best_mask
    c = n = np.nan
    if mask.any():
        r = response(m, _at(m, plane, opt.points[mask]), correlations=[CONCURRENCE, NEGATIVITY])
        c = float(np.max(r.correlations["concurrence_0_1"]))
        n = float(np.max(r.correlations["negativity_0__1"]))
    s = np.arange(LOOP_SAMPLES + 1) / LOOP_SAMPLES
    loop = opt.loop.xy(s) if opt.loop is not None else np.full((len(s), 2), np.nan)
    return opt.max_geometric_heat / opt.temperature, c, n, loop, opt.bound_rtol


def compute(params: dict, quick: bool) -> xr.Dataset:
    plane = tuple(params["plane"])
    bath = params["bath"]
    res = params["optimal_resolution"]
    Js = np.asarray(params["J"], dtype=float)
    bs = np.asarray(params["b"], dtype=float)
    deltas = np.asarray(list(params["anisotropies"]) + ([np.nan] if params["ising"] else []))
    T = float(machine("dimer").temperatures[0])
    shape = (len(deltas), len(Js), len(bs))
    q, c, n = (np.full(shape, np.nan) for _ in range(3))
    loops = np.full(shape + (LOOP_SAMPLES + 1, 2), np.nan)
    rtol = np.nan
    for k, b in enumerate(bs):
        free = None  # J = 0 does not depend on the exchange: computed once per b
        for i, delta in enumerate(deltas):
            for j, J in enumerate(Js):
                if J == 0 and free is not None:
                    q[i, j, k], c[i, j, k], n[i, j, k], loops[i, j, k], rtol = free
                    continue
                out = _scan_one(dimer(J, b, delta), plane, bath, res)
                q[i, j, k], c[i, j, k], n[i, j, k], loops[i, j, k], rtol = out
                if J == 0:
                    free = out
    # maps: rotor and concurrence on a rectangular grid, with the loop of the same machine
    xs, ys = grid(params["grid"])
    X, Y = np.meshgrid(xs, ys, indexing="xy")  # (y, x)
    labels = list(params["maps"])
    rot, conc, map_loops, mJ, mb, md = [], [], [], [], [], []
    for lab in labels:
        spec = params["maps"][lab]
        d = float(spec.get("anisotropy", np.nan))
        i = np.flatnonzero(np.isclose(deltas, d) | (np.isnan(deltas) & np.isnan(d)))
        j = np.flatnonzero(np.isclose(Js, spec["J"]))
        k = np.flatnonzero(np.isclose(bs, spec["b"]))
        if not (len(i) and len(j) and len(k)):
            raise ValueError(f"map {lab!r}: {spec} is not a machine of the scan")
        m = dimer(spec["J"], spec["b"], d)
        r = response(m, _at(m, plane, np.stack([X, Y], -1)), plane=plane,
                     correlations=[CONCURRENCE])
        rot.append(r.rotor[..., m.bath_index(bath)])
        conc.append(r.correlations["concurrence_0_1"])
        map_loops.append(loops[i[0], j[0], k[0]])
        mJ.append(spec["J"] / T)
        mb.append(spec["b"])
        md.append(d)
    g3 = ("exchange", "J", "b")
    ds = xr.Dataset(
        {"max_geometric_heat_over_T": (g3, q, {"units": "1"}),
         "max_concurrence_in_best_region": (g3, c, {"units": "1"}),
         "max_negativity_in_best_region": (g3, n, {"units": "1"}),
         "loop": (g3 + ("s", "axis"), loops, {"units": "parameter unit"}),
         "rotor": (("map_machine", plane[1], plane[0]), np.array(rot),
                   {"units": "energy per parameter unit^2", "bath": bath}),
         "concurrence_0_1": (("map_machine", plane[1], plane[0]), np.array(conc),
                             {"units": "1", "long_name": "concurrence of the steady state"}),
         "map_loop": (("map_machine", "s", "axis"), np.array(map_loops),
                      {"units": "parameter unit"})},
        coords={"exchange": [exchange_label(d) for d in deltas],
                "anisotropy": ("exchange", deltas, {"units": "1"}),
                "J": ("J", Js / T, {"units": "1 (J / T)"}),
                "b": ("b", bs, {"units": "1"}),
                "s": ("s", np.arange(LOOP_SAMPLES + 1) / LOOP_SAMPLES, {"units": "1"}),
                "axis": list(plane), "map_machine": labels,
                "map_J": ("map_machine", np.array(mJ), {"units": "1 (J / T)"}),
                "map_b": ("map_machine", np.array(mb), {"units": "1"}),
                "map_anisotropy": ("map_machine", np.array(md), {"units": "1"}),
                plane[0]: (plane[0], xs, {"units": "parameter unit"}),
                plane[1]: (plane[1], ys, {"units": "parameter unit"})})
    ds.attrs.update(bound=2 * LN2, bound_rtol=float(rtol), temperature=T,
                    concurrence_tolerance=float(params["concurrence_tolerance"]),
                    heat_rtol=float(params["heat_rtol"]), bath=bath,
                    paper_heisenberg=float(params["paper_heisenberg"]),
                    paper_J=float(params["paper_point"]["J"]),
                    paper_b=float(params["paper_point"]["b"]),
                    paper_rtol=float(params["paper_rtol"]),
                    anisotropy_nan="Ising exchange (J/4) Z0 Z1")
    return ds


def heisenberg_zero_field_concurrence(J_over_T) -> np.ndarray:
    """Largest concurrence of the Heisenberg dimer's Gibbs state over uniform fields (at zero
    field): ``max(0, (e^{J/T} - 3)/(e^{J/T} + 3))`` (docs/correlations.md)."""
    e = np.exp(np.asarray(J_over_T, dtype=float))
    return np.maximum(0.0, (e - 3) / (e + 3))


def _beats(ds: xr.Dataset) -> xr.DataArray:
    return ds.max_geometric_heat_over_T > ds.attrs["bound"] * (1 + ds.attrs["bound_rtol"])


def draw(ds: xr.Dataset):
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    tol = ds.attrs["concurrence_tolerance"]
    bound = ds.attrs["bound"]
    px, py = ds.axis.values
    fig, axes = plt.subplots(2, 2, figsize=(11.5, 10.0), constrained_layout=True)
    # (a), (b): rotor maps with concurrence contours and the best loop
    levels = [0.01, 0.05, 0.1, 0.2, 0.3, 0.4, 0.6, 0.8]
    for ax, lab, letter in zip(axes[0], ds.map_machine.values, "ab"):
        sel = ds.sel(map_machine=lab)
        om, cc = sel.rotor.values, sel.concurrence_0_1.values
        im = ax.pcolormesh(ds[px], ds[py], om, cmap="RdBu_r", norm=symmetric_norm(om),
                           shading="auto", rasterized=True)
        ax.contour(ds[px], ds[py], np.sign(om), levels=[0], colors="0.4", linewidths=0.5)
        if np.nanmax(cc) > tol:
            cs = ax.contour(ds[px], ds[py], cc, levels=[v for v in levels if v < np.nanmax(cc)],
                            colors="k", linewidths=0.9)
            ax.clabel(cs, fontsize=7, fmt="%g")
            ax.contour(ds[px], ds[py], cc, levels=[tol], colors="k", linestyles=":",
                       linewidths=0.9)
            note = "black: steady-state concurrence $C$"
        else:
            note = rf"$C < 10^{{{np.log10(tol):.0f}}}$ everywhere (separable)"
        lp = sel.map_loop.values
        ax.plot(lp[:, 0], lp[:, 1], color="gold", lw=2.4)
        ax.set_xlim(float(ds[px].min()), float(ds[px].max()))
        ax.set_ylim(float(ds[py].min()), float(ds[py].max()))
        ax.set_aspect("equal")
        J, b = float(sel.map_J), float(sel.map_b)
        ax.set_title(f"({letter}) {exchange_tex(float(sel.map_anisotropy))} dimer, "
                     f"$J = {J:g}\\,T$, $b = {b:g}$: rotor of bath L,\n"
                     f"best loop (gold); {note}", fontsize=9)
        ax.set_xlabel(f"field ${px[0]}_{{{px[1:]}}}$ / $T$")
        ax.set_ylabel(f"field ${py[0]}_{{{py[1:]}}}$ / $T$")
        fig.colorbar(im, ax=ax, shrink=0.85, label=r"rotor $\Omega^L$ ($1/T$)")
    # (c): Heisenberg dimer, best heat and largest concurrence against J
    ax = axes[1, 0]
    heis = [e for e, d in zip(ds.exchange.values, ds.anisotropy.values) if d == 1.0]
    tw = ax.twinx()
    colors = plt.cm.viridis(np.linspace(0.1, 0.8, ds.sizes["b"]))
    if heis:
        sel = ds.sel(exchange=heis[0])
        for col, b in zip(colors, ds.b.values):
            ax.plot(ds.J, sel.max_geometric_heat_over_T.sel(b=b), "o-", color=col, ms=4,
                    label=f"$b = {b:g}$")
            tw.plot(ds.J, sel.max_concurrence_in_best_region.sel(b=b), "s--", color=col,
                    ms=3.5, mfc="none")
        Jf = np.linspace(float(ds.J.min()), float(ds.J.max()), 400)
        tw.plot(Jf, heisenberg_zero_field_concurrence(Jf), color="0.5", lw=0.8, ls=":")
    ax.axhline(bound, color="k", ls="--", lw=1)
    ax.axvline(np.log(3), color="0.5", lw=0.8)
    ax.text(np.log(3), 0.03, r" $J = T\ln 3$", fontsize=8, va="bottom", color="0.3",
            transform=ax.get_xaxis_transform())
    ax.set_xlabel(r"exchange $J\,/\,T$")
    ax.set_ylabel(r"best pumped heat $Q_{\max}\,/\,T$ (circles)")
    tw.set_ylabel(r"largest concurrence $C$ in the best region (squares)")
    tw.set_ylim(-0.02, 1.02)
    handles, _ = ax.get_legend_handles_labels()
    handles += [Line2D([], [], color="k", ls="--", label=r"$2\ln 2$"),
                Line2D([], [], color="0.5", ls=":", label=r"zero-field Gibbs $C$")]
    ax.legend(handles=handles, fontsize=7, loc="upper left")
    ax.set_title("(c) Heisenberg dimer: best pumped heat and largest concurrence\n"
                 "in the best region against the exchange $J$", fontsize=9)
    # (d): every machine, excess over the bound against the largest concurrence
    ax = axes[1, 1]
    markers = "osD^vP"
    ex_colors = plt.cm.tab10(np.arange(ds.sizes["exchange"]))
    for col, e in zip(ex_colors, ds.exchange.values):
        for mk, b in zip(markers, ds.b.values):
            sel = ds.sel(exchange=e, b=b)
            ax.scatter(sel.max_concurrence_in_best_region,
                       sel.max_geometric_heat_over_T - bound, s=22, marker=mk,
                       color=col, alpha=0.85, linewidths=0)
    ax.axhline(0.0, color="k", ls="--", lw=1)
    sep = (ds.max_concurrence_in_best_region < tol) & _beats(ds)
    ax.scatter(ds.max_concurrence_in_best_region.where(sep),
               (ds.max_geometric_heat_over_T - bound).where(sep), s=90, marker="o",
               facecolors="none", edgecolors="k", linewidths=1.0)
    ax.text(0.98, 0.97, f"circled: {int(sep.sum())} of {int(_beats(ds).sum())} machines "
            rf"above $2T\ln 2$" "\n" rf"with $C < 10^{{{np.log10(tol):.0f}}}$ in the whole "
            "best region", transform=ax.transAxes, fontsize=8, va="top", ha="right",
            bbox=dict(boxstyle="round", fc="white", ec="0.7"))
    handles = [Line2D([], [], ls="", marker="o", color=col, label=exchange_tex(float(d)))
               for col, d in zip(ex_colors, ds.anisotropy.values)]
    handles += [Line2D([], [], ls="", marker=mk, color="0.3", label=f"$b = {b:g}$")
                for mk, b in zip(markers, ds.b.values)]
    ax.legend(handles=handles, fontsize=7, loc="lower right", ncol=2)
    ax.set_xlabel(r"largest steady-state concurrence $C$ in the best region")
    ax.set_ylabel(r"$(Q_{\max} - 2T\ln 2)\,/\,T$")
    ax.set_xlim(-0.03, 1.0)
    ax.set_title(f"(d) every exchange, $J/T$ from {float(ds.J.min()):g} to "
                 f"{float(ds.J.max()):g}: heat above the bound\nagainst the entanglement of "
                 "the steady state in the best region", fontsize=9)
    return fig


def check(ds: xr.Dataset) -> dict:
    tol = ds.attrs["concurrence_tolerance"]
    bound = ds.attrs["bound"]
    q = ds.max_geometric_heat_over_T
    c = ds.max_concurrence_in_best_region
    n = ds.max_negativity_in_best_region
    beats = _beats(ds)
    rows = []
    for e in ds.exchange.values:
        for J in ds.J.values:
            for b in ds.b.values:
                at = dict(exchange=e, J=J, b=b)
                if bool(beats.sel(at)):
                    rows.append({"exchange": str(e), "J": float(J), "b": float(b),
                                 "max_geometric_heat_over_T": float(q.sel(at)),
                                 "max_concurrence_in_best_region": float(c.sel(at)),
                                 "max_negativity_in_best_region": float(n.sel(at))})
    winners = [r for r in rows if r["max_concurrence_in_best_region"] < tol]
    # checks of the data (not of the verdict, which is the finding)
    has_free = bool(np.any(ds.J.values == 0.0))
    free_q = q.sel(J=0.0).values if has_free else np.array([np.nan])
    free_c = c.sel(J=0.0).values if has_free else np.array([np.nan])
    free_err = float(np.max(np.abs(free_q - bound)) / bound)
    in_range = bool(np.all(np.isfinite(c)) and float(c.min()) >= 0.0
                    and float(c.max()) <= 1.0 + 1e-12)
    heis = ds.anisotropy.values == 1.0
    closed = heisenberg_zero_field_concurrence(ds.J.values)[None, :, None]
    heis_excess = (float(np.max(c.values[heis] - closed)) if heis.any() else 0.0)
    passed = bool(free_err <= ds.attrs["heat_rtol"] and float(np.max(free_c)) < tol
                  and in_range and heis_excess <= tol and np.all(np.isfinite(q)))
    published = []
    if has_free:
        published.append(compare_published(
            "largest heat per cycle of two non-interacting qubits (J = 0), the bound 2 T ln 2",
            float(np.max(free_q)), bound, ds.attrs["heat_rtol"],
            "the J = 0 best region is a quadrant, integrated exactly up to the truncation "
            "radius (decision 0302)", where="every exchange and b of the scan"))
    paper = ds.attrs.get("paper_heisenberg")
    if paper is not None and heis.any():
        at = dict(exchange=ds.exchange.values[heis][0], J=ds.attrs["paper_J"],
                  b=ds.attrs["paper_b"])
        if at["J"] in ds.J.values and at["b"] in ds.b.values:
            published.append(compare_published(
                "largest heat pumped per cycle from bath L, Heisenberg dimer",
                float(q.sel(at)), paper, ds.attrs["paper_rtol"],
                "the paper gives 5 digits; 1 % also covers this item's coarse polar grid "
                "(quick 32 x 48 nodes, 1e-3 at 64 x 96; decision 0302)",
                where=f"J = {at['J']:g} T, b = {at['b']:g}"))
    if winners:
        best = max(winners, key=lambda r: r["max_geometric_heat_over_T"])
        verdict = (f"{len(winners)} of {len(rows)} machines above 2 T ln 2 keep a separable "
                   f"steady state (concurrence < {tol:g}) in their whole best region, e.g. "
                   f"{best['exchange']} J = {best['J']:g} T, b = {best['b']:g}: "
                   f"{best['max_geometric_heat_over_T']:.4f} T > {bound:.4f} T with "
                   f"concurrence {best['max_concurrence_in_best_region']:.1e}; entanglement "
                   "is not needed to beat the bound")
    else:
        verdict = (f"none of the {len(rows)} machines above 2 T ln 2 keeps a separable steady "
                   f"state in its best region (concurrence < {tol:g})")
    entangled_below = int(((c >= tol) & ~beats).sum())
    return {"ours": {"beats_bound_while_separable": bool(winners), "verdict": verdict,
                     "machines": int(q.size), "machines_beating_bound": rows,
                     "separable_machines_beating_bound": len(winners),
                     "entangled_machines_not_beating_bound": entangled_below,
                     "max_geometric_heat_over_T": float(q.max()),
                     "noninteracting_max_geometric_heat_over_T": float(np.max(free_q)),
                     "noninteracting_rel_error_to_bound": free_err,
                     "noninteracting_max_concurrence_in_best_region": float(np.max(free_c)),
                     "max_concurrence_in_best_region_range": [float(c.min()), float(c.max())],
                     "heisenberg_concurrence_above_closed_form": heis_excess,
                     "concurrence_tolerance": tol},
            "paper": {"bound": bound,
                      "claim": "the enhancement over 2 T ln 2 is due to entanglement (first "
                               "version) / to the interaction (revised version)"},
            **report_fields(
                passed, "data checks, not the verdict: J = 0 reaches 2 T ln 2 to heat_rtol "
                "with zero concurrence; every concurrence finite and in [0, 1]; the Heisenberg "
                "dimer never above its zero-field Gibbs concurrence max(0, (e^{J/T} - 3)/"
                "(e^{J/T} + 3)) + tolerance. The verdict: does some machine beat 2 T ln 2 "
                "(margin bound_rtol) with concurrence below the tolerance at every node of its "
                "best region?", published)}
