"""The body every encoder-decoder family shares: the :class:`~denoise.models.encoder.Encoder`, a
:class:`~denoise.models.decoder.Decoder` and a language-model head, with one token table for all three when
``tie_embeddings``.

A family subclasses :class:`EncoderDecoder` with its own initialisation (``denoise.models.bart.Bart``,
``denoise.models.t5.T5``) and gives its named sizes and transformers key map in its folder.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from denoise.errors import DenoiseError
from denoise.labels import IGNORE
from denoise.models.decoder import Decoder
from denoise.models.encoder import Encoder
from denoise.models.fused_loss import linear_cross_entropy_sum
from denoise.models.kv_cache import KVCache
from denoise.models.layers import TransformerConfig, with_changes
from denoise.models.outputs import ModelOutput

if TYPE_CHECKING:
    from denoise.models.settings import Ids, ModelSettings


@dataclass(frozen=True)
class EncoderDecoderConfig:
    encoder: TransformerConfig
    decoder: TransformerConfig
    tie_embeddings: bool = True  # the LM head reads the shared token table
    decoder_start_id: int = 2  # first decoder input (denoise: <cls>; BART: </s> = 2; T5: <pad> = 0)
    eos_id: int = 3  # where generation stops (denoise: <sep>; BART: 2; T5: 1)
    final_logits_bias: bool = False  # a fixed per-token bias on the logits (BART)
    rescale_output: bool = False  # multiply the decoder output by d_model**-0.5 before the LM head (T5)

    RANGES: ClassVar[dict[str, str]] = {"decoder_start_id": ">= 0", "eos_id": ">= 0"}

    def __post_init__(self):
        for name in ("vocab_size", "d_model", "pad_id"):
            encoder_value, decoder_value = getattr(self.encoder, name), getattr(self.decoder, name)
            if encoder_value != decoder_value:
                raise DenoiseError(
                    f"encoder and decoder must share {name}: encoder {encoder_value}, decoder {decoder_value}"
                )
        for name in ("decoder_start_id", "eos_id"):
            value = getattr(self, name)
            if not 0 <= value < self.decoder.vocab_size:
                raise DenoiseError(f"{name} {value} is outside the vocabulary of {self.decoder.vocab_size}")

    @property
    def vocab_size(self) -> int:
        return self.decoder.vocab_size

    @property
    def pad_id(self) -> int:
        return self.decoder.pad_id


def shift_right(labels: torch.Tensor, start_id: int, pad_id: int) -> torch.Tensor:
    """Decoder inputs for ``labels``: ``start_id`` then the labels without their last token, ignored labels
    (-100) replaced by ``pad_id``."""
    shifted = torch.full_like(labels, start_id)
    shifted[:, 1:] = labels[:, :-1]
    return shifted.masked_fill(shifted == IGNORE, pad_id)


class EncoderDecoder(nn.Module):
    """Encoder, decoder and LM head; ``forward`` returns logits ``[B, T, V]`` and, given labels, the mean
    cross-entropy over the labels that are not -100. Families subclass it and define :meth:`initialise`."""

    def __init__(self, config: EncoderDecoderConfig):
        super().__init__()
        self.config = config
        self.shared = nn.Embedding(config.vocab_size, config.encoder.d_model)
        self.encoder = Encoder(config.encoder, self.shared)
        self.decoder = Decoder(config.decoder, self.shared)
        self.lm_head = (
            None
            if config.tie_embeddings
            else nn.Linear(config.decoder.d_model, config.vocab_size, bias=False)
        )
        if config.final_logits_bias:
            self.register_buffer("final_logits_bias", torch.zeros(config.vocab_size))
        else:
            self.final_logits_bias = None
        self.initialise()

    @torch.no_grad()
    def initialise(self) -> None:
        """Fresh weights as the family was trained from."""
        raise NotImplementedError(
            f"{type(self).__name__} names no initialisation; build a family's model (Bart, T5) instead"
        )

    @property
    def d_model(self) -> int:
        return self.config.encoder.d_model

    def encode(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None) -> torch.Tensor:
        return self.encoder(input_ids, attention_mask)

    def logits(self, hidden: torch.Tensor) -> torch.Tensor:
        if self.config.rescale_output:
            hidden = hidden * self.config.decoder.d_model**-0.5
        weight = self.shared.weight if self.lm_head is None else self.lm_head.weight
        logits = F.linear(hidden, weight)
        if self.final_logits_bias is not None:
            logits = logits + self.final_logits_bias
        return logits

    def chunked_loss(self, hidden: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Mean cross-entropy of the LM head on ``hidden`` without materialising the logits."""
        if self.config.rescale_output:
            hidden = hidden * self.config.decoder.d_model**-0.5
        weight = self.shared.weight if self.lm_head is None else self.lm_head.weight
        total = linear_cross_entropy_sum(hidden, weight, labels, self.final_logits_bias)
        return total / (labels != IGNORE).sum().clamp(min=1)

    def decode(
        self,
        decoder_input_ids: torch.Tensor,
        encoder_states: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        decoder_attention_mask: torch.Tensor | None = None,
        cache: KVCache | None = None,
    ) -> torch.Tensor:
        """Logits for ``decoder_input_ids`` given the encoder states (one step at a time with a ``cache``)."""
        hidden = self.decoder(
            decoder_input_ids, encoder_states, attention_mask, decoder_attention_mask, cache
        )
        return self.logits(hidden)

    def start_decoding(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None, beams: int, max_new_tokens: int
    ) -> Seq2SeqDecoding:
        """The input encoded once, for ``beams`` rows per example (:mod:`denoise.models.generation`)."""
        decoder = self.config.decoder
        if decoder.positions == "learned" and max_new_tokens > decoder.max_positions:
            raise DenoiseError(
                f"max_new_tokens {max_new_tokens} is more than the decoder's {decoder.max_positions} positions"
            )
        return Seq2SeqDecoding(self, input_ids, attention_mask, beams)

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        decoder_input_ids: torch.Tensor | None = None,
        decoder_attention_mask: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        return_logits: bool = True,
    ) -> ModelOutput:
        """Logits ``[B, T, V]`` and, given ``labels``, their mean cross-entropy. With labels and
        ``return_logits=False`` the loss is computed in chunks without holding the logits (faster, and far
        less memory for large vocabularies); ``logits`` is then None."""
        if decoder_input_ids is None:
            if labels is None:
                raise DenoiseError("an encoder-decoder forward needs decoder_input_ids or labels")
            decoder_input_ids = shift_right(labels, self.config.decoder_start_id, self.config.pad_id)
        encoder_states = self.encode(input_ids, attention_mask)
        hidden = self.decoder(decoder_input_ids, encoder_states, attention_mask, decoder_attention_mask)
        if labels is not None and not return_logits:
            return ModelOutput(
                logits=None,
                loss=self.chunked_loss(hidden, labels),
                targets=labels,
                hidden_states=hidden,
                encoder_hidden_states=encoder_states,
            )
        logits = self.logits(hidden)
        loss = None
        if labels is not None:
            loss = F.cross_entropy(logits.flatten(0, 1).float(), labels.flatten(), ignore_index=IGNORE)
        return ModelOutput(
            logits=logits,
            loss=loss,
            targets=labels,
            hidden_states=hidden,
            encoder_hidden_states=encoder_states,
        )


class Seq2SeqDecoding:
    """Generation from an encoder-decoder: the decoder starts from its start token and reads the encoder
    states of its example on every step."""

    def __init__(self, model: EncoderDecoder, input_ids, attention_mask, beams: int):
        self.model = model
        self.states = model.encode(input_ids, attention_mask).repeat_interleave(beams, dim=0)
        self.mask = attention_mask.repeat_interleave(beams, dim=0) if attention_mask is not None else None
        self.cache = model.decoder.new_cache()
        self.context = input_ids.new_full((len(self.states), 1), model.config.decoder_start_id)

    def first_logits(self) -> torch.Tensor:
        return self.next_logits(self.context)

    def next_logits(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.model.decode(tokens, self.states, self.mask, cache=self.cache)[:, -1]

    def select_beams(self, index: torch.Tensor) -> None:
        self.cache.select_beams(index)


def config_from_settings(
    base: EncoderDecoderConfig, settings: ModelSettings, changes: dict, ids: Ids
) -> EncoderDecoderConfig:
    """``base`` (a named size) with a recipe's ``changes`` in both stacks, ``model.decoder_layers`` in the
    decoder, and the tokenizer's start and end ids."""
    encoder = with_changes(base.encoder, changes)
    decoder_changes = dict(changes)
    if settings.decoder_layers is not None:
        decoder_changes["num_layers"] = settings.decoder_layers
    decoder = with_changes(base.decoder, decoder_changes)
    return dataclasses.replace(
        base, encoder=encoder, decoder=decoder, decoder_start_id=ids.start_id, eos_id=ids.eos_id
    )


def encoder_states(model: EncoderDecoder, input_ids, attention_mask, token_type_ids=None) -> torch.Tensor:
    """``[B, L, d]``: what the encoder makes of the input (token types are not an encoder-decoder's)."""
    return model.encoder(input_ids, attention_mask)


def decoder_states(model: EncoderDecoder, input_ids, attention_mask, token_type_ids=None) -> torch.Tensor:
    """``[B, L, d]``, the BART way: the decoder reads the input shifted right behind its start token, and
    sees all of it through cross-attention, so state ``i`` belongs to token ``i``."""
    states = model.encoder(input_ids, attention_mask)
    start = torch.full_like(input_ids[:, :1], model.config.decoder_start_id)
    decoder_ids = torch.cat([start, input_ids[:, :-1]], dim=1)
    decoder_mask = torch.cat([torch.ones_like(attention_mask[:, :1]), attention_mask[:, :-1]], dim=1)
    return model.decoder(decoder_ids, states, attention_mask, decoder_mask)


def count_parameters(model: nn.Module) -> int:
    """Distinct parameters (a tied table counts once)."""
    return sum(p.numel() for p in model.parameters())
