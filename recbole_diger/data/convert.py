"""Convert LETTER-format json datasets into RecBole atomic files, cached by a hash of the sources.

LETTER format: ``<Name>.inter.json`` = ``{"<user>": [item, item, ...]}`` in time order and
``<Name>.item.json`` = ``{"<item>": {"title": ..., "categories": ..., ...}}``. The atomic
``.inter`` keeps the original ids as RecBole tokens and uses the list position as the
timestamp; ``.item`` holds the text fields (whitespace-normalised, as ``token_seq``).
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ..errors import UserError
from .sources import PROJECT_ROOT, DatasetSource

CACHE_ENV = "RECBOLE_DIGER_CACHE"
CONVERTER_VERSION = "1"
#: item.json fields written to the .item file, in this order (others, e.g. asin, are ids not text)
TEXT_FIELDS = ("title", "categories", "brand", "description")
#: leave-one-out needs a training, a validation and a test item per user
MIN_USER_INTERACTIONS = 3
REQUIRED_INTER_COLUMNS = ("user_id:token", "item_id:token", "timestamp:float")


@dataclass(frozen=True)
class AtomicDataset:
    """RecBole atomic files of one dataset: RecBole reads ``<data_path>/<name>/<name>.inter``."""

    name: str
    data_path: Path
    n_users: int
    n_items: int
    n_interactions: int

    @property
    def folder(self) -> Path:
        return self.data_path / self.name

    @property
    def item_file(self) -> Path:
        return self.folder / f"{self.name}.item"

    def item_ids(self) -> list[str]:
        """Every item id in the ``.inter`` file, numerically sorted when ids are integers."""
        with open(self.folder / f"{self.name}.inter", encoding="utf-8") as f:
            next(f)
            ids = {line.split("\t", 2)[1] for line in f if line.strip()}
        return sorted(ids, key=lambda i: (0, int(i), "") if i.isdigit() else (1, 0, i))


def cache_dir() -> Path:
    """Root of the ignored cache: ``$RECBOLE_DIGER_CACHE`` or ``<project>/.cache``."""
    return Path(os.environ.get(CACHE_ENV) or PROJECT_ROOT / ".cache").resolve()


def load_json(path: Path):
    """Read a json file; a syntax error names the file and the position."""
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except json.JSONDecodeError as e:
        raise UserError(
            f"malformed json in {path} at line {e.lineno}, column {e.colno}: {e.msg}; fix or replace the file"
        ) from None


def _hash_files(paths: list[Path]) -> str:
    digest = hashlib.sha256(CONVERTER_VERSION.encode())
    for path in paths:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _check_sequences(inter: object, path: Path) -> dict[str, list[str]]:
    """Validate ``{"user": [item, ...]}`` and return it with string ids."""
    if not isinstance(inter, dict) or not inter:
        raise UserError(f"{path} must be a non-empty json object {{user: [items...]}}; fix the file")
    sequences = {}
    for user, items in inter.items():
        if not isinstance(items, list) or not all(isinstance(i, (int, str)) for i in items):
            raise UserError(f"{path}: user {user!r} must map to a list of item ids; fix the file")
        sequences[str(user)] = [str(i) for i in items]
    short = [u for u, s in sequences.items() if len(s) < MIN_USER_INTERACTIONS]
    if short:
        raise UserError(
            f"dataset too small for the leave-one-out split: {len(short)} of {len(sequences)} users in {path} "
            f"have fewer than {MIN_USER_INTERACTIONS} interactions (e.g. user {short[0]!r}); "
            f"drop those users or filter the data to a {MIN_USER_INTERACTIONS}-core"
        )
    return sequences


def _clean(text: object) -> str:
    if isinstance(text, list):
        text = " ".join(str(t) for t in text)
    return " ".join(str(text).split())


def _write_atomic(folder: Path, name: str, sequences: dict[str, list[str]], items: dict | None) -> None:
    with open(folder / f"{name}.inter", "w", encoding="utf-8") as f:
        f.write("\t".join(REQUIRED_INTER_COLUMNS) + "\n")
        for user, seq in sequences.items():
            for position, item in enumerate(seq):
                f.write(f"{user}\t{item}\t{position}\n")
    if items:
        with open(folder / f"{name}.item", "w", encoding="utf-8") as f:
            f.write("item_id:token\t" + "\t".join(f"{t}:token_seq" for t in TEXT_FIELDS) + "\n")
            for item, fields in items.items():
                fields = fields if isinstance(fields, dict) else {}
                f.write(str(item) + "\t" + "\t".join(_clean(fields.get(t, "")) for t in TEXT_FIELDS) + "\n")


def _atomic_from_folder(source: DatasetSource) -> AtomicDataset:
    inter = source.folder / f"{source.stem}.inter"
    with open(inter, encoding="utf-8") as f:
        header = f.readline().rstrip("\n").split("\t")
        rows = [line.split("\t", 2)[:2] for line in f if line.strip()]
    missing = [c for c in REQUIRED_INTER_COLUMNS if c not in header]
    if missing:
        raise UserError(f"{inter} lacks the column(s) {', '.join(missing)}; add them to its header")
    return AtomicDataset(
        name=source.stem,
        data_path=source.folder.parent,
        n_users=len({r[0] for r in rows}),
        n_items=len({r[1] for r in rows}),
        n_interactions=len(rows),
    )


def prepare_atomic(source: DatasetSource) -> AtomicDataset:
    """Return RecBole atomic files for ``source``, converting (once per source hash) if needed.

    The conversion is written to a temporary folder inside the cache and renamed into
    place, so an interrupted run never leaves a half-written dataset.
    """
    if source.kind == "atomic":
        return _atomic_from_folder(source)
    paths = [source.inter_json] + ([source.item_json] if source.item_json.is_file() else [])
    key = _hash_files(paths)
    data_path = cache_dir() / "atomic" / f"{source.name}-{key}"
    done = data_path / source.name / f"{source.name}.inter"

    sequences = _check_sequences(load_json(source.inter_json), source.inter_json)
    stats = dict(
        n_users=len(sequences),
        n_items=len({i for s in sequences.values() for i in s}),
        n_interactions=sum(len(s) for s in sequences.values()),
    )
    if not done.is_file():
        items = load_json(source.item_json) if source.item_json.is_file() else None
        data_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{source.name}-", dir=data_path.parent))
        try:
            (tmp / source.name).mkdir()
            _write_atomic(tmp / source.name, source.name, sequences, items)
            try:
                os.rename(tmp, data_path)
            except OSError:  # another process finished first: keep theirs
                if not done.is_file():
                    raise
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return AtomicDataset(name=source.name, data_path=data_path, **stats)
