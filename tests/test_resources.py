"""Memory reporting (issue 7): the Bohr-block summary, the memory estimate, the measured peak,
and their CLI output.

The block structure is checked against independent counts: the ``d^2`` eigenframe elements
are partitioned (sizes sum to ``d^2``); the zero block holds the populations and the
coherences inside degenerate levels, so ``d0 = sum_l s_l^2`` over levels of degeneracy
``s_l`` (``d0 = d`` exactly when the spectrum is non-degenerate). The estimate is compared with
the allocations ``tracemalloc`` sees during a structured response.
"""

from __future__ import annotations

import json
import re
import sys
import tracemalloc
import warnings
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import thermogeo as tg
from thermogeo import Bath, Machine, Ohmic
from thermogeo.cli import app
from thermogeo.lindblad.backend import frozen_chunks
from thermogeo.lindblad.generator import generator
from thermogeo.numerics import Numerics
from thermogeo.resources import peak_memory_bytes, structure_summary

# The estimate counts the arrays of the kernel; tracemalloc sees numpy's allocations but not
# LAPACK workspaces. Both agree within this factor at 7-8 qubits (measured 1.1-1.4).
ESTIMATE_FACTOR = 2.0
# Levels closer than this (relative to max |E|) are one degenerate level in the independent
# count; far above round-off of eigvalsh and far below the level spacings of these machines.
LEVEL_TOL = 1e-8
# /proc/self/status VmHWM and getrusage ru_maxrss are two readings of one kernel counter,
# taken a moment apart.
PEAK_READINGS_RTOL = 0.05

STRUCT = Numerics(kernel="structured")


def heisenberg(n, graph="chain", uniform=True, seed=0, where="ends"):
    """``(J/4) sum sigma.sigma`` (J = 2) on a graph, fields ``Bx sum h^x X + Bz sum h^z Z``."""
    rng = np.random.default_rng(seed)
    hx = np.ones(n) if uniform else rng.uniform(0.5, 1.5, n)
    hz = np.ones(n) if uniform else rng.uniform(0.5, 1.5, n)
    ham = [(0.5, tg.exchange(n, graph)),
           ("Bx", " + ".join(f"{hx[j]:.6f}*X{j}" for j in range(n))),
           ("Bz", " + ".join(f"{hz[j]:.6f}*Z{j}" for j in range(n)))]
    sites = [0, n - 1] if where == "ends" else list(range(n))
    baths = [Bath(f"S{j}", 1.0, f"X{j} + 0.5*Z{j}", Ohmic(0.01)) for j in sites]
    return Machine(qubits=n, parameters={"Bx": 0.7, "Bz": 0.4}, hamiltonian=ham, baths=baths)


def level_degeneracies(machine) -> np.ndarray:
    """Degeneracy of each distinct energy level, from ``eigvalsh`` of the dense H."""
    E = np.linalg.eigvalsh(machine.hamiltonian_at(machine.point()))
    new = np.r_[True, np.diff(E) > LEVEL_TOL * max(1.0, np.abs(E).max())]
    return np.diff(np.r_[np.flatnonzero(new), len(E)])


def stored_generator_bytes(s, parameters=2) -> int:
    """An independent count of arrays a response must hold: the generator and its derivative
    along each parameter, block by block (the Bohr blocks that are not applied matrix-free,
    8 bytes per element in real arithmetic, 16 in complex); the dense kernel holds them as
    ``d^2 x d^2`` complex matrices, plus one dissipator per bath (2 here)."""
    if s["kernel"] == "dense":
        return 16 * s["d"] ** 4 * (1 + 2 + parameters)
    item = 8 if s["real"] else 16
    free = set(s["matrix_free_sizes"])
    stored = sum(size**2 * count for size, count in s["block_sizes"].items() if size not in free)
    return item * stored * (1 + parameters)


def check_partition(s):
    assert sum(size * count for size, count in s["block_sizes"].items()) == s["d"] ** 2
    assert s["block_sizes"][s["d0"]] >= 1
    assert s["largest_block"] == max(s["block_sizes"])
    # the estimate covers at least the arrays counted independently from the block sizes
    assert s["estimated_bytes"] >= stored_generator_bytes(s), s["estimate"]


@pytest.mark.parametrize("n", [4, 5])
def test_random_field_chain_has_a_population_zero_block_and_single_coherences(n):
    m = heisenberg(n, uniform=False, seed=n)
    s = structure_summary(m)
    check_partition(s)
    assert np.all(level_degeneracies(m) == 1)
    assert s["d0"] == s["d"] == 2**n and s["levels"] == 2**n
    # Random fields: every Bohr frequency is distinct, so every coherence is its own block.
    assert s["block_sizes"] == {1: s["d"] ** 2 - s["d"], s["d"]: 1}
    assert s["largest_small_block"] == 1 and s["kernel"] == "structured"


def test_uniform_field_chain_has_zeeman_ladders_but_no_degenerate_levels():
    """A uniform field lifts the SU(2) multiplets (d0 = d), but equally spaced Zeeman ladders
    make the element frequencies degenerate: small blocks larger than one."""
    m = heisenberg(5)
    s = structure_summary(m)
    check_partition(s)
    assert np.all(level_degeneracies(m) == 1)
    assert s["d0"] == s["d"]
    assert s["largest_small_block"] > 1


@pytest.mark.parametrize("n, graph", [(4, "ring"), (5, "ring"), (4, "all")])
def test_degenerate_levels_enlarge_the_zero_block(n, graph):
    """Rings (momenta +-k) and all-to-all graphs have degenerate levels in a uniform field:
    d0 = sum over levels of (degeneracy)^2 > d."""
    m = heisenberg(n, graph)
    s = structure_summary(m)
    check_partition(s)
    deg = level_degeneracies(m)
    assert deg.max() > 1
    assert s["d0"] == int(np.sum(deg**2)) > s["d"]
    assert s["levels"] == len(deg)


def test_estimate_grows_with_the_number_of_qubits():
    """For one kernel (the automatic choice switches to the lighter structured kernel at 4
    qubits, so the default estimate drops there)."""
    est = [structure_summary(heisenberg(n, uniform=False, seed=n), numerics=STRUCT)
           ["estimated_bytes"] for n in range(2, 9)]
    assert all(b > a for a, b in zip(est, est[1:])), est
    # Above a few qubits the d^2 arrays dominate: about 4x per qubit.
    assert 3.0 < est[-1] / est[-2] < 5.0, est


@pytest.mark.parametrize("n, uniform", [(7, False), (8, True)])
def test_estimate_is_close_to_the_allocations_of_a_structured_response(n, uniform):
    m = heisenberg(n, uniform=uniform, seed=n)
    s = structure_summary(m, numerics=STRUCT)
    tracemalloc.start()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tg.response(m, plane=("Bx", "Bz"), numerics=STRUCT)
        _, traced = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    ratio = s["estimated_bytes"] / traced
    assert 1 / ESTIMATE_FACTOR < ratio < ESTIMATE_FACTOR, (ratio, s["estimate"])


def test_dense_kernel_is_reported_for_small_machines(models_dir):
    m = tg.load_model(models_dir / "heisenberg_dimer.toml")
    s = structure_summary(m)
    assert s["kernel"] == "dense" and s["d"] == 4
    check_partition(s)
    assert structure_summary(m, numerics=STRUCT)["kernel"] == "structured"


def test_summary_rejects_bad_points(models_dir):
    m = tg.load_model(models_dir / "qubit_pump.toml")
    with pytest.raises(ValueError, match=r"lam: expected a last axis of length 2 \(Bx, Bz\)"):
        structure_summary(m, [0.7])
    with pytest.raises(ValueError, match=r"lam: expected one point of shape \(2,\)"):
        structure_summary(m, [[0.7, 0.4], [0.5, 0.5]])
    with pytest.raises(ValueError, match="lam: expected finite values"):
        structure_summary(m, [np.nan, 0.4])


def test_peak_memory_is_monotone_bounds_the_resident_set_and_matches_the_kernel_counter():
    status = Path("/proc/self/status")
    if not sys.platform.startswith("linux") or not status.exists():
        pytest.skip("VmRSS and VmHWM need /proc")

    def kib(field):
        return int(re.search(rf"{field}:\s+(\d+) kB", status.read_text()).group(1)) * 1024

    p1 = peak_memory_bytes()
    block = np.ones(2**23)  # 64 MiB, touched
    block += 1.0
    rss = kib("VmRSS")  # resident now, the block included
    p2 = peak_memory_bytes()
    del block
    assert rss > 8 * 2**23
    assert p1 <= p2 <= peak_memory_bytes()
    assert p2 >= rss * (1 - PEAK_READINGS_RTOL)  # a peak is at least what is resident now
    assert peak_memory_bytes() == pytest.approx(kib("VmHWM"), rel=PEAK_READINGS_RTOL)


@pytest.mark.parametrize("kernel", ["dense", "structured"])
def test_secular_rate_bound_is_above_the_exact_rate(kernel):
    """The secular ratio divides the Bohr-frequency gap by a Gershgorin bound on the fastest
    relaxation rate: at least the exact largest |Re| eigenvalue of L, for both backends."""
    m = heisenberg(4, uniform=False, seed=4).with_values(**{"S0.strength": 0.3,
                                                            "S3.strength": 0.3})
    lam = m.point()[None]
    _, fg = next(frozen_chunks(m, lam, Numerics(kernel=kernel)))
    exact = np.abs(np.linalg.eigvals(generator(m, lam).L[0]).real).max()
    assert fg._rate_bound()[0] >= exact * (1 - 1e-12)
    w = np.unique(np.round(np.subtract.outer(*(2 * [np.linalg.eigvalsh(m.hamiltonian_at(lam[0]))]
                                                )), 9))
    np.testing.assert_allclose(fg._bohr_gap()[0], np.diff(w).min(), rtol=1e-5)  # w rounded to 1e-9
    assert fg.secular_ratio()[0] < 1  # strong coupling: the check warns


# -- CLI ----------------------------------------------------------------------------------
def run(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def write_model(path: Path, n: int, graph: str, couplings=("X0 + 0.5*Z0", None)) -> Path:
    ops = {"X": " + ".join(f"X{j}" for j in range(n)), "Z": " + ".join(f"Z{j}" for j in range(n))}
    right = couplings[1] or f"X{n - 1} + 0.5*Z{n - 1}"
    baths = "".join(f'''
[[baths]]
name = "{name}"
temperature = 1.0
coupling = "{c}"
spectral_density = {{ kind = "ohmic", strength = 0.001, exponent = 1.0, cutoff = "inf" }}
''' for name, c in (("L", couplings[0]), ("R", right)))
    path.write_text(f'''name = "{graph}{n}"
qubits = {n}
parameters = {{ Bx = 0.3, Bz = 0.5 }}
constants = {{ J = 2.0 }}
[[hamiltonian]]
coefficient = "Bx"
operator = "{ops['X']}"
[[hamiltonian]]
coefficient = "Bz"
operator = "{ops['Z']}"
[[hamiltonian]]
coefficient = "0.25*J"
operator = "{tg.exchange(n, graph)}"
''' + baths)
    return path


def test_check_reports_kernel_blocks_and_memory(models_dir, tmp_path):
    out = json.loads(run("check", models_dir / "heisenberg_dimer.toml", "--json").stdout)
    assert out["kernel"] == "dense"
    assert out["estimated_memory_MB"] * 2**20 >= stored_generator_bytes(out["structure"])
    assert out["structure"]["d0"] == 4 and out["structure"]["largest_block"] == 4
    path = write_model(tmp_path / "ring5.toml", 5, "ring")
    result = run("check", path)
    assert result.exit_code == 0, result.stderr
    assert "kernel: structured" in result.stdout
    assert "estimated memory of one response:" in result.stdout
    out = json.loads(run("check", path, "--json").stdout)
    m = tg.load_model(path)
    assert out["structure"]["d0"] == int(np.sum(level_degeneracies(m) ** 2)) > 32
    assert out["estimated_memory_MB"] == pytest.approx(out["structure"]["estimated_bytes"]
                                                       / 2**20)
    np.testing.assert_allclose(out["spectrum"], np.linalg.eigvalsh(m.hamiltonian_at(m.point())),
                               atol=1e-12)


def test_structured_check_refuses_a_dark_steady_state(tmp_path):
    """All-to-all exchange with both baths on one site leaves symmetry sectors dark."""
    path = write_model(tmp_path / "all4.toml", 4, "all", couplings=("X0", "Z0"))
    result = run("check", path)
    assert result.exit_code == 2
    assert "NonUniqueSteadyStateError" in result.stderr and "all4.toml" in result.stderr


def test_response_json_reports_measured_and_estimated_memory(models_dir):
    before = peak_memory_bytes()
    result = run("response", models_dir / "qubit_pump.toml", "--json")
    after = peak_memory_bytes()
    assert result.exit_code == 0, result.stderr
    out = json.loads(result.stdout)
    # the CLI ran in this process: its peak lies between this process's peaks around the call
    assert before <= out["peak_memory_MB"] * 2**20 <= after
    m = tg.load_model(models_dir / "qubit_pump.toml")
    assert out["estimated_memory_MB"] * 2**20 == pytest.approx(
        structure_summary(m, plane=True)["estimated_bytes"], rel=1e-12)
    text = run("response", models_dir / "qubit_pump.toml").stdout
    assert "memory: peak" in text


def test_response_warns_where_the_secular_ratio_is_below_one(models_dir):
    """The library (not only the CLI) warns where Bohr frequencies come closer than the rates:
    Q1 at strength 1 (rates far above the splitting), not at strength 1e-3."""
    m = tg.load_model(models_dir / "qubit_pump.toml")
    with pytest.warns(tg.errors.SecularApproximationWarning, match="closer than a bound"):
        r = tg.response(m, [0.7, 0.4])
    assert r.secular_ratio < 1
    weak = m.with_values(**{"L.strength": 1e-3, "R.strength": 1e-3})
    with warnings.catch_warnings():
        warnings.simplefilter("error", tg.errors.SecularApproximationWarning)
        assert tg.response(weak, [0.7, 0.4]).secular_ratio > 1
