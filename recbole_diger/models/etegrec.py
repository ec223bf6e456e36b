"""ETEGRec registration: :class:`~recbole_diger.model.etegrec.ETEGRecRecommender`, starting from the
pretrained two-stage RQ-VAE (as the joint DIGER variants), trained by the joint trainer."""
from __future__ import annotations

from ..config import PROPERTIES_DIR
from ..model.etegrec import ETEGRecRecommender
from ..registry import ModelSpec, register_model
from ..training.joint_trainer import JointTrainer
from .diger import pretrained_tokenizer
from .tiger import TIGER_YAML

register_model(ModelSpec("ETEGRec", ETEGRecRecommender, (TIGER_YAML, PROPERTIES_DIR / "model" / "ETEGRec.yaml"),
                         family="generative", paper_name="ETEGRec", prepare=pretrained_tokenizer, trainer=JointTrainer,
                         profile_sections=("TIGER",),
                         note="tokenizer and recommender in alternation, SIA + PSA alignment, then a recommender fine-tune"))
