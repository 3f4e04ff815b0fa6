"""The default objective: the family's model predicts what the corruption recipe hid (masked tokens and
sentence pairs for an encoder, the target sequence for an encoder-decoder), with the model's own loss."""

from __future__ import annotations

from dataclasses import dataclass

import torch.nn.functional as F

from denoise.labels import IGNORE
from denoise.train.objectives.base import Counts, Objective


@dataclass(frozen=True)
class DenoisingConfig:
    pass


class Denoising(Objective):
    name = "denoising"
    Config = DenoisingConfig
    reads_spans = True

    def trained(self, model, family):
        return family.for_denoising(model)

    def loss(self, module, inputs: dict, counts: Counts, total: Counts):
        """The token loss over the global batch's predicted tokens, plus the pair loss over its pairs and the
        span boundary loss over its tokens inside masked spans (counted as predicted tokens)."""
        pair_labels = inputs.pop("pair_labels", None)
        output = module(**inputs)
        token_loss = output.loss * (counts.tokens / max(total.tokens, 1))
        loss, parts = token_loss, {"token_loss": token_loss.detach()}
        if pair_labels is not None and output.pair_logits is not None and total.pairs:
            pair_sum = F.cross_entropy(
                output.pair_logits.float(), pair_labels, ignore_index=IGNORE, reduction="sum"
            )
            pair_loss = pair_sum / total.pairs
            loss = loss + pair_loss
            parts["pair_loss"] = pair_loss.detach()
        if output.span_logits is not None:  # SpanBERT's boundary objective, over the same predicted tokens
            span_sum = F.cross_entropy(output.span_logits.float(), output.span_targets, reduction="sum")
            span_loss = span_sum / max(total.tokens, 1)
            loss = loss + span_loss
            parts["span_loss"] = span_loss.detach()
        return loss, parts
