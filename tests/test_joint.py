"""Joint training (STE, DIGER): the recommendation loss reaches the tokenizer, strategies and
schedules do what the paper says, the SID table follows checkpoints, runs write their dynamics."""
import json
import math

import numpy as np
import pytest
import torch

from recbole_diger.benchmark import run_store
from recbole_diger.benchmark.runner import PrepareContext
from recbole_diger.cli import main
from recbole_diger.config import build_settings, make_recbole_config
from recbole_diger.data import find_dataset, prepare_atomic
from recbole_diger.registry import get
from recbole_diger.tokenizer.schedules import HotCodes, HotItems, LearnedSigma, sdud_optimum
from recbole_diger.tokenizer.sid_index import SIDIndex
from recbole_diger.tokenizer.strategies import DRIL, DRILGaussian, NearestSTE, NoisyArgmaxSTE, squared_distances
from recbole_diger.training.dynamics import collapse_report


def build_joint(data_dir, model_name, **overrides):
    """The model and one training batch, built the way the runner builds them (smoke profile)."""
    from recbole.data import create_dataset, data_preparation
    from recbole.utils import init_seed

    from recbole_diger import compat

    compat.apply()
    spec = get("model", model_name)
    settings = build_settings(spec, "smoke", overrides)
    source = find_dataset("Tiny", data_dir)
    atomic = prepare_atomic(source)
    extra, _ = spec.prepare(PrepareContext(model_name, source, atomic, settings, 2024, "cpu"))
    settings = dict(settings, **extra, seed=2024, data_path=str(atomic.data_path), use_gpu=False, gpu_id="")
    config = make_recbole_config(spec.recbole_model, atomic.name, settings)
    init_seed(2024, True)
    dataset = create_dataset(config)
    train_data, _, _ = data_preparation(config, dataset)
    model = spec.recbole_model(config, train_data._dataset)
    batch = next(iter(train_data))
    return model, batch


ALL_PARTS = ["encoder", "codebooks", "decoder"]


def _gen_only(data_dir, name):
    model, batch = build_joint(data_dir, name, vq_loss_weight=0.0, recon_loss_weight=0.0, tokenizer_parts=ALL_PARTS)
    model.train()
    model.calculate_loss(batch).backward()
    return model, batch


def _selected_codes(model, batch, level):
    seq = batch[model.ITEM_SEQ]
    items = torch.unique(torch.cat([seq.reshape(-1), batch[model.POS_ITEM_ID]]))
    with torch.no_grad():
        z = model.tokenizer.latent(model.item_features[items])
        for cb in model.tokenizer.quantizer.codebooks[:level]:
            z = z - cb[squared_distances(z, cb).argmin(-1)]
        return set(squared_distances(z, model.tokenizer.quantizer.codebooks[level]).argmin(-1).tolist())


def test_generation_loss_reaches_encoder_and_only_selected_codes_with_ste(data_dir):
    model, batch = _gen_only(data_dir, "STE")
    enc_grad = sum(p.grad.abs().sum() for p in model.tokenizer.encoder.parameters() if p.grad is not None)
    assert enc_grad > 0
    for level, cb in enumerate(model.tokenizer.quantizer.codebooks):
        rows = set(torch.nonzero(cb.grad.abs().sum(-1) > 0).flatten().tolist())
        assert rows and rows == _selected_codes(model, batch, level), level
        assert len(rows) < cb.shape[0]


@pytest.mark.parametrize("name", ["DIGER", "DIGER-FrqUD-item"])
def test_generation_loss_reaches_every_codebook_entry_with_diger_soft_update(data_dir, name):
    model, _ = _gen_only(data_dir, name)
    enc_grad = sum(p.grad.abs().sum() for p in model.tokenizer.encoder.parameters() if p.grad is not None)
    assert enc_grad > 0
    for cb in model.tokenizer.quantizer.codebooks:
        assert bool((cb.grad.abs().sum(-1) > 0).all())


def test_default_updates_only_the_codebooks(data_dir):
    model, _ = build_joint(data_dir, "DIGER")
    trainable = {n for n, p in model.tokenizer.named_parameters() if p.requires_grad}
    assert trainable and all(n.startswith("quantizer.codebooks") for n in trainable)
    groups = model.param_groups({"learning_rate": 1e-3, "tokenizer_learning_rate": 1e-5, "sigma_learning_rate": 1e-3})
    assert {id(p) for p in groups[1]["params"]} == {id(p) for p in model.tokenizer.quantizer.parameters()}
    with pytest.raises(Exception, match="tokenizer_parts has \\['encodr'\\]"):
        build_joint(data_dir, "DIGER", tokenizer_parts=["encodr"])


def test_hard_update_ablation_reaches_only_selected_codes(data_dir):
    model, _ = _gen_only(data_dir, "DIGER-hardUpdate")
    for cb in model.tokenizer.quantizer.codebooks:
        assert 0 < int((cb.grad.abs().sum(-1) > 0).sum()) < cb.shape[0]


def test_dril_forward_is_the_chosen_code_and_noise_explores():
    torch.manual_seed(0)
    r, cb = torch.randn(500, 4), torch.randn(16, 4)
    nearest = squared_distances(r, cb).argmin(-1)
    for strategy in (DRIL(), DRILGaussian(), NoisyArgmaxSTE(), NearestSTE()):
        quiet = strategy.quantize(r, cb, tau=2.0, noise=0.0)
        assert torch.equal(quiet.ids, nearest)
        assert torch.allclose(quiet.code_vector, cb[quiet.ids]) and torch.allclose(quiet.for_grad, cb[quiet.ids])
    noisy = DRIL().quantize(r, cb, tau=2.0, noise=3.0)
    assert 0.05 < float((noisy.ids != nearest).float().mean()) < 0.95
    rows = torch.zeros(500, 1)
    rows[:250] = 3.0                                     # per-row scale: only the first half explores
    gated = DRIL().quantize(r, cb, noise=rows)
    assert torch.equal(gated.ids[250:], nearest[250:]) and not torch.equal(gated.ids[:250], nearest[:250])


def test_sdud_loss_value_and_minimiser():
    sigma = LearnedSigma(levels=1, init=1.0, lam=1.0)
    # L_gen / (2 (sigma + lambda)^2) + log(sigma + lambda) at sigma = 1, lambda = 1, L_gen = 8: 8/8 + log 2
    assert float(sigma.loss(torch.tensor(8.0))) == pytest.approx(1 + math.log(2), abs=1e-6)
    opt = torch.optim.Adam(sigma.parameters(), lr=0.05)
    for _ in range(600):
        opt.zero_grad()
        sigma.loss(torch.tensor(4.0)).backward()
        opt.step()
    assert float(sigma.sigma(0)) == pytest.approx(sdud_optimum(4.0, 1.0), abs=0.02)  # sqrt(4) - 1
    assert sdud_optimum(0.25, 1.0) == 0.0


def test_frqud_noise_only_on_hot_codes_and_ema_update():
    gate = HotCodes(levels=1, codebook_size=4, r=1.0, beta=0.5)
    gate.start(torch.tensor([[0], [0], [0], [1]]))                 # usage 0.75, 0.25, 0, 0
    assert gate.hot(0).tolist() == [True, False, False, False]      # > r / K = 0.25
    cb = torch.eye(4)
    g = gate.gate(0, cb.clone(), cb)                               # row k is nearest to code k
    assert g.flatten().tolist() == [1.0, 0.0, 0.0, 0.0]
    gate.observe(0, torch.tensor([2, 2, 2, 3]))                    # 0.5 * old + 0.5 * (0, 0, .75, .25)
    assert gate.usage[0].tolist() == pytest.approx([0.375, 0.125, 0.375, 0.125])
    assert gate.hot(0).tolist() == [True, False, True, False]


def test_item_level_frqud_lets_level_0_decide_and_counts_noise_free_codes():
    gate = HotItems(levels=2, codebook_size=4, r=1.0, beta=0.5)
    gate.start(torch.tensor([[0, 1], [0, 1], [0, 1], [1, 2]]))    # level 0: code 0 hot; level 1: code 1 hot
    cb = torch.eye(4)
    rows = cb[[0, 1]]                                              # item A nearest code 0, item B code 1
    assert gate.gate(0, rows, cb).flatten().tolist() == [1.0, 0.0]
    gate.observe(0, torch.tensor([3, 3]))                          # chosen (noisy) codes are not counted
    assert gate.usage[0].tolist() == pytest.approx([0.375 + 0.25, 0.125 + 0.25, 0.0, 0.0])
    # level 1: B's nearest code 1 is hot at level 1, but level 0 decided B gets no noise; A keeps its noise
    assert gate.gate(1, cb[[2, 1]], cb).flatten().tolist() == [1.0, 0.0]


def test_checkpoint_load_restores_its_sid_table(data_dir):
    model, batch = build_joint(data_dir, "DIGER")
    saved = {k: v.clone() for k, v in model.state_dict().items()}
    table = model.item_codes.clone()
    with torch.no_grad():
        for cb in model.tokenizer.quantizer.codebooks:
            cb.copy_(cb[torch.randperm(cb.shape[0])])
    changed = model.refresh_sids()
    assert not np.array_equal(changed.codes, table[1:].numpy())
    model.load_state_dict(saved)
    assert torch.equal(model.item_codes, table)


def test_collapse_is_reported_not_crashed():
    ids = [str(i) for i in range(300)]
    codes = np.zeros((300, 2), dtype=np.int64)                    # every item on one code
    index = SIDIndex.from_codes(ids, codes, 256, strict=False)
    report = collapse_report(index, int((index.codes[:, -1] >= 256).sum()), 256)
    assert len(report["reasons"]) == 3 and "44 items" in report["reasons"][-1]
    with pytest.raises(Exception, match="300 items share"):
        SIDIndex.from_codes(ids, codes, 256)
    spread = np.stack([np.arange(300) % 256, np.arange(300) // 256], 1)
    assert collapse_report(SIDIndex.from_codes(ids, spread, 256), 0, 256)["reasons"][0].startswith("level 1")


def test_variant_yamls_choose_strategy_and_schedule():
    chosen = {name: (s["quant_strategy"], s["noise_schedule"], s["noise_sigma"])
              for name in ("STE", "DIGER", "DIGER-SDUD", "DIGER-SDUD-FrqUD", "DIGER-noGumbel", "DIGER-hardUpdate",
                           "DIGER-tauAnneal", "DIGER-Gaussian", "DIGER-noDecay", "DIGER-FrqUD-item")
              for s in [build_settings(get("model", name), "quick", {})]}
    assert chosen["STE"] == ("ste", "constant", 0.0)
    assert chosen["DIGER"] == ("dril", "frqud", 1.0)
    assert chosen["DIGER-SDUD"][1] == "sdud" and chosen["DIGER-SDUD-FrqUD"][1] == "sdud-frqud"
    assert chosen["DIGER-noGumbel"] == ("dril", "constant", 0.0)
    assert chosen["DIGER-hardUpdate"][0] == "dril-hard" and chosen["DIGER-Gaussian"][0] == "dril-gaussian"
    assert chosen["DIGER-tauAnneal"][1] == "tau-anneal" and chosen["DIGER-noDecay"] == ("dril", "constant", 1.0)
    assert chosen["DIGER-FrqUD-item"] == ("dril", "frqud-item", 1.0)
    quick = build_settings(get("model", "DIGER"), "quick", {})
    assert quick["encoder_layers"] == 2 and quick["epochs"] == 6       # TIGER's quick caps apply to the variants


def test_joint_runs_write_dynamics_figures_and_test_time_sids(tmp_path, data_dir):
    out = tmp_path / "results"
    assert main(["--model=STE,DIGER-SDUD-FrqUD", "--dataset=Tiny", f"--data-dir={data_dir}", "--profile=smoke",
                 f"--output={out}", "--epochs=2"]) == 0
    for model in ("STE", "DIGER-SDUD-FrqUD"):
        folder = out / "Tiny" / model / "smoke" / "seed-2024"
        assert run_store.is_complete(folder)
        lines = (folder / "dynamics.csv").read_text().splitlines()
        header = lines[0].split(",")
        assert len(lines) == 3 and {"drift_incremental", "drift_cumulative", "train_inference_agreement",
                                    "collision_rate", "perplexity_l0", "coverage_l2", "sigma_l0",
                                    "valid_ndcg10"} <= set(header)
        for fig in ("fig_valid_balance.png", "fig_drift.png", "fig_code_usage.png"):
            assert (folder / fig).stat().st_size > 1000
        info = json.loads((folder / "run.json").read_text())
        assert "collapse" in info and info["sid_dynamics"]["epochs"] == 2
        sids = json.loads((folder / "sids.json").read_text())
        assert len(sids) == 40 and all(len(v) == 4 for v in sids.values())
    rows = [dict(zip(header, l.split(","))) for l in lines[1:]]
    assert float(rows[1]["sigma_l0"]) != float(rows[0]["sigma_l0"])   # SDUD's sigma is learned


def test_joint_runs_record_the_fingerprint_of_their_start_tokenizer(data_dir):
    import hashlib

    spec = get("model", "DIGER")
    settings = build_settings(spec, "smoke", {})
    source = find_dataset("Tiny", data_dir)
    extra, facts = spec.prepare(PrepareContext("DIGER", source, prepare_atomic(source), settings, 2024, "cpu"))
    digest = hashlib.sha256(open(extra["rqvae_checkpoint"], "rb").read()).hexdigest()[:16]
    assert facts["tokenizer"]["start_sha256"] == digest
