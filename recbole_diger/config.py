"""Configuration cascade and key checking.

Settings are merged, later wins::

    properties/overall.yaml          protocol shared by every model (split, metrics, history length)
    <model yaml>                     e.g. baselines/SASRec.yaml: the model's hyper-parameters
    properties/profiles/<p>.yaml     ``settings`` for every model, then ``models.<name>`` for one
    command-line overrides           ``--key=value``
    runner                           seed, device, data and checkpoint paths

Every key must be one RecBole or this library knows; a typo is an error naming the closest key.
"""
from __future__ import annotations

import contextlib
import difflib
import sys
from pathlib import Path
from typing import Any, Iterator

import yaml

from .errors import UserError

PROJECT_ROOT = Path(__file__).resolve().parents[1]
PROPERTIES_DIR = PROJECT_ROOT / "properties"
BASELINES_DIR = PROJECT_ROOT / "baselines"
PROFILES_DIR = PROPERTIES_DIR / "profiles"
#: keys RecBole sets or reads without listing them in its yaml files
RECBOLE_IMPLICIT_KEYS = {"model", "dataset", "device", "nproc", "offset", "local_rank", "world_size",
                         "ip", "port", "single_spec", "config_files"}
#: keys set by the runner; users choose them through runner options, not overrides
RUNNER_KEYS = {"seed", "data_path", "checkpoint_dir", "gpu_id", "use_gpu"}


def read_yaml(path: Path) -> dict[str, Any]:
    """Read a yaml mapping; a syntax error names the file."""
    try:
        with open(path, encoding="utf-8") as f:
            data = yaml.safe_load(f) or {}
    except yaml.YAMLError as e:
        raise UserError(f"malformed yaml in {path}: {str(e).splitlines()[0]}; fix the file") from None
    if not isinstance(data, dict):
        raise UserError(f"{path} must hold a yaml mapping of key: value; fix the file")
    return data


def profiles() -> list[str]:
    return sorted(p.stem for p in PROFILES_DIR.glob("*.yaml"))


def load_profile(name: str) -> dict[str, Any]:
    path = PROFILES_DIR / f"{name}.yaml"
    if not path.is_file():
        raise UserError(f"unknown profile '{name}'; available: {', '.join(profiles())}")
    profile = read_yaml(path)
    unknown = set(profile) - {"description", "settings", "models"}
    if unknown:
        raise UserError(f"{path}: unknown section(s) {sorted(unknown)}; use description, settings, models")
    return profile


def _recbole_properties() -> Path:
    import recbole

    return Path(recbole.__file__).parent / "properties"


def known_keys(recbole_model: Any) -> set[str]:
    """Every config key that RecBole (generic, dataset, and this model's own yaml) or this library defines."""
    props = _recbole_properties()
    files = [props / "overall.yaml", props / "dataset" / "sample.yaml",
             *sorted((props / "quick_start_config").glob("*.yaml")), PROPERTIES_DIR / "overall.yaml"]
    classes = recbole_model.__mro__ if isinstance(recbole_model, type) else ()
    model_names = [recbole_model] if isinstance(recbole_model, str) else [c.__name__ for c in classes]
    files += [props / "model" / f"{n}.yaml" for n in model_names]
    keys = set(RECBOLE_IMPLICIT_KEYS) | RUNNER_KEYS
    for f in files:
        if f.is_file():
            keys |= set(read_yaml(f))
    return keys


def check_keys(settings: dict[str, Any], valid: set[str], origin: str) -> None:
    """Fail on the first key not in ``valid``, naming the closest valid key."""
    for key in settings:
        if key not in valid:
            close = difflib.get_close_matches(key, sorted(valid), n=1, cutoff=0.6)
            hint = f"did you mean '{close[0]}'?" if close else "see properties/overall.yaml and the model's yaml"
            raise UserError(f"unknown config key '{key}' in {origin}; {hint}")


def parse_overrides(args: list[str]) -> dict[str, Any]:
    """``["--epochs=5", "--learning_rate", "0.01"]`` -> ``{"epochs": 5, "learning_rate": 0.01}`` (yaml values)."""
    overrides: dict[str, Any] = {}
    i = 0
    while i < len(args):
        arg = args[i]
        if not arg.startswith("--"):
            raise UserError(f"unexpected argument '{arg}'; config overrides look like --key=value")
        key, sep, value = arg[2:].partition("=")
        if not sep:
            if i + 1 >= len(args) or args[i + 1].startswith("--"):
                raise UserError(f"override --{key} has no value; write --{key}=VALUE")
            value = args[i + 1]
            i += 1
        try:
            overrides[key] = yaml.safe_load(value)
        except yaml.YAMLError:
            overrides[key] = value
        i += 1
    return overrides


def build_settings(spec, profile_name: str, overrides: dict[str, Any]) -> dict[str, Any]:
    """Merge the cascade for one model and check every key. Returns RecBole settings (no runner keys)."""
    valid = known_keys(spec.recbole_model)
    settings: dict[str, Any] = {}
    layers = [(PROPERTIES_DIR / "overall.yaml", read_yaml(PROPERTIES_DIR / "overall.yaml"))]
    for path in spec.config_files:
        layers.append((path, read_yaml(path)))
        valid |= set(layers[-1][1])
    profile = load_profile(profile_name)
    layers.append((f"profile '{profile_name}' settings", profile.get("settings") or {}))
    for section in (*spec.profile_sections, spec.name):
        layers.append((f"profile '{profile_name}' models.{section}", (profile.get("models") or {}).get(section) or {}))
    layers.append(("the command line", overrides))
    for origin, layer in layers:
        check_keys(layer, valid, str(origin))
        settings.update(layer)
    for key in RUNNER_KEYS & set(overrides):
        raise UserError(f"'{key}' is set by the runner; use --seeds / --device / --data-dir instead of --{key}")
    return settings


@contextlib.contextmanager
def _argv_hidden() -> Iterator[None]:
    """RecBole's Config parses ``sys.argv``; hide the benchmark's own options from it."""
    saved = sys.argv
    sys.argv = saved[:1]
    try:
        yield
    finally:
        sys.argv = saved


def make_recbole_config(recbole_model: Any, dataset: str, settings: dict[str, Any]):
    """Build a RecBole ``Config`` from fully merged settings (command line ignored)."""
    from recbole.config import Config

    with _argv_hidden():
        return Config(model=recbole_model, dataset=dataset, config_dict=dict(settings))
