"""Sequence classification (or regression) from a pooled vector: dropout, dense, tanh, dropout, output (or,
for a linear probe, dropout and output alone).

The pooled vector is one of the states ``[B, L, d]`` and a mask of real tokens ``[B, L]``: ``first``, the
first token ([CLS]); ``mean``, the average of the real tokens; ``last``, the last real token (the
end-of-sequence token, whose decoder state BART classifies).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from denoise.errors import DenoiseError

POOLINGS = ("first", "mean", "last")


def pool(hidden: torch.Tensor, mask: torch.Tensor, how: str) -> torch.Tensor:
    """``first``: the first token ([CLS]); ``mean``: the average of real tokens; ``last``: the last real token
    (the end-of-sequence token, whose decoder state BART classifies)."""
    if how == "first":
        return hidden[:, 0]
    mask = mask.to(hidden.dtype)
    if how == "mean":
        return (hidden * mask[..., None]).sum(1) / mask.sum(1, keepdim=True).clamp(min=1)
    if how == "last":
        last = (mask.sum(1).long() - 1).clamp(min=0)
        return hidden[torch.arange(hidden.shape[0], device=hidden.device), last]
    raise DenoiseError(f"pooling {how!r} is not one of {', '.join(POOLINGS)}")


class ClassificationHead(nn.Module):
    """``num_labels`` logits per sequence; with ``regression`` one score trained with mean squared error.
    ``linear``: the output layer straight on the pooled vector (a linear probe), without the dense layer."""

    def __init__(
        self,
        d_model: int,
        num_labels: int,
        pooling: str = "first",
        dropout: float = 0.1,
        linear: bool = False,
    ):
        super().__init__()
        self.pooling, self.num_labels = pooling, num_labels
        self.dense = None if linear else nn.Linear(d_model, d_model)
        self.output = nn.Linear(d_model, num_labels)
        self.dropout = nn.Dropout(dropout)

    def forward(self, hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        pooled = self.dropout(pool(hidden, mask, self.pooling))
        if self.dense is not None:
            pooled = self.dropout(torch.tanh(self.dense(pooled)))
        logits = self.output(pooled)
        return logits.squeeze(-1) if self.num_labels == 1 else logits

    def loss(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        if self.num_labels == 1:
            return F.mse_loss(logits.float(), labels.float())
        return F.cross_entropy(logits.float(), labels)
