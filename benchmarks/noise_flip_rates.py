"""How strongly does DIGER's exploration noise perturb the codes of a given tokenizer?

DIGER picks code = argmax(-||r - c_k||^2 + sigma * eps). What a sigma means depends on the scale of the
tokenizer's latent space: this prints, for a trained RQ-VAE (a tokenizer folder of the cache, holding
``rqvae.pt`` and ``features.npz``), the per-level gap between the best and second-best logit and the
share of items whose code changes under noise of each scale, level by level and for the whole SID.

    python benchmarks/noise_flip_rates.py .cache/tokenizers/<key> [--sigmas 0.1 0.25 0.5 1 2] [--noise gumbel]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from recbole_diger import registry  # noqa: E402
from recbole_diger.config import build_settings  # noqa: E402
from recbole_diger.tokenizer.strategies import gaussian_noise, gumbel_noise, squared_distances  # noqa: E402
from recbole_diger.tokenizer.training import build_rqvae  # noqa: E402


def flip_rates(folder: Path, sigmas: list[float], noise: str, seed: int = 0) -> None:
    features = torch.as_tensor(np.load(folder / "features.npz")["features"], dtype=torch.float32)
    model = build_rqvae(features.shape[1], build_settings(registry.get("model", "DIGER"), "quick", {}))
    model.load_state_dict(torch.load(folder / "rqvae.pt", map_location="cpu", weights_only=True))
    model.eval()
    sample = gumbel_noise if noise == "gumbel" else gaussian_noise
    torch.manual_seed(seed)
    with torch.no_grad():
        residual = model.latent(features)
        print(f"{folder}: {len(features)} items, latent dim {residual.shape[1]}, "
              f"mean ||z||^2 {residual.pow(2).sum(-1).mean():.3f}; {noise} noise")
        changed_any = {s: torch.zeros(len(features), dtype=torch.bool) for s in sigmas}
        for level, codebook in enumerate(model.quantizer.codebooks):
            logits = -squared_distances(residual, codebook)
            top2 = logits.topk(2, dim=-1).values
            gap = (top2[:, 0] - top2[:, 1]).numpy()
            ids = logits.argmax(-1)
            rates = []
            for s in sigmas:
                changed = (logits + s * sample(logits.shape, logits)).argmax(-1) != ids
                changed_any[s] |= changed
                rates.append(f"sigma {s:g}: {changed.float().mean():.3f}")
            print(f"  level {level}: logit gap best-second median {np.median(gap):.4f} "
                  f"(p10 {np.quantile(gap, .1):.4f}, p90 {np.quantile(gap, .9):.4f}); code changed: " + ", ".join(rates))
            residual = residual - codebook[ids]
        print("  whole SID changed: " + ", ".join(f"sigma {s:g}: {changed_any[s].float().mean():.3f}" for s in sigmas))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("folders", nargs="+", type=Path, help="tokenizer folders (rqvae.pt + features.npz)")
    p.add_argument("--sigmas", nargs="+", type=float, default=[0.1, 0.25, 0.5, 1.0, 2.0])
    p.add_argument("--noise", choices=["gumbel", "gaussian"], default="gumbel")
    args = p.parse_args()
    for folder in args.folders:
        flip_rates(folder, args.sigmas, args.noise)


if __name__ == "__main__":
    main()
