"""A model seen as the hidden states a task head reads, and the model and tokenizer a fine-tuning starts from.

Which states a head reads is the family's (``Family.states``): encoder-only models give their encoder
states; encoder-decoder models give either their encoder states (``mode="encoder"``), or, the BART way
(``mode="encoder_decoder"``), the decoder states of the same input shifted right behind the start token,
which read the whole input through cross-attention.

Where a fine-tuning starts is ``init`` (resolved by :func:`denoise.models.init.resolve_init`): ``scratch``
builds the ``model`` settings for ``tokenizer``; ``scratch:DIR`` gives DIR's architecture and tokenizer with
fresh weights (the baseline of a comparison).
"""

from __future__ import annotations

import torch
from torch import nn

from denoise import rng
from denoise.errors import DenoiseError
from denoise.models.families import build_model, family_of
from denoise.models.init import resolve_init
from denoise.models.settings import Ids
from denoise.tasks.text import HFTaskTokenizer, SentencePieceTaskTokenizer, TaskTokenizer
from denoise.tokenizer import Tokenizer


class Backbone(nn.Module):
    def __init__(self, model: nn.Module, mode: str | None = None):
        """``mode``: which of the family's states to read (``Family.modes``); None: its first."""
        super().__init__()
        self.family = family_of(model)
        mode = mode or self.family.modes[0]
        if mode not in self.family.states:
            raise DenoiseError(
                f"mode {mode!r} is not one of a {self.family.name} model's modes ({', '.join(self.family.modes)}); "
                "leave mode unset for its default"
            )
        self.model, self.mode = model, mode
        self.states = self.family.states[mode]

    @property
    def d_model(self) -> int:
        return self.model.d_model

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        token_type_ids: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """``[B, L, d]`` states aligned with ``input_ids``."""
        return self.states(self.model, input_ids, attention_mask, token_type_ids)


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
