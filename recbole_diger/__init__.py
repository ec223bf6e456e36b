"""recbole-diger: generative recommendation with semantic IDs, and classic baselines, on RecBole."""
from . import compat

compat.apply()

__version__ = "0.1.0"
