"""Paired significance tests over per-user metrics, with Holm's correction."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats


@dataclass(frozen=True)
class TestResult:
    """Outcome of a paired two-sided test of ``a`` against ``b`` on the same users."""

    mean_diff: float  # mean(a - b)
    statistic: float
    pvalue: float


def paired_test(a: np.ndarray, b: np.ndarray) -> TestResult:
    """Paired t-test (scipy.stats.ttest_rel) of per-user values ``a`` vs ``b``, both shape [n_users].

    Identical inputs give p = 1 (no evidence of a difference) rather than NaN.
    """
    a, b = np.asarray(a, float), np.asarray(b, float)
    if a.shape != b.shape:
        raise ValueError(f"paired test needs aligned users, got shapes {a.shape} and {b.shape}")
    diff = a - b
    if np.allclose(diff, diff[0]) and np.isclose(diff[0], 0.0):
        return TestResult(0.0, 0.0, 1.0)
    res = stats.ttest_rel(a, b)
    return TestResult(float(diff.mean()), float(res.statistic), float(res.pvalue))


def holm(pvalues: list[float]) -> list[float]:
    """Holm-Bonferroni adjusted p-values, in the input order.

    Sorted ascending p_(1..m) get adj_(i) = max_{j<=i} min(1, (m - j + 1) p_(j)).
    """
    m = len(pvalues)
    order = np.argsort(pvalues)
    adjusted = np.empty(m)
    running = 0.0
    for rank, idx in enumerate(order):
        running = max(running, min(1.0, (m - rank) * pvalues[idx]))
        adjusted[idx] = running
    return adjusted.tolist()
