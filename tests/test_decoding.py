"""Constrained beam search: only valid, distinct items; agrees with exhaustive scoring; plugs into RecBole."""
import json

import numpy as np
import pytest
import torch

from recbole_diger.config import PROPERTIES_DIR, make_recbole_config, read_yaml
from recbole_diger.data import find_dataset, prepare_atomic
from recbole_diger.model.sid_recommender import SIDRecommender
from recbole_diger.model.sid_trie import SIDTrie

from conftest import write_letter_dataset

N_ITEMS = 30


def _model(tmp_path, beam_size=10, n_items=N_ITEMS, codes_per_level=4):
    from recbole.data import create_dataset, data_preparation

    write_letter_dataset(tmp_path / "data", n_users=80, n_items=n_items)
    rng = np.random.default_rng(0)
    sids = {str(i): [f"<a_{rng.integers(codes_per_level)}>", f"<b_{rng.integers(codes_per_level)}>"] for i in range(n_items)}
    if n_items <= codes_per_level ** 2:  # few items: distinct codes, no collision level needed beyond 0
        sids = {str(i): [f"<a_{i // codes_per_level}>", f"<b_{i % codes_per_level}>"] for i in range(n_items)}
    (tmp_path / "sids.json").write_text(json.dumps(sids))
    atomic = prepare_atomic(find_dataset("Tiny", tmp_path / "data"))
    settings = dict(read_yaml(PROPERTIES_DIR / "overall.yaml"), sid_file=str(tmp_path / "sids.json"), beam_size=beam_size,
                    d_model=32, d_ff=64, num_heads=2, encoder_layers=1, decoder_layers=1, dropout_rate=0.0,
                    loss_type="CE", train_neg_sample_args=None, data_path=str(atomic.data_path), show_progress=False,
                    gpu_id="", seed=0, eval_batch_size=64, length_buckets=1, enable_amp=False)
    config = make_recbole_config(SIDRecommender, "Tiny", settings)
    torch.manual_seed(0)
    dataset = create_dataset(config)
    train, valid, test = data_preparation(config, dataset)
    model = SIDRecommender(config, train._dataset).eval()
    return model, config, train, test


def test_trie_tables():
    codes = np.array([[0, 1, 0], [0, 1, 1], [2, 0, 0]])
    trie = SIDTrie.build(codes, [3, 2, 2], item_rows=np.array([10, 11, 12]))
    assert trie.children[0].tolist() == [[0, -1, 1]]
    assert trie.children[1].tolist() == [[-1, 0], [1, -1]]
    assert trie.children[2].tolist() == [[10, 11], [12, -1]]
    for table in trie.children:  # every prefix has a continuation: the allowed set is never empty
        assert ((table >= 0).sum(1) > 0).all()


def test_beams_are_valid_distinct_and_match_exhaustive_scoring(tmp_path):
    model, config, train, test = _model(tmp_path)
    interaction, _, _, _ = next(iter(test))
    scores = model.full_sort_predict(interaction)
    assert scores.shape == (len(interaction), model.n_items)
    finite = torch.isfinite(scores)
    assert (finite.sum(1) == 10).all()            # beam size items per user, all distinct (one score each)
    assert not finite[:, 0].any()                 # never the padding item
    seq, lengths = interaction["item_id_list"][:6], interaction["item_length"][:6]
    every = torch.arange(1, model.n_items)
    for b in range(6):
        exhaustive = model.target_log_probs(seq[b:b + 1].expand(len(every), -1), lengths[b:b + 1].expand(len(every)),
                                            every).sum(-1)
        best = set((exhaustive.topk(5).indices + 1).tolist())
        assert best == set(scores[b].topk(5).indices.tolist())
        found = scores[b].topk(10).indices
        assert torch.allclose(scores[b, found], exhaustive[found - 1], atol=1e-4)  # beam score = SID log-likelihood


def test_fewer_items_than_beams(tmp_path):
    model, *_, test = _model(tmp_path, beam_size=20, n_items=8, codes_per_level=3)
    interaction, _, _, _ = next(iter(test))
    scores = model.full_sort_predict(interaction)
    n_valid = model.n_items - 1
    assert (torch.isfinite(scores).sum(1) == n_valid).all()


def test_length_buckets_change_speed_not_the_loss(tmp_path):
    model, config, train, test = _model(tmp_path)
    batch = next(iter(train))
    model.length_buckets = 1
    whole = model.calculate_loss(batch)
    model.length_buckets = 4
    assert model.calculate_loss(batch).item() == pytest.approx(whole.item(), rel=1e-5)


def test_loss_trains_and_full_sort_plugs_into_recbole_evaluator(tmp_path):
    from recbole.trainer import Trainer

    model, config, train, test = _model(tmp_path)
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    batch = next(iter(train))
    first = model.calculate_loss(batch)
    for _ in range(20):
        opt.zero_grad()
        loss = model.calculate_loss(batch)
        loss.backward()
        opt.step()
    assert loss.item() < first.item() * 0.7
    model.eval()
    result = Trainer(config, model).evaluate(test, load_best_model=False)
    assert set(result) == {"recall@5", "recall@10", "ndcg@5", "ndcg@10"}
    assert 0 <= result["ndcg@10"] <= result["recall@10"] <= 1
