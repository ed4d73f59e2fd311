"""Model files (TOML) and result files (NetCDF/Zarr)."""

from thermogeo.io.model_file import (dump_model, load_model, machine_from_dict, machine_to_dict,
                                     save_model)

__all__ = ["dump_model", "load_model", "machine_from_dict", "machine_to_dict", "save_model"]
