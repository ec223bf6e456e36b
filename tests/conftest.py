"""Shared fixtures: a tiny LETTER-format dataset built on the fly, and an isolated cache."""
from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = (PROJECT_ROOT / "../shared/data").resolve()


def write_letter_dataset(root: Path, name: str = "Tiny", n_users: int = 60, n_items: int = 40,
                         seed: int = 0, with_text: bool = True) -> Path:
    """A LETTER-format dataset: users 0..n-1 with 5-8 items each (ids as in LETTER: ints from 0)."""
    rng = random.Random(seed)
    folder = root / name
    folder.mkdir(parents=True, exist_ok=True)
    inter = {str(u): [rng.randrange(n_items) for _ in range(rng.randint(5, 8))] for u in range(n_users)}
    (folder / f"{name}.inter.json").write_text(json.dumps(inter, indent=1))
    if with_text:
        items = {str(i): {"title": f"item {i} title", "categories": f"cat {i % 4}"} for i in range(n_items)}
        (folder / f"{name}.item.json").write_text(json.dumps(items))
    return folder


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path, monkeypatch) -> Path:
    cache = tmp_path / "cache"
    monkeypatch.setenv("RECBOLE_DIGER_CACHE", str(cache))
    monkeypatch.delenv("RECBOLE_DIGER_DATA", raising=False)
    return cache


@pytest.fixture
def data_dir(tmp_path) -> Path:
    root = tmp_path / "data"
    write_letter_dataset(root)
    return root


needs_shared_data = pytest.mark.skipif(not (SHARED_DATA / "Beauty").is_dir(), reason="../shared/data not present")
