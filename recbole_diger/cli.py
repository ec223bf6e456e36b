"""``run_benchmark.py``: run models on a dataset, file results, print the comparison table."""
from __future__ import annotations

import argparse
import logging
import shlex
import signal
import sys
from pathlib import Path

from tqdm import tqdm

from .config import parse_overrides, profiles
from .data import find_dataset, prepare_atomic, resolve_data_dir
from .errors import UserError
from .config import build_settings
from .registry import get, names

log = logging.getLogger("recbole_diger")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="run_benchmark.py",
        description="Run models through RecBole on one dataset and print the comparison table. "
        "Any other --key=value is a RecBole config override (checked against the known keys).")
    p.add_argument("--model", required=True, help="a model name, a comma-separated list, or 'all'")
    p.add_argument("--dataset", required=True, help="amazon-beauty, amazon-instruments, yelp, or a folder name")
    p.add_argument("--profile", default="quick", help="quick (default), paper or smoke: properties/profiles/*.yaml")
    p.add_argument("--seeds", default="2024", help="comma-separated seeds, e.g. 2024,2025,2026")
    p.add_argument("--data-dir", default=None, help="data directory (default $RECBOLE_DIGER_DATA or ../shared/data)")
    p.add_argument("--output", default="results", help="results directory (default results/)")
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    p.add_argument("--rerun", action="store_true", help="recompute runs that already have results")
    p.add_argument("--table-only", action="store_true", help="only rebuild and print the table")
    p.add_argument("--item-features", choices=["auto", "text", "cf"], default=None,
                   help="tokenizer input: text embeddings, cf (SASRec item embeddings, training split), or auto")
    return p


def _seeds(text: str) -> list[int]:
    try:
        return [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        raise UserError(f"--seeds must be comma-separated integers, got '{text}'") from None


def _terminate(signum, frame):
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    signal.signal(signal.SIGTERM, _terminate)  # a killed run cleans up its half-written results folder
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    try:
        return _main(argv)
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        return e.exit_code


def _main(argv: list[str]) -> int:
    from .benchmark.runner import RunRequest, run
    from .benchmark.table import render, write_dataset_report

    args, rest = parser().parse_known_args(argv)
    overrides = parse_overrides(rest)
    if args.item_features:
        overrides["item_features"] = args.item_features
    if args.profile not in profiles():
        raise UserError(f"unknown profile '{args.profile}'; available: {', '.join(profiles())}")
    if args.device == "cuda":
        import torch

        if not torch.cuda.is_available():
            raise UserError("--device cuda but no CUDA device is visible; use --device cpu")
    data_dir = resolve_data_dir(args.data_dir)
    source = find_dataset(args.dataset, data_dir)
    output = Path(args.output)
    requested = names("model") if args.model == "all" else [m.strip() for m in args.model.split(",") if m.strip()]
    errors, models = [], []
    for name in requested:
        try:
            build_settings(get("model", name), args.profile, overrides)  # fail on a typo before any work
            models.append(name)
        except UserError as e:
            errors.append(str(e))

    if models and not args.table_only:
        atomic = prepare_atomic(source)
        log.info("dataset %s: %d users, %d items, %d interactions (atomic files in %s)", args.dataset,
                 atomic.n_users, atomic.n_items, atomic.n_interactions, atomic.folder)
        cells = [(m, s) for m in models for s in _seeds(args.seeds)]
        command = "python run_benchmark.py " + " ".join(shlex.quote(a) for a in argv)
        for model, seed in tqdm(cells, desc="runs", unit="run", disable=len(cells) < 2):
            run(RunRequest(model=model, dataset=args.dataset, profile=args.profile, seed=seed,
                           data_dir=data_dir, output=output, device=args.device, rerun=args.rerun,
                           overrides=overrides, command=command))
    if output.is_dir() and (output / args.dataset).is_dir():
        report = write_dataset_report(output, args.dataset)
        print(render(output, args.dataset, args.profile))
        log.info("table written to %s", report)
    for e in errors:
        print(f"error: {e}", file=sys.stderr)
    return 2 if errors else 0
