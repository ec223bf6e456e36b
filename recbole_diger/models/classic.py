"""The classic baselines: RecBole's own models with the settings in ``baselines/<name>.yaml``."""
from __future__ import annotations

from ..config import BASELINES_DIR
from ..registry import ModelSpec, register_model
from .sasrec_bce import SASRecBCE

CLASSICS = [
    ModelSpec("MF", "BPR", BASELINES_DIR / "MF.yaml", paper_name="MF",
              note="matrix factorisation with BPR loss, 1 uniform negative"),
    ModelSpec("LightGCN", "LightGCN", BASELINES_DIR / "LightGCN.yaml", paper_name="LightGCN",
              note="BPR loss, 1 uniform negative"),
    ModelSpec("Caser", "Caser", BASELINES_DIR / "Caser.yaml", paper_name="Caser",
              note="CE over all items"),
    ModelSpec("HGN", "HGN", BASELINES_DIR / "HGN.yaml", paper_name="HGN",
              note="BPR loss, 1 uniform negative"),
    ModelSpec("BERT4Rec", "BERT4Rec", BASELINES_DIR / "BERT4Rec.yaml", paper_name="BERT4Rec",
              note="masked-item CE"),
    ModelSpec("SASRec", SASRecBCE, BASELINES_DIR / "SASRec.yaml", paper_name="SASRec",
              note="BCE with 1 uniform negative, as in the paper"),
    ModelSpec("SASRec-CE", "SASRec", BASELINES_DIR / "SASRec-CE.yaml", paper_name=None,
              note="CE over all items (not in the paper)"),
]

for _spec in CLASSICS:
    register_model(_spec)
