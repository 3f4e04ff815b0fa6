"""Extractive QA: a start vector and an end vector score every token as the answer's first and last token.

Position 0 (the [CLS] or first token) stands for "no answer" (SQuAD v2.0): its start and end scores
together are compared with the best span's.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class SpanHead(nn.Module):
    def __init__(self, d_model: int):
        super().__init__()
        self.output = nn.Linear(d_model, 2)

    def forward(self, hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """``[B, L, 2]`` start and end logits; padding gets the lowest score."""
        logits = self.output(hidden).float()
        return logits.masked_fill(~mask.bool()[..., None], torch.finfo(logits.dtype).min)

    def loss(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """``labels`` ``[B, 2]``: start and end token positions (0 for no answer)."""
        start, end = logits.unbind(-1)
        return (F.cross_entropy(start, labels[:, 0]) + F.cross_entropy(end, labels[:, 1])) / 2
