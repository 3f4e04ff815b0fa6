"""Sequence classification (or regression) from a pooled vector: dropout, dense, tanh, dropout, output."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from denoise.heads.pooling import pool


class ClassificationHead(nn.Module):
    """``num_labels`` logits per sequence; with ``regression`` one score trained with mean squared error."""

    def __init__(self, d_model: int, num_labels: int, pooling: str = "first", dropout: float = 0.1):
        super().__init__()
        self.pooling, self.num_labels = pooling, num_labels
        self.dense = nn.Linear(d_model, d_model)
        self.output = nn.Linear(d_model, num_labels)
        self.dropout = nn.Dropout(dropout)

    def forward(self, hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        pooled = self.dropout(pool(hidden, mask, self.pooling))
        logits = self.output(self.dropout(torch.tanh(self.dense(pooled))))
        return logits.squeeze(-1) if self.num_labels == 1 else logits

    def loss(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        if self.num_labels == 1:
            return F.mse_loss(logits.float(), labels.float())
        return F.cross_entropy(logits.float(), labels)
