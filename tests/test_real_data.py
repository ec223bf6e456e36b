"""The protocol on the real data: sizes match the paper's Table 1, targets are the raw last / second-last items."""
import json

import pytest

from recbole_diger import registry
from recbole_diger.config import build_settings, make_recbole_config
from recbole_diger.data import find_dataset, prepare_atomic

from conftest import SHARED_DATA, needs_shared_data


def _split(dataset_name, model):
    from recbole.data import create_dataset, data_preparation

    atomic = prepare_atomic(find_dataset(dataset_name, SHARED_DATA))
    spec = registry.get("model", model)
    settings = dict(build_settings(spec, "smoke", {}), data_path=str(atomic.data_path), seed=1, gpu_id="")
    config = make_recbole_config(spec.recbole_model, atomic.name, settings)
    dataset = create_dataset(config)
    sizes = (dataset.user_num - 1, dataset.item_num - 1, dataset.inter_num)  # before the split reshapes inter_feat
    return sizes, data_preparation(config, dataset)


def _targets(loader):
    ds = loader._dataset
    users = ds.id2token(ds.uid_field, ds.inter_feat[ds.uid_field].numpy())
    items = ds.id2token(ds.iid_field, ds.inter_feat[ds.iid_field].numpy())
    return dict(zip(users.tolist(), items.tolist())), len(users)


@needs_shared_data
@pytest.mark.parametrize("name, folder, users, items, inters, model", [
    ("amazon-beauty", "Beauty", 22363, 12101, 198502, "SASRec-CE"),
    ("amazon-beauty", "Beauty", 22363, 12101, 198502, "MF"),
    ("yelp", "Yelp", 30431, 20033, 316354, "SASRec-CE"),
])
def test_sizes_and_leave_one_out_targets(name, folder, users, items, inters, model):
    sizes, (train, valid, test) = _split(name, model)
    assert sizes == (users, items, inters)
    raw = json.loads((SHARED_DATA / folder / f"{folder}.inter.json").read_text())
    test_targets, n_test = _targets(test)
    valid_targets, n_valid = _targets(valid)
    assert n_test == n_valid == users  # exactly one validation and one test row per user
    assert test_targets == {u: str(s[-1]) for u, s in raw.items()}
    assert valid_targets == {u: str(s[-2]) for u, s in raw.items()}


@needs_shared_data
def test_instruments_text_gap_is_explicit():
    from recbole_diger.data.text_embed import require_text
    from recbole_diger.errors import UserError

    atomic = prepare_atomic(find_dataset("amazon-instruments", SHARED_DATA))
    ids = [str(i) for i in range(9922)]
    with pytest.raises(UserError, match="has text for only 6250 of 9922 items"):
        require_text(atomic, ids, "TIGER")
