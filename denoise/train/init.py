"""Continued pre-training: start from the model and tokenizer ``init`` names (a run, a model folder, a
fine-tuned run; ``scratch:RUN`` for RUN's architecture with fresh weights) instead of fresh weights, to adapt
it to a domain or to a task's unlabelled text (Gururangan et al., 2020)."""

from __future__ import annotations

from torch import nn

from denoise.errors import DenoiseError
from denoise.models.families import Family, family_of
from denoise.models.init import Init, resolve_init
from denoise.tokenizer import Tokenizer


def pretraining_init(value: str) -> Init:
    """``value`` resolved, checked to give a model and the denoise tokenizer it was trained with."""
    init = resolve_init(value)
    if init.scratch:
        raise DenoiseError("init=scratch builds nothing to continue from; leave init unset for fresh weights")
    if not init.denoise_tokenizer:
        raise DenoiseError(
            f"init {value} has no denoise tokenizer beside its model; continued pre-training needs the "
            "tokenizer the model was trained with (a `denoise pretrain` run has it in tokenizer/)"
        )
    return init


def check_tokenizer(init: Init, tokenizer: Tokenizer, where: str) -> None:
    """Refuse a corpus tokenized with another tokenizer than the model's."""
    own = Tokenizer.load(init.tokenizer_dir)
    if (own.model_proto, own.num_sentinels) != (tokenizer.model_proto, tokenizer.num_sentinels):
        raise DenoiseError(
            f"{where} was tokenized with another tokenizer than init's ({init.tokenizer_dir}); prepare the "
            f"corpus with --tokenizer {init.tokenizer_dir}, or leave data.tokenizer and data.prepared unset"
        )


def init_model(init: Init, family: Family, pairs: bool, seed: int, spans: bool = False) -> nn.Module:
    """The init's model (fresh weights from ``seed`` for ``scratch:RUN``), of ``family`` or converted to it
    where its own family converts to that one (``Family.converts_to``); with a sentence-pair head when
    ``pairs``; with a span boundary head when ``spans``, without one otherwise."""
    model = init.load_model(seed)
    found = family_of(model)
    if found is not family:
        if family.name not in found.converts_to:
            into = "".join(f" or {name}" for name in found.converts_to)
            raise DenoiseError(
                f"init {init.value} holds a {found.name} model but model.family is {family.name!r}; "
                f"set model.family={found.name}{into}"
            )
        model = found.converts_to[family.name](model)
    model = family.pair_head(model) if pairs else model
    return family.span_head(model, spans) if family.span_head is not None else model
