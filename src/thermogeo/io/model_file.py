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

TOP_FIELDS = ("qubits", "parameters", "constants", "hamiltonian", "baths", "name",
              "master_equation")
BATH_FIELDS = ("name", "temperature", "coupling", "spectral_density")


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
        for i, t in enumerate(data["hamiltonian"]):
            if not isinstance(t, dict):
                raise ModelError(f"hamiltonian[{i}]: expected a table with fields "
                                 "'coefficient' (optional) and 'operator'")
            if "operator" in t and not isinstance(t["operator"], str):
                raise ModelError(f"hamiltonian[{i}].operator: expected an operator string "
                                 f"such as 'X0 + X1', got {show(t['operator'])}")
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
            if not isinstance(b["coupling"], str):
                raise ModelError(f"baths[{i}].coupling: expected an operator string such as "
                                 f"'X0 + 2*X1', got {show(b['coupling'])}")
            baths.append(Bath(name=b["name"], temperature=b["temperature"],
                              coupling=b["coupling"], spectral_density=b["spectral_density"]))
        return Machine(qubits=data["qubits"], parameters=data["parameters"],
                       hamiltonian=data["hamiltonian"], baths=baths,
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
    if "name" not in data:
        data["name"] = path.stem
    return machine_from_dict(data, source=str(path))


def machine_to_dict(machine: Machine) -> dict:
    """The TOML table of a machine (operators must be strings, not matrices)."""
    def op(x, where):
        if not isinstance(x, str):
            raise ModelError(f"{where}: only operator strings can be written to a model file; "
                             f"got a {type(x).__name__}")
        return x

    def coef(c):
        return float(c) if isinstance(c, (int, float, np.floating)) else c

    out = {"name": machine.name, "qubits": machine.qubits,
           "parameters": dict(machine.parameters)}
    if machine.constants:
        out["constants"] = dict(machine.constants)
    out["hamiltonian"] = [{"coefficient": coef(t.coefficient),
                           "operator": op(t.operator, f"hamiltonian[{i}]")}
                          for i, t in enumerate(machine.hamiltonian)]
    out["baths"] = [{"name": b.name, "temperature": b.temperature,
                     "coupling": op(b.coupling, f"baths[{b.name!r}].coupling"),
                     "spectral_density": b.spectral_density.to_dict()} for b in machine.baths]
    if not machine.master_equation.secular:
        out["master_equation"] = machine.master_equation.to_dict()
    return out


def dump_model(machine: Machine) -> str:
    """TOML text of a machine."""
    import tomli_w

    return tomli_w.dumps(machine_to_dict(machine))
