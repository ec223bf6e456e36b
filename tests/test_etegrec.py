"""ETEGRec: its two alignment losses by hand, the alternation (who trains when), and a run end to end."""
import json
import math

import pytest
import torch

from recbole_diger.cli import main
from recbole_diger.model.etegrec import symmetric_info_nce, symmetric_kl
from test_joint import build_joint


def test_symmetric_kl_by_hand():
    p = torch.log(torch.tensor([[0.5, 0.5]]))
    q = torch.log(torch.tensor([[0.9, 0.1]]))
    kl_pq = 0.5 * math.log(0.5 / 0.9) + 0.5 * math.log(0.5 / 0.1)
    kl_qp = 0.9 * math.log(0.9 / 0.5) + 0.1 * math.log(0.1 / 0.5)
    assert float(symmetric_kl(p, q)) == pytest.approx(kl_pq + kl_qp, abs=1e-6)
    assert float(symmetric_kl(p, p)) == pytest.approx(0.0, abs=1e-7)


def test_symmetric_info_nce_by_hand():
    eye = torch.eye(2)
    # cosine logits / 1 = [[1, 0], [0, 1]]: each row and each column costs log(1 + e^-1)
    assert float(symmetric_info_nce(eye, eye, 1.0)) == pytest.approx(2 * math.log(1 + math.exp(-1)), abs=1e-6)
    assert float(symmetric_info_nce(eye, 3 * eye, 0.5)) == pytest.approx(2 * math.log(1 + math.exp(-2)), abs=1e-6)


def test_phases_alternate_and_freeze_the_other_side(data_dir):
    model, batch = build_joint(data_dir, "ETEGRec", etegrec_alternate_epochs=4)
    assert [model.phase_of(e) for e in range(6)] == ["tokenizer", "recommender"] * 2 + ["recommender"] * 2
    model.train()
    for epoch, trains_tokenizer in ((0, True), (1, False)):
        model.zero_grad(set_to_none=True)
        model.start_epoch(epoch)
        model.calculate_loss(batch).backward()
        tok = [p.grad for p in model.tokenizer.parameters()]
        rec = [p.grad for n, p in model.named_parameters() if not n.startswith("tokenizer.")]
        assert all(g is not None for g in tok) == trains_tokenizer
        assert all(g is None for g in tok) == (not trains_tokenizer)
        assert all(g is None for g in rec) == trains_tokenizer


def test_etegrec_run_records_its_phases(tmp_path, data_dir):
    out = tmp_path / "results"
    assert main(["--model=ETEGRec", "--dataset=Tiny", f"--data-dir={data_dir}", "--profile=smoke",
                 f"--output={out}", "--epochs=3"]) == 0
    folder = out / "Tiny" / "ETEGRec" / "smoke" / "seed-2024"
    rows = (folder / "dynamics.csv").read_text().splitlines()
    phase = rows[0].split(",").index("phase")
    assert [r.split(",")[phase] for r in rows[1:]] == ["tokenizer", "recommender", "recommender"]
    assert json.loads((folder / "run.json").read_text())["sid_dynamics"]["epochs"] == 3
