"""Numerical knobs of the kernels, in one visible object."""

from __future__ import annotations

from dataclasses import dataclass

from thermogeo.errors import ModelError

DERIVATIVE_METHODS = ("auto", "gibbs", "general")
KERNELS = ("auto", "dense", "structured")


@dataclass(frozen=True)
class Numerics:
    """Numerical options shared by the kernels.

    Parameters
    ----------
    degeneracy_tol : float
        Bohr frequencies (and energy levels) closer than
        ``degeneracy_tol * max(1, max|E|)`` are merged into one group of the secular
        generator. Default 1e-9.
    uniqueness_rcond : float
        The steady state is declared non-unique where the reciprocal condition number of
        ``L + |1/d>><<1|`` falls below this. Default 1e-14 (exactly dark sectors give ~1e-17).
    derivative : {"auto", "gibbs", "general"}
        How ``d rho_0 / d lam`` is computed: the Daleckii-Krein formula for the Gibbs state
        (only valid when all baths share one temperature), the general ``-L^D (dL) rho_0``,
        or ``"auto"`` (Gibbs when the temperatures are equal). Default ``"auto"``.
    chunk_bytes : int
        Approximate memory budget of one batch chunk of dense superoperators. Default 256 MiB.
    kernel : {"auto", "dense", "structured"}
        Backend of the frozen generator (:func:`thermogeo.lindblad.backend.frozen_chunks`):
        ``"dense"``: ``d^2 x d^2`` superoperators for every point; ``"structured"``: Bohr
        blocks, never a ``d^2 x d^2`` matrix (points with a generic spectrum batched, the
        others one by one); ``"auto"``: generic points batched on the blocks, the others dense
        up to ``dense_max_qubits`` qubits and on the blocks above (decision 0707). Default
        ``"auto"``.
    dense_max_qubits : int
        Largest number of qubits for which ``kernel="auto"`` uses the dense kernels. Default 3
        (measured per point with the rotor: 4 qubits dense 0.66 s, structured 0.035 s).
    dense_block_max : int
        Structured kernels: Bohr blocks with more elements than this, made of degenerate
        energy levels, are not stored but applied matrix-free, level pair by level pair, and
        solved by preconditioned GMRES (:mod:`thermogeo.lindblad.levels`,
        :func:`thermogeo.lindblad.blocks.matrix_free`); the others are stored and factorised.
        Only highly degenerate spectra (uniform fields on all-to-all graphs: collective spin
        multiplets) have such blocks. Default 256 (measured at 8 qubits: 4.1 s matrix-free
        against 25 s with 4096 and 46 s with every block stored).
    generic_max_dim : int
        Structured kernels: points whose spectrum is generic (non-degenerate levels and Bohr
        frequencies) are computed in batches (:mod:`thermogeo.lindblad.generic`) up to this
        dimension ``d``; above it, and at every other point, one point at a time. Default 256.
    gmres_rtol, gmres_restart, gmres_maxiter : float, int, int
        Matrix-free Bohr blocks (:mod:`thermogeo.lindblad.levels`): relative residual of the
        GMRES solves (well below the 1e-10 agreement with dense; default 1e-12), Krylov
        vectors kept between restarts (40) and restart cycles before a solve is declared not
        converged (50).
    lu_block : int
        Stored Bohr blocks of at least this size are LU-factorised one by one (a third of the
        cost of an inverse); smaller ones are inverted in batches. Default 48.
    inverse_budget_bytes : int
        The inverses of the small Bohr blocks are kept for later Drazin solves when they take
        at most this many bytes; otherwise each solve factorises them again. Default 2 GiB.
    state_max_dim : int
        Largest dimension ``d`` for which :func:`thermogeo.response` returns the lab-frame
        steady state (one ``d x d`` matrix per point); above it ``steady_state`` is None
        (:func:`thermogeo.response.structured.steady_state` gives it at any size). Default 1024.
    """

    degeneracy_tol: float = 1e-9
    uniqueness_rcond: float = 1e-14
    derivative: str = "auto"
    chunk_bytes: int = 256 * 2**20
    kernel: str = "auto"
    dense_max_qubits: int = 3
    dense_block_max: int = 256
    generic_max_dim: int = 256
    gmres_rtol: float = 1e-12
    gmres_restart: int = 40
    gmres_maxiter: int = 50
    lu_block: int = 48
    inverse_budget_bytes: int = 2 * 2**30
    state_max_dim: int = 1024

    def __post_init__(self):
        if not 0 < self.degeneracy_tol < 1e-2:
            raise ModelError(f"degeneracy_tol: expected a number in (0, 1e-2), got "
                             f"{self.degeneracy_tol}")
        if not 0 < self.uniqueness_rcond < 1e-2:
            raise ModelError(f"uniqueness_rcond: expected a number in (0, 1e-2), got "
                             f"{self.uniqueness_rcond}")
        if self.derivative not in DERIVATIVE_METHODS:
            raise ModelError(f"derivative: expected one of {DERIVATIVE_METHODS}, got "
                             f"{self.derivative!r}")
        if self.kernel not in KERNELS:
            raise ModelError(f"kernel: expected one of {KERNELS}, got {self.kernel!r}")
        if not (isinstance(self.dense_block_max, int) and self.dense_block_max >= 1):
            raise ModelError(f"dense_block_max: expected a positive integer, got "
                             f"{self.dense_block_max!r}")
        if not 0 < self.gmres_rtol < 1e-2:
            raise ModelError(f"gmres_rtol: expected a number in (0, 1e-2), got "
                             f"{self.gmres_rtol}")
        for name in ("gmres_restart", "gmres_maxiter", "lu_block", "generic_max_dim",
                     "state_max_dim"):
            if not (isinstance(getattr(self, name), int) and getattr(self, name) >= 1):
                raise ModelError(f"{name}: expected a positive integer, got "
                                 f"{getattr(self, name)!r}")
        if self.inverse_budget_bytes < 0:
            raise ModelError(f"inverse_budget_bytes: expected a number >= 0, got "
                             f"{self.inverse_budget_bytes}")
        if self.chunk_bytes < 2**20:
            raise ModelError(f"chunk_bytes: expected at least 1 MiB, got {self.chunk_bytes}")

    def derivative_method(self, machine) -> str:
        """``derivative`` resolved for ``machine``: ``"gibbs"`` or ``"general"`` (``"auto"``
        is Gibbs when every bath has the same temperature and the master equation is the
        secular one, whose steady state is then the Gibbs state); ``"gibbs"`` otherwise is
        refused."""
        gibbs = machine.equal_temperatures and machine.master_equation.secular
        if self.derivative == "auto":
            return "gibbs" if gibbs else "general"
        if self.derivative == "gibbs" and not gibbs:
            raise ValueError("numerics.derivative: 'gibbs' needs equal bath temperatures and "
                             "the secular master equation; got temperatures "
                             f"{dict(zip(machine.bath_names, machine.temperatures))}, master "
                             f"equation {machine.master_equation.kind!r}")
        return self.derivative

    def use_dense(self, qubits: int) -> bool:
        """Whether the dense kernels serve a machine of this many qubits."""
        if self.kernel == "auto":
            return qubits <= self.dense_max_qubits
        return self.kernel == "dense"
