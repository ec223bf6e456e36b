import json

import numpy as np
import pytest
import torch

from recbole_diger import registry
from recbole_diger.errors import UserError
from recbole_diger.tokenizer.rqvae import RQVAE
from recbole_diger.tokenizer.sid_index import SIDIndex
from recbole_diger.tokenizer.strategies import NearestSTE, squared_distances

from conftest import SHARED_DATA, needs_shared_data


def _model(seed=0, **kw):
    torch.manual_seed(seed)
    return RQVAE(in_dim=16, hidden=[32], e_dim=8, levels=3, codebook_size=8, **kw)


def test_shapes_and_deterministic_encoding():
    x = torch.randn(200, 16)
    model = _model()
    out = model(x)
    assert out.codes.shape == (200, 3) and out.x_hat.shape == x.shape and out.z_q.shape == (200, 8)
    assert int(out.codes.max()) < 8
    assert torch.equal(model.encode(x), model.encode(x))
    assert torch.equal(_model().encode(x), model.encode(x))  # same seed, same codes


def test_strategy_is_looked_up_by_name():
    assert isinstance(_model(strategy="ste").quantizer.strategy, NearestSTE)
    with pytest.raises(UserError, match="unknown strategy 'nearest'"):
        _model(strategy="nearest")


def test_kmeans_init_beats_random_codebooks():
    torch.manual_seed(1)
    centres = torch.randn(8, 8) * 3
    z = centres[torch.randint(8, (400,))] + 0.05 * torch.randn(400, 8)
    model = _model()
    before = squared_distances(z, model.quantizer.codebooks[0]).min(-1).values.mean()
    model.quantizer.kmeans_init(z, seed=0)
    after = squared_distances(z, model.quantizer.codebooks[0]).min(-1).values.mean()
    assert after < 0.1 * before and after < 0.05


def test_ste_gradient_reaches_encoder_and_only_selected_codes():
    model = _model()
    x = torch.randn(5, 16)
    out = model(x)
    out.loss.backward()
    assert model.encoder[0].weight.grad.abs().sum() > 0
    grad = model.quantizer.codebooks[0].grad
    used = set(out.codes[:, 0].tolist())
    rows_with_grad = {k for k in range(8) if grad[k].abs().sum() > 0}
    assert rows_with_grad == used


def test_collision_code_separates_items_in_id_order():
    codes = np.array([[1, 2, 3], [1, 2, 3], [0, 0, 0], [1, 2, 3]])
    index = SIDIndex.from_codes(["10", "9", "5", "100"], codes, 4)
    assert index.codes[:, -1].tolist() == [1, 0, 0, 2]  # 9 < 10 < 100 numerically
    assert len({tuple(r) for r in index.codes.tolist()}) == 4
    assert index.level_sizes == [4, 4, 4, 3]
    stats = index.stats()
    assert stats["collision_rate"] == 0.75 and stats["max_collision_group"] == 3
    with pytest.raises(UserError, match="3 items share the codes \\[1, 2, 3\\], more than the 2 codes"):
        SIDIndex.from_codes(["10", "9", "5", "100"], codes, 2)


def test_level_usage_by_hand():
    index = SIDIndex.from_codes(["0", "1", "2", "3"], np.array([[0, 0], [0, 1], [1, 2], [1, 3]]), 4)
    level0, level1 = index.stats()["levels"]
    assert level0 == {"coverage": 0.5, "perplexity": pytest.approx(2.0)}
    assert level1 == {"coverage": 1.0, "perplexity": pytest.approx(4.0)}


def test_letter_format_round_trip(tmp_path):
    path = tmp_path / "x.index.json"
    path.write_text(json.dumps({"0": ["<a_1>", "<b_2>"], "1": ["<a_1>", "<b_2>"], "2": ["<a_0>", "<b_5>"]}))
    index = SIDIndex.from_letter_json(path)
    assert index.codes.tolist() == [[1, 2, 0], [1, 2, 1], [0, 5, 0]]
    index.to_letter_json(tmp_path / "out.json")
    again = SIDIndex.from_letter_json(tmp_path / "out.json")
    assert again.codes[:, :3].tolist() == index.codes.tolist() and again.codes[:, 3].tolist() == [0, 0, 0]
    assert index.aligned(["2", "0"]).tolist() == [[0, 5, 0], [1, 2, 0]]
    with pytest.raises(UserError, match="1 items have no semantic ID"):
        index.aligned(["7"])
    path.write_text(json.dumps({"0": ["a_1"]}))
    with pytest.raises(UserError, match="expected tokens like '<a_12>'"):
        SIDIndex.from_letter_json(path)


@needs_shared_data
def test_released_letter_sids_become_unique():
    index = SIDIndex.from_letter_json(SHARED_DATA / "Beauty" / "Beauty.index.json")
    assert index.codes.shape == (12101, 5)
    assert len({tuple(r) for r in index.codes.tolist()}) == 12101
    assert 0 < index.stats()["collision_rate"] < 0.01


def test_dead_codes_are_revived_onto_residuals():
    model = _model()
    z = torch.randn(100, 8)
    model.quantizer.kmeans_init(z, seed=0)
    with torch.no_grad():
        model.quantizer.codebooks[0][3] = 1e3  # a code nothing selects
    revived = model.quantizer.revive_dead_codes(z, torch.Generator().manual_seed(0))
    assert revived[0] >= 1
    assert model.quantizer.codebooks[0][3].abs().max() < 100  # moved onto a residual of its level


def test_inputs_are_standardised_inside_the_model():
    model = _model()
    x = torch.randn(50, 16) * 0.01 + 5.0
    model.fit_input_scaling(x)
    assert torch.allclose(model.input_mean, x.mean(0)) and torch.allclose(model.input_std, x.std(0))
    assert torch.equal(model.encode(x), model.encode(x.clone()))
