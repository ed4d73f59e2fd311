"""Response maps on a grid of two parameters, as ``xarray.Dataset`` and NetCDF.

On the cartesian grid ``x_i, y_j`` of two parameters (the others at ``base``) the map holds,
per point, the exact slow-driving response (docs/theory.md section 4): the rotor ``Omega^alpha``
of every bath in the plane ``(x, y)``, the heat response ``Lambda^alpha_i``, the metric
``g_ij``, the entropy, the zeroth-order heat currents and the spectrum, all from one batched
:func:`thermogeo.response.response` call. Points where the steady state is not unique are NaN
and flagged in ``unique`` (a map does not stop at one bad point); ``differentiable`` flags
points where the secular generator has a kink. The file written by :func:`save_map` embeds the
model as TOML text (attribute ``model_toml``) so that a map is reproducible from itself.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from thermogeo.errors import ModelError, SecularApproximationWarning
from thermogeo.model.machine import Machine
from thermogeo.numerics import Numerics
from thermogeo.response import response
from thermogeo.io import dump_model


def _axis(spec, what):
    try:
        name, values = spec
        values = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise ModelError(f"{what}: expected (parameter name, values), got {spec!r}") from None
    if values.ndim != 1 or len(values) < 2 or not np.all(np.isfinite(values)):
        raise ModelError(f"{what}: expected at least two finite values for {name!r}, got "
                         f"shape {values.shape}")
    return str(name), values


def response_map(machine: Machine, x, y, base: dict | None = None, *,
                 correlations=None, numerics: Numerics | None = None):
    """Response of ``machine`` on the grid ``x x y`` of two parameters.

    Parameters
    ----------
    machine : Machine
    x, y : (str, array (n_x,)) and (str, array (n_y,))
        Parameter names and grid values; the plane of the rotor is ``(x, y)``.
    base : dict, optional
        Values of the other parameters (default: the machine's).
    correlations : list of str, optional
        Correlation measures to map too (:mod:`thermogeo.response.correlations`), e.g.
        ``["concurrence:0,1", "concurrence:0,1@thermal"]``: one variable ``(x, y)`` each.
    numerics : Numerics, optional

    Returns
    -------
    xarray.Dataset with dims ``(x, y)`` named after the parameters, ``bath``, ``parameter``:
    ``rotor (x, y, bath)`` ``Omega^alpha = d_x Lambda^alpha_y - d_y Lambda^alpha_x``,
    ``heat_response (x, y, bath, parameter)``, ``metric (x, y, parameter, parameter2)``,
    ``entropy (x, y)``, ``heat_current (x, y, bath)``, ``spectrum (x, y, level)``,
    ``unique (x, y)``, ``differentiable (x, y, parameter)``; units in each variable's
    attributes; the model as TOML in ``attrs["model_toml"]``.

    Examples
    --------
    >>> import numpy as np
    >>> from thermogeo.io import load_model
    >>> ds = response_map(load_model("models/qubit_pump.toml"), ("Bx", [0.5, 0.7]),
    ...                   ("Bz", [0.4, 0.6]))
    >>> ds.rotor.dims, ds.rotor.shape
    (('Bx', 'Bz', 'bath'), (2, 2, 2))
    """

    (xn, xs), (yn, ys) = _axis(x, "x"), _axis(y, "y")
    if xn == yn:
        raise ModelError(f"x, y: expected two different parameters, got {xn!r} twice")
    ix, iy = machine.parameter_index(xn), machine.parameter_index(yn)
    lam = np.broadcast_to(machine.point(base or {}), (len(xs), len(ys), len(machine.parameters))
                          ).copy()
    lam[..., ix] = xs[:, None]
    lam[..., iy] = ys[None, :]
    with warnings.catch_warnings():
        # kinks are recorded per point in `differentiable`
        warnings.simplefilter("ignore", SecularApproximationWarning)
        r = response(machine, lam, plane=(xn, yn), correlations=correlations,
                     numerics=numerics, check=False)
    ds = r.to_dataset({xn: xs, yn: ys})
    ds["differentiable"] = ((xn, yn, "parameter"), np.asarray(r.differentiable))
    for n in (xn, yn):
        ds[n].attrs.update(long_name=f"parameter {n}", units="energy (parameter units)")
    ds.attrs.update(model_toml=dump_model(machine), plane=f"{xn},{yn}",
                    base=",".join(f"{k}={float(v)!r}" for k, v in zip(machine.parameter_names,
                                                               machine.point(base or {}))),
                    temperatures=",".join(f"{b}={float(t)!r}" for b, t in zip(
                        machine.bath_names, machine.temperatures)),
                    conventions="hbar = k_B = 1; heat into the system positive; rotor "
                                "counter-clockwise positive (docs/theory.md)")
    return ds


def save_map(ds, path: str | Path) -> Path:
    """Write a map (from :func:`response_map`) to NetCDF (h5netcdf engine)."""
    path = Path(path)
    out = ds.copy()
    for v in ("unique", "differentiable"):
        if v in out:
            out[v] = out[v].astype("int8")
            out[v].attrs["flag"] = "1 = true, 0 = false"
    out.to_netcdf(path, engine="h5netcdf")
    return path


def load_map(path: str | Path):
    """Read a map written by :func:`save_map`; the flags come back as booleans."""
    import xarray as xr

    ds = xr.load_dataset(path, engine="h5netcdf")
    for v in ("unique", "differentiable"):
        if v in ds:
            ds[v] = ds[v].astype(bool)
    return ds
