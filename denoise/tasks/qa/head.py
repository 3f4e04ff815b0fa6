"""Extractive QA: a start vector and an end vector score every token as the answer's first and last token.

Position 0 (the [CLS] or first token) stands for "no answer" (SQuAD v2.0): its start and end scores
together are compared with the best span's.

With ``window`` > 0 a token's scores also read the states of its ``window`` neighbours on each side (a
1-D convolution instead of a linear layer per token). An answer often starts just after the words that
match the question ("A ferry is | a boat that ..."); with a linear head the encoder itself must move the
match one token on, which a two-layer model learns slowly, while a window lets the head see the match
next door. Padding reads as zeros, so a token's scores do not depend on how a batch is padded.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class SpanHead(nn.Module):
    def __init__(self, d_model: int, window: int = 0):
        super().__init__()
        self.window = window
        self.output = (
            nn.Linear(d_model, 2) if window == 0 else nn.Conv1d(d_model, 2, 2 * window + 1, padding=window)
        )

    def forward(self, hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """``[B, L, 2]`` start and end logits; padding gets the lowest score."""
        mask = mask.bool()
        if self.window == 0:
            logits = self.output(hidden)
        else:
            hidden = hidden.masked_fill(~mask[..., None], 0.0)
            logits = self.output(hidden.transpose(1, 2)).transpose(1, 2)
        logits = logits.float()
        return logits.masked_fill(~mask[..., None], torch.finfo(logits.dtype).min)

    def loss(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """``labels`` ``[B, 2]``: start and end token positions (0 for no answer)."""
        start, end = logits.unbind(-1)
        return (F.cross_entropy(start, labels[:, 0]) + F.cross_entropy(end, labels[:, 1])) / 2
