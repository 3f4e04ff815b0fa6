"""A fine-tuning recipe: the task, where the backbone comes from, the head, and the training budget.

Defaults, then ``TASK.yaml``, then ``key=value`` settings (``init=runs/tiny_bert optimizer.lr=1e-4``), as for
pre-training; an unknown key fails with its name and the nearest valid one.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

from denoise.config import check_choice, load_settings
from denoise.errors import DenoiseError
from denoise.models.settings import ModelSettings
from denoise.optim.optimizers import OPTIMIZERS
from denoise.optim.step import PRECISIONS

KINDS = ("classification", "regression", "tagging", "qa", "generation")


@dataclass(frozen=True)
class TaskSettings:
    kind: str = "classification"  # classification | regression | tagging | qa | generation
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
    init: str = (
        "scratch"  # a `denoise pretrain` run or model directory, a transformers checkpoint, or scratch
    )
    tokenizer: str | None = None  # scratch only: the tokenizer (a pre-training run's, for a fair comparison)
    model: ModelSettings = field(default_factory=ModelSettings)  # scratch only: the architecture
    # which of the family's states heads read: encoder | encoder_decoder (the BART way) for an encoder-decoder;
    # None: the family's first (encoder)
    mode: str | None = None
    pooling: str | None = None  # first | mean | last; None: first for BERT, last in BART mode, mean otherwise
    dropout: float = 0.1
    max_length: int = 128
    doc_stride: int = 32  # qa: context tokens shared by consecutive windows
    max_answer_tokens: int = 30  # qa
    n_best: int = 5  # qa: candidate spans kept per question
    span_window: int = 0  # qa: neighbours on each side a token's start and end scores read (0: BERT's head)
    max_target_length: int = 128  # generation
    num_beams: int = 4  # generation
    no_repeat_ngram_size: int = 0  # generation: no n-gram of this size twice in one output (0: off)
    optimizer: FinetuneOptimizer = field(default_factory=FinetuneOptimizer)
    epochs: int = 3
    max_steps: int | None = None  # stops early when set
    batch_size: int = 32
    eval_batch_size: int = 64
    max_train_examples: int | None = None  # a random subset of N training examples (the same for every seed)
    max_eval_examples: int | None = None
    dev_each_epoch: bool = True  # score the dev split after every epoch (else only at the end)
    precision: str = "fp32"
    seed: int = 0
    threads: int | None = (
        None  # torch threads of `denoise finetune` (set by the command); None: torch's default
    )

    def __post_init__(self):
        check_choice("task.kind", self.task.kind, KINDS)
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
        if self.span_window < 0:
            raise DenoiseError(f"span_window must be 0 (one token) or more, got {self.span_window}")
        if self.num_beams < 1 or self.no_repeat_ngram_size < 0:
            raise DenoiseError(
                f"num_beams must be at least 1 and no_repeat_ngram_size 0 (off) or more, got "
                f"{self.num_beams} and {self.no_repeat_ngram_size}"
            )

    def to_mapping(self) -> dict:
        return dataclasses.asdict(self)


def load_finetune_config(recipe: str | Path | None, overrides: list[str] | None = None) -> FinetuneConfig:
    return load_settings(FinetuneConfig, recipe, overrides, "task recipe")
