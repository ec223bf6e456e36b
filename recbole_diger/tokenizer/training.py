"""Train an RQ-VAE on item embeddings (the first stage of TIGER) and cache the result.

The cache key is a hash of the embeddings, the tokenizer settings and the seed, so a second
run with the same data and config reuses the trained tokenizer and its SIDs.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import Protocol

import numpy as np
import torch
from tqdm import tqdm

from ..data.convert import cache_dir
from .rqvae import RQVAE, RQVAEOutput
from .sid_index import SIDIndex

log = logging.getLogger("recbole_diger")
#: tokenizer settings (yaml keys) and what RQVAE / the loop call them
RQVAE_KEYS = ("rqvae_hidden", "rqvae_e_dim", "rqvae_levels", "rqvae_codebook_size", "rqvae_beta",
              "rqvae_strategy", "rqvae_epochs", "rqvae_lr", "rqvae_batch_size", "rqvae_weight_decay",
              "rqvae_revive_dead_codes")


def build_rqvae(in_dim: int, settings: dict) -> RQVAE:
    return RQVAE(in_dim=in_dim, hidden=list(settings["rqvae_hidden"]), e_dim=settings["rqvae_e_dim"],
                 levels=settings["rqvae_levels"], codebook_size=settings["rqvae_codebook_size"],
                 strategy=settings["rqvae_strategy"], beta=settings["rqvae_beta"])


class Regularizer(Protocol):
    """An extra tokenizer loss (e.g. LETTER's collaborative and diversity terms)."""

    key: str  # what it is, for the cache key (settings and any data it reads)

    def start_epoch(self, model: RQVAE) -> None: ...

    def loss(self, model: RQVAE, out: RQVAEOutput, rows: torch.Tensor) -> torch.Tensor:
        """rows [B]: indices into the training matrix of the batch's items."""


def fit_rqvae(embeddings: np.ndarray, settings: dict, seed: int,
              regularizer: Regularizer | None = None) -> tuple[RQVAE, list[float]]:
    """Train on ``embeddings`` [N, in_dim]: k-means init of every level, then AdamW on recon + VQ loss
    (+ the regularizer's loss)."""
    torch.manual_seed(seed)
    x = torch.as_tensor(embeddings, dtype=torch.float32)
    model = build_rqvae(x.shape[1], settings)
    model.fit_input_scaling(x)
    with torch.no_grad():
        model.quantizer.kmeans_init(model.latent(x), seed=seed)
    opt = torch.optim.AdamW(model.parameters(), lr=settings["rqvae_lr"], weight_decay=settings["rqvae_weight_decay"])
    gen = torch.Generator().manual_seed(seed)
    history = []
    bar = tqdm(range(settings["rqvae_epochs"]), desc="RQ-VAE", unit="epoch")
    for _ in bar:
        perm = torch.randperm(len(x), generator=gen)
        total = 0.0
        if regularizer is not None:
            regularizer.start_epoch(model)
        for start in range(0, len(x), settings["rqvae_batch_size"]):
            rows = perm[start:start + settings["rqvae_batch_size"]]
            batch = x[rows]
            out = model(batch)
            loss = out.loss if regularizer is None else out.loss + regularizer.loss(model, out, rows)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(batch)
        history.append(total / len(x))
        revived = 0
        if settings["rqvae_revive_dead_codes"]:
            with torch.no_grad():
                revived = sum(model.quantizer.revive_dead_codes(model.latent(x), gen))
        bar.set_postfix(loss=f"{history[-1]:.4f}", revived=revived)
    return model, history


def trained_sids(item_ids: list[str], embeddings: np.ndarray, settings: dict, seed: int,
                 regularizer: Regularizer | None = None) -> tuple[Path, dict]:
    """SIDs of ``item_ids`` from an RQ-VAE trained on their embeddings; returns (LETTER-format file, stats).

    Reuses ``<cache>/tokenizers/<key>/`` when the same embeddings, settings, regularizer and seed were
    seen before.
    """
    digest = hashlib.sha256(np.ascontiguousarray(embeddings).tobytes())
    digest.update(json.dumps({k: settings[k] for k in RQVAE_KEYS}, sort_keys=True).encode())
    digest.update(f"{seed}|{'|'.join(item_ids)}".encode())
    if regularizer is not None:
        digest.update(regularizer.key.encode())
    folder = cache_dir() / "tokenizers" / digest.hexdigest()[:20]
    sid_file, info_file = folder / "sids.json", folder / "tokenizer.json"
    if sid_file.is_file() and info_file.is_file():
        log.info("reusing trained tokenizer %s", folder)
        return sid_file, json.loads(info_file.read_text())
    model, history = fit_rqvae(embeddings, settings, seed, regularizer)
    codes = model.encode(torch.as_tensor(embeddings, dtype=torch.float32)).numpy()
    index = SIDIndex.from_codes(item_ids, codes, settings["rqvae_codebook_size"])
    info = {"stats": index.stats(), "final_loss": history[-1], "epochs": len(history)}
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".tok-", dir=folder.parent))
    index.to_letter_json(tmp / "sids.json")
    torch.save(model.state_dict(), tmp / "rqvae.pt")
    (tmp / "tokenizer.json").write_text(json.dumps(info, indent=2))
    try:
        os.rename(tmp, folder)
    except OSError:  # another run finished first: keep theirs
        shutil.rmtree(tmp, ignore_errors=True)
        if not sid_file.is_file():
            raise
    log.info("tokenizer trained: collision rate %.4f, perplexity per level %s -> %s", info["stats"]["collision_rate"],
             [round(l["perplexity"], 1) for l in info["stats"]["levels"]], folder)
    return sid_file, info
