"""One registry for everything a method is made of, filled by built-ins and plugins alike.

Kinds used so far: ``model`` (a :class:`ModelSpec`). Later kinds (quantisation
``strategy``, noise ``schedule``, training ``scheme``) use the same two calls::

    @register("schedule", "my-decay")
    class MyDecay: ...

    get("schedule", "my-decay")

Plugins are modules named by entry points in the group ``recbole_diger.plugins``; importing
the module runs its ``register`` calls. Built-ins register through the same group.
"""
from __future__ import annotations

import difflib
import importlib
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, Callable

from .errors import UserError

PLUGIN_GROUP = "recbole_diger.plugins"
_REGISTRY: dict[str, dict[str, Any]] = {}
#: modules that register the built-ins, imported even when the package is not pip-installed
BUILTIN_MODULES = ("recbole_diger.models.classic", "recbole_diger.models.tiger", "recbole_diger.models.diger",
                   "recbole_diger.models.letter", "recbole_diger.models.etegrec", "recbole_diger.models.unigrec",
                   "recbole_diger.tokenizer.strategies", "recbole_diger.tokenizer.schedules")
_plugins_loaded = False


@dataclass(frozen=True)
class ModelSpec:
    """A benchmark model: what to build, with which settings, and how to report it.

    Attributes:
        name: the name users type and results are filed under (``SASRec-CE``).
        recbole_model: a RecBole model name (``"SASRec"``) or a RecBole model class.
        config_file: yaml with the model's settings (RecBole keys), or a tuple of yaml files merged in order
            (a variant's yaml after its family's).
        family: ``"classic"`` or ``"generative"``; significance marks compare against the best classic.
        paper_name: the row name in the paper's Table 3, if the paper reports this model.
        note: one line for the table legend (loss, sampling, what differs from the paper).
        prepare: optional stage run before the recommender is built (e.g. training a tokenizer):
            ``prepare(context) -> (extra settings, facts for run.json)``; see ``benchmark.runner.PrepareContext``.
        trainer: RecBole trainer class to use (default: the one RecBole picks for the model type). A trainer
            with ``write_artifacts(folder) -> dict`` writes extra files into the run folder after the test.
        profile_sections: sections of a profile's ``models`` applied before the model's own (a variant
            takes its family's caps: the DIGER variants use ``TIGER``'s quick settings).
    """

    name: str
    recbole_model: Any
    config_file: Path
    family: str = "classic"
    paper_name: str | None = None
    note: str = ""
    prepare: Callable[[Any], tuple[dict, dict]] | None = None
    trainer: type | None = None
    profile_sections: tuple[str, ...] = ()

    @property
    def config_files(self) -> tuple[Path, ...]:
        if not self.config_file:
            return ()
        return tuple(self.config_file) if isinstance(self.config_file, (tuple, list)) else (self.config_file,)


def register(kind: str, name: str) -> Callable[[Any], Any]:
    """Decorator: ``@register("schedule", "frqud")`` files the object under ``(kind, name)``."""

    def deco(obj: Any) -> Any:
        _REGISTRY.setdefault(kind, {})[name] = obj
        return obj

    return deco


def register_model(spec: ModelSpec) -> ModelSpec:
    """Register a :class:`ModelSpec` under its name."""
    return register("model", spec.name)(spec)


def load_plugins() -> None:
    """Import the built-ins and every module in the ``recbole_diger.plugins`` entry-point group."""
    global _plugins_loaded
    if _plugins_loaded:
        return
    _plugins_loaded = True
    for module in BUILTIN_MODULES:
        importlib.import_module(module)
    for ep in entry_points(group=PLUGIN_GROUP):
        try:
            ep.load()
        except ImportError as e:
            raise UserError(f"plugin '{ep.name}' ({ep.value}) failed to import: {e}; reinstall or uninstall it") from None


def names(kind: str) -> list[str]:
    load_plugins()
    return sorted(_REGISTRY.get(kind, {}))


#: methods the library is built to hold, with the work that brings each of them
PLANNED: dict[str, str] = {}


def find(kind: str, name: str) -> Any | None:
    """The registered object, or None (no error) when there is none."""
    load_plugins()
    return _REGISTRY.get(kind, {}).get(name)


def get(kind: str, name: str) -> Any:
    """Look a name up; an unknown one is a :class:`UserError` that lists the registered names."""
    load_plugins()
    table = _REGISTRY.get(kind, {})
    if name in table:
        return table[name]
    known = ", ".join(sorted(table)) or "none"
    if kind == "model" and name in PLANNED:
        raise UserError(f"model '{name}' is not implemented yet (it comes with {PLANNED[name]}); registered: {known}")
    close = difflib.get_close_matches(name, list(table), n=1)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    raise UserError(f"unknown {kind} '{name}'{hint}; registered: {known}")
