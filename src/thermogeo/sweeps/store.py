"""Resumable Zarr storage of a sweep: written block by block as tasks finish.

Layout (one Zarr group, format 2, read with :func:`load_result` or ``xarray.open_zarr``):

- one variable per computed field with dims ``(*sweep dims, *inner dims)``, chunked so that one
  task block is one Zarr chunk along the sweep dims;
- ``status (*sweep)``: ``"ok"``, ``"error"`` or ``""`` (not computed yet); ``message (*sweep)``:
  the error, or the warnings of an ok point; ``run (*sweep)``: the number of the run that
  computed the point (0: none);
- attributes: ``sweep_toml``, ``model_toml``, ``sweep_sha256`` (hash of both texts),
  ``thermogeo_version``, ``kind``, ``runs_json`` (one record per run: start, end, executor,
  points computed, ok, error, interrupted), ``fields_json`` and ``coords_json`` (the variables
  written so far) and ``store_layout``.

Crash safety: the driver is the only writer. It writes a block's values first and its status
last, so a block cut short by a crash is still "missing" and is recomputed on the next run;
finished blocks are never recomputed. Resuming with a changed sweep or model file is refused
(:class:`SweepMismatchError`) unless the store is overwritten. A run holds ``RESULT.zarr.lock``
(host and pid) beside the real path of the store (symbolic links resolved); a second run is
refused while that process lives.

Safety (docs/decisions/0603-store-safety.md): a folder is deleted or overwritten only when it is
recognisably a store written by thermogeo (:func:`store_problem`, :func:`foreign_entries`).
Every chunk of a stored block is written, even when it equals the fill value (store layout 2),
so :meth:`SweepStore.verify` can tell a lost chunk from an empty one: resume and export check
that every chunk of every variable is present and decodes for the points marked ok.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import math
import os
import re
import shutil
import socket
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from thermogeo.errors import ModelError, SweepMismatchError
from thermogeo.lindblad.structured import available_memory_bytes
from thermogeo.sweeps.spec import SweepSpec
from thermogeo.sweeps.tasks import MESSAGE_CHARS, STATUS_ERROR, STATUS_OK, ChunkResult
from thermogeo.version import __version__

try:  # serialises the taking of a lock among runs (POSIX); without it the lock still works
    import fcntl
except ImportError:  # pragma: no cover - not POSIX
    fcntl = None

ZARR_FORMAT = 2  # fixed-width text (status, message) has a stable encoding only in format 2
LOCK_SUFFIX = ".lock"  # RESULT.zarr.lock beside the store (zarr warns about foreign files)
#: Store layout written by this version. 2: every chunk of a stored block is written, even
#: when it equals the fill value, so a missing chunk is damage. Stores without the attribute
#: (layout 1) skipped such chunks: there only unreadable chunks can be detected.
STORE_LAYOUT = 2
BOOKKEEPING = ("status", "message", "run")
#: Group attributes every store written by thermogeo carries.
OUR_ATTRS = ("sweep_sha256", "sweep_toml", "model_toml", "kind", "thermogeo_version",
             "runs_json")
#: Bytes per point of the bookkeeping variables in memory (status, message, run).
BOOKKEEPING_BYTES = 4 * len(STATUS_ERROR) + 4 * MESSAGE_CHARS + 2
#: Bytes of the driver per task (block slices, point masks, futures and the task's message).
TASK_BYTES = 4096
#: Tasks of one sweep at most: every task is one chunk file per variable.
MAX_TASKS = 1_000_000
_CHUNK_KEY = re.compile(r"^\d+(\.\d+)*$")
_PARTIAL = re.compile(r"^.*\.[0-9a-f]{32}\.partial$")  # zarr's atomic-write temporary files


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


class SweepStoreError(ModelError):
    """A store path that cannot be used as asked (a file, a folder that is not a store written
    by thermogeo, an export onto the store...); nothing was deleted or written."""


class SweepDamagedError(SweepStoreError):
    """Stored data of the sweep is missing or unreadable; ``damage`` says what
    (:class:`Damage`)."""

    def __init__(self, message: str, damage: Damage | None = None):
        super().__init__(message)
        self.damage = damage


class SweepTooLargeError(ModelError):
    """A sweep would not fit in memory (or in a sane number of tasks); refused before anything
    large is allocated."""


def _version() -> str:
    return __version__


# -- what a store is ---------------------------------------------------------------------

class _Bad(Exception):
    """One variable or chunk of a store cannot be used (the message says why)."""


def _read_json(path: Path) -> dict:
    try:
        text = path.read_bytes()
    except FileNotFoundError:
        raise _Bad(f"{path.name} is missing") from None
    except OSError as e:
        raise _Bad(f"{path.name} cannot be read ({e.strerror})") from None
    try:
        out = json.loads(text)
    except (ValueError, UnicodeDecodeError):
        raise _Bad(f"{path.name} is not valid JSON") from None
    if not isinstance(out, dict):
        raise _Bad(f"{path.name} is not a JSON object")
    return out


def _group_attrs(path: Path) -> dict:
    """The group attributes of a store written by thermogeo; :class:`_Bad` otherwise."""
    g = _read_json(path / ".zgroup")
    if g.get("zarr_format") != ZARR_FORMAT:
        raise _Bad(f".zgroup says zarr_format {g.get('zarr_format')!r}, thermogeo writes "
                   f"{ZARR_FORMAT}")
    a = _read_json(path / ".zattrs")
    missing = [k for k in OUR_ATTRS if k not in a]
    if missing:
        raise _Bad(f"its attributes lack {', '.join(missing)}, which thermogeo writes")
    for k in ("runs_json", "fields_json", "coords_json"):
        if k in a:
            try:
                v = json.loads(a[k])
            except (TypeError, ValueError):
                raise _Bad(f"attribute {k} is damaged") from None
            if not isinstance(v, list):
                raise _Bad(f"attribute {k} is damaged")
    if not re.fullmatch(r"[0-9a-f]{64}", str(a["sweep_sha256"])):
        raise _Bad("attribute sweep_sha256 is damaged")
    return a


def store_problem(path: str | Path) -> str | None:
    """Why ``path`` is not a sweep store written by thermogeo with intact group metadata, or
    None if it is one.

    Examples
    --------
    >>> store_problem("no/such/store.zarr")
    'does not exist'
    """
    p = Path(path)
    if not p.exists():
        return "does not exist"
    if not p.is_dir():
        return "is a file, not a sweep store (a folder)"
    try:
        _group_attrs(p)
    except _Bad as e:
        return f"{e}" if (p / ".zgroup").exists() else "it has no Zarr group metadata (.zgroup)"
    return None


def _known_names(path: Path, attrs: dict) -> set[str]:
    """Variables a store written by thermogeo may hold: bookkeeping, fields, coordinates
    (recorded, or named by the per-point variables' dimensions and coordinates)."""
    known = set(BOOKKEEPING)
    for k in ("fields_json", "coords_json"):
        known |= set(json.loads(attrs.get(k, "[]")))
    known |= set(str(attrs.get("sweep_dims", "")).split(","))
    for name in list(known):
        try:
            a = _read_json(path / name / ".zattrs")
        except _Bad:
            continue
        known |= {str(d) for d in a.get("_ARRAY_DIMENSIONS", []) or []}
        known |= set(str(a.get("coordinates", "")).split())
    known.discard("")
    return known


def foreign_entries(path: str | Path) -> list[str]:
    """Entries of a store folder that thermogeo does not write (sorted; folders end in
    ``/``): what ``--overwrite`` would delete besides the store. Empty for a clean store."""
    p = Path(path)
    try:
        attrs = _group_attrs(p)
    except _Bad:
        attrs = {}
    known = _known_names(p, attrs)
    out = []
    for e in sorted(os.scandir(p), key=lambda e: e.name):
        if e.is_symlink():
            out.append(f"{e.name} (a symbolic link)")
        elif e.is_file():
            if e.name not in (".zgroup", ".zattrs", ".zmetadata") and not _PARTIAL.match(e.name):
                out.append(e.name)
        elif e.is_dir():
            if not (Path(e.path) / ".zarray").is_file() and e.name not in known:
                out.append(e.name + "/")
                continue
            for f in sorted(os.scandir(e.path), key=lambda f: f.name):
                ok = f.is_file() and not f.is_symlink() and (
                    f.name in (".zarray", ".zattrs") or _CHUNK_KEY.match(f.name)
                    or _PARTIAL.match(f.name))
                if not ok:
                    out.append(f"{e.name}/{f.name}" + ("/" if f.is_dir() else ""))
        else:
            out.append(e.name)
    return out


def _listing(path: Path, limit: int = 5) -> str:
    try:
        names = sorted(e.name + ("/" if e.is_dir() else "") for e in os.scandir(path))
    except OSError:
        return ""
    more = f" and {len(names) - limit} more" if len(names) > limit else ""
    return ", ".join(names[:limit]) + more


def _real(path: Path) -> Path:
    """``path`` with symbolic links and ``..`` resolved (it need not exist)."""
    return Path(os.path.realpath(path))


# -- verification ------------------------------------------------------------------------

class _Array:
    """A Zarr format 2 array folder read without zarr: metadata, chunk files, decoding."""

    def __init__(self, root: Path, name: str):
        import numcodecs

        self.name, self.dir = name, root / name
        meta = _read_json(self.dir / ".zarray")
        try:
            if meta.get("zarr_format") != ZARR_FORMAT:
                raise ValueError("zarr_format")
            self.shape = tuple(int(n) for n in meta["shape"])
            self.chunks = tuple(int(n) for n in meta["chunks"])
            if len(self.chunks) != len(self.shape) or min(self.chunks, default=1) < 1:
                raise ValueError("chunks")
            self.dtype = np.dtype(meta["dtype"])
            self.order = meta.get("order", "C")
            if self.order not in ("C", "F") or meta.get("dimension_separator", ".") != ".":
                raise ValueError("order")
            self.filters = [numcodecs.get_codec(dict(f)) for f in meta.get("filters") or []]
            comp = meta.get("compressor")
            self.compressor = numcodecs.get_codec(dict(comp)) if comp else None
        except (KeyError, TypeError, ValueError) as e:
            raise _Bad(f".zarray is damaged ({e})") from None
        attrs = _read_json(self.dir / ".zattrs")
        dims = attrs.get("_ARRAY_DIMENSIONS")
        if not isinstance(dims, list) or len(dims) != len(self.shape):
            raise _Bad(".zattrs is damaged (_ARRAY_DIMENSIONS)")
        self.dims = tuple(str(d) for d in dims)
        self.grid = tuple(math.ceil(n / c) for n, c in zip(self.shape, self.chunks))

    def present(self) -> set[tuple[int, ...]]:
        """Keys of the chunk files in the folder."""
        out = set()
        for name in os.listdir(self.dir):
            if _CHUNK_KEY.match(name):
                key = tuple(int(i) for i in name.split("."))
                if not self.shape:
                    key = ()
                if len(key) == len(self.shape):
                    out.add(key)
        return out

    def all_keys(self):
        return itertools.product(*(range(g) for g in self.grid))

    def decode(self, key: tuple[int, ...]) -> np.ndarray:
        """The chunk ``key`` as an array of the chunk shape; :class:`_Bad` if it is missing
        or does not decode to exactly that many bytes."""
        from numcodecs.compat import ensure_ndarray_like

        name = ".".join(map(str, key)) or "0"
        try:
            buf = (self.dir / name).read_bytes()
        except OSError:
            raise _Bad("missing") from None
        nbytes = int(np.prod(self.chunks, dtype=np.int64)) * self.dtype.itemsize
        try:
            if self.compressor is not None:
                out = np.empty(nbytes, np.uint8) if not self.filters else None
                buf = self.compressor.decode(buf, out=out)
            for f in reversed(self.filters):
                buf = f.decode(buf)
            raw = ensure_ndarray_like(buf).view(np.uint8).reshape(-1)
        except Exception:  # noqa: BLE001 - any codec failure means an unreadable chunk
            raise _Bad("unreadable") from None
        if self.dtype.kind == "O" or raw.size != nbytes:
            raise _Bad("unreadable")
        return raw.view(self.dtype).reshape(self.chunks, order=self.order)


def _block_any(mask: np.ndarray, chunks: tuple[int, ...]) -> np.ndarray:
    """``(*grid)`` bool: blocks (chunks of shape ``chunks``) where ``mask`` has a True."""
    grid = tuple(math.ceil(n / c) for n, c in zip(mask.shape, chunks))
    padded = np.zeros(tuple(g * c for g, c in zip(grid, chunks)), bool)
    padded[tuple(slice(0, n) for n in mask.shape)] = mask
    inter = tuple(x for g, c in zip(grid, chunks) for x in (g, c))
    return padded.reshape(inter).any(axis=tuple(range(1, 2 * len(grid), 2)))


def _block_slices(key: tuple[int, ...], chunks: tuple[int, ...]) -> tuple[slice, ...]:
    return tuple(slice(k * c, (k + 1) * c) for k, c in zip(key, chunks))


@dataclass
class Damage:
    """What :meth:`SweepStore.verify` found.

    Attributes
    ----------
    variables : dict
        name -> problem of a whole variable (metadata missing or unreadable).
    chunks : dict
        name -> ``{"missing": n, "unreadable": n}`` chunk files of a variable.
    blocks : set
        Keys (chunk indices along the sweep dims) of the blocks to recompute.
    fatal : tuple
        Damaged variables a resume cannot rebuild (bookkeeping, coordinates).
    status : ndarray
        ``(*sweep)`` status; ``""`` where its chunk is unreadable.
    points : ndarray
        ``(*sweep)`` bool: stored points (or points of an unreadable status chunk) inside a
        damaged block.
    ok_points : int
        Points marked ok inside a damaged block.
    layout : int
        Store layout (1: empty chunks were not written, so missing chunks go undetected).
    """

    variables: dict = field(default_factory=dict)
    chunks: dict = field(default_factory=dict)
    blocks: set = field(default_factory=set)
    fatal: tuple = ()
    status: np.ndarray | None = None
    points: np.ndarray | None = None
    ok_points: int = 0
    layout: int = STORE_LAYOUT
    chunk_shape: tuple = ()

    @property
    def ok(self) -> bool:
        return not (self.variables or self.chunks or self.fatal)

    @property
    def names(self) -> list[str]:
        """The damaged variables, sorted."""
        return sorted(set(self.variables) | set(self.chunks))

    def describe(self) -> str:
        """``name: problem`` of every damaged variable, ``;``-separated."""
        parts = []
        for name in self.names:
            if name in self.variables:
                parts.append(f"{name}: {self.variables[name]}")
                continue
            c = self.chunks[name]
            what = [f"{n} {k} chunk(s)" for k, n in sorted(c.items()) if n]
            parts.append(f"{name}: {', '.join(what)}")
        return "; ".join(parts)

    def where(self, dims: tuple[str, ...], limit: int = 3) -> str:
        """The first damaged blocks as index ranges, e.g. ``J[0:1], b[0:2]``."""
        keys = sorted(self.blocks)
        text = [", ".join(f"{d}[{s.start}:{s.stop}]" for d, s in
                          zip(dims, _block_slices(k, self.chunk_shape))) for k in keys[:limit]]
        more = f" and {len(keys) - limit} more block(s)" if len(keys) > limit else ""
        return "; ".join(text) + more


# -- the store ---------------------------------------------------------------------------

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

    @property
    def real_path(self) -> Path:
        """The store's folder with symbolic links resolved (what the lock guards)."""
        return _real(self.path)

    @classmethod
    def open(cls, path: str | Path, spec: SweepSpec, *, overwrite: bool = False) -> SweepStore:
        """Open the store for ``spec``: create it if absent (or if ``overwrite``), otherwise
        check that it was made by the same sweep and model files.

        Raises
        ------
        SweepMismatchError
            The store's ``sweep_sha256`` differs from ``spec.sha256``.
        SweepStoreError
            ``path`` is a file, or a folder that is not a store written by thermogeo (with
            ``overwrite``: a store holding entries thermogeo does not write); nothing is
            deleted.
        """
        st = cls(path)
        st.check_target(overwrite=overwrite)
        if overwrite:
            st._refuse_if_locked()
        st.prepare(spec, overwrite=overwrite)
        return st

    def check_target(self, *, overwrite: bool = False) -> None:
        """Refuse (:class:`SweepStoreError`) a path that cannot become or stay this sweep's
        store: an existing file, a non-empty folder that is not a store written by thermogeo
        and, with ``overwrite``, a store holding anything else. Reads only."""
        p = self.path
        where = f"--out {str(p)!r}"
        if p.is_symlink() and not p.exists():
            raise SweepStoreError(f"{where}: is a broken symbolic link (to "
                                  f"{os.readlink(p)!r}); choose another --out")
        if not p.exists():
            up = p.parent
            while not up.exists() and up != up.parent:
                up = up.parent
            if up.exists() and not up.is_dir():
                raise SweepStoreError(f"{where}: {str(up)!r} is a file, not a folder; nothing "
                                      "was changed: choose another --out")
            return
        if not p.is_dir():
            raise SweepStoreError(f"{where}: is an existing file, not a sweep store (a "
                                  "folder); nothing was changed: choose another --out")
        try:
            empty = not os.listdir(p)
        except OSError as e:
            raise SweepStoreError(f"{where}: cannot be read ({e.strerror})") from None
        if empty:
            return
        problem = store_problem(p)
        if problem is not None:
            what = "--overwrite replaces only a sweep store written by thermogeo; " \
                if overwrite else ""
            raise SweepStoreError(
                f"{where}: exists and is not a thermogeo sweep store ({problem}; it holds "
                f"{_listing(p)}); {what}nothing was changed: choose another --out")
        if overwrite:
            foreign = foreign_entries(p)
            if foreign:
                more = f" and {len(foreign) - 5} more" if len(foreign) > 5 else ""
                raise SweepStoreError(
                    f"{where}: --overwrite refused: the store holds {', '.join(foreign[:5])}"
                    f"{more}, which thermogeo does not write; nothing was deleted: move them "
                    "away or choose another --out")

    def prepare(self, spec: SweepSpec, *, overwrite: bool = False) -> None:
        """Create the store (emptying it first if ``overwrite``) or check it against ``spec``.
        Call it holding :meth:`lock`."""
        self.check_target(overwrite=overwrite)
        real = self.real_path
        if overwrite and real.is_dir():
            for e in os.scandir(real):  # the folder stays (a symbolic link keeps its target)
                if e.is_dir() and not e.is_symlink():
                    shutil.rmtree(e.path)
                else:
                    os.unlink(e.path)
        if not self.exists:
            self._create(spec)
        else:
            self.check(spec)

    def _create(self, spec: SweepSpec) -> None:
        import dask.array as da
        import xarray as xr

        cs = spec.chunk_shape
        dims = spec.dims
        # one dask chunk per variable (the Zarr chunks come from the encoding): nothing is
        # computed, and a graph of one task per block would cost memory and minutes
        data = {
            "status": (dims, da.full(spec.shape, "", dtype=f"<U{len(STATUS_ERROR)}",
                                     chunks=-1),
                       {"flag_meanings": "ok error (empty: not computed yet)"}),
            "message": (dims, da.full(spec.shape, "", dtype=f"<U{MESSAGE_CHARS}", chunks=-1),
                        {"long_name": "error, or warnings of an ok point"}),
            "run": (dims, da.zeros(spec.shape, dtype="i2", chunks=-1),
                    {"long_name": "number of the run that computed the point (0: none)"}),
        }
        ds = xr.Dataset(data, coords=spec.coords())
        coords = sorted(str(k) for k in ds.coords)
        ds.attrs.update({
            "title": f"thermogeo sweep of {spec.model_name}: kind {spec.kind}",
            "kind": spec.kind, "model_name": spec.model_name,
            "sweep_toml": spec.sweep_text, "model_toml": spec.model_text,
            "sweep_sha256": spec.sha256, "thermogeo_version": _version(),
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "sweep_dims": ",".join(dims), "chunk_shape": ",".join(map(str, cs)),
            "runs_json": "[]", "fields_json": "[]", "coords_json": json.dumps(coords),
            "store_layout": STORE_LAYOUT,
        })
        ds.to_zarr(self.real_path, mode="w-", compute=False, zarr_format=ZARR_FORMAT,
                   consolidated=False, safe_chunks=False, write_empty_chunks=True,
                   encoding={k: {"chunks": cs} for k in BOOKKEEPING})

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

    # -- the lock ------------------------------------------------------------------------
    @property
    def lock_path(self) -> Path:
        """``RESULT.zarr.lock`` beside the real store: runs through symbolic links or
        relative paths share it."""
        real = self.real_path
        return real.with_name(real.name + LOCK_SUFFIX)

    def _holder(self, other: dict) -> str | None:
        """Why the run described by the lock file contents ``other`` still holds the store
        (None: the lock is stale)."""
        host, pid = other.get("host"), other.get("pid")
        if host not in (None, socket.gethostname()):
            return (f"is locked by a run on host {host!r} (pid {pid}); if that run is gone, "
                    f"delete {str(self.lock_path)!r}")
        if not _alive(pid):
            return None
        started = other.get("started")
        if started is not None and _started(pid) not in (None, started):
            return None  # the pid was reused by another process
        return f"is being written by another run (pid {pid})"

    def _refuse_if_locked(self) -> None:
        path = self.lock_path
        try:
            other = json.loads(path.read_text())
        except (OSError, ValueError):
            return
        if not isinstance(other, dict) or other.get("pid") == os.getpid():
            return
        why = self._holder(other)
        if why:
            raise ModelError(f"{str(self.path)!r} {why}; it cannot be overwritten now")

    @contextlib.contextmanager
    def lock(self):
        """Hold the store for one run: a second run on the same store (through any path) is
        refused while the first one's process is alive; a stale lock of a dead process is
        taken over. Taking and releasing are serialised by an ``flock`` of the folder."""
        path = self.lock_path
        path.parent.mkdir(parents=True, exist_ok=True)
        me = {"host": socket.gethostname(), "pid": os.getpid(), "started": _started(os.getpid())}
        with _serialised(path.parent):
            try:
                other = json.loads(path.read_text())
            except FileNotFoundError:
                other = None
            except (OSError, ValueError):
                other = {}  # unreadable: written by no live run (writes happen serialised)
            if isinstance(other, dict) and other:
                why = self._holder(other)
                if why:
                    more = "" if "delete" in why else "; wait for it or stop it"
                    raise ModelError(f"{str(self.path)!r} {why}{more}")
            tmp = path.with_name(f"{path.name}.{uuid.uuid4().hex}.partial")
            tmp.write_text(json.dumps(me))
            os.replace(tmp, path)
        try:
            yield self
        finally:
            with _serialised(path.parent):
                try:
                    mine = json.loads(path.read_text()) == me
                except (OSError, ValueError):
                    mine = False
                if mine:
                    path.unlink(missing_ok=True)

    # -- state ---------------------------------------------------------------------------
    def _read(self, name: str) -> np.ndarray:
        """A per-point bookkeeping variable, chunk by chunk: missing or unreadable chunks
        read as the fill value (``verify`` reports them)."""
        try:
            arr = _Array(self.path, name)
        except _Bad as e:
            raise SweepDamagedError(f"{str(self.path)!r}: variable {name}: {e}") from None
        fill = "" if arr.dtype.kind == "U" else 0
        out = np.full(arr.shape, fill, dtype=arr.dtype)
        for key in arr.present():
            try:
                chunk = arr.decode(key)
            except _Bad:
                continue
            sl = _block_slices(key, arr.chunks)
            part = out[sl]
            part[...] = chunk[tuple(slice(0, n) for n in part.shape)]
        return out

    def status(self) -> np.ndarray:
        """``(*sweep)`` status strings: "ok", "error" or "" (missing)."""
        return self._read("status")

    def messages(self) -> np.ndarray:
        """``(*sweep)`` per-point messages."""
        return self._read("message")

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

    # -- verification --------------------------------------------------------------------
    def verify(self) -> Damage:
        """Check every variable of the store: metadata readable, and (layout 2) a chunk file
        for every block with stored points (fields: with ok points), every chunk file
        decoding to its full size, coordinates complete.

        Returns
        -------
        Damage
            ``damage.ok`` when nothing is wrong. Damaged blocks are to be recomputed as a
            whole; ``damage.fatal`` names variables only ``--overwrite`` rebuilds.

        Raises
        ------
        SweepStoreError
            Not a store written by thermogeo (group metadata missing or damaged).
        """
        problem = store_problem(self.path)
        if problem is not None:
            raise SweepStoreError(f"{str(self.path)!r}: not a sweep store ({problem})")
        a = _group_attrs(self.path)
        layout = int(a.get("store_layout", 1))
        d = Damage(layout=layout)
        try:
            st = _Array(self.path, "status")
        except _Bad as e:
            d.variables["status"] = str(e)
            d.fatal = ("status",)
            return d
        n, cs, shape = len(st.shape), st.chunks, st.shape
        d.chunk_shape = cs
        present_dirs = {e.name for e in os.scandir(self.path)
                        if e.is_dir() and (Path(e.path) / ".zarray").exists()}
        if "fields_json" in a:
            fields = set(json.loads(a["fields_json"]))
        else:  # pragma: no cover - stores of the first versions
            fields = present_dirs - set(BOOKKEEPING)
        per_point = set(BOOKKEEPING) | fields
        coords = set(json.loads(a.get("coords_json", "[]"))) | (present_dirs - per_point)
        coords |= {x for x in str(a.get("sweep_dims", "")).split(",") if x}
        arrays: dict[str, _Array] = {"status": st}
        for name in sorted((per_point | coords) - {"status"}):
            try:
                arr = _Array(self.path, name)
            except _Bad as e:
                d.variables[name] = f"metadata unusable ({e})"
                continue
            if name in per_point and (arr.shape[:n] != shape or arr.chunks[:n] != cs):
                d.variables[name] = (f"shape {arr.shape} / chunks {arr.chunks} do not match "
                                     f"the sweep's {shape} / {cs}")
                continue
            arrays[name] = arr

        # the status itself, chunk by chunk
        status = np.full(shape, "", dtype=st.dtype)
        unknown = np.zeros(shape, bool)  # points of an unreadable status chunk
        bad_blocks: set[tuple[int, ...]] = set()

        def hit(name: str, what: str, key: tuple[int, ...]) -> None:
            d.chunks.setdefault(name, {"missing": 0, "unreadable": 0})[what] += 1
            bad_blocks.add(key[:n])

        for key in st.present():
            sl = _block_slices(key, cs)
            try:
                chunk = st.decode(key)
            except _Bad:
                hit("status", "unreadable", key)
                unknown[sl] = True
                continue
            part = status[sl]
            part[...] = chunk[tuple(slice(0, k) for k in part.shape)]
        stored_blocks = _block_any((status != "") | unknown, cs)
        ok_blocks = _block_any((status == STATUS_OK) | unknown, cs)

        for name, arr in arrays.items():
            present = arr.present()
            for key in sorted(present) if name != "status" else ():
                try:
                    arr.decode(key)
                except _Bad:
                    if name in per_point:
                        hit(name, "unreadable", key)
                    else:
                        d.variables[name] = "unreadable chunk(s)"
            if name not in per_point:
                if layout >= 2 and name not in d.variables and \
                        any(k not in present for k in arr.all_keys()):
                    d.variables[name] = "missing chunk(s)"
                continue
            if layout < 2 or name == "status":
                continue
            need = stored_blocks if name in BOOKKEEPING else ok_blocks
            inner = list(itertools.product(*(range(g) for g in arr.grid[n:])))
            for bkey in zip(*np.nonzero(need)):
                bkey = tuple(int(i) for i in bkey)
                for ikey in inner:
                    if bkey + ikey not in present:
                        hit(name, "missing", bkey + ikey)
                        break

        lost = [k for k in d.variables if k in fields]
        if lost:  # a field without usable metadata: every block with ok points is redone
            bad_blocks |= {tuple(int(i) for i in k) for k in zip(*np.nonzero(ok_blocks))}
        d.fatal = tuple(sorted(k for k in d.variables if k not in fields))
        d.blocks = bad_blocks
        d.status = status
        points = np.zeros(shape, bool)
        for key in bad_blocks:
            points[_block_slices(key, cs)] = True
        d.points = points & ((status != "") | unknown)
        d.ok_points = int(np.sum(points & ((status == STATUS_OK) | unknown)))
        return d

    def drop_fields(self, names) -> None:
        """Forget fields whose metadata is lost (their folders are removed; the next ok block
        creates them anew). Call it holding :meth:`lock`."""
        names = set(names)
        if not names:
            return
        for name in names:
            folder = self.real_path / name
            if folder.is_dir() and not folder.is_symlink():
                shutil.rmtree(folder)
        g = self._group()
        g.attrs["fields_json"] = json.dumps(sorted(self.fields() - names))

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
        data, encoding = {}, {}
        for name, (inner, attrs) in result.schema.items():
            if name in have:
                continue
            inner_shape = result.values[name].shape[len(spec.shape):]
            shape, chunks = spec.shape + inner_shape, spec.chunk_shape + inner_shape
            dtype = result.values[name].dtype
            fill = False if dtype.kind == "b" else "" if dtype.kind == "U" else np.nan
            data[name] = (spec.dims + inner, da.full(shape, fill, dtype=dtype, chunks=-1),
                          attrs)
            encoding[name] = {"chunks": chunks}
        g = self._group("r")
        existing = set(g.array_keys())
        coords = {k: v for k, v in coords.items() if k not in existing}
        ds = xr.Dataset(data, coords=coords)
        # appending rewrites the group's attributes with the dataset's: carry them over
        ds.attrs.update(self.attrs)
        ds.attrs["fields_json"] = json.dumps(sorted(have | set(data)))
        old = set(json.loads(ds.attrs.get("coords_json", "[]")))
        ds.attrs["coords_json"] = json.dumps(sorted(old | {str(k) for k in ds.coords}))
        ds.to_zarr(self.path, mode="a", compute=False, consolidated=False, safe_chunks=False,
                   write_empty_chunks=True, encoding=encoding)

    def write(self, spec: SweepSpec, result: ChunkResult, run: int) -> None:
        """Store the computed points of one block: values, then message and run, status last.
        Every chunk is written, also one equal to the fill value (layout 2); a block computed
        as a whole is written without reading its old (possibly damaged) chunks.

        Raises
        ------
        ValueError
            The block's fields do not match the store's (shapes or names).
        """
        g = self._group()
        block, sel = result.block, result.computed
        whole = bool(sel.all())

        def put(name: str, vals: np.ndarray) -> None:
            arr = g[name].with_config({"write_empty_chunks": True})
            if whole:
                cur = np.asarray(vals)
                want = tuple(s.stop - s.start for s in block) + tuple(arr.shape[len(block):])
                if cur.shape != want:
                    raise ValueError(f"field {name!r}: block shape {cur.shape}, store {want}")
            else:
                cur = np.asarray(arr[block])
                if cur.shape != vals.shape:
                    raise ValueError(f"field {name!r}: block shape {vals.shape}, store "
                                     f"{cur.shape}")
                cur[sel] = vals[sel]
            arr[block] = cur

        if result.schema:
            have = self.fields()
            if set(result.schema) != have:
                raise ValueError(f"block fields {sorted(result.schema)} differ from the "
                                 f"store's {sorted(have)}")
            for name, vals in result.values.items():
                put(name, vals)
        elif whole:  # no ok point: the fields of a block computed anew are all fill
            for name in self.fields():
                arr = g[name]
                shape = tuple(s.stop - s.start for s in block) + tuple(arr.shape[len(block):])
                fill = arr.fill_value
                put(name, np.full(shape, fill if fill is not None else np.nan,
                                  dtype=arr.dtype))
        for name, vals in (("message", result.message),
                           ("run", np.full(sel.shape, run, dtype="i2")),
                           ("status", result.status)):
            put(name, vals)

    # -- reading -------------------------------------------------------------------------
    def load(self):
        """The stored results as an in-memory ``xarray.Dataset``."""
        return load_result(self.path)


@contextlib.contextmanager
def _serialised(folder: Path):
    """Hold an exclusive ``flock`` of ``folder`` (no-op where flock is unavailable)."""
    fd = None
    if fcntl is not None:
        try:
            fd = os.open(folder, os.O_RDONLY)
            fcntl.flock(fd, fcntl.LOCK_EX)
        except OSError:
            if fd is not None:
                os.close(fd)
            fd = None
    try:
        yield
    finally:
        if fd is not None:
            os.close(fd)  # releases the flock


def _alive(pid) -> bool:
    if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # pragma: no cover - someone else's process
        return True
    return True


def _started(pid: int) -> int | None:
    """Start time of process ``pid`` in clock ticks since boot (Linux), else None: tells a
    reused pid from the run that wrote a lock."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            text = f.read()
        return int(text[text.rindex(b")") + 2:].split()[19])
    except (OSError, ValueError, IndexError):
        return None


# -- size --------------------------------------------------------------------------------

def sweep_bytes(n_points: int, n_tasks: int, field_bytes: int = 0) -> int:
    """Memory of a sweep in bytes: what :func:`load_result` holds (the bookkeeping variables
    and ``field_bytes`` per point) plus the driver's bookkeeping of its tasks.

    Examples
    --------
    >>> sweep_bytes(1000, 250)  # 1000 points in tasks of 4: 1.6 MB + 1 MB
    2646000
    """
    return int(n_points) * (BOOKKEEPING_BYTES + int(field_bytes)) + int(n_tasks) * TASK_BYTES


def check_sweep_size(n_points: int, n_tasks: int, *, field_bytes: int = 0,
                     extra_bytes: int = 0, shape: tuple = (), where: str = "sweep") -> None:
    """Refuse a sweep (:class:`SweepTooLargeError`, with the estimate in the message) with
    more than :data:`MAX_TASKS` tasks or whose memory (:func:`sweep_bytes` plus
    ``extra_bytes``) exceeds the available memory. Called before anything of its size is
    allocated."""
    need = sweep_bytes(n_points, n_tasks, field_bytes) + int(extra_bytes)
    have = available_memory_bytes()
    grid = f" ({' x '.join(map(str, shape))})" if len(shape) > 1 else ""
    fields = f", fields {field_bytes:,} bytes per point" if field_bytes else ""
    if extra_bytes:
        fields += f", {extra_bytes:,} bytes to read the file"
    what = (f"{where}: {n_points:,} points{grid} in {n_tasks:,} tasks would need about "
            f"{need / 2**30:.2f} GiB of memory to run and export (status, message and run "
            f"{BOOKKEEPING_BYTES:,} bytes per point{fields}, {TASK_BYTES:,} bytes per task)")
    why, fix = [], []
    if need > have:
        why.append(f"{have / 2**30:.2f} GiB are available")
        fix.append("sweep fewer points (a smaller num, a coarser grid) or split the study "
                   "into several sweep files")
    if n_tasks > MAX_TASKS:
        why.append(f"more than {MAX_TASKS:,} tasks (one chunk file per variable each) is not "
                   "a sane store")
        fix.append("raise chunk")
    if why:
        raise SweepTooLargeError(f"{what}, but {' and '.join(why)}: {', or '.join(fix)}")


# -- reading -----------------------------------------------------------------------------

def _damaged_message(path: Path, damage: Damage, dims: tuple[str, ...]) -> str:
    where = damage.where(dims) if damage.blocks else ""
    repair = ("a resume cannot rebuild these variables: compute the store anew with "
              f"thermogeo sweep SWEEP.toml --out {str(path)} --overwrite"
              if damage.fatal else
              "rerun the sweep on this store to recompute them: thermogeo sweep SWEEP.toml "
              f"--out {str(path)} (the sweep file that made it; its text is the store's "
              "sweep_toml attribute)")
    pts = f"{damage.ok_points} point(s) marked ok have damaged data" + (
        f" (blocks {where})" if where else "") + "; " if damage.blocks else ""
    return (f"{str(path)!r} is damaged: {damage.describe()}; {pts}{repair}")


def verified(path: str | Path) -> Damage:
    """Verify the store at ``path``; raise :class:`SweepDamagedError` naming the damaged
    variables and the command that repairs them."""
    st = SweepStore(path)
    d = st.verify()
    if not d.ok:
        dims = tuple(_Array(st.path, "status").dims) if "status" not in d.variables else ()
        raise SweepDamagedError(_damaged_message(st.path, d, dims), d)
    return d


def load_result(path: str | Path, *, verify: bool = True):
    """Read a sweep store into memory.

    Parameters
    ----------
    path : str or Path
        A ``RESULT.zarr`` written by :func:`thermogeo.sweeps.run_sweep`.
    verify : bool
        Check first that every chunk of every variable is present and readable
        (:meth:`SweepStore.verify`).

    Returns
    -------
    xarray.Dataset
        Dims ``(*sweep dims, *inner dims)``; ``status``, ``message`` and ``run`` per point.
        Variables of a store written with older field names are renamed
        (:data:`LEGACY_NAMES`).

    Raises
    ------
    SweepStoreError
        Not a sweep store written by thermogeo.
    SweepDamagedError
        Data of the store is missing or unreadable (the message names the variables and
        the command that recomputes them).
    """
    import xarray as xr

    path = Path(path)
    if not (path / ".zgroup").exists():
        raise SweepStoreError(f"{str(path)!r}: not a sweep store (no Zarr group there)")
    if verify:
        verified(path)
    with xr.open_zarr(path, consolidated=False, zarr_format=ZARR_FORMAT) as ds:
        ds = ds.load()
    if ds.attrs.get("kind") in LEGACY_KINDS:
        ds = ds.rename({k: v for k, v in LEGACY_NAMES.items()
                        if k in ds.data_vars and v not in ds.variables})
    return ds


_NETCDF_MAGIC = (b"\x89HDF\r\n\x1a\n", b"CDF\x01", b"CDF\x02", b"CDF\x05")


def _check_export_target(store: Path, out: Path) -> None:
    real_store, real_out = _real(store), _real(out)
    if real_out == real_store or real_store in real_out.parents:
        what = "the store" if real_out == real_store else "inside the store"
        raise SweepStoreError(
            f"export: {str(out)!r} is {what} {str(store)!r}; writing there would damage it: "
            "give a NetCDF file outside it, e.g. result.nc")
    if out.is_dir():
        raise SweepStoreError(f"export: {str(out)!r} is a folder; give the path of the NetCDF "
                              f"file to write, e.g. {str(out / 'result.nc')!r}")
    if out.exists() or out.is_symlink():
        if not out.is_file():
            raise SweepStoreError(f"export: {str(out)!r} exists and is not a regular file; "
                                  "nothing was written")
        try:
            with open(out, "rb") as f:
                head = f.read(8)
        except OSError as e:
            raise SweepStoreError(f"export: {str(out)!r} cannot be read ({e.strerror})") \
                from None
        if head and not head.startswith(_NETCDF_MAGIC):
            raise SweepStoreError(f"export: {str(out)!r} exists and is not a NetCDF file; "
                                  "not overwriting it: choose another name or delete it first")
    if not real_out.parent.is_dir():
        raise SweepStoreError(f"export: the folder {str(out.parent)!r} does not exist")


def export_netcdf(path: str | Path, out: str | Path):
    """Write a sweep store to one NetCDF file (NetCDF4 through h5netcdf; NetCDF3 through
    scipy when h5py is not installed). The store is verified first; the file is written
    beside ``out`` and moved into place, so an existing ``out`` is replaced only by a
    complete file.

    Returns
    -------
    xarray.Dataset
        What was written.

    Raises
    ------
    SweepStoreError
        ``out`` is a folder, the store itself or inside it, or an existing file that is not
        NetCDF; ``path`` is not a sweep store.
    SweepDamagedError
        The store is damaged (see :func:`load_result`); nothing is written.
    """
    path, out = Path(path), Path(out)
    if store_problem(path) is not None:
        raise SweepStoreError(f"{str(path)!r}: not a sweep store ({store_problem(path)})")
    _check_export_target(path, out)
    ds = load_result(path)
    tmp = _real(out).with_name(f".{out.name}.{uuid.uuid4().hex}.partial")
    try:
        try:
            import h5py  # noqa: F401
        except ImportError:  # pragma: no cover - depends on the installation
            nc = ds.copy()
            for k, v in nc.data_vars.items():
                if v.dtype == bool:
                    nc[k] = v.astype("i1")
            nc.to_netcdf(tmp, engine="scipy")
        else:
            ds.to_netcdf(tmp, engine="h5netcdf")
        os.replace(tmp, _real(out))
    finally:
        tmp.unlink(missing_ok=True)
    return ds
