"""What every pre-training objective is, and the counts that normalise a micro-batch's loss.

A global batch spreads over accumulation steps and processes, and its micro-batches hold different numbers
of predicted tokens (span lengths and sentence pairs vary). Averaging each micro-batch's mean would weigh a
token by how crowded its micro-batch was; instead every micro-batch contributes ``sum / N`` where ``N``
counts the predicted tokens (or pairs, or real tokens) of the whole global batch. One process or many, one
micro-batch or several, the optimised loss is then the same number.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import torch
from torch import nn

from denoise.labels import IGNORE
from denoise.models.family import Family
from denoise.models.framing import ModelBatch


@dataclass(frozen=True)
class Counts:
    """Predicted tokens, classified pairs and real (unpadded) tokens of a batch, or of a global batch."""

    tokens: int
    pairs: int
    positions: int = 0

    @classmethod
    def of(cls, batch: ModelBatch) -> Counts:
        pairs = int((batch.pair_labels != IGNORE).sum()) if batch.pair_labels is not None else 0
        return cls(int((batch.labels != IGNORE).sum()), pairs, int(batch.attention_mask.sum()))

    def __add__(self, other: Counts) -> Counts:
        return Counts(self.tokens + other.tokens, self.pairs + other.pairs, self.positions + other.positions)


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


class Objective:
    """An objective sets ``name`` and ``Config`` (a dataclass of its settings) and says:

    - ``check(family, corrupter)``: refuse a family or recipe it cannot train, naming them;
    - ``trained(model, family)``: the module the optimizer trains around the family's model;
    - ``kept(module)``: the model the run keeps (its ``model/``, snapshots and checkpoints);
    - ``companions(module)``: other models a run and its checkpoints keep beside it (``name -> model``);
      ``restore(module, folder)`` puts them back from a checkpoint, and ``adopt(module, folder)`` takes
      those a run or snapshot given as ``init=`` kept, where they fit;
    - ``loss(module, inputs, counts, total)``: one micro-batch's share of the global batch's loss, with its
      parts (detached) for the logs;
    - ``flops(family, module, batch, predicted)``: the training FLOPs of one batch.
    """

    name: ClassVar[str]
    Config: ClassVar[type]

    def __init__(self, config):
        self.config = config

    def check(self, family: Family, corrupter) -> None:
        pass

    reads_spans: ClassVar[bool] = False  # trains a span boundary head on a batch's numbered spans

    def trained(self, model: nn.Module, family: Family) -> nn.Module:
        return model

    def kept(self, module: nn.Module) -> nn.Module:
        return module

    def companions(self, module: nn.Module) -> dict[str, nn.Module]:
        return {}

    def restore(self, module: nn.Module, folder: Path) -> None:
        pass

    def adopt(self, module: nn.Module, folder: Path) -> None:
        pass

    def loss(self, module, inputs: dict, counts: Counts, total: Counts) -> tuple[torch.Tensor, dict]:
        raise NotImplementedError

    def flops(self, family: Family, module: nn.Module, batch: ModelBatch, predicted: int) -> float:
        return family.flops(module, batch, predicted)
