"""A generative recommender over semantic IDs inside RecBole (TIGER's architecture).

The codes of a user's last items are the encoder input; the next item's codes are the decoder
target; ``calculate_loss`` is next-code cross entropy; ``full_sort_predict`` returns a
[B, n_items] score matrix from constrained beam search (beam log-probability for generated
items, -inf elsewhere), so RecBole's evaluator ranks it exactly as it ranks SASRec.

Code embeddings are read through :meth:`history_embeddings` (``inputs_embeds``), the hook through
which a jointly trained tokenizer can feed soft or straight-through embeddings.

Reference:
    Shashank Rajput et al. "Recommender Systems with Generative Retrieval." NeurIPS 2023.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from recbole.model.abstract_recommender import SequentialRecommender
from recbole.utils import InputType
from transformers import T5Config, T5Model

from ..errors import UserError
from ..tokenizer.sid_index import SIDIndex
from .decoding import constrained_beam_search
from .fast_decoder import DecoderState, FastT5Decoder
from .sid_trie import SIDTrie

PAD = 0


class SIDRecommender(SequentialRecommender):
    """T5 encoder-decoder over SID tokens. Config: ``sid_file`` plus the backbone keys in its yaml."""

    input_type = InputType.POINTWISE

    def __init__(self, config, dataset):
        super().__init__(config, dataset)
        index = self.load_sids(config, dataset)
        tokens = dataset.id2token(dataset.iid_field, np.arange(1, self.n_items))
        codes = index.aligned([str(t) for t in tokens])                      # [n_items - 1, L']
        self.level_sizes = list(index.level_sizes)
        offsets = np.cumsum([1] + self.level_sizes[:-1])                    # token = offset[l] + code
        self.register_buffer("offsets", torch.as_tensor(offsets, dtype=torch.long), persistent=False)
        self.register_buffer("item_codes", torch.zeros(self.n_items, len(self.level_sizes), dtype=torch.long),
                             persistent=False)  # row 0 = padding item
        self.set_sid_table(codes)
        self.beam_size = int(config["beam_size"])
        self.amp = bool(config["enable_amp"])  # bf16 autocast for beam search too when training uses it
        self.length_buckets = int(config["length_buckets"] or 1)
        self.d_model = int(config["d_model"])
        t5 = T5Config(vocab_size=1 + sum(self.level_sizes), d_model=self.d_model, d_kv=self.d_model // config["num_heads"],
                      d_ff=config["d_ff"], num_layers=config["encoder_layers"], num_decoder_layers=config["decoder_layers"],
                      num_heads=config["num_heads"], dropout_rate=config["dropout_rate"], feed_forward_proj="relu",
                      pad_token_id=PAD, decoder_start_token_id=PAD, tie_word_embeddings=True, use_cache=True)
        t5._attn_implementation = "sdpa"
        self.t5 = T5Model(t5)
        self.fast_decoder = FastT5Decoder(self.t5, embed=self.token_embeddings)

    # ---- SIDs -------------------------------------------------------------------------------
    def load_sids(self, config, dataset) -> SIDIndex:
        """The SID table; subclasses (jointly trained tokenizers) override this."""
        if not config["sid_file"]:
            raise UserError("this model needs sid_file (a LETTER-format index json); set it in the model yaml")
        return SIDIndex.from_letter_json(config["sid_file"])

    def set_sid_table(self, codes: np.ndarray, addressable: np.ndarray | None = None) -> None:
        """Use ``codes`` [n_items - 1, L'] (rows in internal id order from 1) from now on.

        Items where ``addressable`` [n_items - 1] is False keep their codes as inputs but cannot be
        generated (a collision group larger than the last level; see :mod:`.joint_recommender`).
        """
        codes = np.asarray(codes, dtype=np.int64)
        self.item_codes[1:] = torch.as_tensor(codes, device=self.item_codes.device)
        rows = np.arange(1, self.n_items)
        if addressable is not None:
            codes, rows = codes[addressable], rows[addressable]
        self.trie = SIDTrie.build(codes, self.level_sizes, item_rows=rows).to(self.item_codes.device)

    def item_tokens(self, items: torch.Tensor) -> torch.Tensor:
        """items [...] -> token ids [..., L'] (padding item -> PAD tokens)."""
        tokens = self.item_codes[items] + self.offsets
        return tokens.masked_fill((items == 0).unsqueeze(-1), PAD)

    def token_embeddings(self, tokens: torch.Tensor) -> torch.Tensor:
        """Token ids [...] -> input embeddings [..., d] for the encoder and the decoder (at test time too)."""
        return self.t5.shared(tokens)

    def history_embeddings(self, item_seq: torch.Tensor) -> torch.Tensor:
        """item_seq [B, T] -> code embeddings [B, T * L', d]."""
        return self.token_embeddings(self.item_tokens(item_seq).flatten(1))

    # ---- encoder / decoder pieces -------------------------------------------------------------
    def encode_history(self, item_seq: torch.Tensor, item_seq_len: torch.Tensor):
        """Encoder pass over the history, cut to the longest history in the batch (dynamic padding).

        Returns (encoder states [B, S, d], attention mask [B, S]).
        """
        T = int(item_seq_len.max())
        item_seq = item_seq[:, :T]
        mask = (item_seq > 0).repeat_interleave(len(self.level_sizes), dim=1).long()
        enc = self.t5.encoder(inputs_embeds=self.history_embeddings(item_seq), attention_mask=mask).last_hidden_state
        return enc, mask

    def level_logits(self, hidden: torch.Tensor, level: int) -> torch.Tensor:
        """hidden [..., d] -> logits over level ``level``'s codes [..., K_l] (tied embeddings, T5 scaling)."""
        start = int(self.offsets[level])
        weight = self.t5.shared.weight[start:start + self.level_sizes[level]]
        return (hidden * self.d_model ** -0.5) @ weight.t()

    # ---- beam-search steps (see decoding.StepDecoder) -----------------------------------------
    def start_decoding(self, item_seq: torch.Tensor, item_seq_len: torch.Tensor) -> DecoderState:
        return self.fast_decoder.start(*self.encode_history(item_seq, item_seq_len))

    def decode_step(self, level: int, prev_codes: torch.Tensor | None, state: DecoderState):
        """prev_codes [B, W] (None at level 0) -> log-probs over level ``level``'s codes [B, W, K_l]."""
        if prev_codes is None:
            B = state.cross_bias.shape[0]
            tokens = torch.full((B, 1), PAD, dtype=torch.long, device=state.cross_bias.device)
        else:
            tokens = prev_codes + self.offsets[level - 1]
        hidden = self.fast_decoder.step(tokens, state)
        return F.log_softmax(self.level_logits(hidden, level), dim=-1), state

    def reorder_beams(self, state: DecoderState, parent: torch.Tensor) -> DecoderState:
        return FastT5Decoder.reorder(state, parent)

    def target_log_probs(self, item_seq, item_seq_len, targets: torch.Tensor) -> torch.Tensor:
        """Teacher-forced log-probabilities of each target code: [B, L']."""
        enc, mask = self.encode_history(item_seq, item_seq_len)
        codes = self.item_codes[targets]                                        # [B, L']
        dec_in = torch.cat([torch.full_like(codes[:, :1], PAD), (codes + self.offsets)[:, :-1]], dim=1)
        hidden = self.t5.decoder(inputs_embeds=self.token_embeddings(dec_in), encoder_hidden_states=enc,
                                 encoder_attention_mask=mask).last_hidden_state  # [B, L', d]
        out = []
        for level in range(len(self.level_sizes)):
            logp = F.log_softmax(self.level_logits(hidden[:, level], level), dim=-1)
            out.append(logp.gather(1, codes[:, level:level + 1]).squeeze(1))
        return torch.stack(out, dim=1)

    # ---- RecBole interface ---------------------------------------------------------------------
    def length_chunks(self, lengths: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Row indices of the batch in ``length_buckets`` chunks of similar history length."""
        return torch.argsort(lengths).chunk(max(1, min(self.length_buckets, len(lengths))))

    def calculate_loss(self, interaction) -> torch.Tensor:
        """Mean next-code cross entropy. The batch is cut into ``length_buckets`` chunks of similar
        history length, each padded only to its own longest history (same value, less padding)."""
        seq, lengths = interaction[self.ITEM_SEQ], interaction[self.ITEM_SEQ_LEN]
        targets = interaction[self.POS_ITEM_ID]
        nll = sum(-self.target_log_probs(seq[c], lengths[c], targets[c]).sum() for c in self.length_chunks(lengths))
        return nll / targets.numel() / len(self.level_sizes)

    def predict(self, interaction) -> torch.Tensor:
        """Log-likelihood of each row's candidate item's SID [B]."""
        return self.target_log_probs(interaction[self.ITEM_SEQ], interaction[self.ITEM_SEQ_LEN],
                                     interaction[self.ITEM_ID]).sum(-1)

    def full_sort_predict(self, interaction) -> torch.Tensor:
        """[B, n_items]: beam log-probability for the generated items, -inf elsewhere.

        Users are decoded in ``length_buckets`` chunks of similar history length, each padded only
        to its own longest history (the encoder and cross-attention cost follow real lengths)."""
        if self.trie.children[0].device != self.item_codes.device:
            self.trie = self.trie.to(self.item_codes.device)
        seq, lengths = interaction[self.ITEM_SEQ], interaction[self.ITEM_SEQ_LEN]
        scores = torch.full((len(seq), self.n_items), float("-inf"), device=seq.device)
        for chunk in self.length_chunks(lengths):
            with torch.autocast(seq.device.type, dtype=torch.bfloat16, enabled=self.amp):
                result = constrained_beam_search(self, seq[chunk], lengths[chunk], self.trie, self.beam_size)
            valid = result.items >= 0
            rows = chunk.unsqueeze(1).expand_as(result.items)
            scores[rows[valid], result.items[valid]] = result.scores[valid].float()
        return scores
