"""A generative recommender trained jointly with its tokenizer (STE, DIGER and their ablations).

The SIDs of every item in a batch are produced by the RQ-VAE *inside the forward pass*, with the
configured quantisation strategy and noise schedule. The recommender reads each code through
the tokenizer's codebook: the input embedding of level ``l``'s code is

    E[token] + W_l code_vector_l        (code_vector_l = the chosen codebook row, forward)

so L_gen reaches the encoder and the codebooks through every code the recommender reads (the
history's and the teacher-forced target prefix's): with STE only the selected rows, with DIGER's
soft update every row. The next item's codes are plain targets: a gradient through the target
assignment would reward moving items onto codes the decoder already predicts, a shortcut to
collapse (measured: level-1 perplexity 1.1 after one epoch on Beauty).

Which tokenizer parts the optimizer updates is ``tokenizer_parts`` (default: the codebooks only,
as the authors' run scripts; gradients still reach the encoder, which tests check with all parts on).

Validation and test use a deterministic table (argmax without noise, plus collision code),
recomputed after every training epoch by :meth:`refresh_sids` and after a checkpoint is loaded.
At test time the embedding of a code is the same ``E[token] + W_l c_l`` with the codebook row itself.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..errors import UserError
from ..registry import get
from ..tokenizer.rqvae import RQVAE
from ..tokenizer.sid_index import SIDIndex
from ..tokenizer.training import build_rqvae
from .sid_recommender import PAD, SIDRecommender


def aligned_features(path: str, item_ids: list[str]) -> torch.Tensor:
    """Rows of an npz of (ids, features) in ``item_ids`` order, after a zero row for the padding item:
    [len(item_ids) + 1, dim] float32. An item missing from the file is a clear error."""
    saved = np.load(path, allow_pickle=False)
    row = {str(i): r for r, i in enumerate(saved["ids"].tolist())}
    missing = [i for i in item_ids if i not in row]
    if missing:
        raise UserError(f"{path} has no features for item {missing[0]}; rerun with --rerun")
    features = np.zeros((len(item_ids) + 1, saved["features"].shape[1]), dtype=np.float32)
    features[1:] = saved["features"][[row[i] for i in item_ids]]
    return torch.as_tensor(features)


class TokenizerSIDRecommender(SIDRecommender):
    """A SIDRecommender that holds its tokenizer (an RQ-VAE, from the pretrained two-stage one) and the
    items' features, so it can train the tokenizer and recompute the SID table (joint schemes).

    Config: ``rqvae_checkpoint`` and ``item_feature_file`` (set by the prepare stage), ``tokenizer_parts``
    (which tokenizer parts may train). Subclasses add their pieces in :meth:`build_scheme` and report
    per-epoch facts through :meth:`start_epoch` / :meth:`end_epoch`.
    """

    strategy_key = "rqvae_strategy"   # config key naming the tokenizer's quantisation strategy

    # ---- construction ---------------------------------------------------------------------------
    def load_sids(self, config, dataset) -> SIDIndex:
        """Build the tokenizer from the pretrained RQ-VAE and return its deterministic SIDs."""
        for key in ("rqvae_checkpoint", "item_feature_file"):
            if not config[key]:
                raise UserError(f"{config['model']} needs {key}; it is set by the model's prepare stage")
        self.item_ids = [str(t) for t in dataset.id2token(dataset.iid_field, np.arange(1, dataset.item_num))]
        features = aligned_features(config["item_feature_file"], self.item_ids)
        self.register_buffer("item_features", features, persistent=False)

        self.tokenizer: RQVAE = build_rqvae(features.shape[1], dict(config.final_config_dict,
                                                                    rqvae_strategy=config[self.strategy_key]))
        self.tokenizer.load_state_dict(torch.load(config["rqvae_checkpoint"], map_location="cpu", weights_only=True))
        self.tokenizer_parts = {"encoder": self.tokenizer.encoder, "codebooks": self.tokenizer.quantizer,
                                "decoder": self.tokenizer.decoder}
        unknown = set(config["tokenizer_parts"]) - set(self.tokenizer_parts)
        if unknown:
            raise UserError(f"tokenizer_parts has {sorted(unknown)}; choose among {sorted(self.tokenizer_parts)}")
        self.trainable_parts = list(config["tokenizer_parts"])
        self.freeze_tokenizer(False)
        self.K = int(config["rqvae_codebook_size"])
        self.L = int(config["rqvae_levels"])
        index, self._addressable = self.deterministic_index()
        self.initial_codes = index.codes[:, :self.L].copy()
        self.build_scheme(config)
        return index

    def build_scheme(self, config) -> None:
        """Subclasses build what their training scheme adds (schedules, adapters)."""

    def __init__(self, config, dataset):
        super().__init__(config, dataset)
        self.set_sid_table(self.item_codes[1:].cpu().numpy(), self._addressable)

    def freeze_tokenizer(self, frozen: bool) -> None:
        """Frozen: no tokenizer part trains; else the ``tokenizer_parts`` do."""
        for name, module in self.tokenizer_parts.items():
            module.requires_grad_(not frozen and name in self.trainable_parts)

    def deterministic_index(self) -> tuple[SIDIndex, np.ndarray]:
        """Every item's SID now (no noise) with collision codes -> (index, addressable [n_items - 1]).

        The collision level has K codes; items beyond position K in a group (only when code usage has
        collapsed) cannot be generated and are reported, instead of failing the run.
        """
        codes = self.tokenizer.encode(self.item_features[1:]).cpu().numpy()
        index = SIDIndex.from_codes(self.item_ids, codes, self.K, strict=False)
        addressable = index.codes[:, -1] < self.K
        index.codes[:, -1] = np.minimum(index.codes[:, -1], self.K - 1)
        index.level_sizes = [self.K] * (self.L + 1)
        return index, addressable

    @torch.no_grad()
    def refresh_sids(self) -> SIDIndex:
        """Recompute the deterministic table used by validation, test and the collision codes."""
        index, addressable = self.deterministic_index()
        self.set_sid_table(index.codes, addressable)
        self._addressable = addressable
        return index

    def load_state_dict(self, state_dict, strict: bool = True, assign: bool = False):
        """Loading a checkpoint (RecBole's best model) also restores that checkpoint's SID table."""
        result = super().load_state_dict(state_dict, strict=strict, assign=assign)
        if hasattr(self, "item_ids"):
            self.refresh_sids()
        return result

    # ---- the trainer's per-epoch hooks ------------------------------------------------------------
    def start_epoch(self, epoch: int) -> None:
        """Called before each training epoch."""

    def end_epoch(self) -> dict:
        """Called after each training epoch; facts for the dynamics row (see ``training.dynamics``)."""
        return {}

    def param_groups(self, config) -> list[dict]:
        """AdamW groups: recommender (``learning_rate``), tokenizer (``tokenizer_learning_rate``)."""
        tok = {id(p) for p in self.tokenizer.parameters()}
        rec = [p for p in self.parameters() if id(p) not in tok]
        return [{"params": rec, "lr": float(config["learning_rate"])},
                {"params": list(self.tokenizer.parameters()), "lr": float(config["tokenizer_learning_rate"])}]


class JointSIDRecommender(TokenizerSIDRecommender):
    """STE, DIGER and the ablations. Config (beyond the base's): ``quant_strategy``, ``noise_schedule``
    and its keys, the three loss weights."""

    strategy_key = "quant_strategy"

    def build_scheme(self, config) -> None:
        self.schedule = get("schedule", config["noise_schedule"])(config.final_config_dict, self.L, self.K)
        self.schedule.start(torch.as_tensor(self.initial_codes))
        self.loss_weights = (float(config["gen_loss_weight"]), float(config["vq_loss_weight"]),
                             float(config["recon_loss_weight"]))
        self.code_proj = nn.ModuleList([nn.Linear(int(config["rqvae_e_dim"]), int(config["d_model"]))
                                        for _ in range(self.L)])
        self._agree = [0, 0]  # items whose training codes equal the epoch's table, items seen

    def end_epoch(self) -> dict:
        facts = {"train_inference_agreement": self.take_agreement(), "sigmas": self.schedule.sigmas(),
                 "hot_share": self.schedule.hot_share(), "tau": self.schedule.tau}
        self.schedule.end_epoch()
        return facts

    def param_groups(self, config) -> list[dict]:
        """AdamW groups: recommender; tokenizer parts that train; schedule (SDUD's sigma, ``sigma_learning_rate``,
        no weight decay)."""
        tok = [p for p in self.tokenizer.parameters() if p.requires_grad]
        sched = {id(p) for p in self.schedule.parameters()}
        rec = [p for p in self.parameters() if id(p) not in {id(q) for q in self.tokenizer.parameters()} | sched]
        groups = [{"params": rec, "lr": float(config["learning_rate"])},
                  {"params": tok, "lr": float(config["tokenizer_learning_rate"])}]
        if sched:
            groups.append({"params": list(self.schedule.parameters()), "lr": float(config["sigma_learning_rate"]),
                           "weight_decay": 0.0})
        return groups

    # ---- embeddings -----------------------------------------------------------------------------
    def code_table(self) -> torch.Tensor:
        """[vocab, d]: E[token] + W_l c_l for level-l codes; E[token] for PAD and collision codes."""
        weight = self.t5.shared.weight
        rows = [weight.new_zeros(1, weight.shape[1])]
        rows += [proj(cb) for proj, cb in zip(self.code_proj, self.tokenizer.quantizer.codebooks)]
        rows.append(weight.new_zeros(self.level_sizes[-1], weight.shape[1]))
        return weight + torch.cat(rows)

    def token_embeddings(self, tokens: torch.Tensor) -> torch.Tensor:
        return F.embedding(tokens, self.code_table())

    def item_level_embeddings(self, items: torch.Tensor, levels) -> torch.Tensor:
        """items [U] with their per-level QuantOut -> [U, L+1, d]; the padding item gets PAD everywhere."""
        shared = self.t5.shared
        parts = [shared(lv.ids + self.offsets[l]) + self.code_proj[l](lv.code_vector) for l, lv in enumerate(levels)]
        parts.append(shared(self.item_codes[items, self.L] + self.offsets[self.L]))
        emb = torch.stack(parts, dim=1)
        return torch.where((items == 0)[:, None, None], shared.weight[PAD], emb)

    # ---- training -------------------------------------------------------------------------------
    def calculate_loss(self, interaction) -> torch.Tensor:
        """w_gen L_gen + w_vq L_vq + w_recon L_recon (+ SDUD's sigma loss), SIDs made in this pass."""
        seq, lengths = interaction[self.ITEM_SEQ], interaction[self.ITEM_SEQ_LEN]
        targets = interaction[self.POS_ITEM_ID]
        seq = seq[:, :int(lengths.max())]
        uniq, inverse = torch.unique(torch.cat([seq.reshape(-1), targets]), return_inverse=True)
        out = self.tokenizer(self.item_features[uniq], self.schedule if self.training else None)
        emb = self.item_level_embeddings(uniq, out.levels)                        # [U, L+1, d]
        hist, tgt = inverse[:seq.numel()].view(seq.shape), inverse[seq.numel():]
        target_codes = torch.cat([out.codes, self.item_codes[uniq, self.L:]], dim=1)   # [U, L+1], constants
        self._count_agreement(uniq, out.codes)

        nll = emb.new_zeros(())
        for c in self.length_chunks(lengths):
            T = int(lengths[c].max())
            h_items, h_rows = seq[c, :T], hist[c, :T]
            mask = (h_items > 0).repeat_interleave(self.L + 1, dim=1).long()
            enc = self.t5.encoder(inputs_embeds=emb[h_rows].flatten(1, 2), attention_mask=mask).last_hidden_state
            t_emb = emb[tgt[c]]                                                   # [b, L+1, d]
            start = self.t5.shared.weight[PAD].expand(len(c), 1, -1)
            dec_in = torch.cat([start, t_emb[:, :-1]], dim=1)
            hidden = self.t5.decoder(inputs_embeds=dec_in, encoder_hidden_states=enc,
                                     encoder_attention_mask=mask).last_hidden_state
            codes = target_codes[tgt[c]]
            for level in range(self.L + 1):
                logp = F.log_softmax(self.level_logits(hidden[:, level], level), dim=-1)
                nll = nll - logp.gather(1, codes[:, level:level + 1]).sum()
        gen = nll / targets.numel() / (self.L + 1)
        w_gen, w_vq, w_recon = self.loss_weights
        loss = w_gen * gen + w_vq * out.vq_loss + w_recon * out.recon_loss
        if self.training:
            loss = loss + self.schedule.loss(gen)
        return loss

    @torch.no_grad()
    def _count_agreement(self, items: torch.Tensor, codes: torch.Tensor) -> None:
        real = items > 0
        same = (codes[real] == self.item_codes[items[real], :self.L]).all(-1)
        self._agree[0] += int(same.sum())
        self._agree[1] += int(real.sum())

    def take_agreement(self) -> float:
        """Share of item occurrences this epoch whose training codes equal the epoch-start table; resets."""
        agree, seen = self._agree
        self._agree = [0, 0]
        return agree / seen if seen else float("nan")
