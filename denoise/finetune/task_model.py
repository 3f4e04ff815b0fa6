"""A backbone and a head joined into the model a task trains, and how it is built for a kind."""

from __future__ import annotations

import torch
from torch import nn

from denoise.finetune.backbone import Backbone


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


def build_task_model(config, kind, model, head_state: dict | None = None) -> TaskModel:
    backbone = Backbone(model, config.mode)
    head = kind.head(backbone)
    if head_state is not None and head is not None:
        head.load_state_dict(head_state)
    elif getattr(head, "pooling", None) == "first" and head.dense is not None:
        # a [CLS] head with a dense layer starts from a pre-trained pooler (BERT's)
        pooler = backbone.family.pooler_state(model)
        if pooler is not None:
            head.dense.load_state_dict(pooler)
    return TaskModel(backbone, head)
