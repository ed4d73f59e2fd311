"""QuTiP objects of a machine at one parameter point: Hamiltonian, generator, steady state and
jump operators (the other direction, Qobj into a machine, is :class:`~thermogeo.Machine`
itself, which takes ``Qobj`` operators; :func:`thermogeo.io.save_model` writes such a machine
to TOML).

QuTiP is an optional dependency (``pip install "thermogeo[qutip]"``): it is imported when one of
these functions is called, never when thermogeo is. Conventions of the returned objects:

* operators have dims ``[[2] * N, [2] * N]`` (qubit 0 the leftmost tensor factor, as in
  :mod:`thermogeo.conventions`);
* superoperators are in QuTiP's column-stacking form (``vec(rho)[a + b d] = rho[a, b]``), dims
  ``[[[2] * N] * 2] * 2``, so that ``qutip.steadystate``, ``qutip.mesolve`` and
  ``qutip.liouvillian`` read them as they read their own; thermogeo's row-major ``L`` is
  permuted once, ``L_col[(a, b), (c, e)] = L_row[(b, a), (e, c)]``;
* the jump operators of bath ``alpha`` are those of the machine's master equation in the lab
  frame, so that ``qutip.liouvillian(H, jumps)`` is the generator: for the secular (Davies)
  one, ``sqrt(gamma_alpha(omega)) A_alpha(omega)``, one per Bohr frequency with nonzero rate
  and operator (docs/theory.md section 2); for the other members of
  :class:`~thermogeo.model.master.MasterEquation`, one per cluster of frequencies,
  ``L_{alpha,c} = sum_{omega in c} sqrt(gamma_alpha(omega)) A_alpha(omega)``
  (:func:`thermogeo.lindblad.family.jumps`).
"""

from __future__ import annotations

import numpy as np

from thermogeo.errors import InsufficientMemoryError, ModelError, NonUniqueSteadyStateError
from thermogeo.lindblad.backend import dense_point_bytes, frozen_chunks
from thermogeo.lindblad.family import jumps
from thermogeo.lindblad.generator import generator, spectrum
from thermogeo.lindblad.structured import available_memory_bytes
from thermogeo.model.machine import Machine
from thermogeo.numerics import Numerics

__all__ = ["generator_qobj", "hamiltonian_qobj", "jump_operators_qobj", "operator_qobj",
           "steady_state_qobj", "superoperator_qobj"]

JUMP_TOL = 16 * np.finfo(float).eps
"""Jump operators ``A(omega)`` whose largest entry is below ``JUMP_TOL * max|A~|`` (round-off
of the rotation into the eigenframe) are left out; their part of ``L`` is below ``1e-28``
relative."""


def _qutip():
    try:
        import qutip
    except ImportError:  # pragma: no cover - qutip is in the test extra
        raise ImportError("thermogeo.interop needs QuTiP >= 5: pip install "
                          "'thermogeo[qutip]'") from None
    return qutip


def _point(machine: Machine, lam) -> np.ndarray:
    lam = machine.as_points(lam)
    k = len(machine.parameters)
    if lam.shape != (k,):
        raise ModelError(f"lam: expected one point of shape ({k},) "
                         f"({', '.join(machine.parameters)}), got shape {lam.shape}; a Qobj "
                         "holds one operator")
    return lam


def _dims(machine_or_qubits) -> list[int]:
    n = machine_or_qubits if isinstance(machine_or_qubits, int) else machine_or_qubits.qubits
    return [2] * n


def operator_qobj(M: np.ndarray, qubits: int):
    """A ``(d, d)`` operator of thermogeo as a ``qutip.Qobj`` with qubit dims."""
    d = [2] * qubits
    return _qutip().Qobj(np.asarray(M), dims=[d, d])


def superoperator_qobj(S: np.ndarray, qubits: int):
    """A row-major ``(d^2, d^2)`` superoperator of thermogeo (:mod:`thermogeo.conventions`) as
    a QuTiP superoperator (column stacking, ``superrep="super"``).

    Examples
    --------
    >>> import qutip
    >>> A = np.array([[0.0, 1.0], [2.0, 3.0]])
    >>> S = superoperator_qobj(np.kron(A, A.T), 1)          # rho -> A rho A (row-major)
    >>> bool(np.allclose(S.full(), (qutip.spre(qutip.Qobj(A)) * qutip.spost(qutip.Qobj(A))).full()))
    True
    """
    S = np.asarray(S)
    d = 2**qubits
    col = S.reshape(d, d, d, d).transpose(1, 0, 3, 2).reshape(d * d, d * d)
    dd = [[2] * qubits] * 2
    return _qutip().Qobj(col, dims=[dd, dd], superrep="super")


def hamiltonian_qobj(machine: Machine, lam=None):
    """``H(lam) = H0 + sum_i lam_i V_i`` at one point ``lam (k,)`` (default: the machine's
    default point) as a ``Qobj``."""
    return operator_qobj(machine.dense_hamiltonian(_point(machine, lam)), machine.qubits)


def _generator(machine: Machine, lam: np.ndarray, numerics: Numerics | None):
    need, have = dense_point_bytes(machine, 0), available_memory_bytes()
    if need > have:
        raise InsufficientMemoryError(
            f"{machine.name or 'machine'}: the dense {machine.dim**2} x {machine.dim**2} "
            f"generator needs about {need / 2**30:.1f} GiB, {have / 2**30:.1f} GiB are "
            "available; export the jump operators (jump_operators_qobj) and the Hamiltonian "
            "instead")
    return generator(machine, lam[None], numerics)


def generator_qobj(machine: Machine, lam=None, *, bath: str | None = None,
                   numerics: Numerics | None = None):
    """The lab-frame generator ``L`` (or the dissipator ``D_alpha`` of ``bath``) at one point,
    as a QuTiP superoperator.

    ``L rho = -i[H, rho] + sum_alpha D_alpha rho`` (docs/theory.md section 2; ``D_alpha`` of the
    machine's master equation), built densely
    (``d^2 x d^2``; refused with :class:`InsufficientMemoryError` when it cannot be held).

    Examples
    --------
    >>> import qutip, thermogeo as tg
    >>> m = tg.load_model("models/qubit_pump.toml")
    >>> L = generator_qobj(m, [0.7, 0.4])
    >>> L.issuper, L.dims
    (True, [[[2], [2]], [[2], [2]]])
    >>> rho = qutip.steadystate(L)
    >>> bool(abs(rho.tr() - 1) < 1e-12)
    True
    """
    lam = _point(machine, lam)
    gen = _generator(machine, lam, numerics)
    S = gen.L if bath is None else gen.D[..., machine.bath_index(bath), :, :]
    return superoperator_qobj(gen.to_lab(S)[0], machine.qubits)


def steady_state_qobj(machine: Machine, lam=None, *, numerics: Numerics | None = None):
    """The steady state ``rho_0`` (``L rho_0 = 0``, ``Tr rho_0 = 1``) at one point, as a
    density-matrix ``Qobj``; :class:`NonUniqueSteadyStateError` where it is not unique.

    Computed by the backend :func:`thermogeo.response` uses for this machine (no ``d^2 x d^2``
    matrix beyond 3 qubits).
    """
    lam = _point(machine, lam)
    numerics = numerics or Numerics()
    (_, fg), = list(frozen_chunks(machine, lam[None], numerics))
    if not fg.unique[0]:
        raise NonUniqueSteadyStateError.at(machine, lam[None], float(fg.rcond[0]),
                                           numerics.uniqueness_rcond)
    d = machine.dim
    rho = fg.to_lab(fg.rho0.reshape(1, 1, d, d))[0, 0]
    rho = 0.5 * (rho + rho.conj().T)
    return operator_qobj(rho / np.trace(rho).real, machine.qubits)


def jump_operators_qobj(machine: Machine, lam=None, *, bath: str | None = None,
                        numerics: Numerics | None = None) -> list:
    """The jump operators of the machine's master equation at one point, in the lab frame, as
    ``Qobj``.

    Secular (Davies, docs/theory.md section 2): ``sqrt(gamma_alpha(omega)) A_alpha(omega)``,
    one per bath (all baths, or only ``bath``) and Bohr frequency ``omega`` (groups of
    :func:`thermogeo.linalg.bohr.bohr_groups`). Other members (``ule``, ``cluster``,
    ``local``): ``L_{alpha,c} = sum_{omega in c} sqrt(gamma_alpha(omega)) A_alpha(omega)``, one
    per bath and cluster ``c`` (:func:`thermogeo.lindblad.family.jumps`). Ordered by bath, then
    by increasing frequency (cluster); operators with zero rate or a vanishing ``A(omega)`` are
    left out (:data:`JUMP_TOL`). With :func:`hamiltonian_qobj`, ``qutip.liouvillian(H, jumps)``
    is :func:`generator_qobj` and ``qutip.mesolve(H, rho, t, jumps)`` evolves the frozen
    machine.

    Examples
    --------
    >>> import qutip, thermogeo as tg
    >>> m = tg.load_model("models/qubit_pump.toml")
    >>> jumps = jump_operators_qobj(m, [0.7, 0.4])
    >>> L = qutip.liouvillian(hamiltonian_qobj(m, [0.7, 0.4]), jumps)
    >>> bool(np.abs((L - generator_qobj(m, [0.7, 0.4])).full()).max() < 1e-12)
    True
    """
    lam = _point(machine, lam)
    numerics = numerics or Numerics()
    spec = spectrum(machine, lam[None], numerics)
    U, omega, label = spec.U[0], spec.groups.omega[0], spec.groups.label[0]
    Ud = U.conj().T
    baths = machine.baths if bath is None else [machine.baths[machine.bath_index(bath)]]
    if not machine.master_equation.secular:
        ops = jumps(machine, spec.E, spec.U, lam[None], numerics).ops[0]  # (m, C, d, d)
        out = []
        for b in baths:
            Lc = ops[machine.bath_index(b.name)]
            floor = JUMP_TOL * np.abs(Lc).max()
            out += [operator_qobj(U @ L @ Ud, machine.qubits) for L in Lc
                    if np.abs(L).max() > floor]
        return out
    _, _, couplings = machine.sparse_operators
    groups = np.unique(label)
    order = np.argsort([omega[label == g][0] for g in groups], kind="stable")
    out = []
    for b in baths:
        At = Ud @ (couplings[machine.bath_index(b.name)] @ U)
        floor = JUMP_TOL * np.abs(At).max()
        for g in groups[order]:
            mask = label == g
            w = omega[mask][0]
            rate = float(b.rate(np.array(w)))
            Aw = np.where(mask, At, 0.0)
            if rate <= 0 or np.abs(Aw).max() <= floor:
                continue
            out.append(operator_qobj(np.sqrt(rate) * (U @ Aw @ Ud), machine.qubits))
    return out
