"""Quantisation strategies: how one residual level picks its code and how gradients flow back.

A strategy is stateless and chosen by name from the registry (kind ``"strategy"``). It returns
the chosen ids, the hard quantised vectors, and the vectors that carry the gradient; the caller
never branches on which strategy it holds. Temperatures and noise scales are passed in by a
schedule, so strategies stay free of training state.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

import torch

from ..registry import register


@dataclass(frozen=True)
class QuantOut:
    """Result of quantising a batch of residuals against one codebook.

    Attributes:
        ids: [B] long, chosen code per row.
        hard: [B, d] the chosen codebook vectors (``codebook[ids]``), differentiable w.r.t. the codebook.
        for_grad: [B, d] what the next layer consumes: equal to ``hard`` in the forward pass,
            with the strategy's gradient estimator in the backward pass.
        probs: [B, K] soft assignment probabilities where the strategy has them, else None.
    """

    ids: torch.Tensor
    hard: torch.Tensor
    for_grad: torch.Tensor
    probs: torch.Tensor | None = None


def squared_distances(x: torch.Tensor, codebook: torch.Tensor) -> torch.Tensor:
    """||x_b - c_k||^2 for x [B, d], codebook [K, d] -> [B, K]."""
    return (x.pow(2).sum(-1, keepdim=True) - 2 * x @ codebook.t() + codebook.pow(2).sum(-1)).clamp_min(0)


class QuantizationStrategy(ABC):
    """Picks one code per row of ``residual`` from ``codebook``."""

    @abstractmethod
    def quantize(self, residual: torch.Tensor, codebook: torch.Tensor, *, tau: float = 1.0,
                 noise_scale: float = 0.0) -> QuantOut:
        """residual [B, d], codebook [K, d] -> :class:`QuantOut`."""


@register("strategy", "ste")
class NearestSTE(QuantizationStrategy):
    """Nearest code (argmin distance); straight-through gradient to the residual (VQ-VAE, van den Oord 2017).

    Only the selected codebook rows receive gradient (through ``hard`` in the codebook loss).
    """

    def quantize(self, residual, codebook, *, tau=1.0, noise_scale=0.0):
        ids = squared_distances(residual, codebook).argmin(-1)
        hard = codebook[ids]
        return QuantOut(ids, hard, residual + (hard - residual).detach())
