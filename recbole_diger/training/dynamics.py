"""SID dynamics during joint training (DIGER paper, section 8): drift, agreement, code usage.

One row per epoch, written to ``dynamics.csv`` in the run folder, with the figures beside it:
``fig_valid_balance.png`` (validation NDCG@10 and mean code balance per epoch, paper Fig. 2),
``fig_drift.png`` (drift and train-inference agreement, Fig. 6) and ``fig_code_usage.png``
(code-usage heatmaps per level at the best checkpoint, Fig. 7).
"""
from __future__ import annotations

import csv
import logging
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..tokenizer.sid_index import SIDIndex

log = logging.getLogger("recbole_diger")
#: a level whose effective number of codes (perplexity) is below this share of K counts as collapsed
COLLAPSE_SHARE = 0.1


def level_usage(codes: np.ndarray, K: int) -> list[np.ndarray]:
    """Per level, how many items use each code: codes [N, L] -> L arrays [K]."""
    return [np.bincount(codes[:, l], minlength=K) for l in range(codes.shape[1])]


def perplexity(counts: np.ndarray) -> float:
    """exp(entropy) of a usage histogram: the effective number of codes."""
    p = counts[counts > 0] / counts.sum()
    return float(np.exp(-(p * np.log(p)).sum()))


def collapse_report(index: SIDIndex, n_unaddressable: int, K: int) -> dict | None:
    """Why this table counts as collapsed (None when it does not)."""
    L = index.codes.shape[1] - 1
    reasons = []
    for l, counts in enumerate(level_usage(index.codes[:, :L], K)):
        ppl = perplexity(counts)
        if ppl < COLLAPSE_SHARE * K:
            reasons.append(f"level {l}: {ppl:.1f} effective codes of {K}, top code holds "
                           f"{counts.max() / counts.sum():.0%} of items")
    if n_unaddressable:
        reasons.append(f"{n_unaddressable} items share their codes with more than {K} others and cannot be generated")
    return {"reasons": reasons} if reasons else None


@dataclass
class SIDDynamics:
    """Collects one row per epoch; ``initial`` [N, L] are the SIDs before joint training."""

    initial: np.ndarray
    K: int
    rows: list[dict] = field(default_factory=list)
    _previous: np.ndarray | None = None

    def record(self, epoch: int, index: SIDIndex, addressable: np.ndarray, facts: dict) -> dict:
        """One epoch's row. ``facts`` from the model: ``train_inference_agreement``, ``sigmas`` and
        ``hot_share`` (per level), ``tau``, ``phase``; whichever the scheme has."""
        codes = index.codes[:, :-1]
        previous = self.initial if self._previous is None else self._previous
        stats = index.stats()
        row = {"epoch": epoch,
               "drift_incremental": float((codes != previous).any(1).mean()),
               "drift_cumulative": float((codes != self.initial).any(1).mean()),
               "train_inference_agreement": facts.get("train_inference_agreement", float("nan")),
               "collision_rate": stats["collision_rate"],
               "unaddressable_items": int((~addressable).sum())}
        for l, lv in enumerate(stats["levels"]):
            row[f"coverage_l{l}"] = lv["coverage"]
            row[f"perplexity_l{l}"] = lv["perplexity"]
        row["code_balance"] = float(np.mean([lv["perplexity"] / self.K for lv in stats["levels"]]))
        for l, s in enumerate(facts.get("sigmas") or []):
            row[f"sigma_l{l}"] = s
        for l, h in enumerate(facts.get("hot_share") or []):
            row[f"hot_share_l{l}"] = h
        for key in ("tau", "phase"):
            if key in facts:
                row[key] = facts[key]
        row["valid_ndcg10"] = float("nan")
        self.rows.append(row)
        self._previous = codes.copy()
        log.info("SID dynamics epoch %d: drift %.4f (cumulative %.4f), agreement %.4f, collisions %.4f, "
                 "perplexity %s, sigma %s", epoch, row["drift_incremental"], row["drift_cumulative"],
                 row["train_inference_agreement"], row["collision_rate"],
                 [round(lv["perplexity"], 1) for lv in stats["levels"]],
                 [round(s, 3) for s in facts.get("sigmas") or []])
        return row

    def set_valid(self, ndcg10: float) -> None:
        if self.rows:
            self.rows[-1]["valid_ndcg10"] = float(ndcg10)

    def write(self, folder: Path, best: SIDIndex, best_addressable: np.ndarray) -> dict:
        """Write the csv and figures; return facts for run.json (collapse, final drift)."""
        folder = Path(folder)
        if self.rows:
            tmp = folder / ".dynamics.csv.tmp"
            with open(tmp, "w", newline="", encoding="utf-8") as f:
                writer = csv.DictWriter(f, fieldnames=list(self.rows[0]))
                writer.writeheader()
                writer.writerows(self.rows)
            os.replace(tmp, folder / "dynamics.csv")
            self._plot_curves(folder)
        self._plot_usage(folder / "fig_code_usage.png", best)
        collapse = collapse_report(best, int((~best_addressable).sum()), self.K)
        if collapse:
            log.warning("code usage collapsed at the best checkpoint: %s", "; ".join(collapse["reasons"]))
        last = self.rows[-1] if self.rows else {}
        return {"sid_dynamics": {"epochs": len(self.rows), "final_drift_cumulative": last.get("drift_cumulative"),
                                 "best_checkpoint_sids": best.stats()},
                "collapse": collapse}

    def _plot_curves(self, folder: Path) -> None:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        epochs = [r["epoch"] for r in self.rows]
        fig, ax = plt.subplots(figsize=(5, 3.2))
        valid = [(e, r["valid_ndcg10"]) for e, r in zip(epochs, self.rows) if not math.isnan(r["valid_ndcg10"])]
        if valid:
            ax.plot(*zip(*valid), "o-", color="tab:blue", label="valid NDCG@10")
        ax.set_xlabel("epoch")
        ax.set_ylabel("valid NDCG@10", color="tab:blue")
        ax2 = ax.twinx()
        ax2.plot(epochs, [r["code_balance"] for r in self.rows], "s--", color="tab:red")
        ax2.set_ylabel("mean code balance (perplexity / K)", color="tab:red")
        fig.tight_layout()
        fig.savefig(folder / "fig_valid_balance.png", dpi=120)
        plt.close(fig)

        fig, ax = plt.subplots(figsize=(5, 3.2))
        for key, label in (("drift_incremental", "incremental drift"), ("drift_cumulative", "cumulative drift"),
                           ("train_inference_agreement", "train-inference agreement")):
            ax.plot(epochs, [r[key] for r in self.rows], "o-", label=label)
        ax.set_xlabel("epoch")
        ax.set_ylabel("share of items")
        ax.set_ylim(0, 1.02)
        ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(folder / "fig_drift.png", dpi=120)
        plt.close(fig)

    def _plot_usage(self, path: Path, index: SIDIndex) -> None:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        usage = level_usage(index.codes[:, :-1], self.K)
        side = math.ceil(math.sqrt(self.K))
        fig, axes = plt.subplots(1, len(usage), figsize=(3.2 * len(usage), 3))
        for l, (ax, counts) in enumerate(zip(np.atleast_1d(axes), usage)):
            grid = np.zeros(side * side)
            grid[:self.K] = counts
            im = ax.imshow(grid.reshape(side, side), cmap="viridis")
            ax.set_title(f"level {l}: {perplexity(counts):.0f} eff. codes", fontsize=9)
            ax.set_xticks([])
            ax.set_yticks([])
            fig.colorbar(im, ax=ax, fraction=0.046)
        fig.tight_layout()
        fig.savefig(path, dpi=120)
        plt.close(fig)
