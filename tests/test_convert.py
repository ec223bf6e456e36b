import json
import os

import pytest

from recbole_diger.data import find_dataset, list_datasets, prepare_atomic, resolve_data_dir
from recbole_diger.data import convert
from recbole_diger.errors import UserError

from conftest import write_letter_dataset


def test_atomic_files_keep_ids_and_order(data_dir, isolated_cache):
    atomic = prepare_atomic(find_dataset("Tiny", data_dir))
    raw = json.loads((data_dir / "Tiny" / "Tiny.inter.json").read_text())
    lines = (atomic.folder / "Tiny.inter").read_text().splitlines()
    assert lines[0] == "user_id:token\titem_id:token\ttimestamp:float"
    rows = [line.split("\t") for line in lines[1:]]
    rebuilt = {}
    for user, item, ts in rows:
        rebuilt.setdefault(user, []).append((int(ts), item))
    assert {u: [i for _, i in sorted(v)] for u, v in rebuilt.items()} == {u: [str(i) for i in s] for u, s in raw.items()}
    assert atomic.n_users == 60 and atomic.n_interactions == sum(map(len, raw.values()))
    assert str(atomic.data_path).startswith(str(isolated_cache))
    item_lines = (atomic.folder / "Tiny.item").read_text().splitlines()
    assert item_lines[0].startswith("item_id:token\ttitle:token_seq")
    assert item_lines[1].split("\t")[:3] == ["0", "item 0 title", "cat 0"]


def test_cache_is_reused_and_keyed_by_content(data_dir):
    first = prepare_atomic(find_dataset("Tiny", data_dir))
    stamp = os.stat(first.folder / "Tiny.inter").st_mtime_ns
    again = prepare_atomic(find_dataset("Tiny", data_dir))
    assert again.data_path == first.data_path
    assert os.stat(again.folder / "Tiny.inter").st_mtime_ns == stamp
    write_letter_dataset(data_dir, seed=1)  # new content -> new cache entry
    changed = prepare_atomic(find_dataset("Tiny", data_dir))
    assert changed.data_path != first.data_path


def test_interrupted_conversion_leaves_nothing(data_dir, isolated_cache, monkeypatch):
    def boom(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(convert, "_write_atomic", boom)
    with pytest.raises(KeyboardInterrupt):
        prepare_atomic(find_dataset("Tiny", data_dir))
    assert list((isolated_cache / "atomic").iterdir()) == []


def test_malformed_json_names_file_and_position(data_dir):
    (data_dir / "Tiny" / "Tiny.inter.json").write_text('{"0": [1, 2, 3],\n "1": [4, 5 6]}')
    with pytest.raises(UserError, match=r"Tiny.inter.json at line 2, column 13"):
        prepare_atomic(find_dataset("Tiny", data_dir))


def test_too_small_for_leave_one_out(data_dir, isolated_cache):
    (data_dir / "Tiny" / "Tiny.inter.json").write_text(json.dumps({"0": [1, 2, 3], "1": [4, 5]}))
    with pytest.raises(UserError, match="too small for the leave-one-out split: 1 of 2 users"):
        prepare_atomic(find_dataset("Tiny", data_dir))
    assert not (isolated_cache / "atomic").exists() or list((isolated_cache / "atomic").iterdir()) == []


def test_dataset_names_and_errors(tmp_path, data_dir, monkeypatch):
    assert list_datasets(data_dir) == ["Tiny"]
    with pytest.raises(UserError, match="dataset 'nope' not found .* available: Tiny"):
        find_dataset("nope", data_dir)
    with pytest.raises(UserError, match="does not exist; pass --data-dir"):
        resolve_data_dir(tmp_path / "missing")
    monkeypatch.setenv("RECBOLE_DIGER_DATA", str(data_dir))
    assert resolve_data_dir(None) == data_dir.resolve()


def test_atomic_folder_is_a_dataset(tmp_path):
    folder = tmp_path / "data" / "Mine"
    folder.mkdir(parents=True)
    (folder / "Mine.inter").write_text("user_id:token\titem_id:token\ttimestamp:float\nu1\ta\t0\nu1\tb\t1\nu2\ta\t0\n")
    atomic = prepare_atomic(find_dataset("Mine", tmp_path / "data"))
    assert (atomic.n_users, atomic.n_items, atomic.n_interactions) == (2, 2, 3)
    assert atomic.data_path == folder.parent
    (folder / "Mine.inter").write_text("user_id:token\titem_id:token\nu1\ta\n")
    with pytest.raises(UserError, match="lacks the column"):
        prepare_atomic(find_dataset("Mine", tmp_path / "data"))
