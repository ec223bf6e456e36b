"""Residual-quantised VAE over item embeddings (TIGER, Rajput et al. NeurIPS 2023; Lee et al. CVPR 2022).

``x [B, in_dim]`` -> MLP encoder -> ``z [B, e_dim]`` -> L residual levels of K codes each ->
``z_q`` -> MLP decoder -> ``x_hat``. Loss = MSE(x_hat, x) + sum over levels of
``||sg[r_l] - c_l||^2 + beta ||r_l - sg[c_l]||^2``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn

from ..registry import get
from .strategies import QuantizationStrategy, QuantOut, squared_distances

if TYPE_CHECKING:
    from .schedules import NoiseSchedule


def mlp(dims: list[int], dropout: float = 0.0) -> nn.Sequential:
    """Linear layers ``dims[0] -> ... -> dims[-1]`` with ReLU between (none after the last)."""
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(dims[:-1], dims[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(dims) - 2:
            layers += [nn.ReLU(), nn.Dropout(dropout)] if dropout else [nn.ReLU()]
    return nn.Sequential(*layers)


@dataclass
class RQVAEOutput:
    """codes [B, L] long; x_hat [B, in_dim]; z_q [B, e_dim] (gradient-carrying); per-level QuantOut; losses."""

    codes: torch.Tensor
    x_hat: torch.Tensor
    z_q: torch.Tensor
    levels: list[QuantOut]
    recon_loss: torch.Tensor
    vq_loss: torch.Tensor

    @property
    def loss(self) -> torch.Tensor:
        return self.recon_loss + self.vq_loss


class ResidualQuantizer(nn.Module):
    """L codebooks [K, d] applied to successive residuals with an injected strategy."""

    def __init__(self, *, levels: int, codebook_size: int, dim: int, strategy: QuantizationStrategy, beta: float = 0.25):
        super().__init__()
        self.codebooks = nn.ParameterList([nn.Parameter(torch.randn(codebook_size, dim) * 0.01) for _ in range(levels)])
        self.strategy = strategy
        self.beta = beta

    @property
    def codebook_size(self) -> int:
        return self.codebooks[0].shape[0]

    @torch.no_grad()
    def kmeans_init(self, z: torch.Tensor, seed: int = 0) -> None:
        """Set each codebook to k-means centroids of its level's residuals over ``z`` [N, d]."""
        from scipy.cluster.vq import kmeans2

        residual = z.detach().double().cpu().numpy()
        rng = np.random.default_rng(seed)
        for codebook in self.codebooks:
            k = codebook.shape[0]
            distinct = len(np.unique(residual.round(12), axis=0))
            centroids, labels = kmeans2(residual, min(k, distinct), minit="++", seed=rng, iter=20)
            if len(centroids) < k:  # fewer distinct points than codes: pad with jittered copies
                extra = centroids[rng.integers(len(centroids), size=k - len(centroids))]
                centroids = np.concatenate([centroids, extra + 1e-3 * rng.standard_normal(extra.shape)])
            codebook.copy_(torch.as_tensor(centroids, dtype=codebook.dtype))
            residual = residual - centroids[labels]

    @torch.no_grad()
    def revive_dead_codes(self, z: torch.Tensor, generator: torch.Generator | None = None) -> list[int]:
        """Move every code no row of ``z`` [N, d] selects onto a random residual of its level.

        Codebook expiry (Dhariwal et al. 2020, Zeghidour et al. 2021): dead codes never receive a
        codebook-loss gradient, so without this they stay dead. Returns the number revived per level.
        """
        residual, revived = z, []
        for codebook in self.codebooks:
            ids = squared_distances(residual, codebook).argmin(-1)
            dead = torch.ones(codebook.shape[0], dtype=torch.bool, device=z.device)
            dead[ids] = False
            n_dead = int(dead.sum())
            if n_dead:
                pick = torch.randint(len(residual), (n_dead,), generator=generator, device=z.device)
                codebook[dead] = residual[pick]
                ids = squared_distances(residual, codebook).argmin(-1)
            revived.append(n_dead)
            residual = residual - codebook[ids]
        return revived

    def forward(self, z: torch.Tensor, schedule: "NoiseSchedule | None" = None):
        """z [B, d] -> (z_q [B, d], per-level QuantOut, VQ loss). With a ``schedule``, each level's
        noise and temperature come from it and it observes the chosen codes; without, no noise."""
        residual, z_q = z, torch.zeros_like(z)
        levels, vq_loss = [], z.new_zeros(())
        for level, codebook in enumerate(self.codebooks):
            if schedule is None:
                out = self.strategy.quantize(residual, codebook)
            else:
                out = self.strategy.quantize(residual, codebook, tau=schedule.tau,
                                             noise=schedule.noise(level, residual, codebook))
                schedule.observe(level, out.ids)
            vq_loss = vq_loss + ((residual.detach() - out.hard) ** 2).mean() + \
                self.beta * ((residual - out.hard.detach()) ** 2).mean()
            levels.append(out)
            z_q = z_q + out.for_grad
            residual = residual - out.for_grad
        return z_q, levels, vq_loss


class RQVAE(nn.Module):
    """Item tokenizer: embeddings -> L codes per item.

    Args:
        in_dim: input embedding size (384 for all-MiniLM-L6-v2).
        hidden: encoder widths, mirrored in the decoder.
        e_dim: latent size quantised by the codebooks.
        levels, codebook_size: L and K.
        strategy: a registered strategy name (``"ste"``) or object.
    """

    def __init__(self, *, in_dim: int, hidden: list[int] = (512, 256, 128), e_dim: int = 32, levels: int = 3,
                 codebook_size: int = 256, strategy: str | QuantizationStrategy = "ste", beta: float = 0.25,
                 dropout: float = 0.0):
        super().__init__()
        strategy = get("strategy", strategy)() if isinstance(strategy, str) else strategy
        self.encoder = mlp([in_dim, *hidden, e_dim], dropout)
        self.decoder = mlp([e_dim, *reversed(hidden), in_dim], dropout)
        self.quantizer = ResidualQuantizer(levels=levels, codebook_size=codebook_size, dim=e_dim,
                                           strategy=strategy, beta=beta)
        # per-dimension standardisation of the input; sentence embeddings are unit-norm, so their
        # per-dimension scale (~1/sqrt(384)) makes the reconstruction loss negligible next to the VQ
        # loss and the codes collapse onto one code (measured on Beauty) unless inputs are rescaled
        self.register_buffer("input_mean", torch.zeros(in_dim))
        self.register_buffer("input_std", torch.ones(in_dim))

    @torch.no_grad()
    def fit_input_scaling(self, x: torch.Tensor) -> None:
        """Standardise inputs with the mean and std of ``x`` [N, in_dim] from now on."""
        self.input_mean.copy_(x.mean(0))
        self.input_std.copy_(x.std(0).clamp_min(1e-8))

    def standardise(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.input_mean) / self.input_std

    def latent(self, x: torch.Tensor) -> torch.Tensor:
        """Raw embeddings [B, in_dim] -> unquantised latents [B, e_dim]."""
        return self.encoder(self.standardise(x))

    def forward(self, x: torch.Tensor, schedule: "NoiseSchedule | None" = None) -> RQVAEOutput:
        """x [B, in_dim] raw embeddings; reconstruction is of the standardised input."""
        x = self.standardise(x)
        z = self.encoder(x)
        z_q, levels, vq_loss = self.quantizer(z, schedule)
        x_hat = self.decoder(z_q)
        codes = torch.stack([lv.ids for lv in levels], dim=-1)
        return RQVAEOutput(codes, x_hat, z_q, levels, ((x_hat - x) ** 2).mean(), vq_loss)

    @torch.no_grad()
    def encode(self, x: torch.Tensor, batch_size: int = 4096) -> torch.Tensor:
        """Deterministic codes [N, L] (no noise: the nearest code per level, which is also every
        strategy's argmax of its logits)."""
        was_training = self.training
        self.eval()
        out = torch.cat([self.forward(x[i:i + batch_size]).codes for i in range(0, len(x), batch_size)])
        self.train(was_training)
        return out

    @torch.no_grad()
    def decode_codes(self, codes: torch.Tensor) -> torch.Tensor:
        """Sum of the selected codebook vectors, [N, e_dim], for codes [N, L]."""
        return sum(cb[codes[:, l]] for l, cb in enumerate(self.quantizer.codebooks))
