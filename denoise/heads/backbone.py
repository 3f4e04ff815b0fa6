"""A pre-trained model seen as hidden states for a head, and the task model that joins the two.

Encoder-only models (``Bert``) give their encoder states. Encoder-decoder models give either their
encoder states (``mode="encoder"``), or, the BART way (``mode="encoder_decoder"``), the decoder states of
the same input shifted right behind the start token, which read the whole input through cross-attention;
a classification head then pools the last (end-of-sequence) state.
"""

from __future__ import annotations

import torch
from torch import nn

from denoise.errors import DenoiseError
from denoise.models.bert import Bert

MODES = ("encoder", "encoder_decoder")


class Backbone(nn.Module):
    def __init__(self, model: nn.Module, mode: str = "encoder"):
        super().__init__()
        if mode not in MODES:
            raise DenoiseError(f"mode {mode!r} is not one of {', '.join(MODES)}")
        if isinstance(model, Bert) and mode != "encoder":
            raise DenoiseError("an encoder-only model has no decoder: use mode=encoder with it")
        self.model, self.mode = model, mode

    @property
    def d_model(self) -> int:
        return self.model.encoder.config.d_model

    @property
    def encoder_only(self) -> bool:
        return isinstance(self.model, Bert)

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        token_type_ids: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """``[B, L, d]`` states aligned with ``input_ids``."""
        if self.encoder_only:
            return self.model.encoder(input_ids, attention_mask, token_type_ids)
        states = self.model.encoder(input_ids, attention_mask)
        if self.mode == "encoder":
            return states
        start = torch.full_like(input_ids[:, :1], self.model.config.decoder_start_id)
        decoder_ids = torch.cat([start, input_ids[:, :-1]], dim=1)
        decoder_mask = torch.cat([torch.ones_like(attention_mask[:, :1]), attention_mask[:, :-1]], dim=1)
        return self.model.decoder(decoder_ids, states, attention_mask, decoder_mask)


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
