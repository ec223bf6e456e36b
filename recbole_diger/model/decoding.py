"""Constrained beam search over semantic IDs: batched over users, KV cache, tensor masks.

At each level the model's log-probabilities over that level's codes are masked with the prefix
table (:class:`SIDTrie`): invalid continuations get -inf, so beams only ever spell valid SIDs,
and since every SID is unique the finished beams are distinct items. The allowed set is never
empty: every prefix in the table has at least one child. Beams that cannot be filled (fewer
valid items than beams) keep score -inf and are dropped by the caller.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import torch

from .sid_trie import SIDTrie


class StepDecoder(Protocol):
    """What the search needs from a model (B users, W live beams per user)."""

    def start_decoding(self, item_seq: torch.Tensor, item_seq_len: torch.Tensor): ...
    def decode_step(self, level: int, prev_codes: torch.Tensor | None, state):
        """-> (log-probs [B, W, K_level], state)."""
    def reorder_beams(self, state, parent: torch.Tensor):
        """parent [B, W']: which of the W beams each new beam continues."""


@dataclass
class BeamResult:
    items: torch.Tensor   # [B, beams] long, leaf values of the trie (item rows); -1 where unfilled
    scores: torch.Tensor  # [B, beams] float, sum of log-probabilities; -inf where unfilled


@torch.no_grad()
def constrained_beam_search(model: StepDecoder, item_seq: torch.Tensor, item_seq_len: torch.Tensor,
                            trie: SIDTrie, beams: int) -> BeamResult:
    """Top ``beams`` valid SIDs per user, best first."""
    B = item_seq.shape[0]
    device = item_seq.device
    state = model.start_decoding(item_seq, item_seq_len)
    node = torch.zeros(B, 1, dtype=torch.long, device=device)      # trie node of each beam
    score = torch.zeros(B, 1, device=device)                       # one live beam per user at the start
    prev = None
    n_levels = len(trie.level_sizes)
    for level in range(n_levels):
        logp, state = model.decode_step(level, prev, state)        # [B, width, K_l]
        child = trie.children[level][node]                          # [B, width, K_l]
        cand = torch.where(child >= 0, score.unsqueeze(-1) + logp, torch.full_like(logp, float("-inf")))
        k = min(beams, cand.shape[1] * cand.shape[2])
        score, flat = cand.view(B, -1).topk(k, dim=-1)              # [B, k]
        parent = flat // cand.shape[2]
        code = flat % cand.shape[2]
        node = child.view(B, -1).gather(1, flat)
        node = torch.where(torch.isfinite(score), node, torch.zeros_like(node))  # unfilled beams park at a valid node
        if level + 1 < n_levels:
            state = model.reorder_beams(state, parent)
            prev = code
    items = torch.where(torch.isfinite(score), node, torch.full_like(node, -1))
    return BeamResult(items, score)
