"""The learning-rate schedule: a linear warmup, then linear or cosine decay, inverse square root, or constant."""

from __future__ import annotations

import math

import torch

from denoise.errors import DenoiseError

SCHEDULES = ("linear", "cosine", "inverse_sqrt", "constant")


def lr_factor(step: int, schedule: str, warmup_steps: int, total_steps: int, min_ratio: float = 0.0) -> float:
    """The multiplier of the peak learning rate for optimizer step ``step`` (0-based)."""
    if warmup_steps and step < warmup_steps:
        return (step + 1) / warmup_steps
    if schedule == "constant":
        return 1.0
    if schedule == "inverse_sqrt":
        return math.sqrt(max(warmup_steps, 1) / (step + 1))
    decay_steps = max(total_steps - warmup_steps, 1)
    progress = min(max(step - warmup_steps, 0) / decay_steps, 1.0)
    if schedule == "linear":
        remaining = 1.0 - progress
    elif schedule == "cosine":
        remaining = 0.5 * (1.0 + math.cos(math.pi * progress))
    else:
        raise DenoiseError(f"unknown schedule {schedule!r}; schedules: {', '.join(SCHEDULES)}")
    return min_ratio + (1.0 - min_ratio) * remaining


def make_scheduler(
    optimizer: torch.optim.Optimizer, schedule: str, warmup_steps: int, total_steps: int, min_ratio: float
) -> torch.optim.lr_scheduler.LambdaLR:
    return torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: lr_factor(step, schedule, warmup_steps, total_steps, min_ratio)
    )
