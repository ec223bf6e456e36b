"""Training schemes beyond RecBole's default trainer."""
