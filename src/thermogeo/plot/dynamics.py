"""Figures of the exact dynamics against the expansion: Dataset in, Figure out.

* :func:`convergence_figure` -- ``|exact - expansion|`` against the period on log-log axes,
  first and second order, with the fitted slopes (from :func:`thermogeo.dynamics.convergence`).
* :func:`balance_figure` -- the energy-entropy balance along the path (from
  :func:`thermogeo.dynamics.balance_along`): geometric heat rates and their sum against
  ``T dS/ds``; second-order heat rates summed against minus the dissipated power.
"""

from __future__ import annotations

import numpy as np

from thermogeo.plot.style import math_name


def convergence_figure(ds, ax=None):
    """Log-log plot of the error of the first- and second-order expansion against ``tau``.

    Parameters
    ----------
    ds : xarray.Dataset
        :meth:`thermogeo.dynamics.Convergence.to_dataset`.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    if ax is None:
        fig, ax = plt.subplots(figsize=(5.5, 4.0), layout="constrained")
    else:
        fig = ax.figure
    tau = ds["period"].values
    for i, b in enumerate(ds["bath"].values):
        e1 = np.abs(ds["error_order1"].sel(bath=b).values)
        e2 = np.abs(ds["error_order2"].sel(bath=b).values)
        s1 = float(ds["slope_order1"].sel(bath=b))
        s2 = float(ds["slope_order2"].sel(bath=b))
        q = f"Q_{{{math_name(b)}}}"
        ax.loglog(tau, e1, "o-", color=f"C{i}",
                  label=rf"$|{q} - Q^{{\rm geo}}_{{{math_name(b)}}}|$ (slope {s1:.2f})")
        ax.loglog(tau, e2, "s--", color=f"C{i}",
                  label=rf"$|{q} - Q^{{\rm geo}}_{{{math_name(b)}}} - Q^{{(2)}}_{{{math_name(b)}}}"
                        rf"/\tau|$ (slope {s2:.2f})")
    ax.loglog(tau, ds["error_estimate"].values, ":", color="gray",
              label="error estimate of the exact solver")
    ax.set_xlabel(r"period $\tau$ (time, $\hbar = 1$)")
    order = ds.attrs.get("order")
    solver = str(ds.attrs.get("method", "?")).replace("_", " ") + (f", order {order}" if order
                                                                  else "")
    ax.set_title(f"Exact periodic dynamics ({solver}) against the slow-driving expansion",
                 fontsize=9)
    ax.set_ylabel("absolute error of the expanded heat per cycle (energy)")
    ax.legend(fontsize="small")
    return fig


def balance_figure(ds, axes=None):
    """Energy-entropy balance along the path, two panels (first and second order).

    Parameters
    ----------
    ds : xarray.Dataset
        :meth:`thermogeo.dynamics.Balance.to_dataset` (with or without ``exact_*``).
    axes : two matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    if axes is None:
        fig, axes = plt.subplots(1, 2, figsize=(10, 4.0), layout="constrained")
    else:
        fig = axes[0].figure
    s = ds["s"].values
    a1, a2 = axes
    for b in ds["bath"].values:
        n = math_name(b)
        a1.plot(s, ds["geometric_heat_rate"].sel(bath=b), label=rf"$j^{{(1)}}_{{{n}}}$")
        a2.plot(s, ds["second_order_heat_rate"].sel(bath=b), label=rf"$j^{{(2)}}_{{{n}}}$")
    a1.plot(s, ds["geometric_heat_rate_sum"], "k-", lw=2, label=r"$\sum_\alpha j^{(1)}_\alpha$")
    a1.plot(s, ds["T_dS_ds"], "r--", lw=1.5, label=r"$T\,dS/ds$")
    a2.plot(s, ds["second_order_heat_rate_sum"], "k-", lw=2,
            label=r"$\sum_\alpha j^{(2)}_\alpha$")
    a2.plot(s, -ds["dissipated_power"], "r--", lw=1.5, label=r"$-p^{(2)}$ (dissipated power)")
    a2.plot(s, ds["energy_order1_ds"] - ds["dissipated_power"], "g:", lw=1.5,
            label=r"$-p^{(2)} + de^{(1)}/ds$")
    if "exact_geometric_heat_rate_sum" in ds:
        tau = ds.attrs.get("period", float("nan"))
        a1.plot(s, ds["exact_geometric_heat_rate_sum"], "o", ms=3, mfc="none",
                label=rf"exact sum, $\tau = {tau:g}$")
        a2.plot(s, ds["exact_second_order_heat_rate_sum"], "o", ms=3, mfc="none",
                label=rf"exact sum, $\tau = {tau:g}$")
    a1.set_title(r"first order: $\sum_\alpha j^{(1)}_\alpha = T\,dS/ds$", fontsize=9)
    a2.set_title("second order: heat rates against the dissipated power", fontsize=9)
    for a in axes:
        a.set_xlabel(r"time along the cycle $s = t/\tau$")
        a.axhline(0, color="gray", lw=0.5)
        a.legend(fontsize="small")
    a1.set_ylabel(r"first-order heat rate $j^{(1)} = \tau J^{(1)}$ (energy)")
    a2.set_ylabel(r"second-order heat rate $j^{(2)} = \tau^2 J^{(2)}$ (energy $\times$ time)")
    return fig
