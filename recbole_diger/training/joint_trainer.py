"""Joint training of tokenizer and recommender inside RecBole's trainer loop.

RecBole's ``Trainer`` keeps doing the epochs, early stopping on validation NDCG@10, checkpoints
and evaluation; this subclass adds what joint training needs around them: two learning rates
(recommender; tokenizer) in one AdamW, the deterministic SID table recomputed after every
training epoch (validation and test decode with it), and the SID dynamics of every epoch.
"""
from __future__ import annotations

from pathlib import Path

from recbole.trainer import Trainer

from ..model.joint_recommender import TokenizerSIDRecommender
from .dynamics import SIDDynamics


class JointTrainer(Trainer):
    """Trainer for :class:`TokenizerSIDRecommender` models (STE, DIGER, ETEGRec, ...)."""

    model: TokenizerSIDRecommender

    def __init__(self, config, model: TokenizerSIDRecommender):
        super().__init__(config, model)
        self.dynamics = SIDDynamics(model.initial_codes, model.K)

    def _build_optimizer(self, **kwargs):
        return super()._build_optimizer(params=self.model.param_groups(self.config), **kwargs)

    def _train_epoch(self, train_data, epoch_idx, loss_func=None, show_progress=False):
        self.model.start_epoch(epoch_idx)
        loss = super()._train_epoch(train_data, epoch_idx, loss_func, show_progress)
        facts = self.model.end_epoch()
        self.dynamics.record(epoch_idx, self.model.refresh_sids(), self.model._addressable, facts)
        return loss

    def _valid_epoch(self, valid_data, show_progress=False):
        score, result = super()._valid_epoch(valid_data, show_progress)
        self.dynamics.set_valid(result.get("ndcg@10", score))
        return score, result

    def write_artifacts(self, folder: Path) -> dict:
        """dynamics.csv, figures, the SIDs used at test time (sids.json) and collapse facts, for the model
        as loaded now (the best checkpoint)."""
        index = self.model.refresh_sids()
        tmp = Path(folder) / ".sids.json.tmp"
        index.to_letter_json(tmp)
        tmp.replace(Path(folder) / "sids.json")
        return self.dynamics.write(folder, index, self.model._addressable)
