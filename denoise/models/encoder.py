"""The one Encoder class that BERT and every encoder-decoder model read their input with, and that a
decoder-only model (GPT) runs causally."""

from __future__ import annotations

import torch
from torch import nn

from denoise.errors import DenoiseError
from denoise.models.kv_cache import KVCache
from denoise.models.layers import (
    EncoderBlock,
    TransformerConfig,
    add_biases,
    causal_bias,
    make_norm,
    padding_bias,
    position_bias,
    unmask_unattended,
)
from denoise.models.recompute import BlockStack


class Embeddings(nn.Module):
    """Token embeddings (shared with a decoder when given), plus learned positions and token types when the
    config has them, then LayerNorm (when ``embedding_norm``) and dropout."""

    def __init__(self, config: TransformerConfig, tokens: nn.Embedding | None = None):
        super().__init__()
        self.config = config
        width = config.embedding_width
        self.tokens = tokens if tokens is not None else nn.Embedding(config.vocab_size, width)
        self.positions = (
            nn.Embedding(config.max_positions + config.position_offset, width)
            if config.positions == "learned"
            else None
        )
        self.token_types = nn.Embedding(config.type_vocab_size, width) if config.type_vocab_size else None
        self.norm = nn.LayerNorm(width, config.norm_eps) if config.embedding_norm else None
        self.dropout = nn.Dropout(config.dropout)

    def forward(
        self,
        input_ids: torch.Tensor,
        token_type_ids: torch.Tensor | None = None,
        start: int = 0,
        position_ids: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Positions run from ``start``, or are given per row by ``position_ids [B, L]`` (left-padded
        prompts)."""
        check_inputs(input_ids, self.config, start, position_ids)
        x = self.tokens(input_ids) * self.config.embedding_scale
        if self.positions is not None:
            offset = self.config.position_offset
            if position_ids is None:
                position_ids = torch.arange(start, start + input_ids.shape[1], device=input_ids.device)
            x = x + self.positions(position_ids + offset)
        if self.token_types is not None:
            types = token_type_ids if token_type_ids is not None else torch.zeros_like(input_ids)
            x = x + self.token_types(types)
        if self.norm is not None:
            x = self.norm(x)
        return self.dropout(x)


def check_inputs(
    input_ids: torch.Tensor,
    config: TransformerConfig,
    start: int = 0,
    position_ids: torch.Tensor | None = None,
) -> None:
    """Clear errors for sequences longer than the position table and ids outside the vocabulary (ids and
    position ids are checked on CPU tensors only: on an accelerator that would cost a synchronisation every
    step)."""
    length = start + input_ids.shape[1]
    if position_ids is not None:
        length = (
            int(position_ids.max()) + 1 if position_ids.device.type == "cpu" and position_ids.numel() else 0
        )
    if config.positions == "learned" and length > config.max_positions:
        raise DenoiseError(
            f"sequence of {length} tokens is longer than the model's {config.max_positions} positions; "
            "use shorter blocks (remember the special tokens framing adds) or a model with more positions"
        )
    if input_ids.device.type == "cpu" and input_ids.numel():
        low, high = int(input_ids.min()), int(input_ids.max())
        if low < 0 or high >= config.vocab_size:
            bad = high if high >= config.vocab_size else low
            raise DenoiseError(
                f"token id {bad} is outside the model's vocabulary of {config.vocab_size}; "
                "the tokenizer and the model do not match"
            )


class Encoder(BlockStack):
    """Embeddings (projected to ``d_model`` when factorised), ``num_layers`` encoder blocks and, for T5 and
    GPT-2, a final norm. Returns the hidden states.

    Run with ``causal=True`` (a decoder-only model), each position sees itself and those before it, and the
    first ``prefix_lengths[b]`` positions of row ``b`` see each other too (a prefix LM); a ``cache``
    (:meth:`new_cache`) keeps keys and values between decoding steps."""

    def __init__(self, config: TransformerConfig, tokens: nn.Embedding | None = None):
        super().__init__()
        self.config = config
        self.embeddings = Embeddings(config, tokens)
        self.embedding_projection = (
            nn.Linear(config.embedding_width, config.d_model) if config.factorised else None
        )
        # relative or ALiBi positions, None for a learned table (the name keeps T5 checkpoints' keys)
        self.relative_bias = position_bias(config, bidirectional=True)
        self.layers = nn.ModuleList(EncoderBlock(config) for _ in range(config.num_layers))
        self.final_norm = make_norm(config) if config.final_norm else None
        final_dropout = config.final_norm and config.final_dropout
        self.final_dropout = nn.Dropout(config.dropout) if final_dropout else None

    def new_cache(self) -> KVCache:
        return KVCache(len(self.layers))

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        causal: bool = False,
        prefix_lengths: torch.Tensor | None = None,
        cache: KVCache | None = None,
        position_ids: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """``attention_mask`` marks real tokens (over the cached positions too with a ``cache``)."""
        past = cache.length if cache is not None else 0
        x = self.embeddings(input_ids, token_type_ids, start=past, position_ids=position_ids)
        if self.embedding_projection is not None:
            x = self.embedding_projection(x)
        length = input_ids.shape[1]
        relative = (
            self.relative_bias(length, past + length, offset=past) if self.relative_bias is not None else None
        )
        bias = add_biases(padding_bias(attention_mask, x.dtype), relative)
        if causal and length > 1 and (bias is not None or past or prefix_lengths is not None):
            # SDPA's own causal mask serves only a plain square of scores; otherwise the mask joins the bias
            bias = add_biases(causal_bias(length, past, x.dtype, x.device, prefix_lengths), bias)
            if attention_mask is not None:
                bias = unmask_unattended(bias)
        for index, layer in enumerate(self.layers):
            x = self.run_block(
                layer, x, bias, causal, cache.self_attention[index] if cache is not None else None
            )
        if cache is not None:
            cache.length = past + length
        if self.final_norm is not None:
            x = self.final_norm(x)
        if self.final_dropout is not None:
            x = self.final_dropout(x)
        return x
