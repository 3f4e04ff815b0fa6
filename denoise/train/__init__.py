"""Pre-training: recipes, the training loop, checkpoints and exact resume (``denoise pretrain``)."""
