"""LETTER's tokenizer regularisers (Wang et al., "Learnable Item Tokenization for Generative
Recommendation", CIKM 2024; github.com/HonghuiBao2000/LETTER), added to the RQ-VAE's loss:

* collaborative: in-batch softmax cross entropy aligning each item's quantised latent z_q [B, e]
  with its collaborative (SASRec) embedding cf [B, e]: ``L_cf = CE(z_q @ cf^T, diagonal)``;
* diversity: per level, the codebook rows are grouped into ``clusters`` by k-means (refreshed every
  epoch); each item's chosen code vector is pulled towards another code of its cluster and away
  from the others: ``L_div = CE(c_chosen @ C^T, a random other code of the same cluster)``, the
  chosen code itself masked out.

Total: RQ-VAE loss + alpha L_cf + beta mean_levels(L_div). What is left out: LETTER's Sinkhorn
assignment at the last level and its size-constrained k-means initialisation (our collision code
separates colliding items instead).
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from .rqvae import RQVAE, RQVAEOutput


def collaborative_loss(z_q: torch.Tensor, cf: torch.Tensor) -> torch.Tensor:
    """z_q, cf [B, e] -> mean in-batch softmax CE of matching each z_q row to its own cf row."""
    return F.cross_entropy(z_q @ cf.t(), torch.arange(len(z_q), device=z_q.device))


def diversity_loss(chosen: torch.Tensor, ids: torch.Tensor, codebook: torch.Tensor, labels: torch.Tensor,
                   generator: torch.Generator | None = None) -> torch.Tensor:
    """chosen [B, e] = codebook[ids]; labels [K] cluster of each code. Rows whose cluster has no other
    code are left out; 0 when none is left."""
    same = labels[ids].unsqueeze(1) == labels.unsqueeze(0)                      # [B, K]
    same[torch.arange(len(ids)), ids] = False
    usable = same.any(1)
    if not usable.any():
        return chosen.new_zeros(())
    noise = torch.rand(same.shape, generator=generator).to(chosen.device)
    target = torch.where(same, noise, torch.full_like(noise, -1.0)).argmax(1)   # a random same-cluster code
    logits = (chosen @ codebook.t()).masked_fill(F.one_hot(ids, len(codebook)).bool(), float("-inf"))
    return F.cross_entropy(logits[usable], target[usable])


@dataclass
class LetterRegularizer:
    """cf [N, e_dim]: collaborative embeddings, rows aligned with the tokenizer's training matrix."""

    cf: torch.Tensor
    alpha: float
    beta: float
    clusters: int
    seed: int
    labels: list[torch.Tensor] = field(default_factory=list)   # per level [K] cluster of each code
    epoch: int = 0

    def __post_init__(self) -> None:
        self.generator = torch.Generator().manual_seed(self.seed)   # positive-code sampling

    @property
    def key(self) -> str:
        cf_hash = hashlib.sha256(self.cf.numpy().tobytes()).hexdigest()[:16]
        return f"letter|alpha={self.alpha}|beta={self.beta}|clusters={self.clusters}|cf={cf_hash}"

    @torch.no_grad()
    def start_epoch(self, model: RQVAE) -> None:
        from scipy.cluster.vq import kmeans2

        rng = np.random.default_rng(self.seed + self.epoch)
        self.epoch += 1
        self.labels = []
        for codebook in model.quantizer.codebooks:
            _, labels = kmeans2(codebook.detach().double().cpu().numpy(), self.clusters, minit="++", seed=rng)
            self.labels.append(torch.as_tensor(labels, dtype=torch.long))

    def loss(self, model: RQVAE, out: RQVAEOutput, rows: torch.Tensor) -> torch.Tensor:
        l_cf = collaborative_loss(out.z_q, self.cf[rows])
        l_div = torch.stack([diversity_loss(lv.hard, lv.ids, cb, labels, self.generator)
                             for lv, cb, labels in zip(out.levels, model.quantizer.codebooks, self.labels)]).mean()
        return self.alpha * l_cf + self.beta * l_div
