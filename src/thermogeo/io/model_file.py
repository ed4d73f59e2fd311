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

Every error names the file and the field.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import numpy as np

from thermogeo.baths.bath import Bath
from thermogeo.errors import ModelError
from thermogeo.model.machine import Machine

TOP_FIELDS = ("qubits", "parameters", "constants", "hamiltonian", "baths", "name")
BATH_FIELDS = ("name", "temperature", "coupling", "spectral_density")


def machine_from_dict(data: dict, source: str = "<model>") -> Machine:
    """Build a :class:`Machine` from the parsed TOML table; errors are prefixed by ``source``."""
    try:
        if not isinstance(data, dict):
            raise ModelError(f"expected a table with fields {', '.join(TOP_FIELDS)}")
        extra = set(data) - set(TOP_FIELDS)
        if extra:
            raise ModelError(f"unknown top-level field(s) {sorted(extra)}; accepted: "
                             f"{', '.join(TOP_FIELDS)}")
        for f in ("qubits", "parameters", "hamiltonian", "baths"):
            if f not in data:
                raise ModelError(f"{f}: missing (required fields: qubits, parameters, "
                                 "[[hamiltonian]], [[baths]])")
        if not isinstance(data["hamiltonian"], list):
            raise ModelError("hamiltonian: expected an array of tables [[hamiltonian]]")
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
                raise ModelError(f"baths[{i}]: missing {missing}, unknown {sorted(extra)}; "
                                 f"fields are {', '.join(BATH_FIELDS)}")
            baths.append(Bath(name=b["name"], temperature=b["temperature"],
                              coupling=b["coupling"], spectral_density=b["spectral_density"]))
        return Machine(qubits=data["qubits"], parameters=data["parameters"],
                       hamiltonian=data["hamiltonian"], baths=baths,
                       constants=data.get("constants", {}), name=data.get("name", source))
    except ModelError as e:
        raise ModelError(f"{source}: {e}") from None


def load_model(path: str | Path) -> Machine:
    """Read a TOML model file."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as e:
        raise ModelError(f"{path}: cannot read model file ({e.strerror})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ModelError(f"{path}: malformed TOML: {e}") from None
    data.setdefault("name", path.stem)
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
    return out


def dump_model(machine: Machine) -> str:
    """TOML text of a machine."""
    import tomli_w

    return tomli_w.dumps(machine_to_dict(machine))
