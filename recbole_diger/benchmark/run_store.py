"""The results layout: one folder per (dataset, model, profile, seed), written atomically.

``results/<dataset>/<model>/<profile>/seed-<s>/`` holds ``config.yaml``, ``run.json``,
``metrics.json``, ``topk.tsv.gz`` (``user<TAB>target<TAB>ranked ids``, original ids) and ``run.log``.
"""
from __future__ import annotations

import gzip
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

METRIC_KEYS = ("recall@5", "recall@10", "ndcg@5", "ndcg@10")
TOPK_HEADER = "user\ttarget_item\ttop20"
REQUIRED_FILES = ("config.yaml", "run.json", "metrics.json", "topk.tsv.gz")


def run_dir(output: Path, dataset: str, model: str, profile: str, seed: int) -> Path:
    return Path(output) / dataset / model / profile / f"seed-{seed}"


def is_complete(folder: Path) -> bool:
    return all((folder / f).is_file() for f in REQUIRED_FILES)


def staging_dir(final: Path) -> Path:
    """A fresh hidden folder beside ``final`` to write a run into before :func:`publish`."""
    final.parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f".{final.name}.tmp-", dir=final.parent))


def publish(staging: Path, final: Path) -> None:
    """Move a finished run into place, replacing an older one only once the new one is complete."""
    old = None
    if final.exists():
        old = final.with_name(f".{final.name}.old-{os.getpid()}")
        os.rename(final, old)
    os.rename(staging, final)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def write_json(path: Path, data: dict) -> None:
    with open(path, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=2, sort_keys=False, default=str)
        f.write("\n")


def write_topk(path: Path, rows: list[tuple[str, str, list[str]]]) -> None:
    """rows: (user, target item, ranked items), original ids, one row per test user."""
    with gzip.open(path, "wt", encoding="utf-8") as f:
        f.write(TOPK_HEADER + "\n")
        for user, target, ranked in rows:
            f.write(f"{user}\t{target}\t{' '.join(ranked)}\n")


@dataclass
class UserRanks:
    """Rank of each test user's target in the stored top-k (0 when absent), aligned by user id."""

    users: np.ndarray  # [n_users] str
    ranks: np.ndarray  # [n_users] int, 1-based, 0 = not in the list

    def per_user(self, metric: str) -> np.ndarray:
        """Per-user value of ``recall@k`` or ``ndcg@k`` (one target per user), shape [n_users]."""
        name, k = metric.split("@")
        k = int(k)
        hit = (self.ranks >= 1) & (self.ranks <= k)
        if name == "recall":
            return hit.astype(float)
        if name == "ndcg":
            return np.where(hit, 1.0 / np.log2(np.maximum(self.ranks, 1) + 1), 0.0)
        raise ValueError(f"unknown metric {metric}")

    def means(self) -> dict[str, float]:
        return {m: float(self.per_user(m).mean()) for m in METRIC_KEYS}


def read_ranks(path: Path) -> UserRanks:
    users, ranks = [], []
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for line in f:
            if line.startswith("user\t"):
                continue
            user, target, ranked = line.rstrip("\n").split("\t")
            ranked = ranked.split()
            users.append(user)
            ranks.append(ranked.index(target) + 1 if target in ranked else 0)
    order = np.argsort(users)
    return UserRanks(np.asarray(users)[order], np.asarray(ranks, dtype=int)[order])


