"""Incremental T5 decoding for beam search, reading the weights of a transformers ``T5Model``.

Why not call the transformers decoder step by step: its cache holds the cross-attention keys
and values once per *row*, so with B users x W beams it copies B*W encoder-length tensors per
layer at every beam reordering. All beams of a user attend to the same encoder states, so here
cross-attention keys/values are computed once per user, [B, heads, S, d_kv], and each user's W
beam queries attend to them in one batched matmul. Only the short self-attention cache
([B, W, heads, t, d_kv], t <= SID length) is reordered. The arithmetic is T5's (RMS layer norm,
unscaled dot-product attention, relative position bias in self-attention, ReLU feed-forward);
tests check it against the transformers decoder through teacher-forced log-likelihoods.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import torch
from transformers import T5Model


@dataclass
class DecoderState:
    """cross_k/cross_v: per layer [B, h, S, dk]; cross_bias [B, 1, 1, S]; self_k/self_v: per layer [B, W, h, t, dk]."""

    cross_k: list[torch.Tensor]
    cross_v: list[torch.Tensor]
    cross_bias: torch.Tensor
    self_k: list[torch.Tensor] = field(default_factory=list)
    self_v: list[torch.Tensor] = field(default_factory=list)
    length: int = 0


class FastT5Decoder:
    """Step-wise decoder over ``t5.decoder`` weights (no parameters of its own)."""

    def __init__(self, t5: T5Model, embed: Callable[[torch.Tensor], torch.Tensor] | None = None):
        """``embed`` maps token ids to input embeddings (default ``t5.shared``)."""
        self.t5 = t5
        self.embed = embed or t5.shared
        cfg = t5.config
        self.heads, self.d_kv = cfg.num_heads, cfg.d_kv

    def _split(self, x: torch.Tensor) -> torch.Tensor:
        """[..., h * dk] -> [..., h, dk]."""
        return x.view(*x.shape[:-1], self.heads, self.d_kv)

    @torch.no_grad()
    def start(self, enc: torch.Tensor, mask: torch.Tensor) -> DecoderState:
        """enc [B, S, d], mask [B, S] (1 = token) -> state with per-user cross-attention keys/values."""
        ks, vs = [], []
        for block in self.t5.decoder.block:
            att = block.layer[1].EncDecAttention
            ks.append(self._split(att.k(enc)).transpose(1, 2))   # [B, h, S, dk]
            vs.append(self._split(att.v(enc)).transpose(1, 2))
        bias = torch.zeros(mask.shape, dtype=enc.dtype, device=enc.device)
        bias = bias.masked_fill(mask == 0, torch.finfo(enc.dtype).min)[:, None, None, :]
        return DecoderState(ks, vs, bias)

    @torch.no_grad()
    def step(self, tokens: torch.Tensor, state: DecoderState) -> torch.Tensor:
        """tokens [B, W] (decoder inputs at position ``state.length``) -> final hidden states [B, W, d]."""
        dec = self.t5.decoder
        B, W = tokens.shape
        t = state.length
        x = self.embed(tokens)                                                   # [B, W, d]
        pos = dec.block[0].layer[0].SelfAttention.compute_bias(t + 1, t + 1, device=x.device)[0, :, -1]  # [h, t+1]
        for i, block in enumerate(dec.block):
            sa = block.layer[0]
            h = sa.layer_norm(x)
            q = self._split(sa.SelfAttention.q(h)).unsqueeze(3)                  # [B, W, h, 1, dk]
            k = self._split(sa.SelfAttention.k(h)).unsqueeze(3)
            v = self._split(sa.SelfAttention.v(h)).unsqueeze(3)
            if t:
                k = torch.cat([state.self_k[i], k], dim=3)                       # [B, W, h, t+1, dk]
                v = torch.cat([state.self_v[i], v], dim=3)
                state.self_k[i], state.self_v[i] = k, v
            else:
                state.self_k.append(k)
                state.self_v.append(v)
            scores = (q @ k.transpose(-1, -2)).squeeze(3) + pos                   # [B, W, h, t+1]
            out = (scores.softmax(-1).unsqueeze(3) @ v).squeeze(3)                # [B, W, h, dk]
            x = x + sa.SelfAttention.o(out.reshape(B, W, -1))

            ca = block.layer[1]
            q = self._split(ca.EncDecAttention.q(ca.layer_norm(x))).transpose(1, 2)   # [B, h, W, dk]
            scores = q @ state.cross_k[i].transpose(-1, -2) + state.cross_bias      # [B, h, W, S]
            out = (scores.softmax(-1) @ state.cross_v[i]).transpose(1, 2)            # [B, W, h, dk]
            x = x + ca.EncDecAttention.o(out.reshape(B, W, -1))

            ff = block.layer[2]
            x = x + ff.DenseReluDense(ff.layer_norm(x))
        state.length = t + 1
        return dec.final_layer_norm(x)

    @staticmethod
    def reorder(state: DecoderState, parent: torch.Tensor) -> DecoderState:
        """Keep, per user, the beams ``parent`` [B, W'] (indices into the current W beams)."""
        idx = parent[:, :, None, None, None]
        for i in range(len(state.self_k)):
            k, v = state.self_k[i], state.self_v[i]
            state.self_k[i] = k.gather(1, idx.expand(*parent.shape, *k.shape[2:]))
            state.self_v[i] = v.gather(1, idx.expand(*parent.shape, *v.shape[2:]))
        return state
