"""The DIGER paper's controlled comparisons, each rendered as its own table against a reference model.

Table 2 compares training schemes (two-stage TIGER, STE, DIGER with FrqUD / SDUD / both) against the
two-stage pipeline; Table 4 removes or swaps one part of DIGER and compares with DIGER. A cell holds the
value, its relative change from the reference, ▲/▼ where a paired t-test over users says the row is
significantly better / worse than the reference (p < 0.05, Holm-corrected within the study and metric),
and the paper's value in brackets where ``properties/paper_numbers.yaml`` has one.
"""
from __future__ import annotations

from dataclasses import dataclass

from tabulate import tabulate

from ..config import PROPERTIES_DIR, read_yaml
from .significance import holm, paired_test


@dataclass(frozen=True)
class Study:
    """A set of models the paper compares with one reference, under ``key`` in ``paper_numbers.yaml``."""

    key: str
    title: str
    reference: str
    models: tuple[str, ...]  # in the paper's row order, reference included


STUDIES = (
    Study("table2", "Training schemes (DIGER paper, Table 2): against two-stage TIGER", "TIGER",
          ("TIGER", "STE", "DIGER", "DIGER-SDUD", "DIGER-SDUD-FrqUD")),
    Study("table4", "Ablations (DIGER paper, Table 4): against DIGER", "DIGER",
          ("DIGER", "DIGER-noGumbel", "DIGER-hardUpdate", "DIGER-tauAnneal", "DIGER-Gaussian", "DIGER-noDecay")),
    Study("frqud_gate", "FrqUD's gate, per level (DIGER) or per item as in the authors' code: against DIGER",
          "DIGER", ("DIGER", "DIGER-FrqUD-item")),
)
ALPHA = 0.05


def paper_study_values(study: Study, dataset: str) -> dict[str, dict[str, float]]:
    """{model: {metric: value}} the paper reports on ``dataset`` for the study's models: its main table's
    (``table3``) values, overridden by the study's own table (empty when none was read)."""
    ref = read_yaml(PROPERTIES_DIR / "paper_numbers.yaml")
    found = {**((ref.get("table3") or {}).get(dataset) or {}), **((ref.get(study.key) or {}).get(dataset) or {})}
    return {m: v for m, v in found.items() if m in study.models}


def study_rows(results: dict, study: Study, paper: dict[str, dict[str, float]],
               columns: dict[str, str]) -> list[list[str]]:
    """Rows of strings for the members of ``study`` found in ``results`` ({model: ModelResult});
    ``paper`` from :func:`paper_study_values`.

    Empty when the reference or every other member is missing: a comparison needs both sides.
    """
    present = [m for m in study.models if m in results]
    if study.reference not in present or len(present) < 2:
        return []
    ref = results[study.reference]
    others = [m for m in present if m != study.reference]
    marks: dict[tuple[str, str], str] = {}
    for metric in columns:
        tests = [paired_test(results[m].per_user[metric], ref.per_user[metric]) for m in others]
        for m, t, p in zip(others, tests, holm([t.pvalue for t in tests])):
            if p < ALPHA:
                marks[(m, metric)] = "▲" if t.mean_diff > 0 else "▼"
    rows = []
    for m in present:
        row = [m, ",".join(map(str, results[m].seeds))]
        for metric in columns:
            value, base = results[m].mean(metric), ref.mean(metric)
            cell = f"{value:.4f}"
            if m != study.reference:
                cell += f" ({(value - base) / base:+.1%})" if base else ""
                cell += marks.get((m, metric), "")
            reported = paper.get(m, {}).get(metric)
            cell += f" [paper {reported:.4f}]" if reported is not None else ""
            row.append(cell)
        rows.append(row)
    return rows


def render_studies(results: dict, dataset: str, columns: dict[str, str]) -> list[str]:
    """Markdown lines: one section per study with at least the reference and one other member."""
    lines = []
    for study in STUDIES:
        paper = paper_study_values(study, dataset)
        rows = study_rows(results, study, paper, columns)
        if not rows:
            continue
        lines += [
            f"#### {study.title}",
            "",
            tabulate(rows, headers=["model", "seeds", *columns.values()], tablefmt="github", disable_numparse=True),
            "",
            f"In parentheses: change relative to {study.reference}. ▲/▼ significantly better/worse than "
            f"{study.reference} (paired t-test over users, p < {ALPHA}, Holm-corrected within this table and "
            f"metric). [paper ...]: the DIGER paper's value, where one was read"
            f"{'' if paper else ' (none for these rows)'}.",
            "",
        ]
    return lines
