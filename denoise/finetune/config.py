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
    kind: str = "classification"  # a registered kind (denoise/tasks/kinds.py): classification, regression, tagging, qa, generation
    train: str | None = None  # files of each split (for generation: a prefix, read as PREFIX.SOURCE_LANGUAGE)
    dev: str | None = None  # the dev split: chooses settings such as QA's no-answer threshold
    test: str | None = None  # the test split: scored once, at the end
    hub: str | None = None  # a ready hub task instead of files (sst2, mnli, squad, squad_v2, conll2003...)
    text_column: str = "text"  # classification: the column of the text
    pair_column: str | None = None  # classification: the column of a second text (sentence pairs)
    label_column: str = "label"  # classification: the column of the label (a number for regression)
    source_language: str = "en"  # generation: PREFIX.en -> PREFIX.es
    target_language: str = "es"  # generation: the suffix of the target files


@dataclass(frozen=True)
class FinetuneOptimizer:
    # adamw, or adafactor (steps relative to each weight's scale, lr being the largest relative step; T5 was
    # fine-tuned with it)
    name: str = "adamw"
    # the peak learning rate, after the warmup (0: the init is scored as it is); a list is a sweep, each rate
    # trained in turn and the best on the dev split kept; null: by the model's width (default_lr in
    # denoise/finetune/rates.py), and 1e-3 for a probe
    lr: float | list[float] | None = None
    weight_decay: float = 0.01  # not applied to biases, norms and embeddings
    warmup_ratio: float = 0.1  # the share of the steps spent warming up, then linear decay to 0
    clip_norm: float | None = 1.0  # the largest gradient norm; null: no clipping
    # The embedding tables' learning rate as a multiple of lr. Adam's steps have the same size whatever a
    # weight's scale, and a pre-trained model's tables can be several times a fresh initialisation's, so they
    # move relatively less than a scratch model's (experiments/downstream_tiny/README.md).
    embedding_lr_scale: float = 1.0

    RANGES: ClassVar[dict[str, str]] = {
        "lr": ">= 0",
        "weight_decay": ">= 0",
        "warmup_ratio": "[0, 1]",
        "clip_norm": "> 0",
        "embedding_lr_scale": "> 0",
    }


KEEPS = ("best", "last")


@dataclass(frozen=True)
class FinetuneConfig:
    name: str = "task"  # the run's name (the default --out is runs/NAME)
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
    # The budget: at most this many passes over the training split (or max_steps steps), stopped early once
    # the dev score has not improved for `patience` scores in a row.
    epochs: int = 10
    max_steps: int | None = None  # at most this many steps, when set
    eval_interval: int | None = None  # steps between dev scores; null: after every epoch
    patience: int | None = 3  # dev scores without a better one before stopping; null: train the whole budget
    keep: str = "best"  # best: the weights of the best dev score are scored and saved; last: the last ones
    # freeze the backbone and train a linear head alone on its states (computed once): what pre-training put
    # in the states, in minutes
    probe: bool = False
    batch_size: int = 32  # training examples per step
    eval_batch_size: int = 64  # examples per forward when scoring
    max_train_examples: int | None = None  # a random subset of N training examples (the same for every seed)
    max_eval_examples: int | None = None  # a random subset of N dev and test examples (the same always)
    precision: str = "fp32"  # fp32 | bf16 | fp16
    seed: int = 0  # the head's fresh weights, dropout and the order of the examples follow from it
    threads: int | None = None  # torch threads, set by `denoise finetune`; None: torch's default
    # each kind's own keys, read by that kind only (classification also by regression)
    classification: ClassificationSettings = field(default_factory=ClassificationSettings)
    qa: QASettings = field(default_factory=QASettings)  # read by qa only
    generation: GenerationSettings = field(default_factory=GenerationSettings)  # read by generation only

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
    RANGES: ClassVar[dict[str, str]] = {
        "dropout": "[0, 1)",
        "max_length": ">= 1",
        "epochs": ">= 1",
        "max_steps": ">= 1",
        "eval_interval": ">= 1",
        "patience": ">= 1",
        "batch_size": ">= 1",
        "eval_batch_size": ">= 1",
        "max_train_examples": ">= 1",
        "max_eval_examples": ">= 1",
        "seed": ">= 0",
        "threads": ">= 1",
    }

    def __post_init__(self):
        kind_named(self.task.kind)
        check_choice("optimizer.name", self.optimizer.name, OPTIMIZERS)
        check_choice("precision", self.precision, PRECISIONS)
        check_choice("keep", self.keep, KEEPS)
        if isinstance(self.optimizer.lr, list) and not self.optimizer.lr:
            raise DenoiseError(
                "optimizer.lr is an empty list; give one rate, a list of rates to sweep, or null"
            )

    @property
    def sweeps(self) -> bool:
        """Several learning rates, chosen among on the dev split."""
        return isinstance(self.optimizer.lr, list) and len(self.optimizer.lr) > 1

    @property
    def scores_dev_while_training(self) -> bool:
        """Early stopping and keeping the best weights both need dev scores during training."""
        return self.patience is not None or self.keep == "best"

    def to_mapping(self) -> dict:
        return dataclasses.asdict(self)


def load_finetune_config(recipe: str | Path | None, overrides: list[str] | None = None) -> FinetuneConfig:
    return load_settings(FinetuneConfig, recipe, overrides, "task recipe")


def saved_finetune_config(mapping: dict, where: str) -> FinetuneConfig:
    """A config saved with a fine-tuned model (``task.json``), written before some keys moved or after."""
    mapping = {k: v for k, v in mapping.items() if k not in RETIRED_KEYS}
    return from_mapping(FinetuneConfig, move_keys(FinetuneConfig, mapping), where=where)


# Keys that configs saved by earlier versions hold and that no longer mean anything (dev scoring now follows
# from patience and keep).
RETIRED_KEYS = ("dev_each_epoch",)
