import numpy as np
import pytest

from recbole_diger.data import find_dataset, prepare_atomic
from recbole_diger.data import text_embed
from recbole_diger.errors import UserError

from conftest import write_letter_dataset


def test_embeddings_are_aligned_normalised_and_cached(monkeypatch):
    texts = {"7": "red matte lipstick", "3": "lipstick, red, matte finish", "9": "steel acoustic guitar strings"}
    ids = ["7", "3", "9"]
    emb = text_embed.embed_items(ids, texts)
    assert emb.shape == (3, 384) and emb.dtype == np.float32
    assert np.linalg.norm(emb, axis=1) == pytest.approx(np.ones(3), abs=1e-5)
    assert emb[0] @ emb[1] > emb[0] @ emb[2] + 0.2  # same product described twice is closer than another product

    def no_model(device):
        raise AssertionError("the cache should have answered")

    monkeypatch.setattr(text_embed, "_load_encoder", no_model)
    assert np.array_equal(text_embed.embed_items(ids, texts), emb)
    monkeypatch.undo()
    swapped = text_embed.embed_items(["9", "3", "7"], texts)
    assert swapped == pytest.approx(emb[::-1], abs=1e-5)


def test_item_text_comes_from_the_item_file(tmp_path):
    write_letter_dataset(tmp_path / "data")
    atomic = prepare_atomic(find_dataset("Tiny", tmp_path / "data"))
    texts = text_embed.require_text(atomic, ["0", "5"], "TIGER")
    assert texts["5"] == "item 5 title. cat 1"


def test_missing_text_is_a_clear_error(tmp_path):
    write_letter_dataset(tmp_path / "data", with_text=False)
    atomic = prepare_atomic(find_dataset("Tiny", tmp_path / "data"))
    with pytest.raises(UserError, match="TIGER needs item text, but dataset 'Tiny' has text for only 0 of 2 items"):
        text_embed.require_text(atomic, ["0", "1"], "TIGER")
