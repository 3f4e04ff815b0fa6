"""A model family as one record: everything the rest of denoise asks of a family, so that no code outside
``denoise/models/`` tests a model's class or compares family names.

Each family keeps its record in ``denoise/models/<name>/family.py``; :mod:`denoise.models.families` lists
them. ``docs/adding_a_family.md`` walks through a new one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from denoise.corruption.recipe import MODEL_KINDS

# (model, input_ids, attention_mask, token_type_ids) -> [B, L, d] states aligned with the input
StatesFn = Callable[[nn.Module, torch.Tensor, torch.Tensor, torch.Tensor | None], torch.Tensor]


@dataclass(frozen=True)
class Transformers:
    """How a family's models travel to and from transformers checkpoints."""

    model_types: tuple[str, ...]  # the checkpoints' ``model_type`` values this family reads
    load: Callable[[Any], nn.Module]  # a checkpoint directory (or a transformers model) -> a denoise model
    save: Callable[[nn.Module, str | Path], Any]  # write a denoise model as a checkpoint directory
    # (model, task kind name, mode, head, label names, out_dir): a fine-tuned model as transformers' class for
    # its task, refusing by name what that class cannot hold; None where the family exports no task head
    save_task: Callable[[nn.Module, str, str, nn.Module, list, str | Path], Any] | None = None


@dataclass(frozen=True)
class Family:
    name: str  # as recipes spell it (``model.family``) and ``model.json`` records it
    kind: str  # a kind of model (MODEL_KINDS of denoise/corruption/recipe.py): what it reads and writes
    model: type[nn.Module]  # ``model(config)``: a model with fresh weights, initialised as the family is
    config: type  # its config dataclass, the ``config`` of model.json
    sizes: Mapping[str, Mapping[str, int]]  # named sizes, with the published shapes
    from_settings: Callable[[Any, Any], Any]  # (ModelSettings, Ids) -> the config a recipe describes
    frame: Callable  # (corrupted Sample, Vocab, pad_to_multiple_of) -> the model's batch (ModelBatch)
    # (block size, the corruption recipe's ops) -> the longest sequence the model reads, framing included
    longest_input: Callable[[int, Sequence[Any]], int]
    states: Mapping[str, StatesFn]  # mode -> the states task heads read; the first mode is the default
    pooling: Mapping[str, str]  # mode -> how a classification head pools those states by default
    starts_with_cls: bool  # task inputs begin with the start token ([CLS]) the heads may read
    stacks: tuple[str, ...]  # the config fields that hold a layer stack (TransformerConfig)
    flops: Callable[[nn.Module, Any, int], float]  # (model, ModelBatch, predicted tokens) -> training FLOPs
    # (model, input_ids, attention_mask, max_new_tokens=, num_beams=, eos_id=, no_repeat_ngram_size=) -> the
    # generated ids; None for a family that does not write text (no generation tasks, no reconstructions)
    generate: Callable | None = None
    transformers: Transformers | None = None
    # the model with a sentence-pair (NSP/SOP) head, a fresh one where it has none; None: it takes no pairs
    pair_head: Callable[[nn.Module], nn.Module] | None = None
    # (model, wanted) -> the model with SpanBERT's span boundary head (a fresh one where it has none) or
    # without one; None: the family has none (a recipe's numbered spans then train no boundary head)
    span_head: Callable[[nn.Module, bool], nn.Module] | None = None
    # a pre-trained pooler a classification head starts from (BERT's), or None
    pooler_state: Callable[[nn.Module], dict | None] = field(default=lambda model: None)
    # (model, ElectraSettings) -> the module that trains the model as ELECTRA's discriminator beside a generator
    # (``objective: electra``); None where the family has no replaced-token head
    electra: Callable[[nn.Module, Any], nn.Module] | None = None
    # the model as the denoising objective trains it: BERT's with a masked-LM head (a fresh one on an ELECTRA
    # discriminator); as it is for other families
    for_denoising: Callable[[nn.Module], nn.Module] = field(default=lambda model: model)
    # the families this family's models continue as (``init=`` one of its runs in a recipe of that family):
    # name -> the model rebuilt as that family's, with the weights they share (a GPT as a masked-LM BERT)
    converts_to: Mapping[str, Callable[[nn.Module], nn.Module]] = field(default_factory=dict)

    def __post_init__(self):
        if self.kind not in MODEL_KINDS:
            raise ValueError(f"family {self.name!r}: kind {self.kind!r} is not one of {sorted(MODEL_KINDS)}")

    @property
    def generates(self) -> bool:
        return self.generate is not None

    @property
    def modes(self) -> tuple[str, ...]:
        return tuple(self.states)

    def stack_configs(self, config) -> list:
        return [getattr(config, stack) for stack in self.stacks]
