"""Training speed: the project's SID recommender step vs a plain transformers T5 step, same model and data.

Plain path: ``T5ForConditionalGeneration(input_ids, labels)`` with every history padded to 20
items, full-vocabulary LM head, fp32. Ours: ``SIDRecommender.calculate_loss`` (dynamic padding,
per-level logits) under bf16 autocast when the CPU supports it. Both: AdamW, the same RecBole
training batches (batch 256), after 2 warm-up steps.

    python benchmarks/train.py [--steps 10] [--layers 6]
"""
from __future__ import annotations

import argparse
import itertools
import time

import torch
from _setup import PAD, hf_twin, load, padded_history_tokens, peak_rss_gb


def timed_steps(step, batches) -> float:
    for b in batches[:2]:
        step(b)
    t0, n = time.time(), 0
    for b in batches[2:]:
        step(b)
        n += len(b)
    return n / (time.time() - t0)


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--layers", type=int, default=6)
    p.add_argument("--batch", type=int, default=256)
    args = p.parse_args()
    model, config, train, test = load(layers=args.layers, train_batch_size=args.batch)
    batches = list(itertools.islice(iter(train), args.steps + 2))
    model.train()

    hf = hf_twin(model).train()
    hf_opt = torch.optim.AdamW(hf.parameters(), lr=1e-3)

    def hf_step(b):
        tokens, mask = padded_history_tokens(model, b["item_id_list"])
        labels = model.item_tokens(b["item_id"])
        loss = hf(input_ids=tokens, attention_mask=mask, labels=labels).loss
        hf_opt.zero_grad()
        loss.backward()
        hf_opt.step()

    hf_rate = timed_steps(hf_step, batches)
    mem_hf = peak_rss_gb()

    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    use_bf16 = torch.cpu._is_avx512_bf16_supported() if hasattr(torch.cpu, "_is_avx512_bf16_supported") else False

    def our_step(b):
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=use_bf16):
            loss = model.calculate_loss(b)
        opt.zero_grad()
        loss.backward()
        opt.step()

    ours = timed_steps(our_step, batches)
    print(f"layers {args.layers}+{args.layers}, d_model {model.d_model}, batch {args.batch}, {args.steps} timed steps, "
          f"torch threads {torch.get_num_threads()}, bf16 autocast {'on' if use_bf16 else 'off (unsupported)'}")
    print(f"transformers T5ForConditionalGeneration, padded to 20 items: {hf_rate:8.1f} samples/s (peak RSS {mem_hf:.2f} GB)")
    print(f"recbole_diger SIDRecommender.calculate_loss:                {ours:8.1f} samples/s (peak RSS {peak_rss_gb():.2f} GB)")
    print(f"speed-up: {ours / hf_rate:.2f}x")


if __name__ == "__main__":
    main()
