"""End to end on a tiny dataset: every classic model runs, results meet the contract, runs are atomic."""
import gzip
import json

import pytest
import yaml

from recbole_diger.benchmark import run_store, runner
from recbole_diger.cli import main

CLASSICS = "MF,LightGCN,HGN,Caser,SASRec,SASRec-CE,BERT4Rec"


def _args(data_dir, out, model=CLASSICS, *extra):
    return [f"--model={model}", "--dataset=Tiny", f"--data-dir={data_dir}", "--profile=smoke", f"--output={out}", *extra]


def test_all_classics_write_auditable_results(tmp_path, data_dir):
    out = tmp_path / "results"
    assert main(_args(data_dir, out)) == 0
    raw = json.loads((data_dir / "Tiny" / "Tiny.inter.json").read_text())
    for model in CLASSICS.split(","):
        folder = out / "Tiny" / model / "smoke" / "seed-2024"
        assert run_store.is_complete(folder) and (folder / "run.log").stat().st_size > 0
        info = json.loads((folder / "run.json").read_text())
        assert info["seed"] == 2024 and info["model"] == model and info["git_commit"]
        assert {"train_seconds", "eval_seconds", "best_epoch", "libraries", "device", "command"} <= set(info)
        assert info["dataset_stats"]["users"] == len(raw)                   # raw counts, sequential or not
        assert info["dataset_stats"]["interactions"] == sum(len(s) for s in raw.values())
        assert yaml.safe_load((folder / "config.yaml").read_text())["seed"] == 2024
        with gzip.open(folder / "topk.tsv.gz", "rt") as f:
            rows = [line.rstrip("\n").split("\t") for line in f][1:]
        assert sorted(r[0] for r in rows) == sorted(raw)                     # every user once
        assert all(r[1] == str(raw[r[0]][-1]) for r in rows)                 # target = raw last item
        assert all(len(r[2].split()) == 20 for r in rows)
        test = json.loads((folder / "metrics.json").read_text())["test"]
        recomputed = run_store.read_ranks(folder / "topk.tsv.gz").means()
        assert test == pytest.approx(recomputed, abs=1e-6), model          # RecBole's numbers = our top-20
    assert "| BERT4Rec " in (out / "Tiny.md").read_text()


def test_existing_results_are_reused_unless_rerun(tmp_path, data_dir):
    out = tmp_path / "results"
    assert main(_args(data_dir, out, "MF")) == 0
    metrics = out / "Tiny" / "MF" / "smoke" / "seed-2024" / "metrics.json"
    stamp = metrics.stat().st_mtime_ns
    assert main(_args(data_dir, out, "MF")) == 0
    assert metrics.stat().st_mtime_ns == stamp
    assert main(_args(data_dir, out, "MF", "--rerun", "--seeds=2024,7")) == 0
    assert metrics.stat().st_mtime_ns != stamp
    assert run_store.is_complete(out / "Tiny" / "MF" / "smoke" / "seed-7")
    assert sorted(p.name for p in (out / "Tiny" / "MF" / "smoke").iterdir()) == ["seed-2024", "seed-7"]


def test_failed_run_leaves_no_folder(tmp_path, data_dir, monkeypatch):
    def crash(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(runner, "_train_and_test", crash)
    out = tmp_path / "results"
    with pytest.raises(RuntimeError):
        main(_args(data_dir, out, "MF"))
    assert list((out / "Tiny" / "MF" / "smoke").iterdir()) == []


def test_generative_runs_write_sids_and_tokenizer_facts(tmp_path, data_dir):
    (data_dir / "Tiny" / "Tiny.index.json").write_text(json.dumps(
        {str(i): [f"<a_{i % 5}>", f"<b_{i // 5}>"] for i in range(40)}))
    out = tmp_path / "results"
    assert main(_args(data_dir, out, "TIGER,TIGER-LETTER")) == 0
    raw = json.loads((data_dir / "Tiny" / "Tiny.inter.json").read_text())
    for model in ("TIGER", "TIGER-LETTER"):
        folder = out / "Tiny" / model / "smoke" / "seed-2024"
        assert run_store.is_complete(folder)
        sids = json.loads((folder / "sids.json").read_text())
        assert len(sids) == 40 and len({tuple(v) for v in sids.values()}) == 40
        info = json.loads((folder / "run.json").read_text())
        assert info["tokenizer"]["stats"]["n_items"] == 40
        test = json.loads((folder / "metrics.json").read_text())["test"]
        assert test == pytest.approx(run_store.read_ranks(folder / "topk.tsv.gz").means(), abs=1e-6)
        with gzip.open(folder / "topk.tsv.gz", "rt") as f:
            rows = [line.rstrip("\n").split("\t") for line in f][1:]
        assert len(rows) == len(raw) and all(len(set(r[2].split())) == 20 for r in rows)
    assert json.loads((out / "Tiny" / "TIGER-LETTER" / "smoke" / "seed-2024" / "run.json").read_text())[
        "tokenizer"]["kind"] == "fixed"
