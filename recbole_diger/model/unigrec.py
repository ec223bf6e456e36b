"""UniGRec (Li et al., "Unified Generative Recommendation with Soft Identifiers for End-to-End
Optimization", arXiv 2601.17438), from the paper's description; the authors' model file was not
available to us, so loss forms below are our reading of it.

* Soft identifiers: during joint training the recommender reads, per level, the *expected* code
  embedding ``p_l @ E_l`` with ``p_l = softmax(-||r_l - c_k||^2 / tau)`` along a soft residual
  path; gradients reach the encoder and every codebook row.
* Annealed inference alignment: tau decays every epoch (``tau <- max(tau_min, tau * decay)``), so
  the soft assignment approaches the hard one that decoding uses.
* Codeword uniformity: per level, the negative entropy of the batch-mean assignment.
* Dual collaborative distillation from a SASRec teacher trained through RecBole on the training
  split (``item_features: cf``'s embeddings): CDT, symmetric KL between the code distributions
  (softmax of negative distance, as ETEGRec's SIA) of each item's latent and of its (projected)
  teacher embedding; CDR, symmetric InfoNCE between the
  decoder's first state (projected) and the target's teacher embedding. Both off for the first
  ``unigrec_warm_epochs`` epochs.
* After ``unigrec_joint_epochs``: recommender fine-tune on hard codes, tokenizer frozen.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..tokenizer.strategies import squared_distances
from .etegrec import level_log_distributions, symmetric_info_nce, symmetric_kl
from .joint_recommender import TokenizerSIDRecommender, aligned_features
from .sid_recommender import PAD


def soft_assignments(codebooks, z: torch.Tensor, tau: float) -> list[torch.Tensor]:
    """z [B, e] -> per level p [B, K] = softmax(-d / tau), residual r_{l+1} = r_l - p_l @ C_l (soft path)."""
    out, residual = [], z
    for codebook in codebooks:
        p = F.softmax(-squared_distances(residual, codebook) / tau, dim=-1)
        out.append(p)
        residual = residual - p @ codebook
    return out


def uniformity_loss(p: torch.Tensor) -> torch.Tensor:
    """Negative entropy of the batch-mean assignment p [B, K] (minimal when codes are used evenly)."""
    mean = p.mean(0).clamp_min(1e-12)
    return (mean * mean.log()).sum()


class UniGRecRecommender(TokenizerSIDRecommender):
    """Config: ``teacher_feature_file`` (set by prepare), ``unigrec_*`` keys (see UniGRec.yaml)."""

    def build_scheme(self, config) -> None:
        teacher = aligned_features(config["teacher_feature_file"], self.item_ids)
        self.register_buffer("teacher", teacher, persistent=False)
        d, e = int(config["d_model"]), int(config["rqvae_e_dim"])
        self.teacher_to_latent = nn.Linear(teacher.shape[1], e)
        self.decoder_to_teacher = nn.Linear(d, teacher.shape[1])
        self.tau, self.tau_min, self.tau_decay = (float(config[k]) for k in ("unigrec_tau", "unigrec_tau_min",
                                                                            "unigrec_tau_decay"))
        self.joint_epochs, self.warm_epochs = int(config["unigrec_joint_epochs"]), int(config["unigrec_warm_epochs"])
        self.weights = {k: float(config[f"unigrec_{k}_weight"]) for k in ("rec", "recon", "uniformity", "cdt", "cdr")}
        self.epoch, self.phase = 0, "joint"

    def start_epoch(self, epoch: int) -> None:
        self.epoch = epoch
        self.phase = "joint" if epoch < self.joint_epochs else "finetune"
        self.freeze_tokenizer(self.phase == "finetune")

    def end_epoch(self) -> dict:
        facts = {"phase": self.phase, "tau": self.tau}
        if self.phase == "joint":
            self.tau = max(self.tau_min, self.tau * self.tau_decay)
        return facts

    def item_embeddings(self, items: torch.Tensor, probs: list[torch.Tensor]) -> torch.Tensor:
        """items [U] with their soft assignments -> [U, L+1, d]: expected code embeddings, then the collision code."""
        weight = self.t5.shared.weight
        parts = [p @ weight[int(self.offsets[l]):int(self.offsets[l]) + self.K] for l, p in enumerate(probs)]
        parts.append(self.t5.shared(self.item_codes[items, self.L] + self.offsets[self.L]))
        emb = torch.stack(parts, dim=1)
        return torch.where((items == 0)[:, None, None], weight[PAD], emb)

    def calculate_loss(self, interaction) -> torch.Tensor:
        if self.phase == "finetune":
            return super().calculate_loss(interaction)     # hard codes, plain next-code cross entropy
        seq, lengths = interaction[self.ITEM_SEQ], interaction[self.ITEM_SEQ_LEN]
        targets = interaction[self.POS_ITEM_ID]
        seq = seq[:, :int(lengths.max())]
        uniq, inverse = torch.unique(torch.cat([seq.reshape(-1), targets]), return_inverse=True)
        out = self.tokenizer(self.item_features[uniq])                               # recon + VQ, hard codes
        codebooks = self.tokenizer.quantizer.codebooks
        latent = self.tokenizer.latent(self.item_features[uniq])
        probs = soft_assignments(codebooks, latent, self.tau)
        emb = self.item_embeddings(uniq, probs)
        hist, tgt = inverse[:seq.numel()].view(seq.shape), inverse[seq.numel():]
        mask = (seq > 0).repeat_interleave(self.L + 1, dim=1).long()
        enc = self.t5.encoder(inputs_embeds=emb[hist].flatten(1, 2), attention_mask=mask).last_hidden_state
        start = self.t5.shared.weight[PAD].expand(len(targets), 1, -1)
        hidden = self.t5.decoder(inputs_embeds=torch.cat([start, emb[tgt][:, :-1]], dim=1), encoder_hidden_states=enc,
                                 encoder_attention_mask=mask).last_hidden_state
        codes = torch.cat([out.codes, self.item_codes[uniq, self.L:]], dim=1)[tgt]   # hard targets
        rec = sum(F.cross_entropy(self.level_logits(hidden[:, l], l), codes[:, l]) for l in range(self.L + 1)) / (self.L + 1)
        w, real = self.weights, uniq > 0
        loss = w["rec"] * rec + w["recon"] * out.loss + w["uniformity"] * sum(uniformity_loss(p[real]) for p in probs)
        if self.epoch >= self.warm_epochs:
            item_dist = level_log_distributions(codebooks, latent[real])
            teacher_dist = level_log_distributions(codebooks, self.teacher_to_latent(self.teacher[uniq[real]]))
            cdt = sum(symmetric_kl(p, q) for p, q in zip(item_dist, teacher_dist))
            cdr = symmetric_info_nce(self.decoder_to_teacher(hidden[:, 0]), self.teacher[targets], 0.07)
            loss = loss + w["cdt"] * cdt + w["cdr"] * cdr
        return loss
