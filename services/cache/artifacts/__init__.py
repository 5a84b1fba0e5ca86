"""Trained artifacts of the cache: the near-miss guard (nearmiss.json, built by scripts/train_nearmiss.py)."""
