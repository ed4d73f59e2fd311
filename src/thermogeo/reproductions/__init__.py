"""Reproductions of arXiv:2511.16591 (Caselli, Manuel, Arrachea), one module per figure/table.

Each item module has ``NAME``, ``TITLE`` (plain text) and ``TITLE_TEX`` (the figure's title,
mathtext), ``compute(params, quick) -> xarray.Dataset``, ``draw(ds) -> matplotlib Figure`` and
``check(ds) -> dict``: our numbers, whether the paper's claim holds (``claim_holds``) and, apart
from it, each published number compared with ours within a stated tolerance (``published``,
``published_reproduced``; :func:`thermogeo.reproductions.common.report_fields`). Parameters live
in ``params/<NAME>.toml`` (tables ``[quick]`` and ``[full]``), machines in ``models/*.toml``;
:func:`thermogeo.reproductions.runner.run` writes the figure (PNG and PDF by default), the
NetCDF data, one JSON line of ``report.json`` per item and ``report.md``.
"""

ITEMS = ("balance", "rotor", "dissipation", "bound", "merit", "entanglement",
         "master_equations")
