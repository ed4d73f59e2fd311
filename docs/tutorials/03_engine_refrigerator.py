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
# # An engine and a refrigerator at unequal temperatures
#
# **Task.** Put the two baths of the single-qubit pump at different temperatures,
# `T_hot = T (1 + X/2)` and `T_cold = T (1 - X/2)` with the bias `X = dT/T`, and run the same
# loop as a heat engine (one orientation) and as a refrigerator (the other). The
# linear-response figures of merit ([theory](../theory.md), section 5) come from two numbers of
# the loop at equal temperatures: the heat `A` it pumps out of the hot bath and its
# thermodynamic length `L`. We check them against the exact periodic dynamics of the qubit at
# the unequal temperatures, period by period, beside the slow-driving expansion
# ([theory](../theory.md), sections 4 and 9).
#
# Conventions: heat is counted into the system, work is done on the system (theory,
# section 3); an engine has `W < 0`.

# %%
import matplotlib.pyplot as plt
import numpy as np

import thermogeo as tg
from thermogeo.protocols.engine import refrigerator_heats

T, X = 1.0, 0.05
qubit = tg.Machine(
    qubits=1, parameters={"Bx": 0.7, "Bz": 0.4},
    hamiltonian=[("Bx", "X0"), ("Bz", "Z0")],
    baths=[tg.Bath("L", T, "X0", tg.Ohmic(0.05)), tg.Bath("R", T, "Z0", tg.Ohmic(0.05))],
    name="Q1")
hot_cold = qubit.with_values(**{"L.temperature": T * (1 + X / 2),
                                "R.temperature": T * (1 - X / 2)})
hot_cold.temperatures

# %% [markdown]
# ## The engine: linear-response figures
#
# `cycle_summary(..., bias=X, bath="L")` adds the figures with bath L hot. With the
# constant-dissipation timing the dissipated work is `L^2 / tau`, the smallest for this path;
# the maximum power `X^2 A^2 / (4 L^2)` is reached at `tau* = 2 L^2 / (X A)`. The heat leak
# `kappa_bar` is the cycle average of the thermal conductance between the baths: it costs
# efficiency, not work.

# %%
loop = tg.Circle(("Bx", "Bz"), center=(0.8, 0.6), radius=0.5)
engine = tg.cycle_summary(qubit, loop, bias=X, bath="L", timing="constant_dissipation")
fig_e = engine.engine
A, L = engine.bath_geometric_heat, engine.thermodynamic_length
print(f"A = {A:.6f}, L^2 = {L**2:.6f}, mode = {fig_e.mode}")
print(f"P_max = {fig_e.max_power:.3e} at tau* = {fig_e.best_period:.2f}; "
      f"eta(tau*) = {fig_e.efficiency_at_max_power:.4f} (eta_C = {fig_e.carnot_efficiency})")

assert fig_e.mode == "engine"
assert np.isclose(fig_e.max_power, X**2 * A**2 / (4 * L**2), rtol=1e-12)
assert np.isclose(fig_e.best_period, 2 * L**2 / (X * A), rtol=1e-12)
assert np.isclose(engine.dissipated_work_coefficient, L**2, rtol=1e-6)
assert fig_e.efficiency_at_max_power < fig_e.carnot_efficiency / 2  # the leak costs

# %% [markdown]
# ## The engine: exact dynamics beside the expansion
#
# `exact_cycle` solves the Lindblad equation along the loop for its limit cycle at each period
# and integrates the heats and the work; its `expansion` attribute holds the slow-driving
# expansion at the same period, `Q_a(tau) = tau Q_a^(0) + Q_a^geo + Q_a^(2)/tau`,
# `W(tau) = W^(1) + W^(2)/tau`. At unequal temperatures `tau Q^(0)` is the steady conduction
# through the qubit; it cancels between the two baths. The first law `W + sum Q = 0` holds
# to round-off.

# %%
periods = np.geomspace(0.5, 20, 6) * fig_e.best_period
runs = [tg.exact_cycle(hot_cold, engine.loop, tau) for tau in periods]
W_exact = np.array([e.work for e in runs])
W_expansion = np.array([e.expansion.work for e in runs])
W_linear = -(X * A - L**2 / periods)  # W_out = X A - L^2 / tau

for e in runs:
    assert abs(e.first_law_residual) < 1e-9 * np.abs(e.heat).max()
    assert e.converged
error = np.abs(W_exact - W_expansion)
slope = np.polyfit(np.log(periods), np.log(error), 1)[0]
print("exact - expansion of W:", error, " log-log slope:", round(slope, 2))
assert slope < -1.5  # the expansion to second order: error ~ 1/tau^2 (or faster)
# linear response: -W^(1) = X A up to O(X^2)
W1 = runs[0].expansion.work_order1
assert abs(-W1 - X * A) < 2 * X * abs(X * A)
# the engine delivers work at its best period
assert W_exact[np.argmin(np.abs(periods - fig_e.best_period))] < 0

fig, ax = plt.subplots(figsize=(6, 3.5))
ax.plot(periods, -W_exact / periods, "o", label="exact")
ax.plot(periods, -W_expansion / periods, "-", label="expansion (2nd order)")
ax.plot(periods, -W_linear / periods, "--", label="linear response X A / tau - L^2 / tau^2")
ax.axvline(fig_e.best_period, color="gray", lw=0.8)
ax.set(xscale="log", xlabel="period tau", ylabel="power output -W / tau",
       title=f"engine at X = {X}")
ax.legend()
plt.show()

# %% [markdown]
# ## The refrigerator: the same loop, reversed
#
# Reversed, the loop pumps heat out of the cold bath against the bias (`X A < 0`): the figures
# are now the cooling power and the coefficient of performance. The dissipated work warms
# the baths; the figures assume all of it goes to the cold bath (`f = 1`), which makes the
# cooling a lower bound when the true share is smaller.

# %%
reverse = tg.Circle(("Bx", "Bz"), center=(0.8, 0.6), radius=0.5, clockwise=True)
fridge = tg.cycle_summary(qubit, reverse, bias=X, bath="L", timing="constant_dissipation")
fig_r = fridge.engine
print(f"mode = {fig_r.mode}, cools = {fig_r.cools}, J_c,max = {fig_r.cooling_power_max:.3e} "
      f"at tau_c = {fig_r.best_cooling_period:.2f}, COP there = {fig_r.cop_at_max_cooling:.3f}"
      f" (Carnot {fig_r.carnot_cop:.1f})")
assert fig_r.mode == "refrigerator" and np.isnan(fig_r.max_power)
assert np.isclose(fridge.bath_geometric_heat, -A, rtol=1e-8)

taus = np.array([0.5, 1.0, 2.0, 4.0]) * fig_r.best_cooling_period
cold = [tg.exact_cycle(hot_cold, fridge.loop, tau) for tau in taus]
Q_cold_exact = np.array([e.heat[1] for e in cold])  # bath R is the cold one
Q_cold_linear, W_in_linear = refrigerator_heats(taus, fridge.bath_geometric_heat, L, X,
                                                fig_r.heat_leak, T)
print("heat out of the cold bath per cycle, exact :", Q_cold_exact)
print("                              linear, f = 1:", Q_cold_linear)
assert np.all(Q_cold_exact[1:] > 0)  # it cools
assert np.all(Q_cold_exact >= Q_cold_linear - 0.1 * abs(X * A))  # f = 1: a lower bound

fig, ax = plt.subplots(figsize=(6, 3.5))
ax.plot(taus, Q_cold_exact / taus, "o-", label="exact")
ax.plot(taus, Q_cold_linear / taus, "--", label="linear response, f = 1")
ax.set(xscale="log", xlabel="period tau", ylabel="cooling power Q_c / tau",
       title=f"refrigerator at X = {X}")
ax.legend()
plt.show()
