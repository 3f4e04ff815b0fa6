"""A pre-trained model seen as hidden states for a head, and the task model that joins the two.

Which states a head reads is the family's (``Family.states``): encoder-only models give their encoder
states; encoder-decoder models give either their encoder states (``mode="encoder"``), or, the BART way
(``mode="encoder_decoder"``), the decoder states of the same input shifted right behind the start token,
which read the whole input through cross-attention.
"""

from __future__ import annotations

import torch
from torch import nn

from denoise.errors import DenoiseError
from denoise.models.families import family_of


class Backbone(nn.Module):
    def __init__(self, model: nn.Module, mode: str | None = None):
        """``mode``: which of the family's states to read (``Family.modes``); None: its first."""
        super().__init__()
        self.family = family_of(model)
        mode = mode or self.family.modes[0]
        if mode not in self.family.states:
            raise DenoiseError(
                f"mode {mode!r} is not one of a {self.family.name} model's modes ({', '.join(self.family.modes)}); "
                "leave mode unset for its default"
            )
        self.model, self.mode = model, mode
        self.states = self.family.states[mode]

    @property
    def d_model(self) -> int:
        return self.model.d_model

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        token_type_ids: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """``[B, L, d]`` states aligned with ``input_ids``."""
        return self.states(self.model, input_ids, attention_mask, token_type_ids)


class TaskModel(nn.Module):
    """A backbone and a head (``None`` for generation, which uses the encoder-decoder's own LM head)."""

    def __init__(self, backbone: Backbone, head: nn.Module | None):
        super().__init__()
        self.backbone, self.head = backbone, head

    def forward(self, input_ids, attention_mask, token_type_ids=None, labels=None, **_) -> torch.Tensor:
        """The head's logits, or for generation the mean token loss of ``labels``."""
        if self.head is None:
            output = self.backbone.model(input_ids, attention_mask, labels=labels, return_logits=False)
            return output.loss
        return self.head(self.backbone(input_ids, attention_mask, token_type_ids), attention_mask)

    def loss(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return logits if self.head is None else self.head.loss(logits, targets)
