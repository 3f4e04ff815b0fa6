"""A fine-tuning recipe: the task, where the backbone comes from, the head, and the training budget.

Defaults, then ``TASK.yaml``, then ``key=value`` settings (``init=runs/tiny_bert optimizer.lr=1e-4``), as for
pre-training; an unknown key fails with its name and the nearest valid one.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from denoise.config import check_choice, from_mapping, load_settings, move_keys
from denoise.errors import DenoiseError
from denoise.models.settings import ModelSettings
from denoise.optim.optimizers import OPTIMIZERS
from denoise.optim.step import PRECISIONS
from denoise.tasks.classification.kind import ClassificationSettings
from denoise.tasks.generation.kind import GenerationSettings
from denoise.tasks.kinds import kind_named
from denoise.tasks.qa.kind import QASettings


@dataclass(frozen=True)
class TaskSettings:
    kind: str = "classification"  # a registered kind: classification | regression | tagging | qa | generation
    train: str | None = None  # files of each split (for generation: a prefix, read as PREFIX.SOURCE_LANGUAGE)
    dev: str | None = None
    test: str | None = None
    hub: str | None = None  # a ready hub task instead of files (sst2, mnli, squad, squad_v2, conll2003...)
    text_column: str = "text"
    pair_column: str | None = None
    label_column: str = "label"
    source_language: str = "en"  # generation: PREFIX.en -> PREFIX.es
    target_language: str = "es"


@dataclass(frozen=True)
class FinetuneOptimizer:
    # adamw, or adafactor (steps relative to each weight's scale, lr being the largest relative step; T5 was
    # fine-tuned with it)
    name: str = "adamw"
    lr: float = 1e-4
    weight_decay: float = 0.01
    warmup_ratio: float = 0.1
    clip_norm: float | None = 1.0
    # The embedding tables' learning rate as a multiple of lr. Adam's steps have the same size whatever a
    # weight's scale, and a pre-trained model's tables can be several times a fresh initialisation's, so they
    # move relatively less than a scratch model's (README, "Pre-trained against scratch at CPU scale").
    embedding_lr_scale: float = 1.0


@dataclass(frozen=True)
class FinetuneConfig:
    name: str = "task"
    task: TaskSettings = field(default_factory=TaskSettings)
    # a `denoise pretrain` run, a model folder, a `denoise finetune` run, a transformers checkpoint,
    # scratch:RUN (RUN's architecture and tokenizer, fresh weights) or scratch (the model settings below)
    init: str = "scratch"
    tokenizer: str | None = None  # scratch only: the tokenizer (a pre-training run's, for a fair comparison)
    model: ModelSettings = field(default_factory=ModelSettings)  # scratch only: the architecture
    # which of the family's states heads read: encoder | encoder_decoder (the BART way) for an encoder-decoder;
    # None: the family's first (encoder)
    mode: str | None = None
    dropout: float = 0.1  # of the head
    max_length: int = 128  # input tokens, framing included
    optimizer: FinetuneOptimizer = field(default_factory=FinetuneOptimizer)
    epochs: int = 3
    max_steps: int | None = None  # stops early when set
    batch_size: int = 32
    eval_batch_size: int = 64
    max_train_examples: int | None = None  # a random subset of N training examples (the same for every seed)
    max_eval_examples: int | None = None
    dev_each_epoch: bool = True  # score the dev split after every epoch (else only at the end)
    precision: str = "fp32"  # fp32 | bf16 | fp16
    seed: int = 0
    threads: int | None = (
        None  # torch threads of `denoise finetune` (set by the command); None: torch's default
    )
    # Each kind's own settings, read by that kind only.
    classification: ClassificationSettings = field(default_factory=ClassificationSettings)
    qa: QASettings = field(default_factory=QASettings)
    generation: GenerationSettings = field(default_factory=GenerationSettings)

    MOVED_KEYS: ClassVar[dict[str, str]] = {
        "pooling": "classification.pooling",
        "doc_stride": "qa.doc_stride",
        "max_answer_tokens": "qa.max_answer_tokens",
        "n_best": "qa.n_best",
        "span_window": "qa.span_window",
        "max_target_length": "generation.max_target_length",
        "num_beams": "generation.num_beams",
        "no_repeat_ngram_size": "generation.no_repeat_ngram_size",
    }

    def __post_init__(self):
        kind_named(self.task.kind)
        check_choice("optimizer.name", self.optimizer.name, OPTIMIZERS)
        check_choice("precision", self.precision, PRECISIONS)
        if self.epochs < 1 or self.batch_size < 1:
            raise DenoiseError(
                f"epochs and batch_size must be at least 1, got {self.epochs}, {self.batch_size}"
            )
        if self.optimizer.embedding_lr_scale <= 0:
            raise DenoiseError(
                f"optimizer.embedding_lr_scale must be above 0, got {self.optimizer.embedding_lr_scale:g}"
            )

    def to_mapping(self) -> dict:
        return dataclasses.asdict(self)


def load_finetune_config(recipe: str | Path | None, overrides: list[str] | None = None) -> FinetuneConfig:
    return load_settings(FinetuneConfig, recipe, overrides, "task recipe")


def saved_finetune_config(mapping: dict, where: str) -> FinetuneConfig:
    """A config saved with a fine-tuned model (``task.json``), written before some keys moved or after."""
    return from_mapping(FinetuneConfig, move_keys(FinetuneConfig, mapping), where=where)
