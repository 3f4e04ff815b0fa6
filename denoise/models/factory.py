"""Models from a recipe's ``model:`` section: a family, a named size and the dimensions that replace it.

The vocabulary and special ids come from the tokenizer, so a BART or T5 built here speaks denoise's ids
(pad 0, start ``<cls>``, end ``<sep>``) rather than the published checkpoints' own.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from torch import nn

from denoise.errors import DenoiseError
from denoise.models.bert import Bert, BertConfig
from denoise.models.encoder_decoder import (
    EncoderDecoder,
    EncoderDecoderConfig,
    bart_config,
    t5_config,
    with_changes,
)
from denoise.models.sizes import bert_config

STACK_KEYS = (
    "num_layers",
    "d_model",
    "num_heads",
    "d_ff",
    "d_kv",
    "max_positions",
    "dropout",
    "attention_dropout",
    "activation",
    "gated",
    "positions",
)


@dataclass(frozen=True)
class ModelSettings:
    family: str = "bert"  # bert | bart | t5
    size: str = "tiny"  # a named size: bert tiny..large; bart tiny, base, large; t5 tiny, small, base
    # Each of these, when set, replaces the named size's value (in both stacks of an encoder-decoder).
    num_layers: int | None = None
    decoder_layers: int | None = None  # encoder-decoder only; num_layers when unset
    d_model: int | None = None
    num_heads: int | None = None
    d_ff: int | None = None
    d_kv: int | None = None
    max_positions: int | None = None  # learned position tables (BERT, BART)
    dropout: float | None = None
    attention_dropout: float | None = None
    activation: str | None = None  # gelu | gelu_tanh | relu
    gated: bool | None = None  # gated feed-forward (T5 v1.1)
    positions: str | None = None  # learned (BERT, BART) | relative (T5's buckets) | alibi
    pair_head: bool | None = None  # BERT's NSP/SOP head; None: when the corruption recipe builds pairs


@dataclass(frozen=True)
class Ids:
    """The tokenizer's ids a model needs."""

    vocab_size: int
    pad_id: int
    start_id: int  # first decoder input
    eos_id: int


def changes_of(settings: ModelSettings, ids: Ids) -> dict:
    changes = {k: getattr(settings, k) for k in STACK_KEYS if getattr(settings, k) is not None}
    if "num_heads" in changes and "d_model" in changes and "d_kv" not in changes and settings.family == "t5":
        changes["d_kv"] = changes["d_model"] // changes["num_heads"]
    return {**changes, "vocab_size": ids.vocab_size, "pad_id": ids.pad_id}


def model_config(settings: ModelSettings, ids: Ids) -> BertConfig | EncoderDecoderConfig:
    """The configuration ``settings`` describe, for a tokenizer with ``ids``."""
    changes = changes_of(settings, ids)
    if settings.family == "bert":
        base = bert_config(settings.size)
        encoder = with_changes(base.encoder, changes)
        return BertConfig(encoder=encoder, pair_head=bool(settings.pair_head))
    if settings.family not in ("bart", "t5"):
        raise DenoiseError(f"unknown model family {settings.family!r}; families: bert, bart, t5")
    if settings.decoder_layers is not None and settings.decoder_layers < 1:
        raise DenoiseError(f"model.decoder_layers must be at least 1, got {settings.decoder_layers}")
    base = bart_config(settings.size) if settings.family == "bart" else t5_config(settings.size)
    encoder = with_changes(base.encoder, changes)
    decoder_changes = dict(changes)
    if settings.decoder_layers is not None:
        decoder_changes["num_layers"] = settings.decoder_layers
    decoder = with_changes(base.decoder, decoder_changes)
    return dataclasses.replace(
        base, encoder=encoder, decoder=decoder, decoder_start_id=ids.start_id, eos_id=ids.eos_id
    )


def build_model(settings: ModelSettings, ids: Ids) -> nn.Module:
    config = model_config(settings, ids)
    return Bert(config) if isinstance(config, BertConfig) else EncoderDecoder(config)


def check_positions(config: BertConfig | EncoderDecoderConfig, longest: int) -> None:
    """A clear error when sequences of ``longest`` tokens (blocks plus framing) exceed a learned position
    table; relative positions (T5) have no limit."""
    stacks = [config.encoder] if isinstance(config, BertConfig) else [config.encoder, config.decoder]
    for stack in stacks:
        if stack.positions == "learned" and longest > stack.max_positions:
            raise DenoiseError(
                f"framed sequences reach {longest} tokens but the model has {stack.max_positions} positions; "
                f"lower data.block_size by {longest - stack.max_positions} or set "
                f"model.max_positions={longest}"
            )
