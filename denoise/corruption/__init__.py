"""Corruptions for denoising pre-training: ops, the registry, recipes and model batches."""
