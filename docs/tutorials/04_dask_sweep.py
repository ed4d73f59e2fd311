# %% [markdown]
# # 04_dask_sweep

# %%
print(1)
