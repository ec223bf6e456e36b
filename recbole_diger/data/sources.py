"""Where datasets live: the data directory convention and the dataset name registry.

A dataset is a folder ``<data-dir>/<Name>/`` holding either LETTER json files
(``<Name>.inter.json`` and optionally ``<Name>.item.json``) or RecBole atomic files
(``<Name>.inter`` and optionally ``<Name>.item``). The benchmark names below are aliases
for the folders of the shared data; any other folder is a dataset under its own name.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ..errors import UserError

#: benchmark name -> folder name in the data directory
ALIASES: dict[str, str] = {
    "amazon-beauty": "Beauty",
    "amazon-instruments": "Instruments",
    "yelp": "Yelp",
}
DATA_DIR_ENV = "RECBOLE_DIGER_DATA"
PROJECT_ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class DatasetSource:
    """A dataset found on disk.

    Attributes:
        name: the benchmark name used in results paths (``amazon-beauty``).
        folder: the folder holding its files.
        stem: the file stem inside the folder (``Beauty``).
        kind: ``"letter"`` (json files to convert) or ``"atomic"`` (RecBole files, used as they are).
    """

    name: str
    folder: Path
    stem: str
    kind: str

    @property
    def inter_json(self) -> Path:
        return self.folder / f"{self.stem}.inter.json"

    @property
    def item_json(self) -> Path:
        return self.folder / f"{self.stem}.item.json"


def resolve_data_dir(option: str | os.PathLike | None = None) -> Path:
    """The data directory: ``--data-dir``, else ``$RECBOLE_DIGER_DATA``, else ``../shared/data``.

    The default is looked up relative to the working directory, then to the project root.
    """
    if option is None:
        option = os.environ.get(DATA_DIR_ENV) or None
    if option is not None:
        path = Path(option).expanduser()
        if not path.is_dir():
            raise UserError(f"data directory {path} does not exist; pass --data-dir DIR or set {DATA_DIR_ENV}")
        return path.resolve()
    for candidate in (Path.cwd() / "../shared/data", PROJECT_ROOT / "../shared/data"):
        if candidate.is_dir():
            return candidate.resolve()
    raise UserError(f"no data directory: ../shared/data is missing; pass --data-dir DIR or set {DATA_DIR_ENV}")


def _source_in(folder: Path, name: str) -> DatasetSource | None:
    stem = folder.name
    if (folder / f"{stem}.inter.json").is_file():
        return DatasetSource(name, folder, stem, "letter")
    if (folder / f"{stem}.inter").is_file():
        return DatasetSource(name, folder, stem, "atomic")
    return None


def list_datasets(data_dir: Path) -> list[str]:
    """Names of every dataset under ``data_dir`` (aliases for the known folders)."""
    folder_to_alias = {v: k for k, v in ALIASES.items()}
    names = []
    for folder in sorted(p for p in data_dir.iterdir() if p.is_dir()):
        if _source_in(folder, folder.name) is not None:
            names.append(folder_to_alias.get(folder.name, folder.name))
    return names


def find_dataset(name: str, data_dir: Path) -> DatasetSource:
    """Resolve a dataset name (alias or folder name) to its files, or fail with the list of names."""
    folder = data_dir / ALIASES.get(name, name)
    source = _source_in(folder, name) if folder.is_dir() else None
    if source is None:
        available = ", ".join(list_datasets(data_dir)) or "none"
        raise UserError(
            f"dataset '{name}' not found in {data_dir}; available: {available} "
            f"(or add a folder <Name>/ with <Name>.inter.json)"
        )
    return source
