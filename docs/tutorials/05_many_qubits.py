# %% [markdown]
# # 05_many_qubits

# %%
print(1)
