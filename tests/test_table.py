import json
import math

import numpy as np
import pytest

from recbole_diger.benchmark import run_store
from recbole_diger.benchmark.significance import holm, paired_test
from recbole_diger.benchmark.table import load_results, render, significance_marks, update_readme


def test_paired_t_by_hand():
    # diff = [1, 0, 0, 1]: mean 0.5, sd sqrt(1/3), se sqrt(1/3)/2 -> t = sqrt(3), df = 3
    res = paired_test([1, 0, 1, 1], [0, 0, 1, 0])
    assert res.mean_diff == pytest.approx(0.5)
    assert res.statistic == pytest.approx(math.sqrt(3))
    assert res.pvalue == pytest.approx(0.18169, abs=1e-4)
    assert paired_test([1, 0, 1], [1, 0, 1]).pvalue == 1.0


def test_holm_by_hand():
    # sorted: .01*3 = .03; .03*2 = .06; .04*1 = .04 -> monotone .06
    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert holm([0.5]) == [0.5]


def test_per_user_metrics_from_ranks():
    ranks = run_store.UserRanks(np.array(["a", "b", "c", "d"]), np.array([1, 3, 7, 0]))
    assert ranks.per_user("recall@5").tolist() == [1, 1, 0, 0]
    assert ranks.per_user("ndcg@5").tolist() == pytest.approx([1.0, 0.5, 0.0, 0.0])
    assert ranks.per_user("ndcg@10")[2] == pytest.approx(1 / math.log2(8))
    assert ranks.means()["recall@10"] == 0.75


def _fake_run(root, model, seed, ranks):
    folder = run_store.run_dir(root, "toy", model, "quick", seed)
    folder.mkdir(parents=True)
    rows = []
    for u, r in enumerate(ranks):
        ranked = [f"x{j}" for j in range(20)]
        if r:
            ranked[r - 1] = "t"
        rows.append((f"u{u:03d}", "t", ranked))
    run_store.write_topk(folder / "topk.tsv.gz", rows)
    means = run_store.read_ranks(folder / "topk.tsv.gz").means()
    run_store.write_json(folder / "metrics.json", {"valid": means, "test": means})
    run_store.write_json(folder / "run.json", {"seed": seed, "device": "cpu: test", "git_commit": "abc"})
    (folder / "config.yaml").write_text("{}\n")


def test_table_means_std_marks_and_paper_column(tmp_path):
    n = 200
    _fake_run(tmp_path, "MyGen", 1, [1] * n)                      # always first
    _fake_run(tmp_path, "MyGen", 2, [1] * (n // 2) + [2] * (n // 2))
    _fake_run(tmp_path, "SASRec-CE", 1, [1] * (n // 2) + [0] * (n // 2))
    _fake_run(tmp_path, "MF", 1, [1] * (n // 10) + [0] * (n - n // 10))
    results = {r.model: r for r in load_results(tmp_path, "toy", "quick")}
    assert results["MyGen"].family == "generative" and results["MF"].family == "classic"
    assert results["MyGen"].test["recall@5"] == [1.0, 1.0]
    # ndcg@5 per seed: 1.0 and (0.5 * 1 + 0.5 / log2(3)); std with ddof=1 over the two seeds
    second = 0.5 + 0.5 / math.log2(3)
    assert results["MyGen"].mean("ndcg@5") == pytest.approx((1 + second) / 2)
    assert results["MyGen"].std("ndcg@5") == pytest.approx(abs(1 - second) / math.sqrt(2))
    marks = significance_marks(list(results.values()))
    assert marks.strongest_classic["ndcg@10"] == "SASRec-CE"
    assert marks.get("MyGen", "ndcg@10") == "*▲"
    assert marks.get("MF", "ndcg@10") == "▼"
    assert marks.get("SASRec-CE", "ndcg@10") == ""
    text = render(tmp_path, "toy", "quick")
    assert "| MyGen " in text and "1.0000 ± 0.0000*▲" in text
    assert "Device: cpu: test. Commit: abc." in text


def test_readme_block_is_regenerated(tmp_path):
    _fake_run(tmp_path / "results", "MF", 1, [1, 0, 0, 0])
    readme = tmp_path / "README.md"
    readme.write_text("intro\n<!-- results:start -->\nold\n<!-- results:end -->\nrest\n")
    update_readme(tmp_path / "results", readme)
    text = readme.read_text()
    assert "old" not in text and "| MF " in text and text.startswith("intro") and text.endswith("rest\n")


def test_ablation_study_is_compared_with_diger(tmp_path, monkeypatch):
    from recbole_diger.benchmark import studies

    n = 200
    _fake_run(tmp_path, "DIGER", 1, [1] * (n // 2) + [0] * (n // 2))
    _fake_run(tmp_path, "DIGER-noGumbel", 1, [0] * n)                                  # always misses
    _fake_run(tmp_path, "DIGER-Gaussian", 1, [1] * (n // 2 - 1) + [0] * (n // 2 + 1))  # one user fewer
    _fake_run(tmp_path, "STE", 1, [1] * n)          # Table 2 member, but its reference TIGER is missing
    monkeypatch.setattr(studies, "paper_study_values",
                        lambda study, dataset: {"DIGER": {"ndcg@10": 0.05}} if study.key == "table4" else {})
    text = render(tmp_path, "toy", "quick")
    assert "#### Ablations" in text and "Training schemes" not in text
    rows = {line.split("|")[1].strip(): line for line in text.splitlines() if line.startswith("| DIGER")}
    assert "0.0000 (-100.0%)▼" in rows["DIGER-noGumbel"]
    assert "0.4950 (-1.0%) " in rows["DIGER-Gaussian"] and "▼" not in rows["DIGER-Gaussian"]
    assert "0.5000 " in rows["DIGER"] and "[paper 0.0500]" in rows["DIGER"] and "%" not in rows["DIGER"]
