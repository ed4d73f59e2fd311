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
# # The best loop and the N T ln 2 bound
#
# **Task.** Find the loop that pumps the most heat out of one bath, and compare it with the
# bound `N T ln 2` that non-interacting qubits obey ([theory](../theory.md), section 6):
# the best loop encloses exactly a connected region where the rotor has one sign, and for a
# single qubit that region is a quadrant holding `T ln 2`. Interaction (the Heisenberg dimer)
# beats `2 T ln 2`.

# %%
import tempfile
import warnings
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

import thermogeo as tg
from thermogeo.protocols.paths import load_loop, save_loop

one_qubit = tg.Machine(
    qubits=1, parameters={"Bx": 0.7, "Bz": 0.4},
    hamiltonian=[("Bx", "X0"), ("Bz", "Z0")],
    baths=[tg.Bath("L", 1.0, "X0", tg.Ohmic(0.05)), tg.Bath("R", 1.0, "Z0", tg.Ohmic(0.05))],
    name="Q1")

# %% [markdown]
# ## One qubit: a quadrant, `T ln 2`
#
# `optimal_region` maps the rotor of one bath on a disc (radius `15 T` by default, polar grid)
# and integrates it over each connected single-sign region. Near the origin the gap closes
# and the Bohr frequencies come closer than the relaxation rates: the secular generator does
# not hold there, and thermogeo says so with a `SecularApproximationWarning` (see the
# [sharp bits](../sharp-bits.md)). The region is a small fraction of the integral; we record
# the warnings and look at them.

# %%
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    best = tg.optimal_region(one_qubit, ("Bx", "Bz"), "L", resolution=(40, 64))
print({type(w.message).__name__ for w in caught})
print("max |Q_L| =", best.max_geometric_heat, " bound T ln 2 =", best.bound)
print("boundary loop pumps", best.loop_geometric_heat)

assert np.isclose(best.max_geometric_heat, np.log(2), rtol=1e-6)
assert np.isclose(best.bound, np.log(2), rtol=1e-12)
assert not best.exceeds_bound
assert np.isclose(best.loop_geometric_heat, best.max_geometric_heat, rtol=1e-4)

# %% [markdown]
# The boundary of the best region is a loop like any other: save it as a loop file (TOML) and
# it is read back by `load_loop`, by the `--loop` option of the commands (`thermogeo cycle
# MODEL --loop best.toml`) and by the loops of sweep files.

# %%
loop_file = save_loop(best.loop, Path(tempfile.mkdtemp()) / "best.toml",
                      about={"bath": "L", "max_geometric_heat": best.max_geometric_heat})
print("\n".join(loop_file.read_text().splitlines()[:8]), "\n...")
again = load_loop(loop_file)
assert again == best.loop
with warnings.catch_warnings():
    warnings.simplefilter("ignore", tg.SecularApproximationWarning)
    along = tg.cycle_summary(one_qubit, again, area=False)
print("Q_L^geo along the saved loop:", along.bath_geometric_heat)
assert np.isclose(along.bath_geometric_heat, np.log(2), rtol=1e-4)

# %% [markdown]
# The bound scales with the temperature: at `T = 0.5` the best loop pumps `0.5 ln 2`.

# %%
cold = one_qubit.with_values(**{"L.temperature": 0.5, "R.temperature": 0.5})
with warnings.catch_warnings():
    warnings.simplefilter("ignore", tg.SecularApproximationWarning)
    best_cold = tg.optimal_region(cold, ("Bx", "Bz"), "L", resolution=(40, 64))
assert np.isclose(best_cold.max_geometric_heat, 0.5 * np.log(2), rtol=1e-6)
best_cold.max_geometric_heat_over_T

# %% [markdown]
# ## The map and the best region

# %%
def draw(best, ax, title):
    x, y = best.points[..., 0], best.points[..., 1]
    lim = np.percentile(np.abs(best.rotor), 99)
    ax.pcolormesh(x, y, best.rotor, cmap="RdBu_r", vmin=-lim, vmax=lim,
                  shading="gouraud")  # a polar grid: nodes, not cell edges
    if best.loop is not None:
        xy = best.loop.xy(np.linspace(0, 1, 400))
        ax.plot(xy[:, 0], xy[:, 1], "k-", lw=1.5, label="best loop")
    ax.set(xlabel=best.plane[0], ylabel=best.plane[1], title=title, aspect="equal",
           xlim=(-6, 6), ylim=(-6, 6))


fig, ax = plt.subplots(figsize=(4, 4))
draw(best, ax, f"one qubit: |Q_L| = {best.max_geometric_heat:.4f} T")
ax.legend(loc="lower left")
plt.show()

# %% [markdown]
# ## Two qubits: `2 T ln 2` without interaction, more with it
#
# The Heisenberg dimer (the model of the README): two qubits in a uniform field, exchange
# `J S1.S2`, bath L through `X0 + b X1`, bath R through `Z0 + b Z1`. With `J = 0` the qubits are
# independent and the best loop reaches `2 T ln 2`; with `J = 2 T` it exceeds the bound.

# %%
dimer = tg.Machine(
    qubits=2, parameters={"Bx": 0.3, "Bz": 0.5}, constants={"J": 2.0, "b": 2.0},
    hamiltonian=[("Bx", tg.uniform_field(2, "X")), ("Bz", tg.uniform_field(2, "Z")),
                 ("0.25*J", "X0 X1 + Y0 Y1 + Z0 Z1")],
    baths=[tg.Bath("L", 1.0, "X0 + b*X1", tg.Ohmic(0.001)),
           tg.Bath("R", 1.0, "Z0 + b*Z1", tg.Ohmic(0.001))],
    name="dimer")

results = {}
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    for J in (0.0, 2.0):
        results[J] = tg.optimal_region(dimer.with_values(J=J), ("Bx", "Bz"), "L",
                                       resolution=(40, 64))
print("warnings:", sorted({type(w.message).__name__ for w in caught}))
for J, o in results.items():
    print(f"J = {J}: max |Q_L| = {o.max_geometric_heat:.6f} T, bound {o.bound:.6f}, "
          f"exceeds: {o.exceeds_bound}")

assert np.isclose(results[0.0].max_geometric_heat, 2 * np.log(2), rtol=1e-6)
assert not results[0.0].exceeds_bound
assert results[2.0].exceeds_bound
assert results[2.0].max_geometric_heat > 1.2 * 2 * np.log(2)

fig, axes = plt.subplots(1, 2, figsize=(8, 4))
for ax, (J, o) in zip(axes, results.items()):
    draw(o, ax, f"dimer J = {J}: |Q_L| = {o.max_geometric_heat:.3f} T")
plt.tight_layout()
plt.show()

# %% [markdown]
# ## The best circle for power
#
# The region that pumps the most heat is not the best protocol at finite period: the power
# figure of merit `A^2 / L^2` (heat squared over thermodynamic length squared, theory
# section 5) trades heat against dissipation. `optimize_protocol` improves a loop by exact
# gradients; here a circle of the single qubit, a few iterations. The circle grows towards
# the origin, where the secular approximation fails: the warnings say where (we keep their
# count).

# %%
start = tg.Circle(("Bx", "Bz"), center=(0.8, 0.6), radius=0.5)
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always", tg.SecularApproximationWarning)
    opt = tg.optimize_protocol(one_qubit, ("Bx", "Bz"), objective="power_figure_of_merit",
                               family="circle", start=start, bath="L", maxiter=15)
print(len(caught), "secular-approximation warnings; best circle:", opt.after.loop)
print("A^2/L^2 before:", opt.before.power_figure_of_merit, " after:",
      opt.after.power_figure_of_merit)
assert opt.after.power_figure_of_merit >= opt.before.power_figure_of_merit
