"""The optimizer: AdamW or Adafactor, with no weight decay on biases, norms and embeddings."""

from __future__ import annotations

import torch

from denoise.errors import DenoiseError

OPTIMIZERS = ("adamw", "adafactor")


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


def make_optimizer(
    groups: list[dict],
    name: str,
    lr: float,
    betas: tuple[float, float] = (0.9, 0.999),
    eps: float = 1e-8,
    fused: bool | None = None,
) -> torch.optim.Optimizer:
    """AdamW (``fused`` kernels where asked), or torch's Adafactor: each of its steps moves a weight by up to
    ``lr`` times its root mean square (at least 1e-3), so large pre-trained weights move as far, relatively,
    as small fresh ones."""
    if name == "adafactor":
        if not hasattr(torch.optim, "Adafactor"):
            raise DenoiseError(f"optimizer.name adafactor needs torch >= 2.5 (this is {torch.__version__})")
        return torch.optim.Adafactor(groups, lr=lr)
    if name != "adamw":
        raise DenoiseError(f"optimizer.name {name!r} is not one of {', '.join(OPTIMIZERS)}")
    return torch.optim.AdamW(groups, lr=lr, betas=tuple(betas), eps=eps, fused=fused or None)
