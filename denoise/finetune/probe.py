"""A probe: the backbone frozen, its states computed once per example, and only the head trained on them.

Minutes instead of a fine-tuning run, and free of the backbone's learning-rate sensitivity, it measures what
the pre-trained states already hold. The kinds' training and scoring run unchanged on :class:`ProbeModel`:
each feature carries its ``states`` and the model reads those instead of the token ids.
"""

from __future__ import annotations

import torch
from torch import nn

from denoise.errors import DenoiseError
from denoise.tasks.framing import collate


class ProbeModel(nn.Module):
    """The head alone, reading the states each batch carries."""

    def __init__(self, head: nn.Module):
        super().__init__()
        self.head = head

    def forward(self, states, attention_mask, **_) -> torch.Tensor:
        return self.head(states, attention_mask)

    def loss(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return self.head.loss(logits, targets)


def check_probe(kind, head: nn.Module | None) -> None:
    if head is None:
        raise DenoiseError(
            f"probe=true trains a head on frozen states, and a {kind.name} task has no head (it trains the "
            "model's own output layer); fine-tune it instead (probe=false)"
        )


@torch.no_grad()
def with_states(backbone: nn.Module, features: list[dict], pad_id: int, batch_size: int, device, autocast):
    """``features`` with the frozen ``backbone``'s states of each one (``[length, d]``, on the CPU, fp32)."""
    backbone.eval()
    found = []
    for start in range(0, len(features), batch_size):
        chunk = features[start : start + batch_size]
        batch = {k: v.to(device) for k, v in collate(chunk, pad_id).items()}
        with autocast():
            states = backbone(batch["input_ids"], batch["attention_mask"], batch.get("token_type_ids"))
        for feature, row in zip(chunk, states.float().cpu()):
            found.append({**feature, "states": row[: len(feature["input_ids"])].clone()})
    return found
