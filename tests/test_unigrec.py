"""UniGRec: its uniformity regulariser and soft assignments by hand, annealing, and a run end to end."""
import json
import math

import pytest
import torch

from recbole_diger.cli import main
from recbole_diger.model.unigrec import soft_assignments, uniformity_loss
from test_joint import build_joint


def test_uniformity_loss_by_hand():
    even = torch.full((4, 4), 0.25)
    assert float(uniformity_loss(even)) == pytest.approx(-math.log(4), abs=1e-6)   # the minimum: -log K
    one_code = torch.tensor([[1.0, 0, 0, 0]] * 4)
    assert float(uniformity_loss(one_code)) == pytest.approx(0.0, abs=1e-6)        # collapse costs most


def test_soft_assignments_anneal_to_the_hard_codes():
    torch.manual_seed(0)
    codebooks = [torch.randn(8, 3), torch.randn(8, 3) * 0.3]
    z = torch.randn(50, 3)
    hot = soft_assignments(codebooks, z, tau=100.0)
    cold = soft_assignments(codebooks, z, tau=1e-4)
    nearest = torch.cdist(z, codebooks[0]).argmin(1)
    assert hot[0].max() < 0.5 and torch.equal(cold[0].argmax(1), nearest) and cold[0].max(1).values.min() > 0.99
    d = torch.cdist(z[:1], codebooks[0]) ** 2      # level 0 by hand at tau 2
    assert torch.allclose(soft_assignments(codebooks, z[:1], 2.0)[0], torch.softmax(-d / 2.0, dim=-1), atol=1e-5)


def test_soft_identifiers_reach_every_code_and_the_encoder(data_dir):
    model, batch = build_joint(data_dir, "UniGRec", unigrec_recon_weight=0.0, unigrec_uniformity_weight=0.0)
    model.train()
    model.start_epoch(0)                                       # joint phase, before distillation
    model.calculate_loss(batch).backward()
    assert sum(p.grad.abs().sum() for p in model.tokenizer.encoder.parameters()) > 0
    assert all(bool((cb.grad.abs().sum(-1) > 0).all()) for cb in model.tokenizer.quantizer.codebooks)
    tau = model.tau
    assert model.end_epoch()["tau"] == tau and model.tau == pytest.approx(tau * 0.5)
    model.start_epoch(5)
    assert model.phase == "finetune" and not any(p.requires_grad for p in model.tokenizer.parameters())


def test_unigrec_runs_with_its_teacher(tmp_path, data_dir):
    out = tmp_path / "results"
    assert main(["--model=UniGRec", "--dataset=Tiny", f"--data-dir={data_dir}", "--profile=smoke",
                 f"--output={out}", "--epochs=3"]) == 0
    folder = out / "Tiny" / "UniGRec" / "smoke" / "seed-2024"
    info = json.loads((folder / "run.json").read_text())
    assert "SASRec" in info["teacher"]
    rows = (folder / "dynamics.csv").read_text().splitlines()
    phase = rows[0].split(",").index("phase")
    assert [r.split(",")[phase] for r in rows[1:]] == ["joint", "joint", "finetune"]
