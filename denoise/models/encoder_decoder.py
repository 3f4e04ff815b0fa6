"""Encoder-decoder models (BART, T5): the shared :class:`~denoise.models.encoder.Encoder`, a
:class:`~denoise.models.decoder.Decoder` and a language-model head, with one token table for all three when
``tie_embeddings``.

``bart_config(size)`` and ``t5_config(size)`` give the published shapes; their parameter counts equal those
of transformers' ``BartForConditionalGeneration`` and ``T5ForConditionalGeneration``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from denoise.config import from_mapping, nearest
from denoise.errors import DenoiseError
from denoise.labels import IGNORE
from denoise.models.decoder import Decoder, DecoderCache
from denoise.models.encoder import Encoder
from denoise.models.fused_loss import linear_cross_entropy_sum
from denoise.models.layers import Attention, FeedForward, RelativePositionBias, TransformerConfig
from denoise.models.outputs import ModelOutput


@dataclass(frozen=True)
class EncoderDecoderConfig:
    encoder: TransformerConfig
    decoder: TransformerConfig
    tie_embeddings: bool = True  # the LM head reads the shared token table
    decoder_start_id: int = 2  # first decoder input (denoise: <cls>; BART: </s> = 2; T5: <pad> = 0)
    eos_id: int = 3  # where generation stops (denoise: <sep>; BART: 2; T5: 1)
    final_logits_bias: bool = False  # a fixed per-token bias on the logits (BART)
    rescale_output: bool = False  # multiply the decoder output by d_model**-0.5 before the LM head (T5)

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
    cross-entropy over the labels that are not -100."""

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
        initialise(self)

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
        cache: DecoderCache | None = None,
    ) -> torch.Tensor:
        """Logits for ``decoder_input_ids`` given the encoder states (one step at a time with a ``cache``)."""
        hidden = self.decoder(
            decoder_input_ids, encoder_states, attention_mask, decoder_attention_mask, cache
        )
        return self.logits(hidden)

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
                hidden_states=hidden,
                encoder_hidden_states=encoder_states,
            )
        logits = self.logits(hidden)
        loss = None
        if labels is not None:
            loss = F.cross_entropy(logits.flatten(0, 1).float(), labels.flatten(), ignore_index=IGNORE)
        return ModelOutput(
            logits=logits, loss=loss, hidden_states=hidden, encoder_hidden_states=encoder_states
        )


# "tiny" is not a published size: BERT-tiny's shape (2 layers of 128) in each stack, for CPU runs.
BART_SIZES = {
    "tiny": {"num_layers": 2, "d_model": 128, "num_heads": 2, "d_ff": 512},
    "base": {"num_layers": 6, "d_model": 768, "num_heads": 12, "d_ff": 3072},
    "large": {"num_layers": 12, "d_model": 1024, "num_heads": 16, "d_ff": 4096},
}
T5_SIZES = {
    "tiny": {"num_layers": 2, "d_model": 128, "num_heads": 2, "d_kv": 64, "d_ff": 512},
    "small": {"num_layers": 6, "d_model": 512, "num_heads": 8, "d_kv": 64, "d_ff": 2048},
    "base": {"num_layers": 12, "d_model": 768, "num_heads": 12, "d_kv": 64, "d_ff": 3072},
}


def _size(sizes: dict, family: str, size: str) -> dict:
    if size not in sizes:
        raise DenoiseError(f"unknown {family} size {size!r}{nearest(size, sizes)}; sizes: {', '.join(sizes)}")
    return sizes[size]


def with_changes(stack: TransformerConfig, changes: dict) -> TransformerConfig:
    """``stack`` with ``changes``, each key and value checked (an unknown key fails with the nearest one)."""
    return from_mapping(TransformerConfig, {**dataclasses.asdict(stack), **changes}, where="stack changes")


def bart_config(size: str = "base", **changes) -> EncoderDecoderConfig:
    """BART-base or -large: learned positions (offset 2), LayerNorm after each residual (eps 1e-5), GELU,
    biases, final logits bias, vocabulary 50265, 1024 positions. ``changes`` apply to both stacks."""
    stack = TransformerConfig(
        vocab_size=50265,
        **_size(BART_SIZES, "BART", size),
        activation="gelu",
        norm_eps=1e-5,
        positions="learned",
        max_positions=1024,
        position_offset=2,
        embedding_norm=True,
        dropout=0.1,
        attention_dropout=0.1,
        pad_id=1,
    )
    stack = with_changes(stack, changes)
    return EncoderDecoderConfig(
        encoder=stack, decoder=stack, decoder_start_id=2, eos_id=2, final_logits_bias=True
    )


def t5_config(size: str = "small", **changes) -> EncoderDecoderConfig:
    """T5 (v1.0) small or base: relative position buckets, RMSNorm before each sub-layer (eps 1e-6), no
    biases, unscaled attention, ReLU, final norms, vocabulary 32128, decoder output rescaled before the tied
    LM head. ``changes`` apply to both stacks (``gated=True, activation="gelu_tanh"`` gives v1.1's
    feed-forward)."""
    stack = TransformerConfig(
        vocab_size=32128,
        **_size(T5_SIZES, "T5", size),
        activation="relu",
        pre_norm=True,
        norm_eps=1e-6,
        positions="relative",
        embedding_norm=False,
        final_norm=True,
        bias=False,
        scale_attention=False,
        dropout=0.1,
        attention_dropout=0.1,
        pad_id=0,
    )
    stack = with_changes(stack, changes)
    return EncoderDecoderConfig(
        encoder=stack, decoder=stack, decoder_start_id=0, eos_id=1, rescale_output=True
    )


@torch.no_grad()
def initialise(model: EncoderDecoder) -> None:
    """Fresh weights as the families were trained from: BART's normal(0, 0.02) everywhere; T5's scaled
    normals (token table 1.0, query (d_model x d_kv)^-0.5, key/value and feed-forward input d_model^-0.5,
    attention output (heads x d_kv)^-0.5, feed-forward output d_ff^-0.5)."""
    config = model.config.encoder
    if not config.pre_norm:
        for module in model.modules():
            if isinstance(module, (nn.Linear, nn.Embedding)):
                module.weight.normal_(0.0, 0.02)
            if isinstance(module, nn.Linear) and module.bias is not None:
                module.bias.zero_()
        return
    d_model, inner = config.d_model, config.num_heads * config.head_size
    model.shared.weight.normal_(0.0, 1.0)
    if model.lm_head is not None:
        model.lm_head.weight.normal_(0.0, 1.0)
    for module in model.modules():
        if isinstance(module, Attention):
            module.query.weight.normal_(0.0, (d_model * config.head_size) ** -0.5)
            module.key.weight.normal_(0.0, d_model**-0.5)
            module.value.weight.normal_(0.0, d_model**-0.5)
            module.output.weight.normal_(0.0, inner**-0.5)
        elif isinstance(module, FeedForward):
            module.input.weight.normal_(0.0, d_model**-0.5)
            if module.gate is not None:
                module.gate.weight.normal_(0.0, d_model**-0.5)
            module.output.weight.normal_(0.0, config.d_ff**-0.5)
        elif isinstance(module, RelativePositionBias):
            module.embedding.weight.normal_(0.0, d_model**-0.5)


def count_parameters(model: nn.Module) -> int:
    """Distinct parameters (a tied table counts once)."""
    return sum(p.numel() for p in model.parameters())
