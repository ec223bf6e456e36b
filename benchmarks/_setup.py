"""Shared set-up for the speed benchmarks: Beauty with LETTER's SIDs, the paper-size T5, RecBole batches."""
from __future__ import annotations

import resource
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from recbole_diger import registry  # noqa: E402
from recbole_diger.config import build_settings, make_recbole_config  # noqa: E402
from recbole_diger.data import find_dataset, prepare_atomic, resolve_data_dir  # noqa: E402
from recbole_diger.model.sid_recommender import PAD, SIDRecommender  # noqa: E402


def peak_rss_gb() -> float:
    """Peak resident memory of this process so far (GB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 ** 2


def load(dataset: str = "amazon-beauty", layers: int = 6, **overrides):
    """Returns (our model, RecBole config, train loader, test loader) with LETTER SIDs, ``layers`` + ``layers`` blocks."""
    from recbole.data import create_dataset, data_preparation

    source = find_dataset(dataset, resolve_data_dir(None))
    atomic = prepare_atomic(source)
    settings = build_settings(registry.get("model", "TIGER-LETTER"), "paper", {})
    settings.update(sid_file=str(source.folder / f"{source.stem}.index.json"), data_path=str(atomic.data_path),
                    encoder_layers=layers, decoder_layers=layers, show_progress=False, gpu_id="", seed=0, **overrides)
    config = make_recbole_config(SIDRecommender, atomic.name, settings)
    torch.manual_seed(0)
    dataset_ = create_dataset(config)
    train, valid, test = data_preparation(config, dataset_)
    return SIDRecommender(config, train._dataset), config, train, test


def hf_twin(model: SIDRecommender):
    """A transformers T5ForConditionalGeneration of the same size and vocabulary, weights copied."""
    from transformers import T5ForConditionalGeneration

    hf = T5ForConditionalGeneration(model.t5.config)
    missing = hf.load_state_dict(model.t5.state_dict(), strict=False)
    assert not [k for k in missing.missing_keys if not k.startswith("lm_head")], missing
    return hf


def padded_history_tokens(model: SIDRecommender, item_seq: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The plain path's encoder input: every history padded to the full 20 items (no dynamic padding)."""
    tokens = model.item_tokens(item_seq).flatten(1)
    return tokens, (tokens != PAD).long()
