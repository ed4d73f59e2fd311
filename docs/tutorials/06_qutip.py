# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Bringing a QuTiP model in and out
#
# **Task.** A researcher has the Heisenberg dimer as QuTiP operators. Bring it into thermogeo
# (every operator of a `Machine` may be a QuTiP `Qobj`), check it against the same machine
# written with operator strings, save it as a model file, then take the results back to
# QuTiP: the steady state as a `Qobj`, and the secular generator and its jump operators as
# QuTiP objects that `qutip.steadystate`, `qutip.liouvillian` and `qutip.mesolve` accept
# (`thermogeo.interop`, see [QuTiP in and out](../qutip.md)).
#
# The one convention to mind when converting by hand: thermogeo vectorises density matrices
# row by row, QuTiP stacks columns ([conventions](../conventions.md)).

# %%
import tempfile
import warnings
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import qutip

import thermogeo as tg
from thermogeo.interop import (generator_qobj, hamiltonian_qobj, jump_operators_qobj,
                               steady_state_qobj)

# %% [markdown]
# ## In: QuTiP operators as the Hamiltonian terms and couplings

# %%
sx, sy, sz, I = qutip.sigmax(), qutip.sigmay(), qutip.sigmaz(), qutip.qeye(2)
X0, X1 = qutip.tensor(sx, I), qutip.tensor(I, sx)
Y0, Y1 = qutip.tensor(sy, I), qutip.tensor(I, sy)
Z0, Z1 = qutip.tensor(sz, I), qutip.tensor(I, sz)
J, b, strength = 2.0, 2.0, 0.01

from_qutip = tg.Machine(
    qubits=2, parameters={"Bx": 0.3, "Bz": 0.5},
    hamiltonian=[("Bx", X0 + X1), ("Bz", Z0 + Z1),
                 (J / 4, X0 * X1 + Y0 * Y1 + Z0 * Z1)],  # J S1.S2 = (J/4) sigma1.sigma2
    baths=[tg.Bath("L", 1.0, X0 + b * X1, tg.Ohmic(strength)),
           tg.Bath("R", 1.0, Z0 + b * Z1, tg.Ohmic(strength))],
    name="dimer from QuTiP")

from_strings = tg.Machine(
    qubits=2, parameters={"Bx": 0.3, "Bz": 0.5}, constants={"J": J, "b": b},
    hamiltonian=[("Bx", "X0 + X1"), ("Bz", "Z0 + Z1"), ("0.25*J", "X0 X1 + Y0 Y1 + Z0 Z1")],
    baths=[tg.Bath("L", 1.0, "X0 + b*X1", tg.Ohmic(strength)),
           tg.Bath("R", 1.0, "Z0 + b*Z1", tg.Ohmic(strength))],
    name="dimer from strings")

# Qubit 0 is the leftmost tensor factor in both (theory, section 1).
assert np.allclose(from_qutip.V, from_strings.V)
points = np.array([[0.3, 0.5], [0.9, -0.4]])
# At these points two distinct Bohr frequencies of the dimer lie closer than the relaxation
# rates at this strength: thermogeo warns that the secular generator may not hold (the
# sharp bits). The comparison below does not depend on it; we keep the warnings.
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always", tg.SecularApproximationWarning)
    r_q = tg.response(from_qutip, points, plane=("Bx", "Bz"),
                      correlations=["concurrence:0,1"])
    r_s = tg.response(from_strings, points, plane=("Bx", "Bz"))
print(len(caught), "warnings; secular ratio:", r_q.secular_ratio)
assert np.allclose(r_q.heat_response, r_s.heat_response, rtol=1e-12, atol=1e-15)
assert np.allclose(r_q.rotor, r_s.rotor, rtol=1e-12)
r_q.rotor

# %% [markdown]
# ## A model file from QuTiP operators
#
# `save_model` writes the machine as a TOML [model file](../reference/model-file.md): each
# matrix becomes an operator string when it is a real combination of Pauli strings (else a
# stored matrix). Loaded back, it gives the same response.

# %%
path = tg.save_model(from_qutip, Path(tempfile.mkdtemp()) / "dimer.toml")
print(path.read_text())
again = tg.load_model(path)
print([term.operator for term in again.hamiltonian], [bath.coupling for bath in again.baths])
with warnings.catch_warnings():
    warnings.simplefilter("ignore", tg.SecularApproximationWarning)
    r_file = tg.response(again, points, plane=("Bx", "Bz"))
assert np.allclose(r_file.heat_response, r_q.heat_response, rtol=1e-12, atol=1e-15)

# %% [markdown]
# ## Out: the steady state as a `Qobj`
#
# `steady_state_qobj` gives `rho_0` at one point with the qubit dims; QuTiP's functions work on
# it directly. The entropy and the concurrence agree with thermogeo's own
# (`Response.steady_state` holds the same states as a `(points, d, d)` array).

# %%
lam = points[0]
rho = steady_state_qobj(from_qutip, lam)
print(rho.dims)
print("S(rho_0):", qutip.entropy_vn(rho), " thermogeo:", r_q.entropy[0])
print("concurrence:", qutip.concurrence(rho), " thermogeo:",
      r_q.correlations["concurrence_0_1"][0])
assert np.allclose(rho.full(), r_q.steady_state[0], atol=1e-12)
assert np.isclose(qutip.entropy_vn(rho), r_q.entropy[0], rtol=1e-10)
assert np.isclose(qutip.concurrence(rho), r_q.correlations["concurrence_0_1"][0], rtol=1e-8)

# %% [markdown]
# ## Out: the generator and the jump operators
#
# `generator_qobj` is the lab-frame secular generator as a QuTiP superoperator (column
# stacking, `superrep="super"`); `jump_operators_qobj` gives the Davies jump operators
# `sqrt(gamma_alpha(omega)) A_alpha(omega)`, one per bath and Bohr frequency, so that
# `qutip.liouvillian(H, jumps)` is the same generator. QuTiP's `steadystate` finds our state,
# and `mesolve` relaxes any initial state to it on the time scale of the spectral gap of `L`.

# %%
L_qutip = generator_qobj(from_qutip, lam)
H = hamiltonian_qobj(from_qutip, lam)
jumps = jump_operators_qobj(from_qutip, lam)
print(len(jumps), "jump operators;", L_qutip.dims)
assert (qutip.steadystate(L_qutip) - rho).norm() < 1e-10
L_from_jumps = qutip.liouvillian(H, jumps)
assert abs((L_from_jumps - L_qutip).full()).max() < 1e-12 * abs(L_qutip.full()).max()

# the same superoperator from thermogeo's row-major array, converted by hand
gen = tg.generator(from_qutip, lam[None])
L_row = gen.to_lab(gen.L)[0]
d = from_qutip.dim
L_col = L_row.reshape(d, d, d, d).transpose(1, 0, 3, 2).reshape(d * d, d * d)
assert np.allclose(L_col, L_qutip.full(), atol=1e-14)

gap = -np.sort(np.linalg.eigvals(L_row).real)[-2]  # slowest relaxation rate
times = np.linspace(0, 10 / gap, 60)
start = qutip.ket2dm(qutip.tensor(qutip.basis(2, 0), qutip.basis(2, 0)))
evolution = qutip.mesolve(H, start, times, jumps, options={"nsteps": 100000})
distance = np.array([(state - rho).norm() for state in evolution.states])
assert distance[-1] < 1e-3 * distance[0]
# the slowest mode decays as exp(-gap t): fit the tail
slope = np.polyfit(times[20:], np.log(distance[20:]), 1)[0]
print(f"relaxation rate: fitted {-slope:.5f}, spectral gap {gap:.5f}")
assert np.isclose(-slope, gap, rtol=0.05)

fig, ax = plt.subplots(figsize=(5, 3.2))
ax.semilogy(times, distance, label="||rho(t) - rho_0|| (qutip.mesolve)")
ax.semilogy(times, distance[20] * np.exp(-gap * (times - times[20])), "--",
            label="exp(-gap t)")
ax.set(xlabel="time", ylabel="trace-norm distance")
ax.legend()
plt.show()
