"""Generative recommenders over semantic IDs (RecBole ``SequentialRecommender`` subclasses)."""
