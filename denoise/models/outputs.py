"""What models return: logits (the tensor users expect under ``.logits``) and, given labels, the loss."""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class ModelOutput:
    logits: torch.Tensor | None  # None when a loss was computed without them (return_logits=False)
    loss: torch.Tensor | None = None
    targets: torch.Tensor | None = None  # the labels the logits score, in their order (with labels only)
    pair_logits: torch.Tensor | None = None  # NSP / SOP head (encoder-only)
    # SpanBERT's span boundary head: logits for each token inside a masked span, and the tokens they score
    span_logits: torch.Tensor | None = None
    span_targets: torch.Tensor | None = None
    hidden_states: torch.Tensor | None = None  # last encoder (or decoder) hidden states
    encoder_hidden_states: torch.Tensor | None = None  # encoder-decoder models
