"""The :class:`Machine` spec: N qubits, H(lam) = H0 + sum_i lam_i V_i, and baths."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property

import numpy as np

from thermogeo.baths.bath import Bath
from thermogeo.errors import ModelError
from thermogeo.model.pauli import as_sparse

_NAME = re.compile(r"^[A-Za-z_][A-Za-z_0-9]*$")
MAX_QUBITS = 12


@dataclass(frozen=True)
class HamiltonianTerm:
    """``coefficient * operator``. The coefficient is a number or a product such as
    ``"Bx"``, ``"-Bx"``, ``"0.5*J"`` of numbers, constants and at most one parameter."""

    coefficient: float | str
    operator: object


def _as_mapping(x, where) -> dict[str, float]:
    if x is None:
        return {}
    if not isinstance(x, Mapping):
        raise ModelError(f"{where}: expected a table of name = number, got {x!r}")
    out = {}
    for k, v in x.items():
        if not isinstance(k, str) or not _NAME.match(k):
            raise ModelError(f"{where}: {k!r} is not a valid name (letters, digits, _)")
        if isinstance(v, bool) or not isinstance(v, (int, float, np.floating)) or not \
                math.isfinite(v):
            raise ModelError(f"{where}.{k}: expected a finite real number, got {v!r}")
        out[k] = float(v)
    return out


@dataclass(frozen=True, eq=False)
class Machine:
    """A slowly driven quantum thermal machine.

    Parameters
    ----------
    qubits : int
        Number of qubits N (1..12); the Hilbert space dimension is ``d = 2**N``.
    parameters : mapping name -> default value
        The driving parameters ``lam``, in declared order.
    hamiltonian : sequence of HamiltonianTerm, (coefficient, operator) or dicts
        ``H = sum coefficient * operator``. A coefficient that names a parameter makes the
        term part of ``V_i``; the Hamiltonian must be affine in the parameters.
    baths : sequence of Bath
    constants : mapping name -> value
        Named numbers usable in coefficients and operator strings (e.g. ``J``, ``b``).
    name : str
        Free text (the model file name, say).

    Examples
    --------
    >>> from thermogeo import Machine, Bath, Ohmic
    >>> m = Machine(qubits=1, parameters={"Bx": 0.7, "Bz": 0.4},
    ...             hamiltonian=[("Bx", "X0"), ("Bz", "Z0")],
    ...             baths=[Bath("L", 1.0, "X0", Ohmic(1.0)), Bath("R", 1.0, "Z0", Ohmic(1.0))])
    >>> m.V.shape
    (2, 2, 2)
    """

    qubits: int
    parameters: Mapping[str, float]
    hamiltonian: Sequence
    baths: Sequence[Bath]
    constants: Mapping[str, float] = field(default_factory=dict)
    name: str = ""

    def __post_init__(self):
        q = self.qubits
        if isinstance(q, bool) or not isinstance(q, (int, np.integer)) or not \
                1 <= q <= MAX_QUBITS:
            raise ModelError(f"qubits: expected an integer from 1 to {MAX_QUBITS}, got {q!r}")
        object.__setattr__(self, "qubits", int(q))
        params = _as_mapping(self.parameters, "parameters")
        consts = _as_mapping(self.constants, "constants")
        clash = set(params) & set(consts)
        if clash:
            raise ModelError(f"constants: {sorted(clash)} are also parameters; use each name "
                             "once")
        object.__setattr__(self, "parameters", params)
        object.__setattr__(self, "constants", consts)
        terms = []
        for i, t in enumerate(self.hamiltonian):
            if isinstance(t, HamiltonianTerm):
                terms.append(t)
            elif isinstance(t, Mapping):
                extra = set(t) - {"coefficient", "operator"}
                if extra or "operator" not in t:
                    raise ModelError(f"hamiltonian[{i}]: expected fields 'coefficient' "
                                     f"(optional, default 1) and 'operator', got {sorted(t)}")
                terms.append(HamiltonianTerm(t.get("coefficient", 1.0), t["operator"]))
            elif isinstance(t, Sequence) and len(t) == 2:
                terms.append(HamiltonianTerm(*t))
            else:
                raise ModelError(f"hamiltonian[{i}]: expected (coefficient, operator), got "
                                 f"{t!r}")
        if not terms:
            raise ModelError("hamiltonian: at least one term is needed")
        object.__setattr__(self, "hamiltonian", tuple(terms))
        baths = tuple(self.baths)
        if not baths or not all(isinstance(b, Bath) for b in baths):
            raise ModelError("baths: expected one or more Bath objects")
        names = [b.name for b in baths]
        if len(set(names)) != len(names):
            raise ModelError(f"baths: names must be unique, got {names}")
        object.__setattr__(self, "baths", baths)
        _ = self.sparse_operators  # validate operators now (without dense 2^N x 2^N arrays)

    # -- names ---------------------------------------------------------------------------
    @property
    def dim(self) -> int:
        """Hilbert-space dimension ``d = 2**qubits``."""
        return 2**self.qubits

    @property
    def parameter_names(self) -> tuple[str, ...]:
        return tuple(self.parameters)

    @property
    def bath_names(self) -> tuple[str, ...]:
        return tuple(b.name for b in self.baths)

    @property
    def temperatures(self) -> np.ndarray:
        """``(m,)`` bath temperatures."""
        return np.array([b.temperature for b in self.baths])

    @property
    def equal_temperatures(self) -> bool:
        T = self.temperatures
        return bool(np.all(T == T[0]))

    def parameter_index(self, name: str) -> int:
        """Index of a driving parameter; a clear error for unknown names."""
        try:
            return self.parameter_names.index(name)
        except ValueError:
            raise ModelError(f"unknown parameter {name!r}; this machine's parameters are "
                             f"{', '.join(self.parameter_names)}") from None

    def bath_index(self, name: str) -> int:
        try:
            return self.bath_names.index(name)
        except ValueError:
            raise ModelError(f"unknown bath {name!r}; this machine's baths are "
                             f"{', '.join(self.bath_names)}") from None

    def point(self, values: Mapping[str, float] | None = None, **kw: float) -> np.ndarray:
        """``(k,)`` parameter vector: the defaults, overridden by ``values`` / keywords."""
        lam = np.array(list(self.parameters.values()), dtype=float)
        for name, v in {**(values or {}), **kw}.items():
            lam[self.parameter_index(name)] = float(v)
        return lam

    # -- operators -----------------------------------------------------------------------
    def _coefficient(self, c, i) -> tuple[float, int | None]:
        """(number, parameter index or None) of a term coefficient."""
        if isinstance(c, bool):
            raise ModelError(f"hamiltonian[{i}].coefficient: expected a number or a name, "
                             f"got {c!r}")
        if isinstance(c, (int, float, np.floating)):
            return float(c), None
        if not isinstance(c, str) or not c.strip():
            raise ModelError(f"hamiltonian[{i}].coefficient: expected a number or a name, "
                             f"got {c!r}")
        text = c.strip()
        sign = 1.0
        if text.startswith("-"):
            sign, text = -1.0, text[1:]
        value, param = sign, None
        for f in (p.strip() for p in text.split("*")):
            try:
                value *= float(f)
                continue
            except ValueError:
                pass
            if f in self.parameters:
                if param is not None:
                    raise ModelError(f"hamiltonian[{i}].coefficient: {c!r} multiplies two "
                                     "parameters; H must be affine in the parameters")
                param = self.parameter_names.index(f)
            elif f in self.constants:
                value *= self.constants[f]
            else:
                raise ModelError(
                    f"hamiltonian[{i}].coefficient: unknown name {f!r} in {c!r}; parameters: "
                    f"{', '.join(self.parameters) or 'none'}; constants: "
                    f"{', '.join(self.constants) or 'none'}")
        return value, param

    @cached_property
    def sparse_operators(self) -> tuple:
        """``(H0, [V_i], [A_alpha])`` as scipy CSR matrices (cached). Operator strings are
        never formed densely here, so a 12-qubit machine with many baths stays small; the
        dense :attr:`H0`, :attr:`V` and :attr:`couplings` are built from these on first use."""
        import scipy.sparse as sp

        d, k = self.dim, len(self.parameters)
        H0 = sp.csr_matrix((d, d), dtype=complex)
        V = [sp.csr_matrix((d, d), dtype=complex) for _ in range(k)]
        for i, t in enumerate(self.hamiltonian):
            c, p = self._coefficient(t.coefficient, i)
            M = as_sparse(t.operator, self.qubits, self.constants,
                          where=f"hamiltonian[{i}].operator")
            if p is None:
                H0 = H0 + c * M
            else:
                V[p] = V[p] + c * M
        A = [as_sparse(b.coupling, self.qubits, self.constants,
                       where=f"baths[{b.name!r}].coupling") for b in self.baths]
        return H0.tocsr(), [v.tocsr() for v in V], A

    @cached_property
    def _terms(self) -> tuple[np.ndarray, np.ndarray]:
        H0s, Vs, _ = self.sparse_operators
        H0 = H0s.toarray()
        V = np.stack([v.toarray() for v in Vs]) if Vs else np.zeros((0, self.dim, self.dim),
                                                                     complex)
        for a in (H0, V):
            a.setflags(write=False)
        return H0, V

    @property
    def H0(self) -> np.ndarray:
        """``(d, d)`` parameter-independent part of H."""
        return self._terms[0]

    @property
    def V(self) -> np.ndarray:
        """``(k, d, d)``: ``V_i = dH/dlam_i``."""
        return self._terms[1]

    @cached_property
    def couplings(self) -> np.ndarray:
        """``(m, d, d)`` bath coupling operators ``A_alpha``."""
        A = np.stack([a.toarray() for a in self.sparse_operators[2]])
        A.setflags(write=False)
        return A

    def as_points(self, lam=None) -> np.ndarray:
        """Parameter points ``lam (*b, k)`` as a float array (default: :meth:`point`); a clear
        error if the last axis does not match the parameters."""
        if lam is None:
            return self.point()
        lam = np.asarray(lam, dtype=float)
        if lam.shape[-1:] != (len(self.parameters),):
            raise ValueError(f"lam: expected a last axis of length {len(self.parameters)} "
                             f"({', '.join(self.parameters)}), got shape {lam.shape}")
        return lam

    def hamiltonian_at(self, lam: np.ndarray) -> np.ndarray:
        """``H(lam)``, ``lam (*b, k) -> (*b, d, d)``."""
        return self.H0 + np.einsum("...k,kij->...ij", self.as_points(lam), self.V)

    def dense_hamiltonian(self, lam) -> np.ndarray:
        """``H(lam) = H0 + sum_i lam_i V_i`` at one point ``lam (k,)``, summed from
        :attr:`sparse_operators` (no dense ``V`` stack is built or cached); real when its
        imaginary part vanishes (the structured kernels then run in real arithmetic)."""
        H0, Vs, _ = self.sparse_operators
        H = H0.copy()
        for c, V in zip(lam, Vs):
            H = H + c * V
        H = H.toarray()
        if not np.any(H.imag):
            H = np.ascontiguousarray(H.real)
        return H

    # -- variants ------------------------------------------------------------------------
    def with_values(self, **values: float) -> Machine:
        """A copy with constants, parameter defaults or bath fields changed by name.

        Names: a constant (``J``), a parameter (its default), or ``<bath>.temperature`` /
        ``<bath>.strength``.
        """
        params, consts = dict(self.parameters), dict(self.constants)
        baths = {b.name: b for b in self.baths}
        for name, v in values.items():
            if name in consts:
                consts[name] = float(v)
            elif name in params:
                params[name] = float(v)
            elif "." in name and name.split(".", 1)[0] in baths:
                bname, fieldname = name.split(".", 1)
                b = baths[bname]
                if fieldname == "temperature":
                    baths[bname] = replace(b, temperature=float(v))
                elif fieldname == "strength":
                    baths[bname] = replace(b, spectral_density=replace(
                        b.spectral_density, strength=float(v)))
                else:
                    raise ModelError(f"{name}: bath fields that can be set are 'temperature' "
                                     "and 'strength'")
            else:
                raise ModelError(
                    f"unknown name {name!r}; accepted: constants "
                    f"({', '.join(consts) or 'none'}), parameters ({', '.join(params)}), "
                    f"or <bath>.temperature / <bath>.strength for baths "
                    f"{', '.join(baths)}")
        return replace(self, parameters=params, constants=consts, baths=tuple(baths.values()))
