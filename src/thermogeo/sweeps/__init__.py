"""Parameter sweeps: a study described once in a TOML file, run serially, on a local process
pool or on a Dask cluster, stored block by block in a resumable Zarr store.

Public API: :func:`load_sweep`, :class:`SweepSpec`, :func:`run_sweep`, :class:`SweepSummary`,
:func:`load_result`, :func:`export_netcdf`, :class:`SweepStore`, :class:`SweepMismatchError`,
:class:`SweepStoreError`, :class:`SweepDamagedError`, :class:`SweepTooLargeError`.
"""

from thermogeo.sweeps.run import EXECUTORS, SweepSummary, run_sweep
from thermogeo.sweeps.spec import Axis, SweepSpec, load_sweep, make_loop, sweep_from_text
from thermogeo.sweeps.store import (SweepDamagedError, SweepMismatchError, SweepStore,
                                    SweepStoreError, SweepTooLargeError, export_netcdf,
                                    load_result)
from thermogeo.sweeps.tasks import ChunkResult, run_chunk

__all__ = ["EXECUTORS", "Axis", "ChunkResult", "SweepDamagedError", "SweepMismatchError",
           "SweepSpec", "SweepStore", "SweepStoreError", "SweepSummary", "SweepTooLargeError",
           "export_netcdf", "load_result", "load_sweep", "make_loop", "run_chunk", "run_sweep",
           "sweep_from_text"]
