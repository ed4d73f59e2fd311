"""Memory of a run: the measured peak of this process and an estimate before computing.

* :func:`peak_memory_bytes` reads the peak resident set size of the process
  (``getrusage(RUSAGE_SELF).ru_maxrss``, KiB on Linux, bytes on macOS).
* :func:`structure_summary` diagonalises ``H`` at one point and reports the Bohr-block
  structure the structured kernels of :mod:`thermogeo.response.structured` will use (zero
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

from thermogeo.lindblad.blocks import BlockStructure, block_structure, matrix_free
from thermogeo.linalg.bohr import bohr_groups
from thermogeo.model.machine import Machine
from thermogeo.numerics import Numerics

#: Elements of the temporaries the block kernels build at once (``_CHUNK`` of
#: :mod:`thermogeo.lindblad.blocks`), and the number of 8-byte index / value arrays of that
#: length alive together while a chunk of block entries is filled (counted in ``_entries``).
CHUNK_ELEMENTS = 2**20
CHUNK_ARRAYS = 10
#: Small-block inverses are kept when they take at most this many bytes
#: (``INVERSE_BUDGET_BYTES`` of the structured kernel).
INVERSE_BUDGET_BYTES = 2 * 2**30
#: The lab-frame steady state is returned by the structured kernel up to this dimension.
STATE_MAX_DIM = 1024


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


def estimate_response_bytes(d: int, d0: int, n_single: int, multi_sizes: dict[int, int], *,
                            parameters: int, derivatives: int, baths: int, plane: bool,
                            real: bool, method: str = "gibbs", free_sizes=()
                            ) -> dict[str, int]:
    """Bytes of the arrays of one structured pointwise response, by component.

    Counted from ``thermogeo.response.structured._point`` (one point, structured kernel),
    with ``s`` the item size of the eigenframe arrays (8 real, 16 complex), ``k`` parameters,
    ``n`` differentiated parameters, ``S2 = sum over small blocks of size^2``::

        held   = s d^2 (U) + 24 d^2 (frequencies, labels, element index) + 8 d^2 (omega)
               + k s d^2 (V~_i) + n (s + 8) d^2 (X_i, dW_i)
               + s (d0^2 + n1 + S2) (dissipator blocks) + 16 n d0^2 (zero-block dL_i)
               + s d0^2 (LU of the zero block) + 32 k d^2 (d rho_0 and z = L^D d rho_0)
               + 16 S2 (small-block inverses, general method, if <= 2 GiB)
               + 16 d^2 (lab-frame steady state, d <= 1024)
        peak   = held + max(transients)
        transients: eigh 3 s d^2; Bohr grouping 100 d^2; per bath 3 s d^2 + 16 d^2
                    + s d0^2 + 16 d0^2 + block fill; zero-block system 32 d0^2;
                    rotor commutators (level rows and columns) 64 d sqrt(d0).
        block fill: 80 bytes per entry of the largest chunk of block entries built at once,
                    max(d (d0 - d), min(2^20, (d0 - d)^2), min(2^20, count s^2) per size).

    Blocks whose size is in ``free_sizes`` are matrix-free
    (:mod:`thermogeo.lindblad.levels`): they store no entries; instead the eigenframe couplings
    are kept (``m s d^2``, plus ``n m s d^2`` for the derivative terms when the zero block is
    matrix-free), their level-pair products are cached (``<= m s d^2``), and GMRES holds
    ``GMRES_RESTART + 6`` complex vectors of the largest matrix-free set of blocks.

    Parameters
    ----------
    d, d0, n_single : int
        Dimension, zero-block size, number of one-element blocks.
    multi_sizes : dict
        ``{size: count}`` of the blocks of size > 1 other than the zero block.
    parameters, derivatives, baths : int
        ``k``, ``n`` (all parameters with the general method, the rotor plane with the Gibbs
        one) and ``m``.
    plane : bool
        Whether the rotor is computed.
    real : bool
        ``H`` and the couplings are real (the kernels then work in real arithmetic).
    method : {"gibbs", "general"}
    free_sizes : collection of int
        Sizes of the blocks (``d0`` for the zero block) that are matrix-free
        (:func:`free_block_sizes`); default none.

    Returns
    -------
    dict
        Component name -> bytes, with ``"total"`` the estimated peak.
    """
    from thermogeo.lindblad.levels import GMRES_RESTART

    s = 8 if real else 16
    k, n, d2 = parameters, derivatives, d * d

    def big(size):
        return size in free_sizes

    free = [d0] * big(d0) + [size * count for size, count in multi_sizes.items() if big(size)]
    multi_sizes = {size: count for size, count in multi_sizes.items() if not big(size)}
    z2 = 0 if big(d0) else d0 * d0
    S2 = sum(size * size * count for size, count in multi_sizes.items())
    held = {
        "eigenvectors": s * d2,
        "block structure": 24 * d2 + 8 * d2,
        "eigenframe V_i": k * s * d2,
        "perturbation X_i": n * (s + 8) * d2,
        "dissipator blocks": s * (z2 + n_single + S2),
        "zero-block derivatives": 16 * n * z2,
        "zero-block LU": s * z2,
        "d rho_0 and z": 32 * k * d2,
        "small-block inverses": (16 * S2 if method == "general"
                                 and 16 * S2 <= INVERSE_BUDGET_BYTES else 0),
        "steady state": 16 * d2 if d <= STATE_MAX_DIM else 0,
    }
    if free:
        held["matrix-free blocks"] = (2 * baths * s * d2 + baths * n * s * d2 * big(d0)
                                      + 16 * (GMRES_RESTART + 6) * max(free))
    coh = d0 - d if z2 else 0
    fill = 8 * CHUNK_ARRAYS * max([d * coh, min(CHUNK_ELEMENTS, coh * coh)]
                                  + [min(CHUNK_ELEMENTS, size * size * count)
                                     for size, count in multi_sizes.items()])
    transient = {
        "eigh": 3 * s * d2,
        "Bohr grouping": 100 * d2,
        "bath loop": 3 * s * d2 + 16 * d2 + s * z2 + 16 * z2 + fill,
        "zero-block system": 32 * z2,
        "rotor commutators": 64 * d * int(np.sqrt(d0)) if plane and d0 > d else 0,
    }
    out = dict(held)
    top = max(transient, key=transient.get)
    out[f"transient ({top})"] = transient[top]
    out["total"] = int(sum(held.values()) + transient[top])
    return {key: int(v) for key, v in out.items()}


def free_block_sizes(st: BlockStructure, numerics: Numerics) -> set[int]:
    """Sizes of the Bohr blocks that the structured kernels apply matrix-free
    (:func:`thermogeo.lindblad.blocks.matrix_free`; ``d0`` stands for the zero block)."""
    dmax = numerics.dense_block_max
    out = {st.d0} if matrix_free(st, st.zero, dmax) else set()
    return out | {i.shape[1] for i in st.multi if matrix_free(st, i[0], dmax)}


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
        ``kernel`` ("dense" or "structured", what ``thermogeo.response`` uses), ``qubits``,
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
    method = numerics.derivative
    if method == "auto":
        method = "gibbs" if machine.equal_temperatures else "general"
    n = k if method == "general" else (min(2, k) if plane else 0)
    dense = numerics.use_dense(machine.qubits)
    if dense:
        est = {"dense superoperators": 3 * 16 * d**4 * (m * (2 + n) + 3 + 2 * n)}
        est["total"] = est["dense superoperators"]
    else:
        est = estimate_response_bytes(d, st.d0, len(st.single), multi, parameters=k,
                                      derivatives=n, baths=m, plane=plane and k >= 2,
                                      real=real, method=method,
                                      free_sizes=free_block_sizes(st, numerics))
    return {
        "kernel": "dense" if dense else "structured",
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
