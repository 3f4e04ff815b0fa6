"""The pre-training loss of one micro-batch, normalised over the whole global batch.

A global batch spreads over accumulation steps and processes, and its micro-batches hold different numbers
of predicted tokens (span lengths and sentence pairs vary). Averaging each micro-batch's mean would weigh a
token by how crowded its micro-batch was; instead every micro-batch contributes ``sum / N`` where ``N``
counts the predicted tokens of the whole global batch. One process or many, one micro-batch or several, the
optimised loss is then the same number.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from denoise.labels import IGNORE
from denoise.models.framing import ModelBatch


@dataclass(frozen=True)
class Counts:
    """Predicted tokens and classified pairs of a batch (or of a global batch, once summed)."""

    tokens: int
    pairs: int

    @classmethod
    def of(cls, batch: ModelBatch) -> Counts:
        pairs = int((batch.pair_labels != IGNORE).sum()) if batch.pair_labels is not None else 0
        return cls(int((batch.labels != IGNORE).sum()), pairs)

    def __add__(self, other: Counts) -> Counts:
        return Counts(self.tokens + other.tokens, self.pairs + other.pairs)


def model_inputs(batch: ModelBatch, device) -> dict[str, torch.Tensor]:
    """Keyword arguments for the model on ``device``, from a batch still on the host: attention masks are
    dropped when nothing is padded (so the model builds no mask and SDPA may take its fused kernels, without
    a device synchronisation to find out), and the loss is asked for without the logits where a model can
    compute it without them."""
    inputs = batch.as_dict()
    for key in ("attention_mask", "decoder_attention_mask"):
        if key in inputs and bool(inputs[key].all()):
            del inputs[key]
    inputs = {k: v.to(device, non_blocking=True) for k, v in inputs.items()}
    inputs["return_logits"] = False
    return inputs


def micro_batch_loss(model, inputs: dict, counts: Counts, total: Counts):
    """This micro-batch's share of the global-batch loss, with its token and pair parts detached for logs."""
    pair_labels = inputs.pop("pair_labels", None)
    output = model(**inputs)
    token_loss = output.loss * (counts.tokens / max(total.tokens, 1))
    loss, pair_loss = token_loss, None
    if pair_labels is not None and output.pair_logits is not None and total.pairs:
        pair_sum = F.cross_entropy(
            output.pair_logits.float(), pair_labels, ignore_index=IGNORE, reduction="sum"
        )
        pair_loss = pair_sum / total.pairs
        loss = loss + pair_loss
    return loss, token_loss.detach(), None if pair_loss is None else pair_loss.detach()
