"""The comparison table: one row per model (mean over seeds, ± std), paper values beside, significance marks.

Marks, per metric column, from paired t-tests over per-user values (averaged over seeds):
  ``*``  the best model is significantly better than the second best (p < 0.05);
  ``▲``/``▼``  the model is significantly better / worse than the strongest classic baseline
  (p < 0.05 after Holm's correction over all models compared with it).
The paper's controlled comparisons (Tables 2 and 4) follow the table; see :mod:`.studies`.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tabulate import tabulate

from ..config import PROPERTIES_DIR, read_yaml
from ..registry import find
from . import run_store
from .significance import holm, paired_test
from .studies import render_studies

COLUMNS = {"recall@5": "R@5", "recall@10": "R@10", "ndcg@5": "N@5", "ndcg@10": "N@10"}
ALPHA = 0.05
README_START, README_END = "<!-- results:start -->", "<!-- results:end -->"


@dataclass
class ModelResult:
    """All seeds of one model on one dataset and profile."""

    model: str
    family: str
    seeds: list[int]
    test: dict[str, list[float]]  # metric -> value per seed
    per_user: dict[str, np.ndarray]  # metric -> [n_users], averaged over seeds, users sorted
    users: np.ndarray
    devices: list[str]
    commits: list[str]
    extra: dict = field(default_factory=dict)

    def mean(self, metric: str) -> float:
        return float(np.mean(self.test[metric]))

    def std(self, metric: str) -> float:
        return float(np.std(self.test[metric], ddof=1)) if len(self.test[metric]) > 1 else 0.0


def _family(model: str) -> str:
    """'classic' or 'generative'; results of a model no longer registered (or filed as ``<model>+cf``)
    count as generative."""
    return getattr(find("model", model), "family", "generative")


def _with_input(family: str, info: dict) -> str:
    """The family, plus the tokenizer's input (text / cf) for models that have a tokenizer."""
    tok = info.get("tokenizer") or {}
    features = tok.get("item_features") or ("text" if tok.get("text_encoder") else None) or \
        ("released SIDs" if tok.get("kind") == "fixed" else None)
    return f"{family} ({features})" if features else family


def load_results(output: Path, dataset: str, profile: str) -> list[ModelResult]:
    """Every model with complete runs under ``output/dataset/*/profile/seed-*``."""
    results = []
    for model_dir in sorted(p for p in (Path(output) / dataset).glob("*") if p.is_dir()):
        runs = sorted(r for r in (model_dir / profile).glob("seed-*") if run_store.is_complete(r))
        if not runs:
            continue
        test = {m: [] for m in COLUMNS}
        per_user, users, devices, commits, seeds = {m: [] for m in COLUMNS}, None, [], [], []
        for run in runs:
            metrics = json.loads((run / "metrics.json").read_text())["test"]
            info = json.loads((run / "run.json").read_text())
            ranks = run_store.read_ranks(run / "topk.tsv.gz")
            if users is not None and not np.array_equal(users, ranks.users):
                raise ValueError(f"{run}: test users differ between seeds")
            users = ranks.users
            for m in COLUMNS:
                test[m].append(float(metrics[m]))
                per_user[m].append(ranks.per_user(m))
            devices.append(info.get("device", "?"))
            commits.append(info.get("git_commit", "?"))
            seeds.append(int(info.get("seed", run.name.split("-")[-1])))
        results.append(ModelResult(model_dir.name, _with_input(_family(model_dir.name), info), seeds, test,
                                   {m: np.mean(v, axis=0) for m, v in per_user.items()}, users, devices, commits))
    return results


@dataclass(frozen=True)
class Marks:
    """Per (model, metric): '*' best vs second, '▲'/'▼' vs the strongest classic."""

    marks: dict[tuple[str, str], str]
    strongest_classic: dict[str, str]

    def get(self, model: str, metric: str) -> str:
        return self.marks.get((model, metric), "")


def significance_marks(results: list[ModelResult]) -> Marks:
    marks: dict[tuple[str, str], str] = {}
    strongest: dict[str, str] = {}
    for metric in COLUMNS:
        ranked = sorted(results, key=lambda r: r.mean(metric), reverse=True)
        if len(ranked) >= 2 and paired_test(ranked[0].per_user[metric], ranked[1].per_user[metric]).pvalue < ALPHA \
                and ranked[0].mean(metric) > ranked[1].mean(metric):
            marks[(ranked[0].model, metric)] = "*"
        classics = [r for r in ranked if r.family == "classic"]
        if not classics:
            continue
        base = classics[0]
        strongest[metric] = base.model
        others = [r for r in results if r.model != base.model]
        tests = [paired_test(r.per_user[metric], base.per_user[metric]) for r in others]
        for r, t, p in zip(others, tests, holm([t.pvalue for t in tests]) if tests else []):
            if p < ALPHA:
                marks[(r.model, metric)] = marks.get((r.model, metric), "") + ("▲" if t.mean_diff > 0 else "▼")
    return Marks(marks, strongest)


def paper_values(dataset: str) -> dict[str, dict]:
    """Paper numbers for ``dataset``: {model: {metric: value, 'source': ...}}."""
    ref = read_yaml(PROPERTIES_DIR / "paper_numbers.yaml")
    out = {m: dict(v, source="DIGER Table 3") for m, v in ((ref.get("table3") or {}).get(dataset) or {}).items()}
    out.update({m: dict(v) for m, v in ((ref.get("external_anchors") or {}).get(dataset) or {}).items()})
    return out


def build_table(results: list[ModelResult], dataset: str, marks: Marks) -> list[list[str]]:
    """Rows of strings: model, family, seeds, one cell per metric (mean ± std, marks, (paper))."""
    paper = paper_values(dataset)
    rows = []
    for r in sorted(results, key=lambda r: (r.family != "classic", -r.mean("ndcg@10"))):
        row = [r.model, r.family, ",".join(map(str, r.seeds))]
        for metric in COLUMNS:
            cell = f"{r.mean(metric):.4f}"
            if len(r.seeds) > 1:
                cell += f" ± {r.std(metric):.4f}"
            cell += marks.get(r.model, metric)
            ref = paper.get(r.model, {}).get(metric)
            cell += f" ({ref:.4f})" if ref is not None else ""
            row.append(cell)
        rows.append(row)
    return rows


def render(output: Path, dataset: str, profile: str) -> str:
    """Markdown for one dataset and profile: the table, its legend, and where each number came from."""
    results = load_results(output, dataset, profile)
    if not results:
        return f"### {dataset}, profile `{profile}`\n\nno complete runs.\n"
    headers = ["model", "family", "seeds", *COLUMNS.values()]
    marks = significance_marks(results)
    devices = sorted({d for r in results for d in r.devices})
    commits = sorted({c for r in results for c in r.commits})
    strongest = ", ".join(f"{COLUMNS[m]}: {mod}" for m, mod in marks.strongest_classic.items()) or "none run yet"
    lines = [
        f"### {dataset}, profile `{profile}`",
        "",
        tabulate(build_table(results, dataset, marks), headers=headers, tablefmt="github", disable_numparse=True),
        "",
        f"Test set, leave-one-out, full ranking over all items; mean over seeds (± sample std when several). "
        f"In parentheses: the paper's value where it reports one. `*` best model significantly better than the "
        f"second best; ▲/▼ significantly better/worse than the strongest classic baseline ({strongest}); paired "
        f"t-test over users, p < {ALPHA}, Holm-corrected across models.",
        f"Device: {'; '.join(devices)}. Commit: {', '.join(commits)}. Profile settings: "
        f"`properties/profiles/{profile}.yaml`; per-run config, log and predictions under "
        f"`{Path(output).name}/{dataset}/<model>/{profile}/seed-<s>/`.",
        "",
    ]
    lines += render_studies({r.model: r for r in results}, dataset, COLUMNS)
    return "\n".join(lines)


def profiles_with_results(output: Path, dataset: str) -> list[str]:
    return sorted({p.name for p in (Path(output) / dataset).glob("*/*") if p.is_dir()})


def write_dataset_report(output: Path, dataset: str) -> Path:
    """Write ``<output>/<dataset>.md`` with a table per profile present; returns the path."""
    body = [f"# {dataset}\n", "Generated by `run_benchmark.py` from the run folders beside this file; do not edit.\n"]
    body += [render(output, dataset, p) for p in profiles_with_results(output, dataset)]
    path = Path(output) / f"{dataset}.md"
    tmp = path.with_suffix(".md.tmp")
    tmp.write_text("\n".join(body), encoding="utf-8")
    tmp.replace(path)
    return path


def update_readme(output: Path, readme: Path) -> None:
    """Replace the README block between the results markers with every dataset's tables."""
    datasets = sorted(p.name for p in Path(output).iterdir() if p.is_dir())
    block = "\n".join(render(output, d, p) for d in datasets for p in profiles_with_results(output, d))
    text = readme.read_text(encoding="utf-8")
    pattern = re.compile(re.escape(README_START) + ".*?" + re.escape(README_END), re.S)
    if not pattern.search(text):
        raise ValueError(f"{readme} has no {README_START} ... {README_END} block")
    readme.write_text(pattern.sub(lambda _: f"{README_START}\n{block}\n{README_END}", text), encoding="utf-8")
