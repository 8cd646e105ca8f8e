"""Scoring a trained model: inference on a split, test-set metrics and tables, run records, the leaderboard."""
