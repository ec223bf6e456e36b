"""RQ-KMeans: semantic IDs from residual k-means over item text embeddings (no RQ-VAE), then TIGER's T5."""
import numpy as np
from scipy.cluster.vq import kmeans2

from recbole_diger.data.convert import cache_dir
from recbole_diger.data.text_embed import embed_items, require_text
from recbole_diger.model.sid_recommender import SIDRecommender
from recbole_diger.models.tiger import TIGER_YAML
from recbole_diger.registry import ModelSpec, register_model
from recbole_diger.tokenizer.sid_index import SIDIndex


def residual_kmeans(x: np.ndarray, levels: int, k: int, seed: int) -> np.ndarray:
    """Codes [N, levels]: k-means on x, then on what each centroid leaves unexplained, and so on."""
    codes, residual = [], x.astype(np.float64)
    for level in range(levels):
        centroids, labels = kmeans2(residual, k, minit="++", seed=seed + level)
        codes.append(labels)
        residual = residual - centroids[labels]
    return np.stack(codes, axis=1)


def rq_kmeans_sids(ctx):
    """The prepare stage: item text -> embeddings -> residual k-means codes -> a SID file."""
    ids = ctx.atomic.item_ids()
    x = embed_items(ids, require_text(ctx.atomic, ids, ctx.model), device=ctx.device)
    k = ctx.settings["rqvae_codebook_size"]
    index = SIDIndex.from_codes(ids, residual_kmeans(x, ctx.settings["rqvae_levels"], k, ctx.seed), k)
    path = cache_dir() / "rqkmeans" / f"{ctx.atomic.name}-k{k}-seed{ctx.seed}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    index.to_letter_json(path.with_suffix(".tmp"))
    path.with_suffix(".tmp").replace(path)        # never a half-written file in the cache
    return {"sid_file": str(path)}, {"tokenizer": {"kind": "rq-kmeans", "stats": index.stats()}}


register_model(ModelSpec("RQ-KMeans", SIDRecommender, TIGER_YAML, family="generative", prepare=rq_kmeans_sids,
                         note="residual k-means SIDs (plugin example), then T5", profile_sections=("TIGER",)))
