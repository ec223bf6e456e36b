"""Collaborative item features: used when text is missing or asked for, trained on the training split only."""
import json
import re

import numpy as np
import pytest

from conftest import write_letter_dataset
from recbole_diger.cli import main
from recbole_diger.data import find_dataset, prepare_atomic
from recbole_diger.data.cf_features import cf_item_embeddings, tokenizer_input
from recbole_diger.errors import UserError

SETTINGS = {"cf_epochs": 2, "cf_hidden_size": 16, "item_features": "cf"}


def _atomic(root, **kw):
    write_letter_dataset(root, **kw)
    return prepare_atomic(find_dataset("Tiny", root))


def test_teacher_trains_on_the_training_split_only(tmp_path, monkeypatch):
    """The SASRec teacher is fitted without validation data, on targets items[1:-2] of every user."""
    from recbole.trainer import Trainer

    seen = {}
    fit = Trainer.fit

    def spy(self, train_data, valid_data=None, *args, **kwargs):
        seen["train"], seen["valid"] = train_data, valid_data
        return fit(self, train_data, valid_data, *args, **kwargs)

    monkeypatch.setattr(Trainer, "fit", spy)
    atomic = _atomic(tmp_path / "a")
    features = cf_item_embeddings(atomic, SETTINGS, seed=7)
    assert features.shape == (40, 16) and seen["valid"] is None
    ds = seen["train"]._dataset
    users = ds.id2token(ds.uid_field, ds.inter_feat[ds.uid_field].numpy())
    targets = ds.id2token(ds.iid_field, ds.inter_feat[ds.iid_field].numpy())
    raw = json.loads((tmp_path / "a" / "Tiny" / "Tiny.inter.json").read_text())
    by_user = {}
    for u, t in zip(users, targets):
        by_user.setdefault(str(u), []).append(str(t))
    assert by_user.keys() == raw.keys()
    assert all(sorted(by_user[u]) == sorted(map(str, raw[u][1:-2])) for u in raw)
    again = cf_item_embeddings(atomic, SETTINGS, seed=7)                  # cached: no second fit
    seen.clear()
    np.testing.assert_array_equal(features, cf_item_embeddings(atomic, SETTINGS, seed=7))
    assert not seen and np.array_equal(features, again)


def test_auto_uses_text_when_complete_and_cf_otherwise(tmp_path):
    with_text = _atomic(tmp_path / "t")
    without = _atomic(tmp_path / "n", with_text=False)
    assert tokenizer_input(with_text, dict(SETTINGS, item_features="auto"), 1, "cpu", "TIGER")[1]["item_features"] == "text"
    x, facts = tokenizer_input(without, dict(SETTINGS, item_features="auto"), 1, "cpu", "TIGER")
    assert facts["item_features"] == "cf" and x.shape == (40, 16)
    with pytest.raises(UserError, match="item_features 'bert' is not one of auto, text, cf"):
        tokenizer_input(with_text, dict(SETTINGS, item_features="bert"), 1, "cpu", "TIGER")


def test_runs_say_which_input_they_used(tmp_path):
    data = tmp_path / "data"
    write_letter_dataset(data, with_text=False)
    out = tmp_path / "results"
    common = ["--dataset=Tiny", f"--data-dir={data}", "--profile=smoke", f"--output={out}"]
    assert main(["--model=TIGER", *common]) == 0                        # no text: auto falls back to cf
    info = json.loads((out / "Tiny" / "TIGER" / "smoke" / "seed-2024" / "run.json").read_text())
    assert info["tokenizer"]["item_features"] == "cf"
    assert re.search(r"\| TIGER +\| generative \(cf\)", (out / "Tiny.md").read_text())
    assert main(["--model=TIGER", "--item-features", "cf", *common]) == 0  # explicit: its own row
    assert (out / "Tiny" / "TIGER+cf" / "smoke" / "seed-2024" / "metrics.json").is_file()
