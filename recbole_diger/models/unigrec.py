"""UniGRec registration: :class:`~recbole_diger.model.unigrec.UniGRecRecommender`, starting from the
pretrained two-stage RQ-VAE, with a SASRec teacher trained through RecBole on the training split."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..config import PROPERTIES_DIR
from ..data.cf_features import cf_item_embeddings
from ..model.unigrec import UniGRecRecommender
from ..registry import ModelSpec, register_model
from ..training.joint_trainer import JointTrainer
from .diger import pretrained_tokenizer
from .tiger import TIGER_YAML


def tokenizer_and_teacher(ctx) -> tuple[dict, dict]:
    """The pretrained tokenizer (as DIGER), plus the teacher's item embeddings as an npz beside it."""
    extra, facts = pretrained_tokenizer(ctx)
    teacher = cf_item_embeddings(ctx.atomic, ctx.settings, ctx.seed, ctx.device)
    path = Path(extra["item_feature_file"]).with_name(f"teacher-cf{ctx.settings['cf_hidden_size']}-"
                                                      f"e{ctx.settings['cf_epochs']}-s{ctx.seed}.npz")
    if not path.is_file():
        tmp = path.with_name(f".{path.stem}-{os.getpid()}.npz")
        np.savez(tmp, ids=np.asarray(ctx.atomic.item_ids()), features=teacher)
        os.replace(tmp, path)
    facts["teacher"] = f"SASRec-CE, {ctx.settings['cf_epochs']} epochs on the training split, {teacher.shape[1]}-d"
    return dict(extra, teacher_feature_file=str(path)), facts


register_model(ModelSpec("UniGRec", UniGRecRecommender, (TIGER_YAML, PROPERTIES_DIR / "model" / "UniGRec.yaml"),
                         family="generative", paper_name="UniGRec", prepare=tokenizer_and_teacher, trainer=JointTrainer,
                         profile_sections=("TIGER",),
                         note="soft identifiers end to end, annealed tau, uniformity, SASRec distillation, fine-tune"))
