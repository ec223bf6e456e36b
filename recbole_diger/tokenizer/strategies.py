"""Quantisation strategies: how one residual level picks its code and how gradients flow back.

A strategy is stateless and chosen by name from the registry (kind ``"strategy"``). It returns
the chosen ids, the hard quantised vectors, and the vectors that carry the gradient; the caller
never branches on which strategy it holds. Temperatures and noise scales come from a noise
schedule (:mod:`.schedules`), so strategies stay free of training state.

Registered: ``ste`` (nearest code, straight-through), ``dril`` (DIGER: argmax over logits plus
Gumbel noise, soft update through Gumbel-softmax probabilities), ``dril-gaussian`` (the same with
Gaussian noise; an ablation), ``dril-hard`` (noisy argmax, straight-through update; an ablation).
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F

from ..registry import register

#: a noise scale: one number, or one per row ([B, 1])
NoiseScale = float | torch.Tensor


@dataclass(frozen=True)
class QuantOut:
    """Result of quantising a batch of residuals against one codebook.

    Attributes:
        ids: [B] long, chosen code per row.
        hard: [B, d] the chosen codebook vectors (``codebook[ids]``), differentiable w.r.t. the codebook.
        for_grad: [B, d] what the tokenizer's next level and decoder consume: equal to ``hard`` in the
            forward pass, with the strategy's gradient estimator in the backward pass.
        code_vector: [B, d] what a jointly trained recommender reads for this level: ``hard`` forward;
            backward to the encoder and to the codebook rows the strategy's estimator reaches.
    """

    ids: torch.Tensor
    hard: torch.Tensor
    for_grad: torch.Tensor
    code_vector: torch.Tensor


def squared_distances(x: torch.Tensor, codebook: torch.Tensor) -> torch.Tensor:
    """||x_b - c_k||^2 for x [B, d], codebook [K, d] -> [B, K]."""
    return (x.pow(2).sum(-1, keepdim=True) - 2 * x @ codebook.t() + codebook.pow(2).sum(-1)).clamp_min(0)


def gumbel_noise(shape: torch.Size, like: torch.Tensor) -> torch.Tensor:
    """Standard Gumbel samples, -log(-log U)."""
    u = torch.rand(shape, device=like.device, dtype=like.dtype).clamp_(1e-10, 1 - 1e-10)
    return -torch.log(-torch.log(u))


def gaussian_noise(shape: torch.Size, like: torch.Tensor) -> torch.Tensor:
    return torch.randn(shape, device=like.device, dtype=like.dtype)


class QuantizationStrategy(ABC):
    """Picks one code per row of ``residual`` from ``codebook``."""

    @abstractmethod
    def quantize(self, residual: torch.Tensor, codebook: torch.Tensor, *, tau: float = 1.0,
                 noise: NoiseScale = 0.0) -> QuantOut:
        """residual [B, d], codebook [K, d]; ``tau`` temperature, ``noise`` scale -> :class:`QuantOut`."""


def _straight_through(residual: torch.Tensor, codebook: torch.Tensor, ids: torch.Tensor) -> QuantOut:
    hard = codebook[ids]
    return QuantOut(ids, hard,
                    for_grad=residual + (hard - residual).detach(),
                    code_vector=hard + (residual - residual.detach()))


@register("strategy", "ste")
class NearestSTE(QuantizationStrategy):
    """Nearest code (argmin distance); straight-through gradient (VQ-VAE, van den Oord 2017).

    A recommender reading ``code_vector`` sends gradient to the residual and to the selected
    codebook rows only. Noise is ignored.
    """

    def quantize(self, residual, codebook, *, tau=1.0, noise=0.0):
        return _straight_through(residual, codebook, squared_distances(residual, codebook).argmin(-1))


class NoisyArgmax(QuantizationStrategy):
    """code = argmax(logits + noise_scale * eps), logits = -||r - c_k||^2 (DIGER's exploration).

    Subclasses choose the noise distribution and the update (soft or straight-through).
    """

    sample: Callable[[torch.Size, torch.Tensor], torch.Tensor] = staticmethod(gumbel_noise)

    def perturbed_logits(self, residual: torch.Tensor, codebook: torch.Tensor, noise: NoiseScale) -> torch.Tensor:
        logits = -squared_distances(residual, codebook)
        if isinstance(noise, torch.Tensor) or noise:
            logits = logits + noise * self.sample(logits.shape, logits)
        return logits


@register("strategy", "dril")
class DRIL(NoisyArgmax):
    """DIGER's differentiable semantic-ID learning: noisy argmax forward, soft update backward.

    ``code_vector = (one_hot(ids) + p - sg(p)) @ codebook`` with ``p = softmax(perturbed logits / tau)``: the forward value is the chosen code, while the gradient
    reaches *every* codebook row (through ``p`` and through the product) and the encoder.
    """

    def quantize(self, residual, codebook, *, tau=1.0, noise=0.0):
        logits = self.perturbed_logits(residual, codebook, noise)
        ids = logits.argmax(-1)
        probs = F.softmax(logits / tau, dim=-1)
        weights = F.one_hot(ids, codebook.shape[0]).to(probs.dtype) + probs - probs.detach()
        vector = weights @ codebook
        return QuantOut(ids, codebook[ids], for_grad=vector, code_vector=vector)


@register("strategy", "dril-gaussian")
class DRILGaussian(DRIL):
    """Ablation: DRIL with Gaussian instead of Gumbel noise."""

    sample = staticmethod(gaussian_noise)


@register("strategy", "dril-hard")
class NoisyArgmaxSTE(NoisyArgmax):
    """Ablation "w/o soft update": DIGER's noisy argmax, but a straight-through (hard) update."""

    def quantize(self, residual, codebook, *, tau=1.0, noise=0.0):
        ids = self.perturbed_logits(residual, codebook, noise).argmax(-1)
        return _straight_through(residual, codebook, ids)
