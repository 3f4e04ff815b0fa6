"""The decoder of encoder-decoder models: causal self-attention, cross-attention to the encoder, feed-forward.

The same switches as the encoder cover BART (learned positions, LayerNorm after each residual) and T5 (one
unidirectional relative bias shared by all layers, RMSNorm before each sub-layer, a final norm). A
:class:`~denoise.models.kv_cache.KVCache` keeps keys and values between decoding steps.
"""

from __future__ import annotations

import torch
from torch import nn

from denoise.errors import DenoiseError
from denoise.models.encoder import Embeddings
from denoise.models.kv_cache import KVCache
from denoise.models.layers import (
    Attention,
    FeedForward,
    TransformerConfig,
    add_biases,
    causal_bias,
    make_norm,
    padding_bias,
    position_bias,
)
from denoise.models.recompute import BlockStack


class DecoderBlock(nn.Module):
    """Causal self-attention, cross-attention to the encoder states and feed-forward, each with a residual;
    normalised before each sub-layer (T5) or after each residual (BART)."""

    def __init__(self, config: TransformerConfig):
        super().__init__()
        self.pre_norm = config.pre_norm
        self.self_attention, self.self_attention_norm = Attention(config), make_norm(config)
        self.cross_attention, self.cross_attention_norm = Attention(config), make_norm(config)
        self.feed_forward, self.feed_forward_norm = FeedForward(config), make_norm(config)
        self.dropout = nn.Dropout(config.dropout)

    def residual(self, x: torch.Tensor, norm: nn.Module, sublayer) -> torch.Tensor:
        if self.pre_norm:
            return x + self.dropout(sublayer(norm(x)))
        return norm(x + self.dropout(sublayer(x)))

    def forward(
        self,
        x: torch.Tensor,
        self_bias: torch.Tensor | None,
        encoder_states: torch.Tensor,
        cross_bias: torch.Tensor | None,
        self_cache: dict | None = None,
        cross_cache: dict | None = None,
    ) -> torch.Tensor:
        x = self.residual(
            x,
            self.self_attention_norm,
            lambda h: self.self_attention(h, self_bias, causal=True, cache=self_cache),
        )
        x = self.residual(
            x,
            self.cross_attention_norm,
            lambda h: self.cross_attention(h, cross_bias, context=encoder_states, cache=cross_cache),
        )
        return self.residual(x, self.feed_forward_norm, self.feed_forward)


class Decoder(BlockStack):
    """Embeddings (the token table shared with the encoder), ``num_layers`` decoder blocks and, for T5, a
    final norm. Returns the hidden states."""

    def __init__(self, config: TransformerConfig, tokens: nn.Embedding | None = None):
        super().__init__()
        if config.factorised:
            raise DenoiseError(
                f"embedding_size {config.embedding_size} differs from d_model {config.d_model}: factorised "
                "embeddings are for encoder-only models (bert); drop model.embedding_size"
            )
        self.config = config
        self.embeddings = Embeddings(config, tokens)
        # relative or ALiBi positions, None for a learned table (the name keeps T5 checkpoints' keys)
        self.relative_bias = position_bias(config, bidirectional=False)
        self.layers = nn.ModuleList(DecoderBlock(config) for _ in range(config.num_layers))
        self.final_norm = make_norm(config) if config.final_norm else None
        final_dropout = config.final_norm and config.final_dropout
        self.final_dropout = nn.Dropout(config.dropout) if final_dropout else None

    def new_cache(self) -> KVCache:
        return KVCache(len(self.layers), cross_attention=True)

    def self_attention_bias(
        self, length: int, past: int, attention_mask: torch.Tensor | None, dtype: torch.dtype, device
    ) -> torch.Tensor | None:
        """Relative positions, padded keys and the causal mask in one bias; None when SDPA's own causal mask
        suffices (no cache, no padding, no relative bias)."""
        relative = (
            self.relative_bias(length, past + length, offset=past) if self.relative_bias is not None else None
        )
        padding = padding_bias(attention_mask, dtype)
        needs_mask = length > 1 and (relative is not None or padding is not None or past > 0)
        causal = causal_bias(length, past, dtype, device) if needs_mask else None
        return add_biases(causal, padding, relative)

    def forward(
        self,
        input_ids: torch.Tensor,
        encoder_states: torch.Tensor,
        encoder_mask: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        cache: KVCache | None = None,
    ) -> torch.Tensor:
        """``attention_mask`` marks real decoder tokens (over the cached positions too when decoding with a
        ``cache``); ``encoder_mask`` marks real encoder tokens."""
        past = cache.length if cache is not None else 0
        x = self.embeddings(input_ids, start=past)
        self_bias = self.self_attention_bias(input_ids.shape[1], past, attention_mask, x.dtype, x.device)
        cross_bias = padding_bias(encoder_mask, x.dtype)
        for index, layer in enumerate(self.layers):
            x = self.run_block(
                layer,
                x,
                self_bias,
                encoder_states,
                cross_bias,
                cache.self_attention[index] if cache is not None else None,
                cache.cross_attention[index] if cache is not None else None,
            )
        if cache is not None:
            cache.length = past + input_ids.shape[1]
        if self.final_norm is not None:
            x = self.final_norm(x)
        if self.final_dropout is not None:
            x = self.final_dropout(x)
        return x
