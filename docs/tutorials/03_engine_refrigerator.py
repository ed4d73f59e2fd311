# %% [markdown]
# # 03_engine_refrigerator

# %%
print(1)
