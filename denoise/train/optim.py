"""The optimizer (AdamW or Adafactor, no weight decay on biases, norms and embeddings) and the learning-rate
schedule: a linear warmup, then linear or cosine decay, inverse square root, or constant."""

from __future__ import annotations

import math

import torch

from denoise.errors import DenoiseError


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
        raise DenoiseError(
            f"unknown schedule {schedule!r}; schedules: linear, cosine, inverse_sqrt, constant"
        )
    return min_ratio + (1.0 - min_ratio) * remaining


def make_scheduler(
    optimizer: torch.optim.Optimizer, schedule: str, warmup_steps: int, total_steps: int, min_ratio: float
) -> torch.optim.lr_scheduler.LambdaLR:
    return torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: lr_factor(step, schedule, warmup_steps, total_steps, min_ratio)
    )


def parameter_groups(
    model: torch.nn.Module, weight_decay: float, embedding_lr: float | None = None
) -> list[dict]:
    """Decay matrices of linear layers; leave biases, norm scales and embedding tables alone. With
    ``embedding_lr``, the embedding tables form a group of their own with that learning rate."""
    decayed, plain, tables = [], [], []
    for module in model.modules():
        for name, parameter in module.named_parameters(recurse=False):
            if not parameter.requires_grad:
                continue
            if isinstance(module, torch.nn.Embedding) and embedding_lr is not None:
                tables.append(parameter)
            elif isinstance(module, torch.nn.Linear) and name == "weight":
                decayed.append(parameter)
            else:
                plain.append(parameter)
    groups = [{"params": decayed, "weight_decay": weight_decay}, {"params": plain, "weight_decay": 0.0}]
    if tables:
        groups.append({"params": tables, "weight_decay": 0.0, "lr": embedding_lr})
    return groups


def adafactor(groups: list[dict], lr: float) -> torch.optim.Optimizer:
    """torch's Adafactor: each step moves a weight by up to ``lr`` times its root mean square (at least 1e-3),
    so large pre-trained weights move as far, relatively, as small fresh ones."""
    if not hasattr(torch.optim, "Adafactor"):
        raise DenoiseError(f"optimizer.name adafactor needs torch >= 2.5 (this is {torch.__version__})")
    return torch.optim.Adafactor(groups, lr=lr)


def make_optimizer(model: torch.nn.Module, settings, device_type: str) -> torch.optim.Optimizer:
    """``settings`` is an ``OptimizerSettings``."""
    groups = parameter_groups(model, settings.weight_decay)
    if settings.name == "adafactor":
        return adafactor(groups, settings.lr)
    fused = settings.fused if settings.fused is not None else device_type == "cuda"
    return torch.optim.AdamW(
        groups, lr=settings.lr, betas=tuple(settings.betas), eps=settings.eps, fused=fused or None
    )
