"""LETTER (Wang et al., CIKM 2024): an RQ-VAE tokenizer with collaborative and diversity
regularisation (:mod:`recbole_diger.tokenizer.letter`), then TIGER's two-stage scheme.

The collaborative embeddings are those of ``item_features: cf`` (a SASRec-CE trained through
RecBole on the training split), of the latent's size. ``TIGER-LETTER`` (LETTER's released SIDs)
is the check that the learned tokenizer lands in the right range.
"""
from __future__ import annotations

import torch

from ..config import PROPERTIES_DIR
from ..data.cf_features import cf_item_embeddings, tokenizer_input
from ..errors import UserError
from ..model.sid_recommender import SIDRecommender
from ..registry import ModelSpec, register_model
from ..tokenizer.letter import LetterRegularizer
from ..tokenizer.training import trained_sids
from .tiger import TIGER_YAML


def letter_sids(ctx) -> tuple[dict, dict]:
    """Stage 1: item features + SASRec embeddings -> LETTER's regularised RQ-VAE (cached) -> SID file."""
    s = ctx.settings
    if s["cf_hidden_size"] != s["rqvae_e_dim"]:
        raise UserError(f"LETTER aligns the latent with SASRec embeddings: set cf_hidden_size = rqvae_e_dim "
                        f"(now {s['cf_hidden_size']} and {s['rqvae_e_dim']})")
    features, source = tokenizer_input(ctx.atomic, s, ctx.seed, ctx.device, ctx.model)
    cf = torch.as_tensor(cf_item_embeddings(ctx.atomic, s, ctx.seed, ctx.device))
    regularizer = LetterRegularizer(cf, s["letter_cf_weight"], s["letter_diversity_weight"], s["letter_clusters"], ctx.seed)
    sid_file, info = trained_sids(ctx.atomic.item_ids(), features, s, ctx.seed, regularizer)
    return {"sid_file": str(sid_file)}, {"tokenizer": dict(info, kind="rqvae + LETTER regularisers", **source)}


register_model(ModelSpec("LETTER", SIDRecommender, (TIGER_YAML, PROPERTIES_DIR / "model" / "LETTER.yaml"),
                         family="generative", paper_name="LETTER", prepare=letter_sids, profile_sections=("TIGER",),
                         note="RQ-VAE + collaborative and diversity regularisers, then T5 (two stages)"))
