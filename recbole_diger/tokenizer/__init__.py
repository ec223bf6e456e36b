"""Item tokenizers: quantisation strategies, the RQ-VAE, and the semantic-ID table (``SIDIndex``)."""
