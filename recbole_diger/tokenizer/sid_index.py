"""The semantic-ID table: item -> codes, with a final code that separates colliding items.

Items whose L codes coincide form a collision group; each gets one more code, its position in
the group (items ordered by id: numerically when ids are integers). Items without collisions get
0 there, so every SID has L + 1 codes. The table reads and writes LETTER's index format
(``{"<item>": ["<a_12>", "<b_7>", ...]}``), so released SIDs serve as a fixed tokenizer.
"""
from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import UserError

LETTER_TOKEN = re.compile(r"^<([a-z])_(\d+)>$")


def _id_order(item_ids: list[str]) -> list[int]:
    """Deterministic item order: numeric ids by value, others as strings."""
    numeric = all(i.isdigit() for i in item_ids)
    return sorted(range(len(item_ids)), key=lambda r: int(item_ids[r]) if numeric else item_ids[r])


def collision_codes(codes: np.ndarray, item_ids: list[str], limit: int, strict: bool = True) -> np.ndarray:
    """Position of each item within its group of identical rows of ``codes`` [N, L] -> [N].

    Raises a UserError naming the group when one is larger than ``limit`` (the codebook size);
    with ``strict=False`` positions >= ``limit`` are returned for the caller to handle.
    """
    position = np.zeros(len(codes), dtype=np.int64)
    seen: Counter = Counter()
    for row in _id_order(item_ids):
        key = codes[row].tobytes()
        position[row] = seen[key]
        seen[key] += 1
    biggest_key, biggest = max(seen.items(), key=lambda kv: kv[1]) if seen else (b"", 0)
    if strict and biggest > limit:
        shared = np.frombuffer(biggest_key, dtype=codes.dtype).tolist()
        raise UserError(f"{biggest} items share the codes {shared}, more than the {limit} codes a collision "
                        f"level can tell apart; use more levels or a larger codebook")
    return position


@dataclass
class SIDIndex:
    """Semantic IDs of a set of items.

    Attributes:
        item_ids: original item ids, one per row.
        codes: [n_items, L + 1] int64; column l < L is level l's code, the last is the collision code.
        level_sizes: number of codes at each of the L + 1 positions.
    """

    item_ids: list[str]
    codes: np.ndarray
    level_sizes: list[int]

    @classmethod
    def from_codes(cls, item_ids: list[str], codes: np.ndarray, codebook_size: int | list[int],
                   strict: bool = True) -> "SIDIndex":
        """Build from L-level codes [N, L]; appends the collision code (see :func:`collision_codes`)."""
        codes = np.asarray(codes, dtype=np.int64)
        sizes = [codebook_size] * codes.shape[1] if isinstance(codebook_size, int) else list(codebook_size)
        suffix = collision_codes(codes, item_ids, max(sizes), strict)
        return cls(list(item_ids), np.concatenate([codes, suffix[:, None]], axis=1),
                   sizes + [int(suffix.max()) + 1])

    @classmethod
    def from_letter_json(cls, path: Path, codebook_size: int | None = None) -> "SIDIndex":
        """Read LETTER's ``{"item": ["<a_1>", "<b_2>", ...]}``; collisions resolved as for learned codes."""
        from ..data.convert import load_json

        raw = load_json(Path(path))
        if not isinstance(raw, dict) or not raw:
            raise UserError(f"{path} must map item ids to lists of '<a_12>' tokens; fix the file")
        item_ids, rows = [], []
        for item, tokens in raw.items():
            matches = [LETTER_TOKEN.match(t) if isinstance(t, str) else None for t in tokens]
            if not tokens or not all(matches):
                raise UserError(f"{path}: item {item!r} has codes {tokens!r}, expected tokens like '<a_12>'; fix the file")
            item_ids.append(str(item))
            rows.append([int(m.group(2)) for m in matches])
        if len({len(r) for r in rows}) != 1:
            raise UserError(f"{path}: items have different numbers of codes; every SID needs the same length")
        codes = np.asarray(rows, dtype=np.int64)
        sizes = [int(codebook_size or c.max() + 1) for c in codes.T]
        return cls.from_codes(item_ids, codes, sizes)

    def to_letter_json(self, path: Path) -> None:
        """Write in LETTER's format (level l uses letter ``a + l``), collision code included."""
        data = {item: [f"<{chr(97 + l)}_{c}>" for l, c in enumerate(row)] for item, row in zip(self.item_ids, self.codes.tolist())}
        Path(path).write_text(json.dumps(data))

    @property
    def n_levels(self) -> int:
        """L + 1: code positions per SID, the collision code included."""
        return self.codes.shape[1]

    def aligned(self, item_ids: list[str]) -> np.ndarray:
        """Codes in the order of ``item_ids`` [len, L+1]; every id must be in the index."""
        row = {item: r for r, item in enumerate(self.item_ids)}
        missing = [i for i in item_ids if i not in row]
        if missing:
            raise UserError(f"{len(missing)} items have no semantic ID (e.g. item {missing[0]}); "
                            f"the SID file does not match this dataset")
        return self.codes[[row[i] for i in item_ids]]

    def stats(self) -> dict:
        """Collision rate (share of items whose L codes are shared), and per-level coverage and perplexity."""
        base = self.codes[:, :-1]
        _, inverse, counts = np.unique(base, axis=0, return_inverse=True, return_counts=True)
        out = {"n_items": len(self.item_ids), "collision_rate": float((counts[inverse.ravel()] > 1).mean()),
               "max_collision_group": int(counts.max()), "levels": []}
        for l in range(base.shape[1]):
            used = np.bincount(base[:, l], minlength=self.level_sizes[l])
            p = used[used > 0] / used.sum()
            out["levels"].append({"coverage": float((used > 0).mean()), "perplexity": float(np.exp(-(p * np.log(p)).sum()))})
        return out
