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
# # A first machine and its rotor map
#
# **Task.** Describe the single-qubit heat pump Q1 (model Q1 of the [theory](../theory.md),
# section 7), compute its slow-driving response at one point, map the rotor (the
# Berry-curvature-like field of the pumped heat) over a plane of the two driving fields, and
# check the heat one loop pumps against the closed forms.
#
# The machine: one qubit, `H = Bx X + Bz Z`, bath L couples through `X`, bath R through `Z`,
# both ohmic, at a common temperature `T = 1`. The coupling strength is weak (0.05), so the
# secular (Davies) generator holds away from the origin, where the gap `2|B|` closes.
#
# A model file is a few lines of TOML ([model-file reference](../reference/model-file.md)).
# We write it to a temporary folder and load it, as a researcher would with their own file.

# %%
import tempfile
import warnings
from pathlib import Path

import numpy as np
from IPython.display import Image

import thermogeo as tg
from thermogeo.plot import plot_rotor

MODEL = """
name = "qubit_pump"
qubits = 1
parameters = { Bx = 0.7, Bz = 0.4 }     # the driving parameters and their defaults

[[hamiltonian]]
coefficient = "Bx"
operator = "X0"

[[hamiltonian]]
coefficient = "Bz"
operator = "Z0"

[[baths]]
name = "L"
temperature = 1.0
coupling = "X0"
spectral_density = { kind = "ohmic", strength = 0.05 }

[[baths]]
name = "R"
temperature = 1.0
coupling = "Z0"
spectral_density = { kind = "ohmic", strength = 0.05 }
"""
folder = Path(tempfile.mkdtemp())
(folder / "qubit_pump.toml").write_text(MODEL)
machine = tg.load_model(folder / "qubit_pump.toml")
machine.parameter_names, machine.bath_names, machine.dim

# %% [markdown]
# ## The response at one point
#
# `response` returns, at a batch of parameter points, the heat response
# `Lambda^alpha_i = Tr[H D_alpha L^D d_i rho_0]` (the heat current into the system from bath
# `alpha` per unit velocity of parameter `i`), the rotor in a chosen plane and the dissipation
# metric. Shapes: `heat_response (points, baths, parameters)`.

# %%
r = tg.response(machine, [0.7, 0.4], plane=("Bx", "Bz"))
print("Lambda (bath x parameter):\n", r.heat_response)
print("rotor Omega^L, Omega^R:", r.rotor)
print("metric g:\n", r.metric)
print("secular ratio (>> 1 for the secular generator to hold):", r.secular_ratio)

# %% [markdown]
# Two checks that hold for any machine at equal temperatures (theory, section 4): the heat
# responses of all baths add up to `T grad S` (the entropy of the steady state), and the rotor
# of bath R is minus that of bath L (with two baths, the total pumped heat of a cycle vanishes
# to first order). For Q1 the heat response has a closed form: the share
# `f_L = cos^2 theta / (cos^2 theta + sin^2 theta)` of `T grad S` goes to bath L (equal
# strengths), with `theta` the angle of the field from `+z`.

# %%
T = 1.0
Bx, Bz = 0.7, 0.4
rad = np.hypot(Bx, Bz)
theta = np.arctan2(Bx, Bz)
dS_dr = -(rad / T**2) / np.cosh(rad / T) ** 2
grad_S = dS_dr * np.array([Bx, Bz]) / rad
f_L = np.cos(theta) ** 2 / (np.cos(theta) ** 2 + np.sin(theta) ** 2)

assert np.allclose(r.heat_response.sum(axis=0), T * r.entropy_gradient, rtol=1e-10)
assert np.allclose(r.heat_response[0], f_L * T * grad_S, rtol=1e-8)
assert np.isclose(r.rotor[0], -r.rotor[1], rtol=1e-10)
assert np.isclose(r.rotor[0], 0.4776712254, rtol=1e-8)  # closed form, theory section 7

# %% [markdown]
# ## The rotor map
#
# `response_map` computes the response on a grid in one batched call and returns an
# `xarray.Dataset`. The rotor of bath L is positive in the first and third quadrants and
# negative in the others: the closed form is
# `Omega^L = sech^2(r/T) sin(2 theta) / T` for equal strengths.

# %%
xs = np.linspace(-2.0, 2.0, 81)
zs = np.linspace(-2.0, 2.0, 81)
ds = tg.response_map(machine, ("Bx", xs), ("Bz", zs))
ds

# %%
X, Z = np.meshgrid(xs, zs, indexing="ij")
rr, th = np.hypot(X, Z), np.arctan2(X, Z)
closed = np.sin(2 * th) / np.cosh(rr / T) ** 2 / T
rotor_L = ds.rotor.sel(bath="L").values
away = rr > 0.2  # the origin is a degenerate point (the gap closes)
assert np.allclose(rotor_L[away], closed[away], rtol=1e-7, atol=1e-10)

loop = tg.Circle(("Bx", "Bz"), center=(0.8, 0.6), radius=0.5)
# the figure `thermogeo map --plot` draws (off-screen), saved and shown
fig = plot_rotor(ds, bath="L", loop=loop)
fig.savefig(folder / "rotor.png", dpi=90)
Image(filename=folder / "rotor.png")

# %% [markdown]
# ## The heat one loop pumps
#
# Driving the fields slowly around a closed loop pumps the geometric heat
# `Q^geo = closed integral of Lambda . dlambda` out of each bath, independent of the period;
# by Stokes it is the area integral of the rotor. `cycle_summary` computes both, the
# dissipated work coefficient `tau W_diss` and the thermodynamic length `L`.

# %%
c = tg.cycle_summary(machine, loop)
print("Q_geo (line):", c.geometric_heat, " Q_geo (area):", c.geometric_heat_area)
print("tau W_diss =", c.dissipated_work_coefficient, " L =", c.thermodynamic_length)

assert np.isclose(c.geometric_heat[0], 0.2729526880, rtol=1e-8)  # theory section 7
assert np.allclose(c.geometric_heat, c.geometric_heat_area, rtol=1e-8)  # Stokes
assert np.isclose(c.geometric_heat.sum(), 0.0, atol=1e-12)  # two baths, equal T
assert c.dissipated_work_coefficient >= c.thermodynamic_length**2 * (1 - 1e-10)

# %% [markdown]
# Reversing the orientation flips the sign of the pumped heat, and the heat does not depend
# on the overall coupling strength (only on the ratio of the two strengths), while the
# dissipation falls as the coupling strengthens (faster relaxation: the state lags less).

# %%
reverse = tg.Circle(("Bx", "Bz"), center=(0.8, 0.6), radius=0.5, clockwise=True)
assert np.isclose(tg.cycle_summary(machine, reverse, area=False).geometric_heat[0],
                  -c.geometric_heat[0], rtol=1e-10)
stronger = machine.with_values(**{"L.strength": 0.1, "R.strength": 0.1})
c2 = tg.cycle_summary(stronger, loop, area=False)
assert np.isclose(c2.geometric_heat[0], c.geometric_heat[0], rtol=1e-10)
assert c2.dissipated_work_coefficient < c.dissipated_work_coefficient
print("tau W_diss at strength 0.05 and 0.1:", c.dissipated_work_coefficient,
      c2.dissipated_work_coefficient)

# %% [markdown]
# ## Is the secular generator valid here?
#
# The secular (Davies) generator assumes that distinct Bohr frequencies lie far apart compared
# with the relaxation rates; `Response.secular_ratio` measures it per point (see the
# [sharp bits](../sharp-bits.md)). A direct check is to compare with a master equation that
# does not make the approximation: the universal Lindblad equation (`master_equation="ule"`).
# At the point `(0.7, 0.4)` the two agree better and better as the coupling weakens (the
# difference falls as the strength squared); near the origin, where the gap `2|B|` closes,
# the secular rotor is wrong at strength 0.05.

# %%
points = [[0.7, 0.4], [0.05, 0.03]]
dense = tg.Numerics(kernel="dense")  # d^2 x d^2 superoperators: every master equation
rows = []
for strength in (0.05, 0.005, 0.0005):
    weak = machine.with_values(**{"L.strength": strength, "R.strength": strength})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", tg.SecularApproximationWarning)
        secular = tg.response(weak, points, plane=("Bx", "Bz"), numerics=dense)
    ule = tg.response(weak.with_master_equation("ule"), points, plane=("Bx", "Bz"),
                      numerics=dense)
    difference = np.abs(secular.rotor[:, 0] - ule.rotor[:, 0]) / np.abs(secular.rotor[:, 0])
    rows.append(difference)
    print(f"strength {strength:g}: secular ratio {secular.secular_ratio.round(2)}, relative "
          f"difference of Omega^L secular vs ULE {difference}")
rows = np.array(rows)
assert np.all(rows[1:, 0] < rows[:-1, 0] / 30)  # ~ strength^2 where the ratio is large
assert rows[0, 1] > 0.5  # near the origin at strength 0.05: the secular rotor is off
