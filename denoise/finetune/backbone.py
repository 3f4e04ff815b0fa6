"""Where a fine-tuned model starts (``init``, resolved by :func:`denoise.models.init.resolve_init`), with
the tokenizer that goes with it: ``scratch`` builds the ``model`` settings for ``tokenizer``; ``scratch:DIR``
gives DIR's architecture and tokenizer with fresh weights (the baseline of a comparison)."""

from __future__ import annotations

from torch import nn

from denoise import rng
from denoise.errors import DenoiseError
from denoise.models.families import build_model, family_of
from denoise.models.init import resolve_init
from denoise.models.settings import Ids
from denoise.tasks.text import HFTaskTokenizer, SentencePieceTaskTokenizer, TaskTokenizer
from denoise.tokenizer import Tokenizer


def wrap(tokenizer: Tokenizer, model: nn.Module) -> TaskTokenizer:
    return SentencePieceTaskTokenizer(tokenizer, with_cls=family_of(model).starts_with_cls)


def load_backbone_model(config) -> tuple[nn.Module, TaskTokenizer]:
    """The model and tokenizer ``config.init`` names (``config`` is a ``FinetuneConfig``); fresh weights
    are drawn from ``config.seed``."""
    init = resolve_init(config.init)
    if init.scratch:
        if not config.tokenizer:
            raise DenoiseError(
                "init=scratch needs tokenizer=DIR (use the pre-training run's tokenizer for a fair comparison)"
            )
        tokenizer = Tokenizer.load(config.tokenizer)
        with rng.isolated(config.seed):
            model = build_model(config.model, Ids.of(tokenizer))
        return model, wrap(tokenizer, model)
    with rng.isolated():  # building the model to load into draws nothing from the caller's generators
        model = init.load_model(config.seed)
    if init.denoise_tokenizer:
        return model, wrap(Tokenizer.load(init.tokenizer_dir), model)
    if not init.tokenizer_dir.is_dir():
        raise DenoiseError(f"init {init.value} has a model but no tokenizer/ folder beside it")
    return model, HFTaskTokenizer.load(init.tokenizer_dir)  # a transformers checkpoint's tokenizer files


def check_fit(model: nn.Module, tokenizer: TaskTokenizer) -> None:
    vocab = model.config.vocab_size
    if tokenizer.vocab_size > vocab:
        raise DenoiseError(
            f"the tokenizer has {tokenizer.vocab_size} ids but the model's vocabulary only {vocab}; "
            "they do not belong together"
        )
