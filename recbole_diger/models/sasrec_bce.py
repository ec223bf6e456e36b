"""SASRec trained as in its paper: binary cross-entropy on the next item against one sampled negative.

RecBole's SASRec offers BPR or full CE; Kang & McAuley (ICDM 2018, Eq. 4) use
``-log sigmoid(s_pos) - log(1 - sigmoid(s_neg))``. Everything else is RecBole's SASRec.

Reference:
    Wang-Cheng Kang, Julian McAuley. "Self-Attentive Sequential Recommendation." ICDM 2018.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from recbole.model.sequential_recommender.sasrec import SASRec
from recbole.utils import InputType


class SASRecBCE(SASRec):
    """RecBole's SASRec with the paper's BCE loss; needs ``train_neg_sample_args`` (1 uniform negative)."""

    input_type = InputType.PAIRWISE

    def calculate_loss(self, interaction) -> torch.Tensor:
        seq_output = self.forward(interaction[self.ITEM_SEQ], interaction[self.ITEM_SEQ_LEN])  # [B, d]
        pos_score = (seq_output * self.item_embedding(interaction[self.POS_ITEM_ID])).sum(-1)  # [B]
        neg_score = (seq_output * self.item_embedding(interaction[self.NEG_ITEM_ID])).sum(-1)  # [B]
        return F.binary_cross_entropy_with_logits(pos_score, torch.ones_like(pos_score)) + \
            F.binary_cross_entropy_with_logits(neg_score, torch.zeros_like(neg_score))
