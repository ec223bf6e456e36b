"""TIGER, two-stage: train (or load) the tokenizer, freeze it, train the generative recommender.

``TIGER`` learns SIDs with an RQ-VAE over the items' text embeddings (or collaborative ones,
``item_features``); ``TIGER-LETTER`` reads
LETTER's released SIDs (``<Name>.index.json`` beside the dataset), an external anchor.
"""
from __future__ import annotations

from ..config import PROPERTIES_DIR
from ..data.cf_features import tokenizer_input
from ..errors import UserError
from ..model.sid_recommender import SIDRecommender
from ..registry import ModelSpec, register_model
from ..tokenizer.sid_index import SIDIndex
from ..tokenizer.training import trained_sids

TIGER_YAML = PROPERTIES_DIR / "model" / "TIGER.yaml"


def text_rqvae_sids(ctx) -> tuple[dict, dict]:
    """Stage 1 of TIGER: item features (text embeddings, or collaborative ones), the RQ-VAE trained on
    them (cached); returns its SID file."""
    features, source = tokenizer_input(ctx.atomic, ctx.settings, ctx.seed, ctx.device, ctx.model)
    sid_file, info = trained_sids(ctx.atomic.item_ids(), features, ctx.settings, ctx.seed)
    return {"sid_file": str(sid_file)}, {"tokenizer": dict(info, kind="rqvae", **source)}


def released_letter_sids(ctx) -> tuple[dict, dict]:
    """LETTER's released SIDs for the dataset, as a fixed tokenizer."""
    path = ctx.source.folder / f"{ctx.source.stem}.index.json"
    if not path.is_file():
        raise UserError(f"{ctx.model} needs LETTER's SIDs at {path}; put the index json there or use TIGER")
    index = SIDIndex.from_letter_json(path)
    index.aligned(ctx.atomic.item_ids())  # every item of the dataset must have a SID
    return {"sid_file": str(path)}, {"tokenizer": {"kind": "fixed", "source": str(path), "stats": index.stats()}}


register_model(ModelSpec("TIGER", SIDRecommender, TIGER_YAML, family="generative", paper_name="TIGER",
                         note="RQ-VAE SIDs from item text, then T5; two stages", prepare=text_rqvae_sids))
register_model(ModelSpec("TIGER-LETTER", SIDRecommender, TIGER_YAML, family="generative", paper_name=None,
                         note="T5 on LETTER's released SIDs", prepare=released_letter_sids))
