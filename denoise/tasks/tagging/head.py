"""Token tagging: a label per token; only each word's first sub-token carries a label (-100 elsewhere)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from denoise.labels import IGNORE


class TaggingHead(nn.Module):
    def __init__(self, d_model: int, num_tags: int, dropout: float = 0.1):
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.output = nn.Linear(d_model, num_tags)

    def forward(self, hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.output(self.dropout(hidden))

    def loss(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(logits.flatten(0, 1).float(), labels.flatten(), ignore_index=IGNORE)
