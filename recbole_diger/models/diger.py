"""Joint tokenizer-recommender training: STE, DIGER (arXiv 2601.19711) and the paper's ablations.

Every variant is the same :class:`JointSIDRecommender` with a different quantisation strategy and
noise schedule, named in its yaml (``properties/model/<name>.yaml``, merged after ``TIGER.yaml``
and ``DIGER.yaml``). All start from the pretrained RQ-VAE of the two-stage path (TIGER's stage 1,
shared through the tokenizer cache).
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np

from ..config import PROPERTIES_DIR
from ..data.cf_features import tokenizer_input
from ..model.joint_recommender import JointSIDRecommender
from ..registry import ModelSpec, register_model
from ..tokenizer.training import trained_sids
from ..training.joint_trainer import JointTrainer
from .tiger import TIGER_YAML

MODEL_DIR = PROPERTIES_DIR / "model"


def pretrained_tokenizer(ctx) -> tuple[dict, dict]:
    """Stage 1 as in TIGER (cached), plus what joint training reads: the RQ-VAE weights and the item features."""
    item_ids = ctx.atomic.item_ids()
    embeddings, source = tokenizer_input(ctx.atomic, ctx.settings, ctx.seed, ctx.device, ctx.model)
    sid_file, info = trained_sids(item_ids, embeddings, ctx.settings, ctx.seed)
    folder = Path(sid_file).parent
    features = folder / "features.npz"
    if not features.is_file():
        tmp = folder / f".features-{os.getpid()}.npz"
        np.savez(tmp, ids=np.asarray(item_ids), features=np.asarray(embeddings, dtype=np.float32))
        os.replace(tmp, features)
    extra = {"sid_file": str(sid_file), "rqvae_checkpoint": str(folder / "rqvae.pt"), "item_feature_file": str(features)}
    # the cached start is rebuilt on each machine and float reductions depend on the thread count, so two
    # runs are comparable only from the same start: its fingerprint goes into run.json
    start = hashlib.sha256((folder / "rqvae.pt").read_bytes()).hexdigest()[:16]
    return extra, {"tokenizer": dict(info, kind="rqvae, trained jointly from this start", start_sha256=start, **source)}


#: name -> (yaml, row note). Table 2 of the paper: STE, DIGER (FrqUD), DIGER-SDUD, DIGER-SDUD-FrqUD;
#: Table 4: the ablations.
VARIANTS = {
    "STE": "joint training, hard argmax codes, straight-through gradients",
    "DIGER": "DRIL (Gumbel noise, soft update) + FrqUD; the paper's main configuration",
    "DIGER-SDUD": "DRIL + SDUD (learned noise scale)",
    "DIGER-SDUD-FrqUD": "DRIL + SDUD + FrqUD",
    "DIGER-FrqUD-item": "DRIL + FrqUD with the authors' item-level gate (level-0 code decides every level)",
    "DIGER-noGumbel": "ablation: soft update without noise",
    "DIGER-hardUpdate": "ablation: noisy argmax with a straight-through (hard) update",
    "DIGER-tauAnneal": "ablation: Gumbel-softmax temperature annealing instead of noise decay",
    "DIGER-Gaussian": "ablation: Gaussian instead of Gumbel noise (FrqUD)",
    "DIGER-noDecay": "ablation: constant Gumbel noise, no uncertainty decay",
}

for _name, _note in VARIANTS.items():
    _files = (TIGER_YAML, MODEL_DIR / "DIGER.yaml") + ((MODEL_DIR / f"{_name}.yaml",) if _name != "DIGER" else ())
    register_model(ModelSpec(_name, JointSIDRecommender, _files, family="generative",
                             paper_name=_name, note=_note, prepare=pretrained_tokenizer, trainer=JointTrainer,
                             profile_sections=("TIGER",)))
