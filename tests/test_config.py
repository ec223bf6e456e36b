import pytest

from recbole_diger import registry
from recbole_diger.config import build_settings, make_recbole_config, parse_overrides
from recbole_diger.errors import UserError


def test_cascade_order_profile_then_model_then_command_line():
    spec = registry.get("model", "BERT4Rec")
    quick = build_settings(spec, "quick", {})
    assert quick["epochs"] == 2            # profile models.BERT4Rec beats profile settings (20)
    assert quick["stopping_step"] == 3     # profile settings
    assert quick["mask_ratio"] == 0.2      # model yaml
    assert quick["MAX_ITEM_LIST_LENGTH"] == 20  # overall protocol
    assert build_settings(spec, "quick", {"epochs": 7})["epochs"] == 7


def test_typo_names_closest_key():
    spec = registry.get("model", "SASRec-CE")
    with pytest.raises(UserError, match="unknown config key 'learing_rate' in the command line; did you mean 'learning_rate'"):
        build_settings(spec, "smoke", {"learing_rate": 0.1})
    with pytest.raises(UserError, match="did you mean 'n_layers'"):
        build_settings(spec, "smoke", {"n_layer": 3})


def test_runner_keys_are_not_overrides():
    with pytest.raises(UserError, match="'seed' is set by the runner; use --seeds"):
        build_settings(registry.get("model", "MF"), "smoke", {"seed": 3})


def test_unknown_profile():
    with pytest.raises(UserError, match="unknown profile 'fast'; available: paper, quick, smoke"):
        build_settings(registry.get("model", "MF"), "fast", {})


def test_parse_overrides():
    assert parse_overrides(["--epochs=5", "--learning_rate", "0.01", "--topk=[5,20]"]) == \
        {"epochs": 5, "learning_rate": 0.01, "topk": [5, 20]}
    with pytest.raises(UserError, match="has no value"):
        parse_overrides(["--epochs"])


def test_recbole_config_ignores_the_benchmark_command_line(monkeypatch):
    monkeypatch.setattr("sys.argv", ["run_benchmark.py", "--model=all", "--epochs=99"])
    settings = build_settings(registry.get("model", "MF"), "smoke", {})
    config = make_recbole_config("BPR", "ml-100k", settings)
    assert config["epochs"] == 1 and config["model"] == "BPR"
