"""``thermogeo check`` and ``thermogeo response``: one machine at one parameter point."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import typer

from thermogeo.cli.app import MASTER, app, parse_assignments, print_json, user_errors, with_master
from thermogeo.errors import ModelError, NonUniqueSteadyStateError
from thermogeo.io import load_model
from thermogeo.lindblad.backend import frozen_chunks
from thermogeo.numerics import Numerics
from thermogeo.resources import peak_memory_bytes, structure_summary
from thermogeo.response import response

MB = 2**20


def secular_notes(fg) -> list[str]:
    """Warnings about the secular approximation at the first point of a frozen generator
    (:meth:`~thermogeo.lindblad.frozen.FrozenGenerator.secular_ratio`)."""
    ratio = float(fg.secular_ratio()[0])
    if ratio >= 1 or not fg.machine.master_equation.secular:
        return []
    gap, rate = float(fg._bohr_gap()[0]), float(fg._rate_bound()[0])
    return [f"SecularApproximationWarning: distinct Bohr frequencies are closer ({gap:.3g}) "
            f"than a bound on the fastest relaxation rate ({rate:.3g}); the secular "
            "approximation may fail (a [master_equation] of kind 'ule' or 'cluster' does not "
            "need it)"]


def _structure_lines(s: dict) -> list[str]:
    """Text lines of a :func:`thermogeo.resources.structure_summary`."""
    blocks = ", ".join(f"{size}:{count}" for size, count in s["block_sizes"].items())
    kernel = ("structured, batched (generic spectrum)" if s.get("generic") else s["kernel"])
    return [f"kernel: {kernel} (Numerics.kernel='auto': generic spectra batched on the Bohr "
            f"blocks, other points dense up to {Numerics().dense_max_qubits} qubits)",
            f"Bohr blocks: zero block d0 = {s['d0']} (d = {s['d']}), {s['single_blocks']} "
            f"single, largest other block {s['largest_small_block']}; size:count {blocks}"
            if len(blocks) <= 120 else
            f"Bohr blocks: zero block d0 = {s['d0']} (d = {s['d']}), {s['single_blocks']} "
            f"single, largest other block {s['largest_small_block']}, "
            f"{len(s['block_sizes'])} distinct sizes",
            f"estimated memory of one response: {s['estimated_bytes'] / MB:.1f} MB "
            f"(arrays of the {s['kernel']} kernel, interpreter excluded)"]


def _need_parameters(m, model: Path) -> None:
    """Refuse a model without driving parameters (nothing to drive or differentiate)."""
    if not m.parameter_names:
        raise ModelError(f"{model}: parameters: the model has no driving parameters (an empty "
                         "table); give at least one, e.g. parameters = { Bz = 0.5 }, and use "
                         "it in a [[hamiltonian]] coefficient")


@app.command()
@user_errors
def check(model: Path = typer.Argument(..., help="TOML model file."),
          master: str = MASTER,
          json: bool = typer.Option(False, "--json", help="Print one JSON object.")):
    """Validate a model file and summarise it (spectrum and warnings at the default point)."""
    m = with_master(load_model(model), master)
    _need_parameters(m, model)
    lam = m.point()
    numerics = Numerics()
    summary = structure_summary(m, lam, numerics)

    def dark(rcond: str) -> str:
        return (f"{model}: the steady state is not unique at the default point "
                f"{dict(m.parameters)} (rcond {rcond}): the couplings leave part of the state "
                "space dark; break the symmetry in the couplings or the Hamiltonian")

    if not json:  # what is cheap first: a large machine's frozen point may take minutes
        typer.echo(f"{model}: {m.qubits} qubit(s), dimension {m.dim}")
        typer.echo("parameters: " + ", ".join(f"{k} = {v:g}" for k, v in m.parameters.items()))
        if m.constants:
            typer.echo("constants: " + ", ".join(f"{k} = {v:g}"
                                                 for k, v in m.constants.items()))
        for b in m.baths:
            sd = b.spectral_density.to_dict()
            coupling = b.coupling if isinstance(b.coupling, str) else "matrix"
            typer.echo(f"bath {b.name}: T = {b.temperature:g}, coupling {coupling}, "
                       f"{sd['kind']} strength {sd['strength']:g} exponent {sd['exponent']:g} "
                       f"cutoff {sd['cutoff']}")
        for line in _structure_lines(summary):
            typer.echo(line)
    with _status(f"check: the frozen generator at the default point (dimension {m.dim}, about "
                 f"{summary['estimated_bytes'] / MB:.1f} MB)"):
        _, fg = next(frozen_chunks(m, lam[None], numerics))  # spectrum, blocks, uniqueness
    if not fg.unique[0]:
        raise NonUniqueSteadyStateError(dark(f"{fg.rcond[0]:.2e}"))
    E = fg.E[0]
    notes = secular_notes(fg)
    if json:
        print_json({
            "model": str(model), "qubits": m.qubits, "dimension": m.dim,
            "parameters": dict(m.parameters), "constants": dict(m.constants),
            "baths": [{"name": b.name, "temperature": b.temperature,
                       "coupling": b.coupling if isinstance(b.coupling, str) else "matrix",
                       "spectral_density": b.spectral_density.to_dict()} for b in m.baths],
            "spectrum": E, "warnings": notes,
            "master_equation": m.master_equation.to_dict(),
            "secular_ratio": float(fg.secular_ratio()[0]),
            "kernel": summary["kernel"], "estimated_memory_MB": summary["estimated_bytes"] / MB,
            "structure": summary,
        })
        return
    typer.echo("spectrum at default point: " + " ".join(f"{e:.6g}" for e in E))
    me = m.master_equation
    typer.echo(f"master equation: {me.kind}" + (f" (width {me.width:g})" if me.width else "")
               + f"; secular ratio {float(fg.secular_ratio()[0]):.3g} (smallest Bohr gap over "
               "the fastest rate: the secular generator needs it >> 1)")
    for n in notes:
        typer.echo("warning: " + n)
    if not notes:
        typer.echo("ok: no warnings")


def _status(text: str):
    """A status line with a spinner on stderr while a long step runs (nothing when stderr is
    not a terminal)."""
    from rich.console import Console

    return Console(stderr=True).status(text)


@app.command("response")
@user_errors
def response_cmd(model: Path = typer.Argument(..., help="TOML model file."),
                 at: str = typer.Option("", "--at", help="Parameter values, e.g. Bx=0.7,Bz=0.4 "
                                        "(unset parameters keep their defaults)."),
                 plane: str = typer.Option("", "--plane", help="Two parameters x,y for the "
                                           "rotor (default: the first two)."),
                 correlations: str = typer.Option(
                     "", "--correlations", help="Correlation measures of the steady state "
                     "(or '@ground', '@thermal'), e.g. 'concurrence:0,1 negativity:0|1 "
                     "mutual:0|1@thermal'."),
                 master: str = MASTER,
                 json: bool = typer.Option(False, "--json", help="Print one JSON object.")):
    """Heat currents, heat response, rotor, metric and entropy at one parameter point."""
    m = with_master(load_model(model), master)
    _need_parameters(m, model)
    lam = m.point(parse_assignments(at, "--at"))
    names = m.parameter_names
    pl = tuple(p.strip() for p in plane.split(",")) if plane else names[:2]
    if len(pl) == 1 or not plane and len(pl) < 2:  # one parameter: no rotor
        pl = None
    elif len(pl) != 2:
        raise ValueError(f"--plane: expected two parameter names x,y, got {plane!r}")
    r = response(m, lam, plane=pl, correlations=correlations or None)
    peak = peak_memory_bytes()  # before the estimate below, which diagonalises H again
    est = structure_summary(m, lam, plane=pl is not None)["estimated_bytes"]
    out = {
        "parameters": dict(zip(names, lam)),
        "heat_current": dict(zip(m.bath_names, r.heat_current)),
        "heat_response": {b: r.heat_response[i] for i, b in enumerate(m.bath_names)},
        "rotor": dict(zip(m.bath_names, r.rotor)) if r.rotor is not None else {},
        "metric": r.metric, "entropy": float(r.entropy), "spectrum": r.spectrum,
        "master_equation": m.master_equation.to_dict(),
        "secular_ratio": float(r.secular_ratio),
        "entropy_production": float(r.entropy_production), "second_law": bool(r.second_law),
        **({"correlations": {k: float(v) for k, v in r.correlations.items()}}
           if r.correlations else {}),
        "peak_memory_MB": peak / MB, "estimated_memory_MB": est / MB,
    }
    if json:
        print_json(out)
        return
    typer.echo("at " + ", ".join(f"{k} = {v:g}" for k, v in out["parameters"].items()))
    typer.echo(f"spectrum: {' '.join(f'{e:.6g}' for e in r.spectrum)}   entropy: "
               f"{float(r.entropy):.10g}")
    for i, b in enumerate(m.bath_names):
        rot = f"  rotor[{','.join(pl)}] {r.rotor[i]:+.10g}" if r.rotor is not None else ""
        typer.echo(f"bath {b}: heat current {r.heat_current[i]:+.10g}  heat response "
                   f"{np.array2string(r.heat_response[i], precision=10)}{rot}")
    typer.echo("metric g:\n" + np.array2string(r.metric, precision=10))
    typer.echo(f"master equation {m.master_equation.kind}: secular ratio "
               f"{float(r.secular_ratio):.3g}, entropy production "
               f"{float(r.entropy_production):.6g}"
               + ("" if r.second_law else " (NEGATIVE: this generator breaks the second law)"))
    for k, v in r.correlations.items():
        typer.echo(f"{k}: {float(v):.10g}")
    typer.echo(f"memory: peak {peak / MB:.1f} MB (this process), estimated "
               f"{est / MB:.1f} MB (kernel arrays)")
