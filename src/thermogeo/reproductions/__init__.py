"""Reproductions of arXiv:2511.16591 (Caselli, Manuel, Arrachea), one module per figure/table.

Each item module has ``NAME``, ``TITLE``, ``compute(params, quick) -> xarray.Dataset``,
``draw(ds) -> matplotlib Figure`` and ``check(ds) -> dict`` (our numbers, the paper's where
known, pass/fail). Parameters live in ``params/<NAME>.toml`` (tables ``[quick]`` and ``[full]``),
machines in ``models/*.toml``; :func:`thermogeo.reproductions.runner.run` writes the figure
(PNG and PDF), the NetCDF data and one JSON line of ``report.json`` per item.
"""

ITEMS = ("balance", "rotor", "dissipation", "bound", "merit", "entanglement")
