import pytest

from recbole_diger import registry
from recbole_diger.errors import UserError
from recbole_diger.models.classic import CLASSICS


def test_classics_registered():
    assert {"MF", "LightGCN", "SASRec", "SASRec-CE", "BERT4Rec", "Caser", "HGN"} <= set(registry.names("model"))
    assert all(spec.config_file.is_file() for spec in CLASSICS)


def test_unknown_model_lists_registered_and_suggests():
    with pytest.raises(UserError, match=r"unknown model 'SASrec' \(did you mean 'SASRec'\?\); registered: BERT4Rec"):
        registry.get("model", "SASrec")


def test_planned_model_says_it_is_not_there_yet(monkeypatch):
    monkeypatch.setitem(registry.PLANNED, "NextGR", "a later issue")
    with pytest.raises(UserError, match="model 'NextGR' is not implemented yet \\(it comes with a later issue\\)"):
        registry.get("model", "NextGR")


def test_decorator_registers_any_kind():
    @registry.register("schedule", "test-constant")
    class Constant:
        pass

    assert registry.get("schedule", "test-constant") is Constant
    with pytest.raises(UserError, match="unknown schedule 'nope'"):
        registry.get("schedule", "nope")


def test_plugins_come_from_the_entry_point_group(monkeypatch, tmp_path):
    plugin = tmp_path / "my_sid_plugin.py"
    plugin.write_text(
        "from recbole_diger.registry import register\n"
        "@register('schedule', 'from-plugin')\nclass S: pass\n")
    monkeypatch.syspath_prepend(str(tmp_path))

    class EP:
        name, value = "mine", "my_sid_plugin"

        def load(self):
            import importlib
            return importlib.import_module(self.value)

    monkeypatch.setattr(registry, "entry_points", lambda group: [EP()] if group == registry.PLUGIN_GROUP else [])
    monkeypatch.setattr(registry, "_plugins_loaded", False)
    assert registry.get("schedule", "from-plugin").__name__ == "S"
