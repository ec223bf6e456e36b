"""Noise schedules: how much exploration noise each level and each item gets, and when it decays.

A schedule composes three small parts, each a strategy of its own:

* a **sigma source**: a constant scale per level, or SDUD's learned scale (uncertainty decay);
* a **gate**: every row gets noise, or FrqUD's rows whose nearest code is "hot" (EMA usage > r/K);
* a **temperature** for the soft update: fixed, or annealed per epoch (an ablation).

Registered names (kind ``"schedule"``), each a factory ``f(settings, levels, K) -> NoiseSchedule``:
``constant``, ``sdud``, ``frqud``, ``frqud-item``, ``sdud-frqud``, ``tau-anneal``.

Reference: DIGER, "Differentiable Semantic IDs for Generative Recommendation", arXiv 2601.19711.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from ..registry import register
from .strategies import NoiseScale, squared_distances


class ConstantSigma(nn.Module):
    """sigma_l = ``value`` at every level, for the whole run."""

    def __init__(self, levels: int, value: float):
        super().__init__()
        self.register_buffer("value", torch.full((levels,), float(value)))

    def sigma(self, level: int) -> torch.Tensor:
        return self.value[level]

    def loss(self, gen_loss: torch.Tensor) -> torch.Tensor:
        return gen_loss.new_zeros(())


class LearnedSigma(nn.Module):
    """SDUD: sigma_l learned with L_sigma = L_gen / (2 (sigma + lambda)^2) + log(sigma + lambda).

    The minimiser is sigma* = max(0, sqrt(L_gen) - lambda): noise shrinks as the generation loss
    falls. ``L_gen`` enters detached, so this term trains sigma only and leaves the model's loss
    L_gen + L_vq + L_recon as it is. sigma = |raw| keeps it non-negative with a gradient at 0.
    """

    def __init__(self, levels: int, init: float, lam: float):
        super().__init__()
        self.raw = nn.Parameter(torch.full((levels,), float(init)))
        self.lam = float(lam)

    def sigma(self, level: int) -> torch.Tensor:
        return self.raw[level].abs().detach()

    def loss(self, gen_loss: torch.Tensor) -> torch.Tensor:
        s = self.raw.abs() + self.lam
        return (gen_loss.detach() / (2 * s ** 2) + torch.log(s)).sum()


class AllRows(nn.Module):
    """Every row gets the level's noise."""

    def gate(self, level: int, residual: torch.Tensor, codebook: torch.Tensor) -> torch.Tensor | None:
        return None

    def observe(self, level: int, ids: torch.Tensor) -> None:
        pass

    def start(self, codes: torch.Tensor) -> None:
        pass


class HotCodes(nn.Module):
    """FrqUD: noise only on rows whose nearest code is hot, i.e. its EMA usage u_k > r / K.

    u_k <- beta u_k + (1 - beta) * (share of the batch's items assigned to k), per level.
    """

    def __init__(self, levels: int, codebook_size: int, r: float, beta: float):
        super().__init__()
        self.r, self.beta, self.K = float(r), float(beta), codebook_size
        self.register_buffer("usage", torch.full((levels, codebook_size), 1.0 / codebook_size))

    def hot(self, level: int) -> torch.Tensor:
        """[K] bool, codes used more than r / K."""
        return self.usage[level] > self.r / self.K

    @staticmethod
    def nearest(residual: torch.Tensor, codebook: torch.Tensor) -> torch.Tensor:
        """[B] noise-free codes: the nearest codebook row to each residual."""
        return squared_distances(residual.detach(), codebook.detach()).argmin(-1)

    def gate(self, level: int, residual: torch.Tensor, codebook: torch.Tensor) -> torch.Tensor:
        return self.hot(level)[self.nearest(residual, codebook)].to(residual.dtype).unsqueeze(-1)  # [B, 1]

    @torch.no_grad()
    def start(self, codes: torch.Tensor) -> None:
        """Start the EMA from the usage of every item's initial codes [N, L] (not from uniform,
        which would take hundreds of steps to reveal any hot code)."""
        for level in range(codes.shape[1]):
            self.usage[level] = torch.bincount(codes[:, level], minlength=self.K).to(self.usage.dtype) / len(codes)

    @torch.no_grad()
    def observe(self, level: int, ids: torch.Tensor) -> None:
        share = torch.bincount(ids, minlength=self.K).to(self.usage.dtype) / max(1, ids.numel())
        self.usage[level].mul_(self.beta).add_((1 - self.beta) * share)


class HotItems(HotCodes):
    """FrqUD as the authors' code applies it: an item's *level-0* nearest code decides, once per item,
    whether it gets noise at every level; each level's usage EMA counts the noise-free (nearest) codes.

    :class:`HotCodes` (our reading of the paper's text) decides per level from that level's code and
    counts the codes actually chosen.
    """

    def __init__(self, levels: int, codebook_size: int, r: float, beta: float):
        super().__init__(levels, codebook_size, r, beta)
        self._rows: torch.Tensor | None = None       # [B, 1] the item's gate, set at level 0
        self._nearest: torch.Tensor | None = None    # [B] this level's noise-free codes

    def gate(self, level: int, residual: torch.Tensor, codebook: torch.Tensor) -> torch.Tensor:
        self._nearest = self.nearest(residual, codebook)
        if level == 0:
            self._rows = self.hot(0)[self._nearest].to(residual.dtype).unsqueeze(-1)
        return self._rows

    @torch.no_grad()
    def observe(self, level: int, ids: torch.Tensor) -> None:
        super().observe(level, self._nearest if self._nearest is not None else ids)


class NoiseSchedule(nn.Module):
    """Noise scale per level and row, the soft-update temperature, and SDUD's extra loss.

    Args:
        sigma: a :class:`ConstantSigma` or :class:`LearnedSigma`.
        gate: :class:`AllRows` or :class:`HotCodes`.
        tau: the Gumbel-softmax temperature at the start.
        tau_min, tau_decay: per-epoch annealing ``tau <- max(tau_min, tau * tau_decay)``; decay 1 = fixed.
    """

    def __init__(self, sigma: nn.Module, gate: nn.Module, tau: float, tau_min: float = 0.0, tau_decay: float = 1.0):
        super().__init__()
        self.sigma_source, self.gate_rule = sigma, gate
        self.tau, self.tau_min, self.tau_decay = float(tau), float(tau_min), float(tau_decay)

    def noise(self, level: int, residual: torch.Tensor, codebook: torch.Tensor) -> NoiseScale:
        sigma = self.sigma_source.sigma(level)
        gate = self.gate_rule.gate(level, residual, codebook)
        return sigma if gate is None else sigma * gate

    def observe(self, level: int, ids: torch.Tensor) -> None:
        self.gate_rule.observe(level, ids)

    def start(self, codes: torch.Tensor) -> None:
        """Called once with every item's initial codes [N, L] before training."""
        self.gate_rule.start(codes)

    def loss(self, gen_loss: torch.Tensor) -> torch.Tensor:
        return self.sigma_source.loss(gen_loss)

    def end_epoch(self) -> None:
        self.tau = max(self.tau_min, self.tau * self.tau_decay)

    def sigmas(self) -> list[float]:
        levels = len(self.sigma_source.raw if isinstance(self.sigma_source, LearnedSigma) else self.sigma_source.value)
        return [float(self.sigma_source.sigma(l)) for l in range(levels)]

    def hot_share(self) -> list[float] | None:
        """Per level, the share of codes FrqUD treats as hot (None without FrqUD)."""
        if not isinstance(self.gate_rule, HotCodes):
            return None
        return [float(self.gate_rule.hot(l).float().mean()) for l in range(self.gate_rule.usage.shape[0])]


def _tau(s: dict) -> float:
    return float(s["gumbel_tau"])


@register("schedule", "constant")
def constant(s: dict, levels: int, K: int) -> NoiseSchedule:
    """Constant sigma (``noise_sigma``) on every row; 0 means no noise."""
    return NoiseSchedule(ConstantSigma(levels, s["noise_sigma"]), AllRows(), _tau(s))


@register("schedule", "sdud")
def sdud(s: dict, levels: int, K: int) -> NoiseSchedule:
    """Standard-deviation uncertainty decay: sigma learned per level (starts at ``noise_sigma``)."""
    return NoiseSchedule(LearnedSigma(levels, s["noise_sigma"], s["sdud_lambda"]), AllRows(), _tau(s))


@register("schedule", "frqud")
def frqud(s: dict, levels: int, K: int) -> NoiseSchedule:
    """Frequency-based uncertainty decay: constant sigma, only on hot codes."""
    return _frqud(s, levels, K, HotCodes)


@register("schedule", "frqud-item")
def frqud_item(s: dict, levels: int, K: int) -> NoiseSchedule:
    """FrqUD with the authors' item-level gate (:class:`HotItems`): constant sigma, only on items whose
    level-0 code is hot, at every level."""
    return _frqud(s, levels, K, HotItems)


def _frqud(s: dict, levels: int, K: int, gate: type[HotCodes]) -> NoiseSchedule:
    return NoiseSchedule(ConstantSigma(levels, s["noise_sigma"]), gate(levels, K, s["frqud_r"], s["frqud_beta"]), _tau(s))


@register("schedule", "sdud-frqud")
def sdud_frqud(s: dict, levels: int, K: int) -> NoiseSchedule:
    """Both decays: learned sigma, applied only on hot codes."""
    return NoiseSchedule(LearnedSigma(levels, s["noise_sigma"], s["sdud_lambda"]),
                         HotCodes(levels, K, s["frqud_r"], s["frqud_beta"]), _tau(s))


@register("schedule", "tau-anneal")
def tau_anneal(s: dict, levels: int, K: int) -> NoiseSchedule:
    """Ablation: standard Gumbel-softmax (sigma 1) whose temperature anneals instead of the noise decaying."""
    return NoiseSchedule(ConstantSigma(levels, 1.0), AllRows(), _tau(s), s["tau_min"], s["tau_decay"])


def sdud_optimum(gen_loss: float, lam: float) -> float:
    """sigma* = max(0, sqrt(L_gen) - lambda), the minimiser of SDUD's loss (for tests and docs)."""
    return max(0.0, math.sqrt(gen_loss) - lam)
