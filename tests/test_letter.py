"""LETTER's tokenizer losses, checked by hand on tiny tensors, and the model end to end."""
import json
import math

import pytest
import torch

from recbole_diger.cli import main
from recbole_diger.tokenizer.letter import collaborative_loss, diversity_loss


def test_collaborative_loss_by_hand():
    eye = torch.eye(2)
    # logits [[1, 0], [0, 1]]: each row's CE is -log(e / (e + 1)) = log(1 + e^-1)
    assert float(collaborative_loss(eye, eye)) == pytest.approx(math.log(1 + math.exp(-1)), abs=1e-6)
    swapped = torch.tensor([[0.0, 1.0], [1.0, 0.0]])
    assert float(collaborative_loss(eye, swapped)) == pytest.approx(math.log(1 + math.e), abs=1e-6)


def test_diversity_loss_pulls_towards_the_other_code_of_the_cluster():
    codebook = torch.tensor([[1.0, 0.0], [1.0, 1.0], [0.0, 1.0], [-1.0, 0.0]], requires_grad=True)
    labels = torch.tensor([0, 0, 1, 1])
    ids = torch.tensor([0])
    # logits c0 . c_k = [1, 1, 0, -1], own code masked; the only same-cluster code is 1:
    # CE = -log(e^1 / (e^1 + e^0 + e^-1)) = log(1 + e^-1 + e^-2)
    loss = diversity_loss(codebook[ids], ids, codebook, labels)
    assert float(loss) == pytest.approx(math.log(1 + math.exp(-1) + math.exp(-2)), abs=1e-6)
    loss.backward()
    assert codebook.grad[3].abs().sum() > 0                     # pushed away from the other cluster
    singleton = torch.tensor([0, 1, 1, 1])                      # code 0 alone in its cluster: nothing to pull to
    assert float(diversity_loss(codebook[ids], ids, codebook, singleton)) == 0.0


def test_letter_runs_two_stage_with_its_own_tokenizer(tmp_path, data_dir, isolated_cache):
    out = tmp_path / "results"
    common = ["--dataset=Tiny", f"--data-dir={data_dir}", "--profile=smoke", f"--output={out}"]
    assert main(["--model=TIGER,LETTER", *common]) == 0
    info = json.loads((out / "Tiny" / "LETTER" / "smoke" / "seed-2024" / "run.json").read_text())
    assert "LETTER" in info["tokenizer"]["kind"] and info["tokenizer"]["stats"]["n_items"] == 40
    assert len(list((isolated_cache / "tokenizers").iterdir())) == 2      # not TIGER's cached tokenizer
    assert main(["--model=LETTER", "--cf_hidden_size=16", *common, "--rerun"]) == 2   # 16 != latent size 8
