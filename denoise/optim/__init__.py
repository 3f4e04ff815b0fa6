"""What pre-training and fine-tuning share to take a step: the optimizer, the learning-rate schedule, and
the step itself (precision, loss scaling, clipping)."""
