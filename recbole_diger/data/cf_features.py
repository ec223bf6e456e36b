"""Item representations for a tokenizer: text embeddings, or collaborative ones when text is missing.

``cf``: the item embeddings of a SASRec trained through RecBole on the training split only (a fixed
number of epochs, no validation, so nothing of the validation or test items leaks in). Cached under
``<cache>/cf_features/<hash>.npy``, keyed by the atomic dataset, the settings below and the seed.

``item_features`` (yaml key, or ``--item-features`` on the command line): ``text``, ``cf``, or
``auto`` (text when every item has it, else cf: e.g. Instruments, text for 6,250 of 9,922 items).
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from pathlib import Path

import numpy as np

from ..errors import UserError
from .convert import AtomicDataset, cache_dir
from .text_embed import embed_items, item_texts, require_text

log = logging.getLogger("recbole_diger")
CHOICES = ("auto", "text", "cf")
#: the teacher: RecBole's SASRec with CE (baselines/SASRec-CE.yaml), trained for ``cf_epochs``
CF_KEYS = ("cf_epochs", "cf_hidden_size")


def cf_item_embeddings(atomic: AtomicDataset, settings: dict, seed: int, device: str = "cpu") -> np.ndarray:
    """SASRec item embeddings, float32 [len(atomic.item_ids()), cf_hidden_size], rows in ``item_ids()`` order."""
    item_ids = atomic.item_ids()
    digest = hashlib.sha256(json.dumps({k: settings[k] for k in CF_KEYS}, sort_keys=True).encode())
    digest.update(f"{Path(atomic.data_path).name}|{seed}|{'|'.join(item_ids)}".encode())
    path = cache_dir() / "cf_features" / f"{digest.hexdigest()[:20]}.npy"
    if path.is_file():
        log.info("reusing collaborative item features %s", path)
        return np.load(path)
    matrix = _train_sasrec(atomic, settings, seed, device, item_ids)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".cf-", suffix=".npy", dir=path.parent)
    with os.fdopen(fd, "wb") as f:
        np.save(f, matrix)
    os.replace(tmp, path)
    log.info("collaborative item features (SASRec, %d epochs) -> %s", settings["cf_epochs"], path)
    return matrix


def _train_sasrec(atomic: AtomicDataset, settings: dict, seed: int, device: str, item_ids: list[str]) -> np.ndarray:
    import torch
    from recbole.data import create_dataset, data_preparation
    from recbole.model.sequential_recommender import SASRec
    from recbole.trainer import Trainer
    from recbole.utils import init_seed

    from ..config import BASELINES_DIR, PROPERTIES_DIR, make_recbole_config, read_yaml

    config_dict = dict(read_yaml(PROPERTIES_DIR / "overall.yaml"), **read_yaml(BASELINES_DIR / "SASRec-CE.yaml"))
    config_dict.update(hidden_size=int(settings["cf_hidden_size"]), epochs=int(settings["cf_epochs"]), seed=seed,
                       reproducibility=True, data_path=str(atomic.data_path), show_progress=False,
                       use_gpu=device == "cuda", gpu_id="0" if device == "cuda" else "",
                       checkpoint_dir=str(cache_dir() / "checkpoints" / "cf_features"))
    config = make_recbole_config("SASRec", atomic.name, config_dict)
    init_seed(seed, True)
    dataset = create_dataset(config)
    train_data, _, _ = data_preparation(config, dataset)
    model = SASRec(config, train_data._dataset).to(config["device"])
    Trainer(config, model).fit(train_data, None, saved=False, show_progress=bool(settings.get("show_progress")))
    internal = dataset.token2id(dataset.iid_field, item_ids)
    return model.item_embedding.weight.detach().cpu().numpy()[internal].astype(np.float32)


def tokenizer_input(atomic: AtomicDataset, settings: dict, seed: int, device: str, method: str
                    ) -> tuple[np.ndarray, dict]:
    """The matrix a tokenizer quantises, rows in ``atomic.item_ids()`` order, and facts for run.json."""
    choice = settings.get("item_features") or "auto"
    if choice not in CHOICES:
        raise UserError(f"item_features '{choice}' is not one of {', '.join(CHOICES)}; e.g. --item-features cf")
    item_ids = atomic.item_ids()
    if choice == "auto":
        with_text = len(set(item_texts(atomic)) & set(item_ids))
        choice = "text" if with_text == len(item_ids) else "cf"
        if choice == "cf":
            log.info("%s: %d of %d items have text; using collaborative item features", method, with_text, len(item_ids))
    if choice == "text":
        return (embed_items(item_ids, require_text(atomic, item_ids, method), device=device),
                {"item_features": "text", "text_encoder": "all-MiniLM-L6-v2"})
    return (cf_item_embeddings(atomic, settings, seed, device),
            {"item_features": "cf", "cf_model": f"SASRec-CE, {settings['cf_epochs']} epochs on the training split"})
