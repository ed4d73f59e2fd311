# %% [markdown]
# # 06_qutip

# %%
print(1)
