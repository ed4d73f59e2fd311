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
# ([theory](../theory.md), sections 4 and 9), and against the figures of merit thermogeo
# computes at the unequal temperatures themselves.
#
# Conventions: heat is counted into the system, work is done on the system (theory,
# section 3); an engine has `W < 0`.

# %%
import matplotlib.pyplot as plt
import numpy as np

import thermogeo as tg
from thermogeo.protocols.fluctuations import cycle_fluctuations

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
# ## The heat and length of the loop at equal temperatures
#
# In linear response everything follows from two numbers of the loop at the common
# temperature `T`: the heat `A` it pumps out of bath L and its thermodynamic length `L`
# (with the constant-dissipation timing, the dissipated work per cycle is `L^2 / tau`, the
# least for this path). The work extracted per cycle is `W_out = X A - L^2 / tau`.

# %%
loop = tg.Circle(("Bx", "Bz"), center=(0.8, 0.6), radius=0.5)
equal = tg.cycle_summary(qubit, loop, timing="constant_dissipation")
A, L = equal.bath_geometric_heat, equal.thermodynamic_length
print(f"A = {A:.6f}, L^2 = {L**2:.6f}; linear response: P_max = X^2 A^2 / (4 L^2) = "
      f"{X**2 * A**2 / (4 * L**2):.4e} at tau* = 2 L^2 / (X A) = {2 * L**2 / (X * A):.1f}")
assert np.isclose(A, 0.2729526880, rtol=1e-8)  # theory section 7 (strength-independent)
assert np.isclose(equal.dissipated_work_coefficient, L**2, rtol=1e-6)

# %% [markdown]
# ## The engine at the unequal temperatures
#
# `cycle_summary` of the machine at its own unequal temperatures (bath L against the others)
# adds the engine figures. They come from the slow-driving expansion of each bath's heat at
# those temperatures, `Q_a(tau) = tau Q_a^(0) + Q_a^geo + Q_a^(2)/tau` (theory, section 5):
# with the geometric work `W_geo = sum_a Q_a^geo` and `B = tau W_diss`, the maximum power
# `W_geo^2 / (4 B)` is reached at `tau* = 2 B / W_geo`; the efficiencies count the static
# heat leak through the qubit, and the bounds are the true Carnot values. The same figures
# follow from the machine at `T` with `bias=X`.

# %%
engine = tg.cycle_summary(hot_cold, loop, bath="L", timing="constant_dissipation")
fig_e = engine.engine
print(f"mode = {fig_e.mode}, W_geo = {fig_e.geometric_work:.6f} (X A = {X * A:.6f})")
print(f"P_max = {fig_e.max_power:.4e} at tau* = {fig_e.best_period:.1f}; "
      f"eta(tau*) = {fig_e.efficiency_at_max_power:.4f}, "
      f"eta_C = 1 - T_c/T_h = {fig_e.carnot_efficiency:.4f}")

assert fig_e.mode == "engine"
assert np.isclose(fig_e.max_power, fig_e.geometric_work / (2 * fig_e.best_period), rtol=1e-10)
assert np.isclose(fig_e.carnot_efficiency, 1 - (1 - X / 2) / (1 + X / 2), rtol=1e-12)
assert abs(fig_e.geometric_work - X * A) < X * abs(X * A)  # linear response, up to O(X^2)
assert fig_e.efficiency_at_max_power < fig_e.carnot_efficiency / 2  # the leak costs
biased = tg.cycle_summary(qubit, loop, bias=X, bath="L", timing="constant_dissipation").engine
assert np.isclose(biased.max_power, fig_e.max_power, rtol=1e-3)

# %% [markdown]
# ## The engine: exact dynamics beside the expansion
#
# `exact_cycle` solves the Lindblad equation along the loop for its limit cycle at each period
# and integrates the heats and the work; its `expansion` attribute holds the slow-driving
# expansion at the same period. The static conduction `tau Q^(0)` cancels between the two
# baths; the first law `W + sum Q = 0` holds to round-off. Work is done on the system: the
# engine has `W < 0`.

# %%
periods = np.geomspace(0.5, 16, 5) * fig_e.best_period
runs = [tg.exact_cycle(hot_cold, engine.loop, tau) for tau in periods]
W_exact = np.array([e.work for e in runs])
W_expansion = np.array([e.expansion.work for e in runs])

for e in runs:
    assert abs(e.first_law_residual) < 1e-9 * np.abs(e.heat).max()
    assert e.converged
error = np.abs(W_exact - W_expansion)
slope = np.polyfit(np.log(periods), np.log(error), 1)[0]
print("exact - expansion of W:", error, " log-log slope:", round(slope, 2))
assert slope < -1.5  # the expansion to second order: error ~ 1/tau^2 (or faster)
at_best = tg.exact_cycle(hot_cold, engine.loop, fig_e.best_period)
print(f"work out at tau*: exact {-at_best.work:.6e}, figures "
      f"{fig_e.work_per_cycle_at_best_period:.6e}")
assert np.isclose(-at_best.work, fig_e.work_per_cycle_at_best_period, rtol=1e-2)

fig, ax = plt.subplots(figsize=(6, 3.5))
ax.plot(periods, -W_exact / periods, "o", label="exact")
ax.plot(periods, -W_expansion / periods, "-", label="expansion (2nd order)")
ax.plot(periods, (X * A - L**2 / periods) / periods, "--",
        label="linear response (X A - L^2/tau)/tau")
ax.plot(fig_e.best_period, fig_e.max_power, "k*", ms=10, label="P_max of the figures")
ax.set(xscale="log", xlabel="period tau", ylabel="power output -W / tau",
       title=f"engine at X = {X}")
ax.legend(fontsize=8)
plt.show()

# %% [markdown]
# ## The refrigerator: the same loop, reversed
#
# Reversed, the loop pumps heat out of the cold bath against the bias: the figures are now the
# cooling power and the coefficients of performance. The share `f` of the dissipated work
# released into the cold bath is computed from the second-order heats. The best cooling
# period is short, a few relaxation times: there the expansion is only indicative, and the
# exact dynamics say how much the machine really cools. At long periods the static heat leak
# from the hot to the cold bath, `tau Q^(0)`, wins over the pumped heat: a refrigerator cools
# only in a window of periods.

# %%
reverse = tg.Circle(("Bx", "Bz"), center=(0.8, 0.6), radius=0.5, clockwise=True)
fridge = tg.cycle_summary(hot_cold, reverse, bath="L", timing="constant_dissipation")
fig_r = fridge.engine
print(f"mode = {fig_r.mode}, cools = {fig_r.cools}, J_c,max = {fig_r.cooling_power_max:.3e} "
      f"at tau_c = {fig_r.best_cooling_period:.2f}, COP there = {fig_r.cop_at_max_cooling:.3f}"
      f" (Carnot {fig_r.carnot_cop:.1f}), f = {fig_r.dissipation_share:.3f}")
assert fig_r.mode == "refrigerator" and fig_r.cools and np.isnan(fig_r.max_power)
assert np.isclose(fig_r.carnot_cop, (1 - X / 2) / X, rtol=1e-10)
assert 0 < fig_r.dissipation_share < 1

taus = np.array([1.0, 2.0, 4.0, 8.0, 16.0]) * fig_r.best_cooling_period
cold = [tg.exact_cycle(hot_cold, fridge.loop, tau) for tau in taus]
Q_cold_exact = np.array([e.heat[1] for e in cold])  # bath R is the cold one
Q_cold_expansion = np.array([e.expansion.heat[1] for e in cold])
print("heat out of the cold bath per cycle, exact    :", Q_cold_exact.round(5))
print("                                     expansion:", Q_cold_expansion.round(5))
assert np.all(Q_cold_exact[:4] > 0)  # it cools from tau_c to 8 tau_c ...
assert Q_cold_exact[-1] < 0 and Q_cold_expansion[-1] < 0  # ... and the leak wins beyond
gap = np.abs(Q_cold_exact - Q_cold_expansion)
assert gap[-1] < 0.05 * gap[0]  # the expansion becomes exact as the period grows

fig, ax = plt.subplots(figsize=(6, 3.5))
ax.plot(taus, Q_cold_exact / taus, "o-", label="exact")
ax.plot(taus, Q_cold_expansion / taus, "--", label="expansion")
ax.plot(fig_r.best_cooling_period, fig_r.cooling_power_max, "k*", ms=10,
        label="J_c,max of the figures")
ax.set(xscale="log", xlabel="period tau", ylabel="cooling power Q_c / tau",
       title=f"refrigerator at X = {X}")
ax.legend(fontsize=8)
plt.show()

# %% [markdown]
# ## How much does one cycle fluctuate?
#
# The heat a loop pumps is a mean over many quanta exchanged with the baths; one cycle
# fluctuates. `cycle_fluctuations` gives the slow-driving cumulants of the heat per cycle at
# equal temperatures: a conduction part that grows with the period (equilibrium noise,
# `tau x heat_covariance_conduction`) and a geometric part independent of it. Energy is
# conserved, so with two baths `Q_R = -Q_L` cycle by cycle: the covariance matrix has rows
# that add up to zero. The signal-to-noise ratio of the pumped heat falls as the period grows.

# %%
noise = cycle_fluctuations(qubit, loop)
print("mean Q_geo:", noise.heat_mean_geometric)
print("covariance, conduction part (per unit period):\n", noise.heat_covariance_conduction)
print("covariance, geometric part:\n", noise.heat_covariance_geometric)
assert np.allclose(noise.heat_mean_geometric, [A, -A], rtol=1e-8)
scale = np.abs(noise.heat_covariance_conduction).max()
assert np.allclose(noise.heat_covariance_conduction.sum(axis=1), 0, atol=1e-10 * scale)
assert np.allclose(noise.heat_covariance_geometric.sum(axis=1), 0, atol=1e-10 * scale)
assert noise.heat_covariance_conduction[0, 0] > 0

tau = np.geomspace(10, 1e3, 50)
variance = tau * noise.heat_covariance_conduction[0, 0] + noise.heat_covariance_geometric[0, 0]
fig, ax = plt.subplots(figsize=(5, 3.2))
ax.loglog(tau, A / np.sqrt(variance))
ax.set(xlabel="period tau", ylabel="Q_geo / std(Q_L) per cycle",
       title="signal to noise of one cycle (equal temperatures)")
plt.show()
