"""Corruptions for denoising pre-training: one file per op, the registry, recipes (YAML, checked against the
kind of model they feed), keyed randomness, and the DataLoader pieces that corrupt batches."""
