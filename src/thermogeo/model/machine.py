"""The :class:`Machine` spec: N qubits, H(lam) = H0 + sum_i lam_i V_i, and baths."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property

import numpy as np

from thermogeo.baths import limits
from thermogeo.baths.bath import NAME, Bath
from thermogeo.errors import ModelError
from thermogeo.model.master import MasterEquation, as_master_equation
from thermogeo.model.pauli import (as_sparse, is_pauli_factor, number, pauli_coefficients,
                                   tokenize)

MAX_QUBITS = 12
COEFFICIENT_GRAMMAR = ("a number, or a product such as 'Bx', '-Bx', '0.25*J' of numbers, "
                       "constants and at most one parameter, joined by '*'")
RESERVED = ("inf", "infinity", "nan")
"""Names refused for constants and parameters (case-insensitive): they read as numbers."""


@dataclass(frozen=True)
class HamiltonianTerm:
    """``coefficient * operator``. The coefficient is a number or a product such as
    ``"Bx"``, ``"-Bx"``, ``"0.5*J"`` of numbers, constants and at most one parameter."""

    coefficient: float | str
    operator: object


def check_name(name, where: str) -> str:
    """A constant or parameter name: an ASCII identifier that does not read as a Pauli factor
    (``X0``) or a number (``inf``, ``nan``)."""
    if not isinstance(name, str) or not NAME.fullmatch(name):
        raise ModelError(f"{where}: {limits.show(name)} is not a valid name; names are ASCII "
                         "identifiers (letters, digits and _, not starting with a digit)")
    if is_pauli_factor(name):
        raise ModelError(f"{where}: the name {name!r} reads as a Pauli factor in operator "
                         "strings; choose a name that is not X, Y or Z followed by digits")
    if name.lower() in RESERVED:
        raise ModelError(f"{where}: the name {name!r} reads as a number; choose another name "
                         f"(refused: {', '.join(RESERVED)}, any case)")
    return name


def _as_mapping(x, where) -> dict[str, float]:
    if x is None:
        return {}
    if not isinstance(x, Mapping):
        raise ModelError(f"{where}: expected a table of name = number, got {limits.show(x)}")
    out = {}
    for k, v in x.items():
        check_name(k, where)
        out[k] = limits.magnitude(v, f"{where}.{k}")
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
    master_equation : MasterEquation, kind name or table, default "secular"
        The generator family member (:mod:`thermogeo.model.master`): ``"secular"``,
        ``"ule"``, ``{"kind": "cluster", "width": w}`` or ``"local"``.

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
    master_equation: MasterEquation = MasterEquation()

    def __post_init__(self):
        q = self.qubits
        if isinstance(q, bool) or not isinstance(q, (int, np.integer)) or not \
                1 <= q <= MAX_QUBITS:
            raise ModelError(f"qubits: expected an integer from 1 to {MAX_QUBITS}, got {q!r}")
        object.__setattr__(self, "qubits", int(q))
        object.__setattr__(self, "master_equation", as_master_equation(self.master_equation))
        if not isinstance(self.name, str):
            raise ModelError(f"name: expected a string, got {limits.show(self.name)}")
        params = _as_mapping(self.parameters, "parameters")
        consts = _as_mapping(self.constants, "constants")
        clash = set(params) & set(consts)
        if clash:
            raise ModelError(f"constants: {sorted(clash)} are also parameters; use each name "
                             "once")
        object.__setattr__(self, "parameters", params)
        object.__setattr__(self, "constants", consts)
        terms = []
        if isinstance(self.hamiltonian, (str, Mapping)) or not isinstance(self.hamiltonian,
                                                                           Sequence):
            raise ModelError("hamiltonian: expected a sequence of (coefficient, operator) terms")
        for i, t in enumerate(self.hamiltonian):
            if isinstance(t, HamiltonianTerm):
                terms.append(t)
            elif isinstance(t, Mapping):
                extra = set(t) - {"coefficient", "operator"}
                if extra or "operator" not in t:
                    raise ModelError(f"hamiltonian[{i}]: expected fields 'coefficient' "
                                     f"(optional, default 1) and 'operator', got "
                                     f"{sorted(t, key=str)}")
                terms.append(HamiltonianTerm(t.get("coefficient", 1.0), t["operator"]))
            elif isinstance(t, Sequence) and not isinstance(t, str) and len(t) == 2:
                terms.append(HamiltonianTerm(*t))
            else:
                raise ModelError(f"hamiltonian[{i}]: expected (coefficient, operator), got "
                                 f"{limits.show(t)}")
        if not terms:
            raise ModelError("hamiltonian: at least one term is needed")
        object.__setattr__(self, "hamiltonian", tuple(terms))
        if isinstance(self.baths, (str, Mapping, Bath)) or not isinstance(self.baths, Sequence):
            raise ModelError("baths: expected a sequence of one or more Bath objects")
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
            lam[self.parameter_index(name)] = limits.magnitude(v, name)
        return lam

    # -- operators -----------------------------------------------------------------------
    def _coefficient(self, c, i) -> tuple[float, int | None]:
        """(number, parameter index or None) of a term coefficient.

        Grammar: ``[+|-] factor ("*" factor)*`` with each factor a number (as in operator
        strings), a constant or a parameter (at most one); the product must lie in the range
        of docs/decisions/0008-input-validation.md."""
        where = f"hamiltonian[{i}].coefficient"
        accepted = COEFFICIENT_GRAMMAR
        if isinstance(c, bool) or not isinstance(c, (str, int, float, np.integer, np.floating)):
            raise ModelError(f"{where}: expected {accepted}, got {limits.show(c)}")
        if not isinstance(c, str):
            return limits.magnitude(c, where), None
        toks = [t for t in tokenize(c, where, f"expected {accepted}") if t[0] != "ws"]
        if not toks:
            raise ModelError(f"{where}: expected {accepted}, got {c!r}")
        value, param, pos = 1.0, None, 0
        if toks[0][1] in "+-":
            value, pos = (-1.0 if toks[0][1] == "-" else 1.0), 1
        while True:
            if pos == len(toks):
                raise ModelError(f"{where}: {c!r} ends with {toks[-1][1]!r} (a factor is "
                                 f"missing); expected {accepted}")
            kind, f, _ = toks[pos]
            if kind == "number":
                value *= number(f, where, c)
            elif kind == "name" and f in self.parameters:
                if param is not None:
                    raise ModelError(f"{where}: {c!r} multiplies two parameters; H must be "
                                     "affine in the parameters")
                param = self.parameter_names.index(f)
            elif kind == "name" and f in self.constants:
                value *= self.constants[f]
            elif kind == "name":
                raise ModelError(
                    f"{where}: unknown name {f!r} in {c!r}; parameters: "
                    f"{', '.join(self.parameters) or 'none'}; constants: "
                    f"{', '.join(self.constants) or 'none'}")
            elif f == "*" and toks[pos - 1][1] == "*":
                raise ModelError(f"{where}: '**' in {c!r} is not accepted (no powers); "
                                 f"expected {accepted}")
            else:
                raise ModelError(f"{where}: unexpected {f!r} in {c!r} (a sign only at the "
                                 f"start); expected {accepted}")
            pos += 1
            if pos == len(toks):
                break
            if toks[pos][1] != "*":
                raise ModelError(f"{where}: expected '*' before {toks[pos][1]!r} in {c!r}; "
                                 f"expected {accepted}")
            pos += 1
        if abs(value) > limits.MAX_MAGNITUDE:
            raise ModelError(f"{where}: {c!r} evaluates to {value:.6g}, out of range; accepted "
                             f"|x| <= {limits.MAX_MAGNITUDE:g} ({limits.DECISION})")
        return value, param

    def _evaluated(self, c: float, op, M, where: str, coupling: bool = False) -> None:
        """Check the coefficients of ``c * op`` after evaluation: each Pauli string's (or each
        matrix entry's) within ``MAX_MAGNITUDE``; a bath coupling must not be the zero
        operator."""
        if isinstance(op, str):
            coefs = pauli_coefficients(op, self.qubits, self.constants, where)
            big = max((abs(v) for v in coefs.values()), default=0.0)
            zero = not coefs
        else:  # a matrix (already checked finite and Hermitian): its sparse form M
            big = float(abs(M).max()) if M.nnz else 0.0
            zero = big == 0.0
        if coupling and zero:
            used = {t[1] for t in tokenize(op, where)} if isinstance(op, str) else set()
            consts = ", ".join(f"{k} = {v!r}" for k, v in self.constants.items() if k in used)
            raise ModelError(
                f"{where}: {limits.show(op)} is the zero operator (its coefficients vanish or "
                f"cancel{'; constants: ' + consts if consts else ''}); a bath couples through a "
                "nonzero Hermitian operator")
        if abs(c) * big > limits.MAX_MAGNITUDE:
            raise ModelError(f"{where}: a coefficient evaluates to {abs(c) * big:.6g} in "
                             f"magnitude, out of range; accepted |x| <= "
                             f"{limits.MAX_MAGNITUDE:g} ({limits.DECISION})")

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
            where = f"hamiltonian[{i}].operator"
            M = as_sparse(t.operator, self.qubits, self.constants, where=where)
            self._evaluated(c, t.operator, M, where)
            if p is None:
                H0 = H0 + c * M
            else:
                V[p] = V[p] + c * M
        A = []
        for b in self.baths:
            where = f"baths[{b.name!r}].coupling"
            M = as_sparse(b.coupling, self.qubits, self.constants, where=where)
            self._evaluated(1.0, b.coupling, M, where, coupling=True)
            A.append(M)
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

    def as_points(self, lam=None, *, allow_empty: bool = False,
                  allow_invalid: bool = False) -> np.ndarray:
        """Parameter points ``lam (*b, k)`` as a float array (default: :meth:`point`).

        Raises :class:`ModelError` (a ``ValueError``) if the last axis does not match the
        parameters, if there is no point (unless ``allow_empty``), or if a value is not finite
        or out of range (``|x| <= 1e6``, docs/decisions/0008-input-validation.md); the message
        names the first offending point's index and parameter. With ``allow_invalid`` such
        values are returned as they are (the caller reports them point by point, see
        :meth:`valid_points`).
        """
        if lam is None:
            return self.point()
        k = len(self.parameters)
        try:
            if np.iscomplexobj(lam):
                raise TypeError("complex")
            lam = np.asarray(lam, dtype=float)
        except (TypeError, ValueError, OverflowError):
            raise ModelError(f"lam: expected real parameter points of shape (..., {k}) "
                             f"({', '.join(self.parameters)}), got {limits.show(lam)}") from None
        if lam.shape[-1:] != (k,):
            raise ModelError(f"lam: expected a last axis of length {k} "
                             f"({', '.join(self.parameters)}), got shape {lam.shape}")
        if lam.size == 0 and not allow_empty:
            raise ModelError(f"lam: no points (shape {lam.shape}); pass at least one point of "
                             f"{k} values ({', '.join(self.parameters)})")
        bad = ~self.valid_points(lam)[..., None] if allow_invalid else (
            ~np.isfinite(lam) | (np.abs(lam) > limits.MAX_MAGNITUDE))
        if np.any(bad) and not allow_invalid:
            at = tuple(int(j) for j in np.argwhere(bad)[0])
            point = at[:-1] if len(at) > 2 else at[0] if len(at) == 2 else None
            where = "the point" if point is None else f"point {point}"
            raise ModelError(
                f"lam: expected finite values with |x| <= {limits.MAX_MAGNITUDE:g}; {where} "
                f"has {self.parameter_names[at[-1]]} = {float(lam[at])!r} ({int(bad.sum())} bad "
                f"value(s) in all)")
        return lam

    @staticmethod
    def valid_points(lam: np.ndarray) -> np.ndarray:
        """``(*b,)`` bool: every value of the point is finite with ``|x| <= 1e6``."""
        lam = np.asarray(lam, dtype=float)
        return np.all(np.isfinite(lam) & (np.abs(lam) <= limits.MAX_MAGNITUDE), axis=-1)

    def hamiltonian_at(self, lam: np.ndarray) -> np.ndarray:
        """``H(lam)``, ``lam (*b, k) -> (*b, d, d)`` (an empty batch gives an empty stack)."""
        return self.H0 + np.einsum("...k,kij->...ij", self.as_points(lam, allow_empty=True),
                                   self.V)

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
    def with_master_equation(self, kind, width: float | None = None) -> Machine:
        """A copy obeying another master equation: a :class:`MasterEquation`, a kind name
        (``"secular"``, ``"ule"``, ``"cluster"`` with ``width``, ``"local"``) or a table."""
        me = as_master_equation(kind if width is None else {"kind": kind, "width": width})
        return replace(self, master_equation=me)

    def with_values(self, **values: float) -> Machine:
        """A copy with constants, parameter defaults or bath fields changed by name.

        Names: a constant (``J``), a parameter (its default), or ``<bath>.temperature`` /
        ``<bath>.strength``. Every value is checked against the ranges of
        docs/decisions/0008-input-validation.md (a :class:`ModelError` naming it otherwise).
        """
        params, consts = dict(self.parameters), dict(self.constants)
        baths = {b.name: b for b in self.baths}
        for name, v in values.items():
            if name in consts:
                consts[name] = limits.magnitude(v, name)
            elif name in params:
                params[name] = limits.magnitude(v, name)
            elif "." in name and name.split(".", 1)[0] in baths:
                bname, fieldname = name.split(".", 1)
                b = baths[bname]
                if fieldname == "temperature":
                    baths[bname] = replace(b, temperature=limits.temperature(v, name))
                elif fieldname == "strength":
                    baths[bname] = replace(b, spectral_density=replace(
                        b.spectral_density, strength=limits.strength(v, name)))
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
