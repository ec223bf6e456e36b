"""Prefix tables over a SID table, as tensors, for constrained decoding without a Python trie walk.

Level ``l`` has one node per distinct prefix of length ``l`` (level 0: the empty prefix).
``children[l][node, code]`` is the node reached at level ``l + 1`` (at the last level: the item
row), or -1 where no item continues the prefix with that code.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch


@dataclass
class SIDTrie:
    children: list[torch.Tensor]  # per level: [n_nodes_l, level_size_l] long, -1 = invalid
    level_sizes: list[int]

    @classmethod
    def build(cls, codes: np.ndarray, level_sizes: list[int], item_rows: np.ndarray | None = None) -> "SIDTrie":
        """codes [N, L'] unique rows; ``item_rows`` [N] the value stored at the leaves (default 0..N-1)."""
        codes = np.asarray(codes, dtype=np.int64)
        item_rows = np.arange(len(codes)) if item_rows is None else np.asarray(item_rows)
        node = np.zeros(len(codes), dtype=np.int64)  # node id of each item's prefix at the current level
        children = []
        for l, size in enumerate(level_sizes):
            n_nodes = int(node.max()) + 1
            if l + 1 < len(level_sizes):
                prefix = codes[:, : l + 1]
                _, nxt = np.unique(prefix, axis=0, return_inverse=True)
                nxt = nxt.ravel()
            else:
                nxt = item_rows
            table = np.full((n_nodes, size), -1, dtype=np.int64)
            table[node, codes[:, l]] = nxt
            children.append(torch.as_tensor(table))
            node = nxt
        return cls(children, list(level_sizes))

    def to(self, device) -> "SIDTrie":
        return SIDTrie([c.to(device) for c in self.children], self.level_sizes)
