"""Where a fine-tuned model starts: a pre-training run, a denoise model directory, a transformers checkpoint,
or a fresh model (``scratch`` with ``tokenizer`` and ``model`` settings, or ``scratch:DIR`` for the architecture
and tokenizer of DIR freshly initialised: the baseline of a comparison), with the tokenizer that goes with it."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from torch import nn

from denoise import rng
from denoise.errors import DenoiseError
from denoise.finetune.store import fine_tuned_dir
from denoise.models.checkpoint import CONFIG_FILE, load_model, locate_model
from denoise.models.families import build_model, family_of, fresh_copy
from denoise.models.settings import Ids
from denoise.tasks.text import HFTaskTokenizer, SentencePieceTaskTokenizer, TaskTokenizer
from denoise.tokenizer import Tokenizer


def wrap(tokenizer: Tokenizer, model: nn.Module) -> TaskTokenizer:
    return SentencePieceTaskTokenizer(tokenizer, with_cls=family_of(model).starts_with_cls)


def load_backbone_model(config) -> tuple[nn.Module, TaskTokenizer]:
    """The model and tokenizer ``config.init`` names (``config`` is a ``FinetuneConfig``)."""
    if config.init == "scratch":
        if not config.tokenizer:
            raise DenoiseError(
                "init=scratch needs tokenizer=DIR (use the pre-training run's tokenizer for a fair comparison)"
            )
        tokenizer = Tokenizer.load(config.tokenizer)
        with rng.isolated(config.seed):
            model = build_model(config.model, Ids.of(tokenizer))
        return model, wrap(tokenizer, model)
    if config.init.startswith("scratch:"):  # the architecture and tokenizer of a run, freshly initialised
        trained, tokenizer = load_backbone_model(replace(config, init=config.init.removeprefix("scratch:")))
        with rng.isolated(config.seed):
            return fresh_copy(trained), tokenizer
    root = Path(config.init)
    if not root.is_dir():
        raise FileNotFoundError(
            f"init {root} is not a directory; give a pre-training run, a model directory, a transformers "
            "checkpoint, or scratch"
        )
    root = fine_tuned_dir(root) or root  # a `denoise finetune` run: its saved model
    found = locate_model(root)  # a `denoise pretrain` run, or a denoise model directory
    if found is not None:
        model_dir, tokenizer_dir = found
        model = load_model(model_dir)
        if tokenizer_dir is not None:
            return model, wrap(Tokenizer.load(tokenizer_dir), model)
        if model_dir != root:
            raise DenoiseError(f"{root} has a model but no tokenizer/ directory beside it")
        return model, HFTaskTokenizer.load(root)  # converted from transformers, with its tokenizer files
    if (root / "config.json").exists():  # a transformers checkpoint
        from denoise.models.hf import from_hf

        return from_hf(root), HFTaskTokenizer.load(root)
    raise DenoiseError(
        f"{root} holds neither a denoise model ({CONFIG_FILE}) nor a transformers checkpoint (config.json)"
    )


def check_fit(model: nn.Module, tokenizer: TaskTokenizer) -> None:
    vocab = model.config.vocab_size
    if tokenizer.vocab_size > vocab:
        raise DenoiseError(
            f"the tokenizer has {tokenizer.vocab_size} ids but the model's vocabulary only {vocab}; "
            "they do not belong together"
        )
