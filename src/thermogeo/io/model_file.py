"""TOML model files <-> :class:`~thermogeo.model.machine.Machine`.

Format (all tables but ``constants`` required)::

    qubits = 2
    parameters = { Bx = 0.3, Bz = 0.5 }      # driving parameters and defaults, in order
    constants = { J = 2.0 }                   # optional named numbers
    [[hamiltonian]]
    coefficient = "Bx"                        # number, or product of numbers/names
    operator = "X0 + X1"
    [[baths]]
    name = "L"
    temperature = 1.0
    coupling = "X0 + 2*X1"
    spectral_density = { kind = "ohmic", strength = 0.05, exponent = 1.0, cutoff = "inf" }
    [master_equation]                         # optional, default kind = "secular"
    kind = "cluster"                          # secular | ule | cluster | local
    width = 0.01                              # cluster only: Bohr frequencies closer share

An ``operator`` or ``coupling`` may instead be a stored matrix in the computational basis
(qubit 0 leftmost), real and imaginary parts as arrays of rows; ``imag`` is optional::

    operator = { real = [[1.0, 0.0], [0.0, 0.0]], imag = [[0.0, 0.0], [0.0, 0.0]] }

:func:`save_model` writes a machine built from matrices or QuTiP ``Qobj`` operators: each
operator as an operator string when it is a real combination of Pauli strings (within
:data:`~thermogeo.model.pauli.PAULI_TOL`), else as a stored matrix
(docs/decisions/0011-qutip-both-ways.md).

Every error names the file and the field.
"""

from __future__ import annotations

import re
import stat
import sys
import tomllib
from pathlib import Path

import numpy as np

from thermogeo.baths.bath import Bath
from thermogeo.baths.limits import show
from thermogeo.errors import ModelError
from thermogeo.model.machine import Machine
from thermogeo.model.pauli import PAULI_TOL, as_matrix, pauli_text

TOP_FIELDS = ("qubits", "parameters", "constants", "hamiltonian", "baths", "name",
              "master_equation")
BATH_FIELDS = ("name", "temperature", "coupling", "spectral_density")
MATRIX_FIELDS = ("real", "imag")
OPERATOR_FORMS = ("an operator string such as 'X0 + 2*X1', or a stored matrix "
                  "{ real = [[...], ...], imag = [[...], ...] } (imag optional)")


def matrix_from_table(table, where: str) -> np.ndarray:
    """The complex matrix of a stored-matrix table ``{real = rows, imag = rows}`` (``imag``
    optional); a :class:`ModelError` naming ``where`` and the part, row and entry otherwise.
    Its shape, finiteness and Hermiticity are checked by the machine (the field named)."""
    extra = set(table) - set(MATRIX_FIELDS)
    if extra or "real" not in table:
        raise ModelError(f"{where}: a stored matrix has the fields 'real' (required) and "
                         f"'imag' (optional), got {sorted(table, key=str)}")
    parts = []
    for name in MATRIX_FIELDS:
        if name not in table:
            continue
        rows, at = table[name], f"{where}.{name}"
        if not isinstance(rows, list) or not rows or not all(isinstance(r, list) for r in rows):
            raise ModelError(f"{at}: expected an array of rows, each an array of numbers "
                             f"(e.g. [[0.0, 1.0], [1.0, 0.0]]), got {show(rows)}")
        for i, row in enumerate(rows):
            if len(row) != len(rows[0]):
                raise ModelError(f"{at}: row {i} has {len(row)} entries, row 0 has "
                                 f"{len(rows[0])}; a matrix has rows of equal length")
            for j, x in enumerate(row):
                if isinstance(x, bool) or not isinstance(x, (int, float)):
                    raise ModelError(f"{at}: row {i}, entry {j} is {show(x)}; expected a "
                                     "number")
        parts.append(np.array(rows, dtype=float))
    if len(parts) == 2 and parts[0].shape != parts[1].shape:
        raise ModelError(f"{where}: 'real' has shape {parts[0].shape} but 'imag' has shape "
                         f"{parts[1].shape}; the two parts of a matrix have one shape")
    return parts[0] + 1j * parts[1] if len(parts) == 2 else parts[0].astype(complex)


def _operator_in(value, where: str):
    """An operator field as read: a string, or the matrix of a stored-matrix table."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        return matrix_from_table(value, where)
    raise ModelError(f"{where}: expected {OPERATOR_FORMS}, got {show(value)}")


def machine_from_dict(data: dict, source: str = "<model>") -> Machine:
    """Build a :class:`Machine` from the parsed TOML table; errors are prefixed by ``source``."""
    try:
        if not isinstance(data, dict):
            raise ModelError(f"expected a table with fields {', '.join(TOP_FIELDS)}")
        extra = set(data) - set(TOP_FIELDS)
        if extra:
            raise ModelError(f"unknown top-level field(s) {sorted(extra, key=str)}; accepted: "
                             f"{', '.join(TOP_FIELDS)}")
        for f in ("qubits", "parameters", "hamiltonian", "baths"):
            if f not in data:
                raise ModelError(f"{f}: missing (required fields: qubits, parameters, "
                                 "[[hamiltonian]], [[baths]])")
        if not isinstance(data["hamiltonian"], list):
            raise ModelError("hamiltonian: expected an array of tables [[hamiltonian]]")
        terms = []  # the tables with stored matrices read (the caller's data is left as is)
        for i, t in enumerate(data["hamiltonian"]):
            if not isinstance(t, dict):
                raise ModelError(f"hamiltonian[{i}]: expected a table with fields "
                                 "'coefficient' (optional) and 'operator'")
            if "operator" in t:
                t = {**t, "operator": _operator_in(t["operator"], f"hamiltonian[{i}].operator")}
            terms.append(t)
            c = t.get("coefficient", 1.0)
            if isinstance(c, bool) or not isinstance(c, (str, int, float)):
                raise ModelError(f"hamiltonian[{i}].coefficient: expected a number or a "
                                 f"string such as '0.25*J', got {show(c)}")
        if not isinstance(data["baths"], list) or not data["baths"]:
            raise ModelError("baths: expected one or more [[baths]] tables")
        baths = []
        for i, b in enumerate(data["baths"]):
            if not isinstance(b, dict):
                raise ModelError(f"baths[{i}]: expected a table with fields "
                                 f"{', '.join(BATH_FIELDS)}")
            missing = [f for f in BATH_FIELDS if f not in b]
            extra = set(b) - set(BATH_FIELDS)
            if missing or extra:
                raise ModelError(f"baths[{i}]: missing {missing}, unknown "
                                 f"{sorted(extra, key=str)}; fields are {', '.join(BATH_FIELDS)}")
            baths.append(Bath(name=b["name"], temperature=b["temperature"],
                              coupling=_operator_in(b["coupling"], f"baths[{i}].coupling"),
                              spectral_density=b["spectral_density"]))
        return Machine(qubits=data["qubits"], parameters=data["parameters"],
                       hamiltonian=terms, baths=baths,
                       master_equation=data.get("master_equation"),
                       constants=data.get("constants", {}), name=data.get("name", source))
    except ModelError as e:
        raise ModelError(f"{source}: {e}") from None


def _parse_float(text: str) -> float:
    """TOML floats, refusing literals that silently underflow (``1e-400`` would read as 0);
    overflow (``1e400``) becomes ``inf`` and is refused with the field's name later."""
    x = float(text)
    if x != 0 and abs(x) < sys.float_info.min or x == 0 and re.search(
            r"[1-9]", re.split(r"[eE]", text)[0]):
        raise _Underflow(text)
    return x


class _Underflow(ValueError):
    pass


def _file_kind(mode: int) -> str:
    for test, kind in ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
                       (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device")):
        if test(mode):
            return kind
    return "not a regular file"


def load_model(path: str | Path) -> Machine:
    """Read a TOML model file (a regular file, UTF-8 encoded).

    Anything else is refused with a :class:`ModelError` naming the file: a directory, FIFO or
    device (checked before opening, so a FIFO never blocks), bytes that are not UTF-8,
    malformed TOML, and every field outside the accepted grammar and ranges
    (docs/decisions/0005-model-files.md, docs/decisions/0008-input-validation.md).
    """
    path = Path(path)
    try:
        mode = path.stat().st_mode
    except OSError as e:
        raise ModelError(f"{path}: cannot read model file ({e.strerror})") from None
    except ValueError as e:  # e.g. a NUL character in the path
        raise ModelError(f"{str(path)!r}: cannot read model file ({e})") from None
    if not stat.S_ISREG(mode):  # before opening: a FIFO would block, a directory fail
        raise ModelError(f"{path}: cannot read model file: it is {_file_kind(mode)}; a "
                         "model file is a regular TOML file")
    try:
        data_bytes = path.read_bytes()
    except OSError as e:
        raise ModelError(f"{path}: cannot read model file ({e.strerror})") from None
    try:
        text = data_bytes.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data_bytes[:e.start].count(b"\n") + 1
        raise ModelError(f"{path}: cannot read model file: byte 0x{data_bytes[e.start]:02x} at "
                         f"offset {e.start} (line {line}) is not valid UTF-8; model files are "
                         "UTF-8 encoded TOML") from None
    try:
        data = tomllib.loads(text, parse_float=_parse_float)
    except tomllib.TOMLDecodeError as e:
        raise ModelError(f"{path}: malformed TOML: {e}") from None
    except _Underflow as e:
        lines = [i + 1 for i, line in enumerate(text.splitlines()) if str(e) in line]
        where = f" (line {lines[0]})" if lines else ""
        raise ModelError(f"{path}: the number {str(e)!r}{where} underflows double precision (it "
                         f"would be read as {float(str(e))!r}); write 0 or a number >= "
                         f"{sys.float_info.min:.3g} in magnitude") from None
    except ValueError as e:  # an integer literal beyond Python's digit limit
        why = ("an integer literal has more than 4300 digits; numbers of a model have |x| <= "
               "1e+06 (docs/decisions/0008-input-validation.md)"
               if "integer string conversion" in str(e) else str(e))
        raise ModelError(f"{path}: malformed TOML: {why}") from None
    if data.get("name", "") == "":  # absent or empty (save_model of an unnamed machine)
        data["name"] = path.stem
    return machine_from_dict(data, source=str(path))


def matrix_table(M: np.ndarray) -> dict:
    """The stored-matrix table of ``M``: ``{"real": rows, "imag": rows}``, ``imag`` left out
    when ``M`` is real. Entries below the smallest normal double are written as 0 (a TOML
    literal of a subnormal number is refused when read)."""
    M = np.asarray(M, dtype=complex)
    tiny = np.finfo(float).tiny
    re, im = (np.where(np.abs(x) < tiny, 0.0, x) for x in (M.real, M.imag))
    return {"real": re.tolist()} | ({"imag": im.tolist()} if np.any(im) else {})


def _operator_out(machine: Machine, op, where: str, pauli_tol: float):
    """An operator as written: a string as it is; a matrix or ``Qobj`` as an operator string
    if it is a real combination of Pauli strings within ``pauli_tol``, else as a matrix."""
    if isinstance(op, str):
        return op
    M = as_matrix(op, machine.qubits, machine.constants, where)
    text = pauli_text(M, machine.qubits, pauli_tol)
    return text if text is not None else matrix_table(M)


def machine_to_dict(machine: Machine, *, pauli_tol: float = PAULI_TOL) -> dict:
    """The TOML table of a machine: every field :func:`machine_from_dict` reads.

    Operator strings are written as they are; matrices and ``Qobj`` operators as operator
    strings when they are real combinations of Pauli strings (reproducing the matrix within
    ``pauli_tol * max|M|``, :func:`~thermogeo.model.pauli.pauli_text`), else as stored
    matrices (:func:`matrix_table`).
    """
    def coef(c):
        return float(c) if isinstance(c, (int, float, np.integer, np.floating)) else c

    def op(x, where):
        return _operator_out(machine, x, where, pauli_tol)

    # one entry per field of TOP_FIELDS (tests/test_qutip_interop.py checks they match)
    return {
        "name": machine.name,
        "qubits": machine.qubits,
        "parameters": dict(machine.parameters),
        "constants": dict(machine.constants),
        "hamiltonian": [{"coefficient": coef(t.coefficient),
                         "operator": op(t.operator, f"hamiltonian[{i}].operator")}
                        for i, t in enumerate(machine.hamiltonian)],
        "baths": [{"name": b.name, "temperature": b.temperature,
                   "coupling": op(b.coupling, f"baths[{b.name!r}].coupling"),
                   "spectral_density": b.spectral_density.to_dict()} for b in machine.baths],
        "master_equation": machine.master_equation.to_dict(),
    }


def dump_model(machine: Machine, *, pauli_tol: float = PAULI_TOL) -> str:
    """TOML text of a machine (:func:`machine_to_dict`)."""
    import tomli_w

    text = tomli_w.dumps(machine_to_dict(machine, pauli_tol=pauli_tol))
    # one row of a stored matrix per line (tomli_w writes one number per line)
    return _NUMBER_ARRAY.sub(
        lambda m: "[" + ", ".join(x.rstrip(",") for x in m.group(0)[1:-1].split()) + "]", text)


_NUMBER_ARRAY = re.compile(r"\[\n(?:[ ]+[-+0-9.eEinfa]+,\n)+[ ]*\]")


def save_model(machine: Machine, path: str | Path, *, pauli_tol: float = PAULI_TOL) -> Path:
    """Write a machine to a TOML model file that :func:`load_model` reads back.

    A machine built from matrices or QuTiP ``Qobj`` operators is written with its operators as
    operator strings where they are real combinations of Pauli strings and as stored matrices
    otherwise (:func:`machine_to_dict`); loading the file gives the same generator to rounding
    (``tests/test_qutip_interop.py``). A folder, or a file in a missing folder, is refused with
    a :class:`ModelError` before anything is written.

    Examples
    --------
    >>> import qutip, tempfile, pathlib, thermogeo as tg
    >>> X, Z, I = qutip.sigmax(), qutip.sigmaz(), qutip.qeye(2)
    >>> m = tg.Machine(qubits=2, parameters={"Bz": 0.5},
    ...                hamiltonian=[("Bz", qutip.tensor(Z, I) + qutip.tensor(I, Z)),
    ...                             (0.5, qutip.tensor(X, X))],
    ...                baths=[tg.Bath("L", 1.0, qutip.tensor(X, I), tg.Ohmic(0.01))])
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     again = load_model(save_model(m, pathlib.Path(tmp) / "pair.toml"))
    >>> [t.operator for t in again.hamiltonian], again.baths[0].coupling
    (['Z0 + Z1', 'X0 X1'], 'X0')
    """
    path = Path(path)
    if path.is_dir():
        raise ModelError(f"{path}: is a folder; expected a model file path such as "
                         "'machine.toml'")
    if not path.parent.is_dir():
        raise ModelError(f"{path}: the folder {str(path.parent)!r} does not exist")
    path.write_text(dump_model(machine, pauli_tol=pauli_tol), encoding="utf-8")
    return path
