"""Datasets: where they live (``sources``), conversion to RecBole atomic files (``convert``),
and item text embeddings (``text_embed``)."""
from .sources import DatasetSource, find_dataset, list_datasets, resolve_data_dir
from .convert import prepare_atomic

__all__ = ["DatasetSource", "find_dataset", "list_datasets", "resolve_data_dir", "prepare_atomic"]
