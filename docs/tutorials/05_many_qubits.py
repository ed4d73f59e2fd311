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
# # Many qubits with the structured kernels
#
# **Task.** Scale a machine from 3 to 8 qubits: a Heisenberg chain in a field with a gradient,
# bath L coupled to the first qubit, bath R to the last. Check that the structured kernels
# (Bohr blocks in the eigenframe, never a `d^2 x d^2` matrix; [theory](../theory.md),
# section 10) agree with the dense superoperators where both run, look at the block structure
# and the memory estimate, and check the invariants of the response at every size.

# %%
import warnings

import matplotlib.pyplot as plt
import numpy as np

import thermogeo as tg
from thermogeo.resources import structure_summary

T = 1.0


def chain(N, J=1.0, strength=1e-3):
    """N qubits: H = Bx sum X_j + Bz sum (1 + 0.13 j) Z_j + J sum (X X + Y Y + Z Z)."""
    gradient = " + ".join(f"{1 + 0.13 * j:.2f}*Z{j}" for j in range(N))
    return tg.Machine(
        qubits=N, parameters={"Bx": 0.6, "Bz": 0.8}, constants={"J": J},
        hamiltonian=[("Bx", tg.uniform_field(N, "X")), ("Bz", gradient),
                     ("J", tg.exchange(N, "chain"))],
        baths=[tg.Bath("L", T, "X0", tg.Ohmic(strength)),
               tg.Bath("R", T, f"Z{N - 1}", tg.Ohmic(strength))],
        name=f"chain{N}")


print(tg.exchange(3, "chain"))

# %% [markdown]
# ## Structured equals dense
#
# `Numerics(kernel=...)` chooses the backend; the default `"auto"` picks per point from measured
# costs. On three qubits, where both run, the two agree to round-off.

# %%
m3 = chain(3)
points = np.array([[0.6, 0.8], [1.1, 0.4], [0.3, 1.3]])
with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # the secular ratio is below one here: see below
    dense = tg.response(m3, points, plane=("Bx", "Bz"), numerics=tg.Numerics(kernel="dense"))
    blocks = tg.response(m3, points, plane=("Bx", "Bz"),
                         numerics=tg.Numerics(kernel="structured"))
scale = np.abs(dense.heat_response).max()
print("largest difference / scale:", np.abs(dense.heat_response - blocks.heat_response).max()
      / scale)
assert np.abs(dense.heat_response - blocks.heat_response).max() <= 1e-10 * scale
assert np.abs(dense.metric - blocks.metric).max() <= 1e-10 * np.abs(dense.metric).max()
assert np.abs(dense.rotor - blocks.rotor).max() <= 1e-10 * np.abs(dense.rotor).max()

# %% [markdown]
# ## Block structure and memory
#
# In the eigenframe the generator only couples elements with equal Bohr frequencies: the
# `d^2` elements fall into a zero block (the populations, size `d0 = d` for a non-degenerate
# spectrum) and many small blocks. `structure_summary` reports them and the estimated peak
# memory of one pointwise response; the dense kernels would need `d^4` numbers per
# superoperator.

# %%
sizes = [2, 3, 4, 5, 6, 7, 8]
rows = []
for N in sizes:
    s = structure_summary(chain(N))
    dense_bytes = 16 * (2**N) ** 4  # one complex d^2 x d^2 superoperator
    rows.append((N, s["d"], s["kernel"], s["d0"], s["largest_small_block"],
                 s["estimated_bytes"], dense_bytes))
    print(f"N={N}: d={s['d']:4d} kernel={s['kernel']:10s} d0={s['d0']:4d} "
          f"largest small block={s['largest_small_block']:3d} "
          f"estimate={s['estimated_bytes'] / 1e6:8.1f} MB  (one dense superoperator "
          f"{dense_bytes / 1e6:10.1f} MB)")
    assert sum(size * count for size, count in s["block_sizes"].items()) == s["d"] ** 2
assert rows[-1][2] == "structured"
assert rows[-1][5] < rows[-1][6]  # 8 qubits: far below a single dense superoperator

# %% [markdown]
# ## The response at 4, 6 and 8 qubits
#
# At equal temperatures three identities hold for any machine and size (theory, section 4):
# the heat responses of the baths add up to `T grad S`, the rotors of the baths add up to zero
# (heat is only moved between baths), and the metric is positive semi-definite.
#
# The secular ratio (smallest gap between distinct Bohr frequencies over a bound on the
# fastest relaxation rate) falls quickly with the number of qubits: `d^2` Bohr frequencies
# crowd into the same energy range. The secular generator needs it well above one, so large
# machines need very weak coupling; `response` warns where it is below one (see the
# [sharp bits](../sharp-bits.md)). We record the warnings and print the ratio.

# %%
results = {}
for N in (4, 6, 8):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        r = tg.response(chain(N), [0.6, 0.8], plane=("Bx", "Bz"))
    results[N] = r
    print(f"N={N}: Omega^L={r.rotor[0]: .6f}  secular ratio={r.secular_ratio:.2e}  warnings: "
          f"{sorted({type(w.message).__name__ for w in caught})}")
    lam_scale = np.abs(r.heat_response).max()
    assert np.abs(r.heat_response.sum(axis=0) - T * r.entropy_gradient).max() <= \
        1e-10 * lam_scale
    assert abs(r.rotor.sum()) <= 1e-10 * lam_scale
    assert np.linalg.eigvalsh(r.metric).min() >= -1e-10 * np.abs(r.metric).max()

fig, (a1, a2) = plt.subplots(1, 2, figsize=(8, 3.2))
Ns = list(results)
a1.plot(Ns, [abs(results[N].rotor[0]) for N in Ns], "o-")
a1.set(xlabel="qubits N", ylabel="|Omega^L| at (0.6, 0.8)")
a2.semilogy(Ns, [float(results[N].secular_ratio) for N in Ns], "o-")
a2.axhline(1, color="gray", lw=0.8)
a2.set(xlabel="qubits N", ylabel="secular ratio (strength 1e-3)")
plt.tight_layout()
plt.show()

# %% [markdown]
# ## A batched map at 6 qubits
#
# Points with a generic spectrum are computed in batches on the Bohr blocks: a small map of
# 36 points at 6 qubits is one call.

# %%
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    ds = tg.response_map(chain(6), ("Bx", np.linspace(0.3, 1.2, 6)),
                         ("Bz", np.linspace(0.3, 1.2, 6)))
assert bool(ds.unique.all())
assert np.allclose(ds.rotor.sum("bath"), 0, atol=1e-10 * float(abs(ds.heat_response).max()))
ds.rotor.sel(bath="L").plot(x="Bx", y="Bz", figsize=(4.5, 3.5))
plt.title("rotor of bath L, 6-qubit chain")
plt.show()
