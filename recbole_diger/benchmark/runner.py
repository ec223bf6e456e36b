"""Run one (model, dataset, profile, seed) through RecBole and file its results.

RecBole's own split, trainer and evaluator do the work; the runner adds what a benchmark
needs around them: the config cascade, a per-run log, the per-user top-20 (read from the
very scores RecBole's evaluator ranks), timing, provenance and an atomic results folder.
"""
from __future__ import annotations

import datetime as dt
import logging
import platform
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import torch
import yaml

from .. import compat
from ..config import build_settings, make_recbole_config
from ..data import DatasetSource, find_dataset, prepare_atomic
from ..data.convert import AtomicDataset, cache_dir
from ..errors import UserError
from ..registry import ModelSpec, get
from . import run_store

TOPK_SAVED = 20
LIBRARIES = ("recbole", "torch", "numpy", "scipy", "pandas", "transformers", "sentence-transformers")
log = logging.getLogger("recbole_diger")


@dataclass
class RunRequest:
    """What to run. ``overrides`` are RecBole settings from the command line."""

    model: str
    dataset: str
    profile: str
    seed: int
    data_dir: Path
    output: Path
    device: str = "cpu"
    rerun: bool = False
    overrides: dict[str, Any] = field(default_factory=dict)
    command: str = ""


@dataclass
class PrepareContext:
    """What a model's ``prepare`` stage (e.g. tokenizer training) gets to work with."""

    model: str
    source: DatasetSource
    atomic: AtomicDataset
    settings: dict[str, Any]
    seed: int
    device: str


def git_commit() -> str:
    root = Path(__file__).resolve().parents[2]
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                               capture_output=True, text=True, check=True).stdout.strip()
        return sha + ("-dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def library_versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for lib in LIBRARIES:
        try:
            out[lib] = version(lib)
        except PackageNotFoundError:
            out[lib] = "not installed"
    return out


def device_description(device: str) -> str:
    if device == "cuda":
        return f"cuda: {torch.cuda.get_device_name(0)}"
    return f"cpu: {platform.processor() or platform.machine()}, {torch.get_num_threads()} threads"


class _NullWriter:
    """Stands in for RecBole's TensorBoard writer: the run's log and json files are the record."""

    def __getattr__(self, name):
        return lambda *args, **kwargs: None


class TopKRecorder:
    """Wraps ``trainer._full_sort_batch_eval`` to keep each row's top-k from the scores RecBole ranks."""

    def __init__(self, trainer, k: int):
        self.k = k
        self.rows: list[tuple[int, int, list[int]]] = []  # (user id, target id, ranked ids), internal ids
        self._inner = trainer._full_sort_batch_eval
        self._uid_field = trainer.config["USER_ID_FIELD"]
        trainer._full_sort_batch_eval = self

    def __call__(self, batched_data):
        interaction, scores, positive_u, positive_i = self._inner(batched_data)
        ranked = torch.topk(scores, self.k, dim=-1).indices.cpu().tolist()
        users = interaction[self._uid_field].cpu().tolist()
        for row, item in zip(positive_u.cpu().tolist(), positive_i.cpu().tolist()):
            self.rows.append((users[row], item, ranked[row]))
        return interaction, scores, positive_u, positive_i


def _yaml_safe(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _yaml_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_yaml_safe(v) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def _metrics(result: dict) -> dict[str, float]:
    return {k: float(result[k]) for k in run_store.METRIC_KEYS}


def _attach_log(folder: Path) -> logging.Handler:
    from recbole.utils.logger import RemoveColorFilter

    handler = logging.FileHandler(folder / "run.log", encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    handler.addFilter(RemoveColorFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    if root.getEffectiveLevel() > logging.INFO:  # the run log records RecBole's INFO lines whatever the console shows
        root.setLevel(logging.INFO)
    return handler


def _train_and_test(spec: ModelSpec, atomic: AtomicDataset, settings: dict, req: RunRequest, staging: Path) -> dict:
    """Fit with early stopping on validation, evaluate the best checkpoint on test. Returns run facts."""
    from recbole.data import create_dataset, data_preparation
    from recbole.trainer import trainer as trainer_module
    from recbole.utils import get_model, get_trainer, init_seed

    checkpoints = Path(cache_dir()) / "checkpoints" / staging.name
    settings = dict(settings, seed=req.seed, reproducibility=True, data_path=str(atomic.data_path),
                    checkpoint_dir=str(checkpoints), gpu_id="0" if req.device == "cuda" else "",
                    use_gpu=req.device == "cuda")
    config = make_recbole_config(spec.recbole_model, atomic.name, settings)
    init_seed(config["seed"], config["reproducibility"])
    dataset = create_dataset(config)
    log.info("%s", dataset)
    train_data, valid_data, test_data = data_preparation(config, dataset)
    model_class = get_model(spec.recbole_model) if isinstance(spec.recbole_model, str) else spec.recbole_model
    init_seed(config["seed"] + config["local_rank"], config["reproducibility"])
    model = model_class(config, train_data._dataset).to(config["device"])
    trainer_module.get_tensorboard = lambda logger: _NullWriter()
    trainer = (spec.trainer or get_trainer(config["MODEL_TYPE"], config["model"]))(config, model)

    best = {"epoch": None}
    save = trainer._save_checkpoint

    def save_and_note(epoch, *args, **kwargs):
        best["epoch"] = epoch
        return save(epoch, *args, **kwargs)

    trainer._save_checkpoint = save_and_note
    try:
        t0 = time.time()
        _, valid_result = trainer.fit(train_data, valid_data, saved=True, show_progress=config["show_progress"])
        train_seconds = time.time() - t0
        recorder = TopKRecorder(trainer, TOPK_SAVED)
        t0 = time.time()
        test_result = trainer.evaluate(test_data, load_best_model=True, show_progress=config["show_progress"])
        eval_seconds = time.time() - t0
        artifacts = trainer.write_artifacts(staging) if hasattr(trainer, "write_artifacts") else {}
    finally:
        shutil.rmtree(checkpoints, ignore_errors=True)

    tok = dataset.id2token
    uid, iid = config["USER_ID_FIELD"], config["ITEM_ID_FIELD"]
    rows = sorted((str(tok(uid, u)), str(tok(iid, t)), [str(x) for x in tok(iid, r)])
                  for u, t, r in recorder.rows)
    run_store.write_topk(staging / "topk.tsv.gz", rows)
    with open(staging / "config.yaml", "w", encoding="utf-8") as f:
        yaml.safe_dump(_yaml_safe(dict(config.final_config_dict)), f, sort_keys=True)
    test = _metrics(test_result)
    recomputed = run_store.read_ranks(staging / "topk.tsv.gz").means()
    drift = max(abs(test[k] - recomputed[k]) for k in test)
    if drift > 1e-4:
        log.warning("RecBole's test metrics and the saved top-%d differ by %.2g (score ties?)", TOPK_SAVED, drift)
    return dict(valid=_metrics(valid_result), test=test, best_epoch=best["epoch"], train_seconds=train_seconds,
                eval_seconds=eval_seconds, n_test_users=len(rows), topk_vs_recbole_max_abs_diff=drift,
                # interactions as converted; RecBole's rows are one fewer per user for sequential models
                # (every interaction after a user's first becomes one next-item example)
                dataset_stats=dict(users=dataset.user_num - 1, items=dataset.item_num - 1,
                                   interactions=atomic.n_interactions, recbole_rows=dataset.inter_num),
                **artifacts)


def run(req: RunRequest) -> Path:
    """Run (or reuse) one benchmark cell; returns its results folder."""
    compat.apply()
    spec: ModelSpec = get("model", req.model)
    # an explicit --item-features cf is its own table row, so it never overwrites (or reuses) the text run
    label = req.model + ("+cf" if req.overrides.get("item_features") == "cf" else "")
    final = run_store.run_dir(req.output, req.dataset, label, req.profile, req.seed)
    if run_store.is_complete(final) and not req.rerun:
        log.info("reusing %s (pass --rerun to recompute)", final)
        return final
    settings = build_settings(spec, req.profile, req.overrides)
    source = find_dataset(req.dataset, req.data_dir)
    atomic = prepare_atomic(source)
    staging = run_store.staging_dir(final)
    handler = _attach_log(staging)
    started = dt.datetime.now(dt.timezone.utc)
    commit = git_commit()  # the code that runs is the code checked out now, not at the end
    try:
        log.info("run %s on %s, profile %s, seed %d, device %s -> %s", req.model, req.dataset, req.profile,
                 req.seed, req.device, final)
        prep_facts: dict = {}
        if spec.prepare is not None:
            extra, prep_facts = spec.prepare(PrepareContext(req.model, source, atomic, settings, req.seed, req.device))
            settings = dict(settings, **extra)
        if settings.get("sid_file"):
            shutil.copyfile(settings["sid_file"], staging / "sids.json")
        facts = dict(_train_and_test(spec, atomic, settings, req, staging), **prep_facts)
        ended = dt.datetime.now(dt.timezone.utc)
        run_store.write_json(staging / "metrics.json", {"valid": facts.pop("valid"), "test": facts.pop("test")})
        run_store.write_json(staging / "run.json", dict(
            command=req.command or " ".join(sys.argv), model=req.model, recbole_model=str(getattr(
                spec.recbole_model, "__name__", spec.recbole_model)), dataset=req.dataset, profile=req.profile,
            seed=req.seed, device=device_description(req.device), git_commit=commit,
            libraries=library_versions(), started=started.isoformat(), ended=ended.isoformat(),
            overrides=req.overrides, **facts))
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    finally:
        logging.getLogger().removeHandler(handler)
        handler.close()
    run_store.publish(staging, final)
    log.info("results written to %s", final)
    return final
