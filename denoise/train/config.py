"""A pre-training recipe: dataclass defaults, then a YAML file, then ``key=value`` overrides.

The defaults are the main job, ``recipes/tiny_mlm.yaml``: a 2-layer BERT pre-trained by masked LM on the
embedded corpus, which leaves masked LM's unigram plateau and finishes on two CPU cores in about 8 minutes. ``load_config("recipes/bart_base.yaml", ["training.max_steps=10"])`` reads a
recipe and overrides one value; an unknown key fails with its name and the nearest valid one.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from denoise.config import check_choice, from_mapping, load_settings
from denoise.data.sources import ENCODING_ERRORS
from denoise.errors import DenoiseError
from denoise.models.families import family_named
from denoise.models.settings import ModelSettings
from denoise.optim.optimizers import OPTIMIZERS
from denoise.optim.schedules import SCHEDULES
from denoise.optim.step import PRECISIONS
from denoise.train.objectives import build_objective, objective_mapping
from denoise.train.sharding import SHARDINGS


@dataclass(frozen=True)
class DataSettings:
    corpus: list[str] = field(default_factory=list)  # files, folders or hub:NAME; empty: the embedded corpus
    prepared: str | None = None  # a directory written by `denoise prepare` (then corpus is not read)
    tokenizer: str | None = None  # a tokenizer directory; None: trained on the corpus once, then cached
    vocab_size: int = 8000  # of the tokenizer trained when none is given
    block_size: int = 32  # tokens per packed block, before the special tokens framing adds
    validation_blocks: int = 256  # blocks held out (drawn with the seed) for evaluation
    text_column: str = "text"  # the text column of .jsonl, .parquet and hub inputs
    encoding_errors: str = "strict"  # bytes of .txt inputs that are not UTF-8: strict stops, replace | ignore
    num_proc: int = 1  # processes for tokenizing the corpus
    streaming: bool = False  # tokenize in one pass without intermediate files (huge hub corpora)
    num_workers: int = 0  # DataLoader workers corrupting batches

    RANGES: ClassVar[dict[str, str]] = {
        "vocab_size": ">= 1",
        "block_size": ">= 1",
        "validation_blocks": ">= 0",
        "num_proc": ">= 1",
        "num_workers": ">= 0",
    }


@dataclass(frozen=True)
class OptimizerSettings:
    name: str = "adamw"  # adamw | adafactor (torch >= 2.5)
    lr: float = 3e-3  # the peak learning rate, reached after the warmup
    betas: tuple[float, float] = (0.9, 0.999)  # AdamW's moment decay rates
    eps: float = 1e-8  # AdamW's epsilon
    weight_decay: float = 0.01  # not applied to biases, norms and embeddings
    schedule: str = "linear"  # linear | cosine | inverse_sqrt | constant, after the warmup
    warmup_steps: int = 200  # steps of linear warmup from 0 to lr
    min_lr_ratio: float = 0.0  # linear and cosine decay down to lr * min_lr_ratio
    clip_norm: float | None = 1.0  # the largest gradient norm, clipped to it; null: no clipping
    fused: bool | None = None  # fused AdamW kernels; None: on CUDA

    RANGES: ClassVar[dict[str, str]] = {
        "lr": "> 0",
        "betas": "[0, 1)",
        "eps": "> 0",
        "weight_decay": ">= 0",
        "warmup_steps": ">= 0",
        "min_lr_ratio": "[0, 1]",
        "clip_norm": "> 0",
    }


@dataclass(frozen=True)
class TrainingSettings:
    global_batch: int = 128  # sequences per optimizer step, over all processes and accumulation steps
    micro_batch: int | None = None  # sequences per forward on each process; None: global_batch / processes
    max_steps: int | None = 1800  # optimizer steps; null: from max_tokens
    max_tokens: int | None = None  # a token budget (block tokens); sets the steps when max_steps is None
    precision: str = "fp32"  # fp32 | bf16 | fp16
    compile: bool = False  # torch.compile the model (fixed shapes: batches are padded to the block size)
    # how several processes hold the model: none (each a whole copy, gradients averaged: data parallel) or
    # fsdp (each a slice of every weight, gradient and optimizer state: fully sharded, for larger models)
    sharding: str = "none"
    # under fsdp, the processes that share one sharded copy (those of a node), the groups replicating it;
    # None: all processes share one copy
    shard_processes: int | None = None
    # under fsdp, each process writes its own shards of the weights and optimizer state into checkpoints
    # (shards/) rather than the main process all of them whole: for a state larger than its CPU memory
    sharded_checkpoints: bool = False
    # keep only each Transformer block's input for the backward pass and run the block again there: about a
    # third more compute for the memory of the activations inside the blocks (the same gradients)
    activation_checkpointing: bool = False
    seed: int = 0  # fresh weights, dropout, data order and corruption all follow from it
    log_interval: int = 10  # steps between lines of metrics.jsonl
    eval_interval: int = 300  # steps between evaluations on the held-out blocks
    eval_batches: int = 4  # micro-batches of held-out blocks each evaluation reads
    # held-out blocks shown at each eval: an encoder-decoder's greedy reconstructions (scored with sacrebleu),
    # an encoder's masked tokens beside its first guesses
    reconstructions: int = 4
    checkpoint_interval: int = 300  # steps between checkpoints
    keep_checkpoints: int = 2  # the newest checkpoints kept; older ones are removed
    # fractions of the run's steps at which the model is also kept, with its tokenizer, in
    # OUT/snapshots/step-N/ (a run folder fine-tuning starts from), for scores against pre-training compute
    snapshots: list[float] = field(default_factory=list)
    trackers: list[str] = field(default_factory=lambda: ["tensorboard"])  # accelerate trackers when installed
    threads: int | None = None  # torch threads per process, set by `denoise pretrain`; None: torch's default
    peak_tflops: float | None = None  # the device's peak, for model FLOPs utilisation; None: known GPUs

    RANGES: ClassVar[dict[str, str]] = {
        "global_batch": ">= 1",
        "micro_batch": ">= 1",
        "max_steps": ">= 1",
        "max_tokens": ">= 1",
        "seed": ">= 0",
        "log_interval": ">= 1",
        "eval_interval": ">= 1",
        "eval_batches": ">= 0",
        "reconstructions": ">= 0",
        "checkpoint_interval": ">= 1",
        "keep_checkpoints": ">= 1",
        "snapshots": "(0, 1]",
        "threads": ">= 1",
        "peak_tflops": "> 0",
        "shard_processes": ">= 1",
    }


@dataclass(frozen=True)
class PretrainConfig:
    name: str = "tiny_mlm"  # the run's name (the default --out is runs/NAME)
    # a run, a model folder, a fine-tuned run or scratch:RUN to continue from: its weights, architecture and
    # tokenizer replace the model settings (model.family must agree); null: fresh weights
    init: str | None = None
    data: DataSettings = field(default_factory=DataSettings)
    model: ModelSettings = field(default_factory=ModelSettings)
    corruption: Any = "mlm40"  # a shipped corruption recipe name, a .yaml path, or {name, steps}
    # what is optimised on the corrupted blocks: denoising (the model predicts what the corruption hid) or
    # electra (a generator fills the masks and the model tells replaced tokens); a name or {name, ...settings}
    objective: Any = "denoising"
    optimizer: OptimizerSettings = field(default_factory=OptimizerSettings)
    training: TrainingSettings = field(default_factory=TrainingSettings)

    def __post_init__(self):
        family = family_named(self.model.family)
        if self.model.span_head and family.span_head is None:
            raise DenoiseError(
                f"model.span_head: model.family {self.model.family!r} has no span boundary head (SpanBERT's is "
                "a BERT's); drop the setting"
            )
        build_objective(self.objective)
        check_choice("training.precision", self.training.precision, PRECISIONS)
        check_choice("training.sharding", self.training.sharding, SHARDINGS)
        check_choice("data.encoding_errors", self.data.encoding_errors, ENCODING_ERRORS)
        check_choice("optimizer.schedule", self.optimizer.schedule, SCHEDULES)
        check_choice("optimizer.name", self.optimizer.name, OPTIMIZERS)
        t = self.training
        if t.max_steps is None and t.max_tokens is None:
            raise DenoiseError("set a budget: training.max_steps or training.max_tokens")
        if t.shard_processes is not None and t.sharding != "fsdp":
            raise DenoiseError(
                f"training.shard_processes={t.shard_processes} groups the processes of a sharded run; set "
                "training.sharding=fsdp with it, or drop it"
            )
        if t.sharded_checkpoints and t.sharding != "fsdp":
            raise DenoiseError(
                "training.sharded_checkpoints writes the shards of a sharded run; set training.sharding=fsdp "
                "with it, or drop it"
            )
        if t.sharding == "fsdp" and t.precision == "fp16":
            raise DenoiseError(
                "training.sharding=fsdp trains in fp32 or bf16, not fp16 (whose loss scaling does not see the "
                "shards); set training.precision=bf16"
            )

    def to_mapping(self) -> dict:
        return {**dataclasses.asdict(self), "objective": objective_mapping(self.objective)}


def normalised_config(mapping: dict) -> dict:
    """A config a run saved, as this version writes it: keys added since take their defaults (a checkpoint
    written before ``objective`` existed trained with the default one). Left as it is when it no longer
    reads (the comparison that follows then names the key that differs)."""
    try:
        return from_mapping(PretrainConfig, mapping, where="the saved config").to_mapping()
    except DenoiseError:
        return mapping


def load_config(recipe: str | Path | None = None, overrides: list[str] | None = None) -> PretrainConfig:
    """Defaults, then the YAML ``recipe`` (when given), then ``overrides``."""
    return load_settings(PretrainConfig, recipe, overrides, "pre-training recipe")
