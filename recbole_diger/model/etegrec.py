"""ETEGRec (Liu et al., "End-to-End Learnable Item Tokenization for Generative Recommendation",
arXiv 2409.05546): tokenizer and recommender trained in alternation, aligned by two losses.

Schedule (``etegrec_cycle``, ``etegrec_alternate_epochs``): while epoch < alternate_epochs, a
tokenizer epoch (recommender frozen) when epoch % cycle == 0, else a recommender epoch (tokenizer
frozen); afterwards the recommender is fine-tuned with the tokenizer frozen. The trainer recomputes
every item's SID after each epoch, so each recommender phase reads the last tokenizer phase's SIDs.

* SIA (sequence-item alignment): the encoder's sequence summary (masked mean, projected to the
  latent size) and the target item's latent each get a code distribution per level from the
  tokenizer's codebooks (softmax of the negative squared distance along the residual path);
  the loss is the sum over levels of the symmetric KL between the two.
* PSA (preference-semantic alignment): symmetric InfoNCE (cosine similarity / temperature, in-batch
  negatives) between the decoder's first state (projected to the item-feature size) and the
  tokenizer's reconstruction of the target item.

Tokenizer phase: w_vq (L_recon + L_vq) + w_sia SIA + w_psa PSA. Recommender phase:
L_code + w_sia SIA + w_psa PSA. Codes are read as ordinary token embeddings (as in ETEGRec).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..tokenizer.strategies import squared_distances
from .joint_recommender import TokenizerSIDRecommender
from .sid_recommender import PAD


def level_log_distributions(codebooks, z: torch.Tensor) -> list[torch.Tensor]:
    """z [B, e] -> per level log-probabilities over that level's codes [B, K], along the nearest-code residuals."""
    out, residual = [], z
    for codebook in codebooks:
        d = squared_distances(residual, codebook)
        out.append(F.log_softmax(-d, dim=-1))
        residual = residual - codebook[d.argmin(-1)]
    return out


def symmetric_kl(log_p: torch.Tensor, log_q: torch.Tensor) -> torch.Tensor:
    """KL(p || q) + KL(q || p) for log-probabilities [B, K], mean over rows."""
    return (F.kl_div(log_q, log_p, reduction="batchmean", log_target=True)
            + F.kl_div(log_p, log_q, reduction="batchmean", log_target=True))


def symmetric_info_nce(a: torch.Tensor, b: torch.Tensor, temperature: float) -> torch.Tensor:
    """In-batch InfoNCE both ways between rows of a and b [B, d] (cosine similarity / temperature), summed."""
    logits = F.normalize(a, dim=-1) @ F.normalize(b, dim=-1).t() / temperature
    labels = torch.arange(len(a), device=a.device)
    return F.cross_entropy(logits, labels) + F.cross_entropy(logits.t(), labels)


class ETEGRecRecommender(TokenizerSIDRecommender):
    """Config: ``etegrec_cycle``, ``etegrec_alternate_epochs``, ``etegrec_{vq,sia,psa}_weight``,
    ``etegrec_temperature`` (and the base's tokenizer keys)."""

    PHASES = ("tokenizer", "recommender")

    def build_scheme(self, config) -> None:
        self.seq_adapter = nn.Linear(int(config["d_model"]), int(config["rqvae_e_dim"]))
        self.pref_adapter = nn.Linear(int(config["d_model"]), self.item_features.shape[1])
        self.cycle = int(config["etegrec_cycle"])
        self.alternate_epochs = int(config["etegrec_alternate_epochs"])
        self.weights = {k: float(config[f"etegrec_{k}_weight"]) for k in ("vq", "sia", "psa")}
        self.temperature = float(config["etegrec_temperature"])
        self.phase = "recommender"

    def phase_of(self, epoch: int) -> str:
        return "tokenizer" if epoch < self.alternate_epochs and epoch % self.cycle == 0 else "recommender"

    def start_epoch(self, epoch: int) -> None:
        self.phase = self.phase_of(epoch)
        tokenizer_phase = self.phase == "tokenizer"
        self.freeze_tokenizer(not tokenizer_phase)
        tok = {id(p) for p in self.tokenizer.parameters()}
        for p in self.parameters():
            if id(p) not in tok:
                p.requires_grad_(not tokenizer_phase)

    def end_epoch(self) -> dict:
        return {"phase": self.phase}

    def calculate_loss(self, interaction) -> torch.Tensor:
        seq, lengths = interaction[self.ITEM_SEQ], interaction[self.ITEM_SEQ_LEN]
        targets = interaction[self.POS_ITEM_ID]
        enc, mask = self.encode_history(seq, lengths)                            # [B, S, d], [B, S]
        codes = self.item_codes[targets]                                          # [B, L+1]
        dec_in = torch.cat([torch.full_like(codes[:, :1], PAD), (codes + self.offsets)[:, :-1]], dim=1)
        hidden = self.t5.decoder(inputs_embeds=self.token_embeddings(dec_in), encoder_hidden_states=enc,
                                 encoder_attention_mask=mask).last_hidden_state  # [B, L+1, d]

        summary = (enc * mask.unsqueeze(-1)).sum(1) / mask.sum(1, keepdim=True)
        features = self.item_features[targets]
        codebooks = self.tokenizer.quantizer.codebooks
        seq_dist = level_log_distributions(codebooks, self.seq_adapter(summary))
        item_dist = level_log_distributions(codebooks, self.tokenizer.latent(features))
        sia = sum(symmetric_kl(p, q) for p, q in zip(seq_dist, item_dist))
        out = self.tokenizer(features)
        psa = symmetric_info_nce(self.pref_adapter(hidden[:, 0]), out.x_hat, self.temperature)
        align = self.weights["sia"] * sia + self.weights["psa"] * psa
        if self.phase == "tokenizer":
            return self.weights["vq"] * out.loss + align
        code_loss = sum(F.cross_entropy(self.level_logits(hidden[:, l], l), codes[:, l])
                        for l in range(self.L + 1)) / (self.L + 1)
        return code_loss + align
