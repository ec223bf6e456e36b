"""Benchmark models. Classic baselines are RecBole's own implementations (``classic``)."""
