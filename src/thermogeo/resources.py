"""Memory of a run: the measured peak of this process and an estimate before computing.

* :func:`peak_memory_bytes` reads the peak resident set size of the process
  (``getrusage(RUSAGE_SELF).ru_maxrss``, KiB on Linux, bytes on macOS).
* :func:`structure_summary` diagonalises ``H`` at one point and reports the Bohr-block
  structure the Bohr-block backend (:mod:`thermogeo.lindblad.structured`) will use (zero
  block ``d0 x d0``, the small blocks by size), which kernel ``thermogeo.response`` picks, and
  an estimate of the memory of one pointwise response, from the arrays that kernel holds
  (see :func:`estimate_response_bytes`).

The estimate counts the arrays of the kernel, not the interpreter and its libraries (about
100-200 MB of resident memory before any computation) nor the machine's sparse operators.
"""

from __future__ import annotations

import resource
import sys

import numpy as np

from thermogeo.lindblad.backend import (dense_point_bytes, generic_point_bytes, may_use_generic,
                                        uses_dense)
from thermogeo.lindblad.generic import generic_points
from thermogeo.lindblad.blocks import BlockStructure, block_structure
from thermogeo.lindblad.structured import (estimate_response_bytes,
                                           free_block_sizes)
from thermogeo.linalg.bohr import bohr_groups
from thermogeo.model.machine import Machine
from thermogeo.numerics import Numerics

def peak_memory_bytes() -> int:
    """Peak resident set size of this process so far, in bytes.

    ``ru_maxrss`` of ``getrusage(RUSAGE_SELF)`` (KiB on Linux, bytes on macOS). It never
    decreases during the life of the process.

    Returns
    -------
    int
        ``ru_maxrss * 1024`` (Linux) or ``ru_maxrss`` (macOS).

    Examples
    --------
    >>> peak_memory_bytes() > 0
    True
    """
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak if sys.platform == "darwin" else peak * 1024)


def _point(machine: Machine, lam) -> np.ndarray:
    lam = machine.as_points(lam)
    if lam.shape != (len(machine.parameters),):
        raise ValueError(f"lam: expected one point of shape ({len(machine.parameters)},) "
                         f"({', '.join(machine.parameters)}), got shape {lam.shape}")
    if not np.all(np.isfinite(lam)):
        raise ValueError(f"lam: expected finite values, got {lam.tolist()}")
    return lam


def structure_summary(machine: Machine, lam=None, numerics: Numerics | None = None, *,
                      plane: bool = True) -> dict:
    """Bohr-block structure of the secular generator at one point, and the memory estimate.

    In the eigenframe of ``H(lam)`` the generator couples element ``[c, d]`` to ``[a, b]``
    only if ``nu_ab = E_a - E_b`` and ``nu_cd`` are one Bohr frequency, so the ``d^2``
    elements split into blocks (:func:`thermogeo.lindblad.blocks.block_structure`): the zero
    block (populations and coherences inside degenerate levels, ``d0 = sum_l s_l^2 >= d``
    for levels of degeneracy ``s_l``) and small blocks, one per group of equal element
    frequencies. Costs one ``eigh`` of ``H``.

    Parameters
    ----------
    machine : Machine
    lam : array (k,), optional
        One parameter point (default: the machine's default point).
    numerics : Numerics, optional
        Degeneracy tolerance and kernel choice (default ``Numerics()``).
    plane : bool
        Whether the estimate includes the rotor (as ``thermogeo response`` computes it).

    Returns
    -------
    dict
        ``kernel`` ("dense" or "structured", what ``thermogeo.response`` uses), ``generic``
        (structured and a generic spectrum: batched, :mod:`thermogeo.lindblad.generic`), ``qubits``,
        ``d``, ``d0``, ``levels`` (distinct energy levels), ``single_blocks``,
        ``block_sizes`` (``{size: count}``, zero block included, so that
        ``sum(size * count) == d^2``), ``largest_block`` (the zero block included),
        ``largest_small_block``, ``real`` (real arithmetic), ``matrix_free_sizes`` (sizes of
        the blocks applied matrix-free, ``d0`` for the zero block), ``estimated_bytes`` (estimated
        peak of one pointwise response with the kernel used; dense:
        ``3 * 16 d^4 (m (2 + n) + 3 + 2 n)``, the budget of the dense path; structured: see
        :func:`estimate_response_bytes`) and ``estimate`` (its components).

    Examples
    --------
    >>> from thermogeo.io import load_model
    >>> s = structure_summary(load_model("models/heisenberg_dimer.toml"))
    >>> s["d"], sum(size * count for size, count in s["block_sizes"].items())
    (4, 16)
    """
    numerics = numerics or Numerics()
    lam = _point(machine, lam)
    H = machine.dense_hamiltonian(lam)
    E = np.linalg.eigvalsh(H)
    del H
    st: BlockStructure = block_structure(E, bohr_groups(E, numerics.degeneracy_tol))
    sizes = dict(sorted(st.sizes().items()))
    multi = {blk.shape[1]: blk.shape[0] for blk in st.multi}
    _, Vs, As = machine.sparse_operators
    real = not any(np.iscomplexobj(O.data) and np.any(O.data.imag)
                   for O in [machine.sparse_operators[0], *Vs, *As])
    d, m, k = machine.dim, len(machine.baths), len(machine.parameters)
    method = numerics.derivative_method(machine)
    n = k if method == "general" else (min(2, k) if plane else 0)
    generic = (may_use_generic(machine, numerics)
               and bool(generic_points(machine, lam[None], numerics)[0]))
    dense = uses_dense(machine, numerics) and not generic
    if dense:
        est = {"dense superoperators": dense_point_bytes(machine, n)}
        est["total"] = est["dense superoperators"]
    elif generic:
        est = {"generic-spectrum arrays": generic_point_bytes(machine, n)}
        est["total"] = est["generic-spectrum arrays"]
    else:
        est = estimate_response_bytes(d, st.d0, len(st.single), multi, parameters=k,
                                      derivatives=n, baths=m, plane=plane and k >= 2,
                                      real=real, method=method,
                                      free_sizes=free_block_sizes(st, numerics),
                                      numerics=numerics)
    return {
        "kernel": "dense" if dense else "structured",
        "generic": generic,
        "qubits": machine.qubits,
        "d": d,
        "d0": st.d0,
        "levels": int(len(st.level_size)),
        "single_blocks": int(len(st.single)),
        "block_sizes": {int(a): int(b) for a, b in sizes.items()},
        "largest_block": int(max(sizes)),
        "largest_small_block": int(max(multi)) if multi else (1 if len(st.single) else 0),
        "real": bool(real),
        "matrix_free_sizes": sorted(int(x) for x in free_block_sizes(st, numerics)),
        "estimated_bytes": int(est["total"]),
        "estimate": est,
    }
