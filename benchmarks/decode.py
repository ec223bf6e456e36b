"""Decoding speed: our constrained beam search vs transformers ``generate(prefix_allowed_tokens_fn=trie)``.

Same T5 (paper size by default: 6+6 layers, d_model 128), same weights, same users, beam 20.
Prints users/s of each path, the ratio, peak memory, and how often the two top-1 items agree.

    python benchmarks/decode.py [--users-hf 200] [--users-ours 2000] [--layers 6]
"""
from __future__ import annotations

import argparse
import time

import torch
from _setup import PAD, hf_twin, load, padded_history_tokens, peak_rss_gb


def trie_fn(model):
    """``prefix_allowed_tokens_fn`` over a dict trie of token ids (the usual Python trie walk)."""
    trie: dict = {}
    for row in (model.item_codes[1:] + model.offsets).tolist():
        node = trie
        for tok in row:
            node = node.setdefault(tok, {})

    def allowed(batch_id, prefix):
        node = trie
        for tok in prefix.tolist()[1:]:
            node = node.get(tok, {})
        return list(node) or [PAD]

    return allowed


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--users-hf", type=int, default=200)
    p.add_argument("--users-ours", type=int, default=2000)
    p.add_argument("--layers", type=int, default=6)
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--amp", action="store_true", help="bf16 autocast in our path (as the quick profile runs it)")
    p.add_argument("--buckets", type=int, default=4, help="history-length buckets per batch in our path")
    args = p.parse_args()
    model, config, train, test = load(layers=args.layers, eval_batch_size=args.batch)
    model.eval()
    model.amp, model.length_buckets = args.amp, args.buckets
    batches = []
    for interaction, *_ in test:
        batches.append(interaction)
        if sum(len(b) for b in batches) >= max(args.users_ours, args.users_hf):
            break

    n, t0 = 0, time.time()
    tops_ours = []
    with torch.no_grad():
        for b in batches:
            scores = model.full_sort_predict(b)
            tops_ours.append(scores.argmax(1))
            n += len(b)
            if n >= args.users_ours:
                break
    ours = n / (time.time() - t0)
    mem_ours = peak_rss_gb()

    hf = hf_twin(model).eval()
    allowed = trie_fn(model)
    n_levels = len(model.level_sizes)
    seq = torch.cat([b["item_id_list"] for b in batches])[: args.users_hf]
    n, t0, tops_hf = 0, time.time(), []
    with torch.no_grad():
        for start in range(0, len(seq), 16):
            tokens, mask = padded_history_tokens(model, seq[start:start + 16])
            out = hf.generate(input_ids=tokens, attention_mask=mask, num_beams=20, num_return_sequences=1,
                              max_new_tokens=n_levels, prefix_allowed_tokens_fn=allowed, do_sample=False,
                              decoder_start_token_id=PAD, pad_token_id=PAD, eos_token_id=None)
            tops_hf.append(out[:, 1:])
            n += len(tokens)
    hf_rate = n / (time.time() - t0)
    codes = torch.cat(tops_hf) - model.offsets
    ours_codes = model.item_codes[torch.cat(tops_ours)[: len(codes)]]
    agree = (codes == ours_codes).all(1).float().mean().item()
    print(f"layers {args.layers}+{args.layers}, d_model {model.d_model}, beam 20, {model.n_items - 1} items, "
          f"{len(model.level_sizes)} codes per SID, torch threads {torch.get_num_threads()}")
    print(f"HF generate + prefix_allowed_tokens_fn: {hf_rate:8.1f} users/s  ({n} users, history padded to 20 items)")
    print(f"recbole_diger beam search:              {ours:8.1f} users/s  (batch {args.batch}, {args.buckets} length "
          f"buckets, {'bf16 autocast' if args.amp else 'fp32'})")
    print(f"speed-up: {ours / hf_rate:.1f}x   top-1 agreement: {agree:.3f}   peak RSS: ours {mem_ours:.2f} GB, "
          f"after both {peak_rss_gb():.2f} GB")


if __name__ == "__main__":
    main()
