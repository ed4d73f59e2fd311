"""Resumable Zarr storage of a sweep: written block by block as tasks finish.

Layout (one Zarr group, format 2, read with :func:`load_result` or ``xarray.open_zarr``):

- one variable per computed field with dims ``(*sweep dims, *inner dims)``, chunked so that one
  task block is one Zarr chunk along the sweep dims;
- ``status (*sweep)``: ``"ok"``, ``"error"`` or ``""`` (not computed yet); ``message (*sweep)``:
  the error, or the warnings of an ok point; ``run (*sweep)``: the number of the run that
  computed the point (0: none);
- attributes: ``sweep_toml``, ``model_toml``, ``sweep_sha256`` (hash of both texts),
  ``thermogeo_version``, ``kind``, ``runs_json`` (one record per run: start, end, executor,
  points computed, ok, error, interrupted).

Crash safety: the driver is the only writer. It writes a block's values first and its status
last, so a block cut short by a crash is still "missing" and is recomputed on the next run;
finished blocks are never recomputed. Resuming with a changed sweep or model file is refused
(:class:`SweepMismatchError`) unless the store is overwritten. A run holds ``RESULT.zarr.lock``
(host and pid) beside the store; a second run is refused while that process lives.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import time
from pathlib import Path

import numpy as np

from thermogeo.errors import ModelError, SweepMismatchError
from thermogeo.sweeps.spec import SweepSpec
from thermogeo.sweeps.tasks import MESSAGE_CHARS, STATUS_ERROR, ChunkResult
from thermogeo.version import __version__

ZARR_FORMAT = 2  # fixed-width text (status, message) has a stable encoding only in format 2
LOCK_SUFFIX = ".lock"  # RESULT.zarr.lock beside the store (zarr warns about foreign files)


#: Field names of stores written before docs/decisions/0007-names.md -> the names now. Such
#: stores are still read (:func:`load_result` renames the variables); resuming one is refused.
LEGACY_NAMES = {
    "pumped_heat": "geometric_heat", "pumped_heat_area": "geometric_heat_area",
    "A": "bath_geometric_heat", "A2_over_L2": "power_figure_of_merit",
    "dissipation": "dissipated_work_coefficient", "length": "thermodynamic_length",
    "max_pumped_heat": "max_geometric_heat", "max_pumped_heat_over_T":
    "max_geometric_heat_over_T", "loop_pumped_heat": "loop_geometric_heat",
    "expansion_heat_order1": "expansion_geometric_heat",
    "expansion_work_order2": "expansion_dissipated_work",
}
LEGACY_KINDS = ("cycle", "optimal", "exact")  # the response kind kept its names


def _version() -> str:
    return __version__


class SweepStore:
    """A sweep's Zarr store on disk.

    Parameters
    ----------
    path : str or Path
        The ``RESULT.zarr`` folder.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)

    # -- lifecycle -----------------------------------------------------------------------
    @property
    def exists(self) -> bool:
        return (self.path / ".zgroup").exists()

    @classmethod
    def open(cls, path: str | Path, spec: SweepSpec, *, overwrite: bool = False) -> SweepStore:
        """Open the store for ``spec``: create it if absent (or if ``overwrite``), otherwise
        check that it was made by the same sweep and model files.

        Raises
        ------
        SweepMismatchError
            The store's ``sweep_sha256`` differs from ``spec.sha256``.
        """
        st = cls(path)
        if overwrite:
            st._refuse_if_locked()
        if st.path.exists() and not st.exists:
            if overwrite:
                shutil.rmtree(st.path)
            elif any(st.path.iterdir()):
                raise ModelError(f"--out {str(st.path)!r}: exists and is not a sweep store; "
                                 "choose another path or pass --overwrite to replace it")
        if st.exists and overwrite:
            shutil.rmtree(st.path)
        if not st.exists:
            st._create(spec)
        else:
            st.check(spec)
        return st

    def _create(self, spec: SweepSpec) -> None:
        import dask.array as da
        import xarray as xr

        cs = spec.chunk_shape
        dims = spec.dims
        data = {
            "status": (dims, da.full(spec.shape, "", dtype=f"<U{len(STATUS_ERROR)}", chunks=cs),
                       {"flag_meanings": "ok error (empty: not computed yet)"}),
            "message": (dims, da.full(spec.shape, "", dtype=f"<U{MESSAGE_CHARS}", chunks=cs),
                        {"long_name": "error, or warnings of an ok point"}),
            "run": (dims, da.zeros(spec.shape, dtype="i2", chunks=cs),
                    {"long_name": "number of the run that computed the point (0: none)"}),
        }
        ds = xr.Dataset(data, coords=spec.coords())
        ds.attrs.update({
            "title": f"thermogeo sweep of {spec.model_name}: kind {spec.kind}",
            "kind": spec.kind, "model_name": spec.model_name,
            "sweep_toml": spec.sweep_text, "model_toml": spec.model_text,
            "sweep_sha256": spec.sha256, "thermogeo_version": _version(),
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "sweep_dims": ",".join(dims), "chunk_shape": ",".join(map(str, cs)),
            "runs_json": "[]", "fields_json": "[]",
        })
        ds.to_zarr(self.path, mode="w", compute=False, zarr_format=ZARR_FORMAT,
                   consolidated=False)

    def _group(self, mode: str = "r+"):
        import zarr

        return zarr.open_group(self.path, mode=mode, zarr_format=ZARR_FORMAT)

    @property
    def attrs(self) -> dict:
        return dict(self._group("r").attrs)

    def check(self, spec: SweepSpec) -> None:
        """Refuse a store made by another sweep/model file, or with the field names of an
        older thermogeo (:data:`LEGACY_NAMES`)."""
        a = self.attrs
        if a.get("sweep_sha256") != spec.sha256:
            raise SweepMismatchError(
                f"{str(self.path)!r} was made by a different sweep or model file (hash "
                f"{str(a.get('sweep_sha256'))[:12]}..., now {spec.sha256[:12]}...); pass "
                "--overwrite to discard its results, or choose another --out")
        old = sorted(set(self.fields()) & set(LEGACY_NAMES)) if spec.kind in LEGACY_KINDS \
            else []
        if old:
            raise SweepMismatchError(
                f"{str(self.path)!r} was written by an older thermogeo with the field names "
                f"{', '.join(old)} (now {', '.join(LEGACY_NAMES[k] for k in old)}, "
                "docs/decisions/0007-names.md); load_result and export still read it; pass "
                "--overwrite to compute it anew, or choose another --out")

    @property
    def lock_path(self) -> Path:
        return self.path.with_name(self.path.name + LOCK_SUFFIX)

    def _refuse_if_locked(self) -> None:
        path = self.lock_path
        try:
            other = json.loads(path.read_text())
        except (OSError, ValueError):
            return
        if other.get("host") == socket.gethostname() and _alive(other.get("pid")) and \
                other.get("pid") != os.getpid():
            raise ModelError(f"{str(self.path)!r} is being written by another run (pid "
                             f"{other['pid']}); it cannot be overwritten now")

    @contextlib.contextmanager
    def lock(self):
        """Hold the store for one run: a second run on the same store is refused while the
        first one's process is alive (a stale lock of a dead process is taken over)."""
        path = self.lock_path
        me = {"host": socket.gethostname(), "pid": os.getpid()}
        for _ in range(2):
            try:
                fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            except FileExistsError:
                try:
                    other = json.loads(path.read_text())
                except (OSError, ValueError):
                    other = {}
                if other.get("host") == me["host"] and _alive(other.get("pid")):
                    raise ModelError(f"{str(self.path)!r} is being written by another run "
                                     f"(pid {other['pid']}); wait for it or stop it") from None
                if other.get("host") not in (None, me["host"]):
                    raise ModelError(f"{str(self.path)!r} is locked by a run on host "
                                     f"{other['host']!r} (pid {other.get('pid')}); if that run "
                                     f"is gone, delete {str(path)!r}") from None
                path.unlink(missing_ok=True)  # stale: its process is gone
                continue
            with os.fdopen(fd, "w") as f:
                json.dump(me, f)
            break
        try:
            yield self
        finally:
            path.unlink(missing_ok=True)

    # -- state ---------------------------------------------------------------------------
    def status(self) -> np.ndarray:
        """``(*sweep)`` status strings: "ok", "error" or "" (missing)."""
        return np.asarray(self._group("r")["status"][...])

    def messages(self) -> np.ndarray:
        """``(*sweep)`` per-point messages."""
        return np.asarray(self._group("r")["message"][...])

    def runs(self) -> list[dict]:
        """One record per run so far."""
        return json.loads(self.attrs.get("runs_json", "[]"))

    def fields(self) -> set[str]:
        """Names of the computed fields already in the store."""
        return set(json.loads(self.attrs.get("fields_json", "[]")))

    def start_run(self, info: dict) -> int:
        runs = self.runs()
        n = len(runs) + 1
        runs.append({"run": n, "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"), **info})
        self._group().attrs["runs_json"] = json.dumps(runs)
        return n

    def finish_run(self, n: int, info: dict) -> None:
        runs = self.runs()
        runs[n - 1].update({"finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"), **info})
        self._group().attrs["runs_json"] = json.dumps(runs)

    # -- writing -------------------------------------------------------------------------
    def ensure_fields(self, spec: SweepSpec, result: ChunkResult) -> None:
        """Create the variables of ``result``'s fields (and their inner coordinates) the
        first time a block with an ok point arrives."""
        if not result.schema:
            return
        have = self.fields()
        if set(result.schema) <= have:
            return
        import dask.array as da
        import xarray as xr

        coords = {k: (d, v, a) for k, (d, v, a) in result.coords.items()}
        data = {}
        for name, (inner, attrs) in result.schema.items():
            if name in have:
                continue
            inner_shape = result.values[name].shape[len(spec.shape):]
            shape, chunks = spec.shape + inner_shape, spec.chunk_shape + inner_shape
            dtype = result.values[name].dtype
            fill = False if dtype.kind == "b" else "" if dtype.kind == "U" else np.nan
            data[name] = (spec.dims + inner, da.full(shape, fill, dtype=dtype, chunks=chunks),
                          attrs)
        g = self._group("r")
        coords = {k: v for k, v in coords.items() if k not in set(g.array_keys())}
        ds = xr.Dataset(data, coords=coords)
        # appending rewrites the group's attributes with the dataset's: carry them over
        ds.attrs.update(self.attrs)
        ds.attrs["fields_json"] = json.dumps(sorted(have | set(data)))
        ds.to_zarr(self.path, mode="a", compute=False, consolidated=False)

    def write(self, spec: SweepSpec, result: ChunkResult, run: int) -> None:
        """Store the computed points of one block: values, then message and run, status last.

        Raises
        ------
        ValueError
            The block's fields do not match the store's (shapes or names).
        """
        g = self._group()
        block, sel = result.block, result.computed
        if result.schema:
            have = self.fields()
            if set(result.schema) != have:
                raise ValueError(f"block fields {sorted(result.schema)} differ from the "
                                 f"store's {sorted(have)}")
            for name, vals in result.values.items():
                arr = g[name]
                cur = np.asarray(arr[block])
                if cur.shape != vals.shape:
                    raise ValueError(f"field {name!r}: block shape {vals.shape}, store "
                                     f"{cur.shape}")
                cur[sel] = vals[sel]
                arr[block] = cur
        for name, vals in (("message", result.message),
                           ("run", np.full(sel.shape, run, dtype="i2")),
                           ("status", result.status)):
            arr = g[name]
            cur = np.asarray(arr[block])
            cur[sel] = vals[sel]
            arr[block] = cur

    # -- reading -------------------------------------------------------------------------
    def load(self):
        """The stored results as an in-memory ``xarray.Dataset``."""
        return load_result(self.path)


def _alive(pid) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # pragma: no cover - someone else's process
        return True
    return True


def load_result(path: str | Path):
    """Read a sweep store into memory.

    Parameters
    ----------
    path : str or Path
        A ``RESULT.zarr`` written by :func:`thermogeo.sweeps.run_sweep`.

    Returns
    -------
    xarray.Dataset
        Dims ``(*sweep dims, *inner dims)``; ``status``, ``message`` and ``run`` per point.
        Variables of a store written with older field names are renamed
        (:data:`LEGACY_NAMES`).
    """
    import xarray as xr

    path = Path(path)
    if not (path / ".zgroup").exists():
        raise ModelError(f"{str(path)!r}: not a sweep store (no Zarr group there)")
    with xr.open_zarr(path, consolidated=False, zarr_format=ZARR_FORMAT) as ds:
        ds = ds.load()
    if ds.attrs.get("kind") in LEGACY_KINDS:
        ds = ds.rename({k: v for k, v in LEGACY_NAMES.items()
                        if k in ds.data_vars and v not in ds.variables})
    return ds


def export_netcdf(path: str | Path, out: str | Path):
    """Write a sweep store to one NetCDF file (NetCDF4 through h5netcdf; NetCDF3 through
    scipy when h5py is not installed).

    Returns
    -------
    xarray.Dataset
        What was written.
    """
    ds = load_result(path)
    out = Path(out)
    try:
        import h5py  # noqa: F401
    except ImportError:  # pragma: no cover - depends on the installation
        nc = ds.copy()
        for k, v in nc.data_vars.items():
            if v.dtype == bool:
                nc[k] = v.astype("i1")
        nc.to_netcdf(out, engine="scipy")
    else:
        ds.to_netcdf(out, engine="h5netcdf")
    return ds
