"""Transformer building blocks shared by the encoder and the decoder.

One :class:`TransformerConfig` describes a stack. Its switches cover the published families:
BERT and BART (learned absolute positions, LayerNorm after each residual, biases, GELU) and T5 (relative
position buckets, RMSNorm before each sub-layer, no biases, unscaled attention, ReLU or gated GELU).
Attention runs through ``torch.nn.functional.scaled_dot_product_attention``; with no padding and no relative
bias no mask is built at all, so the fused kernels apply.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from denoise.config import from_mapping, nearest
from denoise.errors import DenoiseError

ACTIVATIONS = {
    "gelu": lambda x: F.gelu(x),
    "gelu_tanh": lambda x: F.gelu(x, approximate="tanh"),
    "relu": F.relu,
}


POSITIONS = ("learned", "relative", "alibi")
NORMS = ("layer", "rms")


@dataclass(frozen=True)
class TransformerConfig:
    vocab_size: int
    d_model: int
    num_layers: int
    num_heads: int
    d_ff: int
    d_kv: int | None = None  # per-head size; d_model // num_heads when None
    # the width of the token, position and type embeddings; d_model when None. A narrower table is projected
    # up to d_model by a linear layer (ALBERT's and ELECTRA's factorised embeddings; encoder stacks only)
    embedding_size: int | None = None
    activation: str = "gelu"  # gelu | gelu_tanh | relu
    gated: bool = False  # gated feed-forward (T5 v1.1): act(x W0) * (x W1)
    pre_norm: bool = False  # normalise before each sub-layer (T5, GPT-2) instead of after it (BERT, BART)
    # layer (LayerNorm) | rms (RMSNorm, no bias); None: rms before each sub-layer (T5), layer after it
    norm: str | None = None
    norm_eps: float = 1e-12
    positions: str = "learned"  # learned | relative (T5's buckets) | alibi (a fixed distance penalty)
    max_positions: int = 512
    position_offset: int = 0  # BART's learned position table starts at 2
    relative_buckets: int = 32
    relative_max_distance: int = 128
    type_vocab_size: int = 0  # token types (segments) of BERT; 0 for none
    embedding_norm: bool = True  # LayerNorm on the embeddings (BERT, BART)
    embedding_scale: float = 1.0  # multiply token embeddings (BART's scale_embedding: sqrt(d_model))
    final_norm: bool = False  # normalise the stack's output (T5)
    final_dropout: bool = True  # dropout after that final norm (T5's); GPT-2 has none
    bias: bool = True
    scale_attention: bool = True  # divide scores by sqrt(d_kv) (T5 folds it into its initialisation)
    dropout: float = 0.1
    attention_dropout: float = 0.1
    activation_dropout: float | None = None  # dropout on the feed-forward hidden layer; ``dropout`` when None
    pad_id: int = 0

    RANGES: ClassVar[dict[str, str]] = {
        "vocab_size": ">= 1",
        "d_model": ">= 1",
        "num_layers": ">= 1",
        "num_heads": ">= 1",
        "d_ff": ">= 1",
        "d_kv": ">= 1",
        "embedding_size": ">= 1",
        "norm_eps": "> 0",
        "max_positions": ">= 1",
        "position_offset": ">= 0",
        "relative_buckets": ">= 1",
        "relative_max_distance": ">= 1",
        "type_vocab_size": ">= 0",
        "embedding_scale": "> 0",
        "dropout": "[0, 1)",
        "attention_dropout": "[0, 1)",
        "activation_dropout": "[0, 1)",
        "pad_id": ">= 0",
    }

    def __post_init__(self):
        if self.activation not in ACTIVATIONS:
            raise DenoiseError(f"activation {self.activation!r} is not one of {sorted(ACTIVATIONS)}")
        if self.norm is not None and self.norm not in NORMS:
            raise DenoiseError(f"norm must be one of {NORMS} (or unset), got {self.norm!r}")
        if self.positions not in POSITIONS:
            raise DenoiseError(f"positions must be one of {POSITIONS}, got {self.positions!r}")
        if self.d_kv is None and self.d_model % self.num_heads:
            raise DenoiseError(
                f"d_model {self.d_model} is not divisible by num_heads {self.num_heads}; choose num_heads "
                "dividing d_model, or set each head's width (d_kv) explicitly"
            )

    @property
    def head_size(self) -> int:
        return self.d_kv or self.d_model // self.num_heads

    @property
    def norm_kind(self) -> str:
        """``layer`` or ``rms``: the norm set, else RMSNorm for a pre-norm stack (T5) and LayerNorm for a
        post-norm one (BERT, BART)."""
        return self.norm or ("rms" if self.pre_norm else "layer")

    @property
    def embedding_width(self) -> int:
        """The width of the embedding tables (``embedding_size``, else ``d_model``)."""
        return self.embedding_size or self.d_model

    @property
    def factorised(self) -> bool:
        """Whether the embeddings are narrower (or wider) than the states and need a projection."""
        return self.embedding_width != self.d_model


def with_changes(stack: TransformerConfig, changes: dict) -> TransformerConfig:
    """``stack`` with ``changes``, each key and value checked (an unknown key fails with the nearest one)."""
    return from_mapping(TransformerConfig, {**dataclasses.asdict(stack), **changes}, where="stack changes")


def named_size(sizes: dict, family: str, size: str) -> dict:
    """The shape of ``size`` among a family's named ``sizes``; a clear error for another name."""
    if size not in sizes:
        raise DenoiseError(f"unknown {family} size {size!r}{nearest(size, sizes)}; sizes: {', '.join(sizes)}")
    return dict(sizes[size])


class RMSNorm(nn.Module):
    """Root-mean-square normalisation with a learned scale and no bias (T5)."""

    def __init__(self, size: int, eps: float):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(size))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        variance = x.float().pow(2).mean(-1, keepdim=True)
        return self.weight * (x.float() * torch.rsqrt(variance + self.eps)).to(x.dtype)


def make_norm(config: TransformerConfig) -> nn.Module:
    if config.norm_kind == "rms":
        return RMSNorm(config.d_model, config.norm_eps)
    return nn.LayerNorm(config.d_model, config.norm_eps)


class Attention(nn.Module):
    """Multi-head attention; keys and values come from ``context`` when given (cross-attention)."""

    def __init__(self, config: TransformerConfig):
        super().__init__()
        inner = config.num_heads * config.head_size
        self.num_heads, self.head_size = config.num_heads, config.head_size
        self.query = nn.Linear(config.d_model, inner, bias=config.bias)
        self.key = nn.Linear(config.d_model, inner, bias=config.bias)
        self.value = nn.Linear(config.d_model, inner, bias=config.bias)
        self.output = nn.Linear(inner, config.d_model, bias=config.bias)
        self.scale = None if config.scale_attention else 1.0
        self.dropout = config.attention_dropout

    def split_heads(self, x: torch.Tensor) -> torch.Tensor:
        return x.view(x.shape[0], x.shape[1], self.num_heads, self.head_size).transpose(1, 2)

    def forward(
        self,
        x: torch.Tensor,
        bias: torch.Tensor | None = None,
        context: torch.Tensor | None = None,
        causal: bool = False,
        cache: dict | None = None,
    ) -> torch.Tensor:
        """``bias`` is added to the scores (padding and relative positions); ``cache`` (a dict) keeps keys and
        values across decoding steps: self-attention appends to it, cross-attention computes it once."""
        query = self.split_heads(self.query(x))
        if cache is not None and context is not None and "key" in cache:
            key, value = cache["key"], cache["value"]
        else:
            source = x if context is None else context
            key, value = self.split_heads(self.key(source)), self.split_heads(self.value(source))
            if cache is not None:
                if context is None and "key" in cache:
                    key = torch.cat([cache["key"], key], dim=2)
                    value = torch.cat([cache["value"], value], dim=2)
                cache["key"], cache["value"] = key, value
        attended = F.scaled_dot_product_attention(
            query,
            key,
            value,
            attn_mask=bias,
            dropout_p=self.dropout if self.training else 0.0,
            is_causal=causal and bias is None and 1 < query.shape[2] == key.shape[2],
            scale=self.scale,
        )
        return self.output(attended.transpose(1, 2).reshape(x.shape[0], x.shape[1], -1))


class FeedForward(nn.Module):
    def __init__(self, config: TransformerConfig):
        super().__init__()
        self.gated = config.gated
        self.input = nn.Linear(config.d_model, config.d_ff, bias=config.bias)
        self.gate = nn.Linear(config.d_model, config.d_ff, bias=config.bias) if config.gated else None
        self.output = nn.Linear(config.d_ff, config.d_model, bias=config.bias)
        self.activation = ACTIVATIONS[config.activation]
        self.dropout = nn.Dropout(
            config.dropout if config.activation_dropout is None else config.activation_dropout
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        hidden = self.activation(self.input(x))
        if self.gate is not None:
            hidden = hidden * self.gate(x)
        return self.output(self.dropout(hidden))


class EncoderBlock(nn.Module):
    """Self-attention then feed-forward, each with a residual; normalised before (T5) or after (BERT, BART)."""

    def __init__(self, config: TransformerConfig):
        super().__init__()
        self.pre_norm = config.pre_norm
        self.attention, self.attention_norm = Attention(config), make_norm(config)
        self.feed_forward, self.feed_forward_norm = FeedForward(config), make_norm(config)
        self.dropout = nn.Dropout(config.dropout)

    def forward(
        self, x: torch.Tensor, bias: torch.Tensor | None, causal: bool = False, cache: dict | None = None
    ) -> torch.Tensor:
        """``causal``: each position attends to itself and those before it (with a ``bias`` that already
        holds the causal mask where one is given); ``cache`` keeps keys and values between decoding steps."""
        if self.pre_norm:
            x = x + self.dropout(self.attention(self.attention_norm(x), bias, causal=causal, cache=cache))
            return x + self.dropout(self.feed_forward(self.feed_forward_norm(x)))
        x = self.attention_norm(x + self.dropout(self.attention(x, bias, causal=causal, cache=cache)))
        return self.feed_forward_norm(x + self.dropout(self.feed_forward(x)))


def relative_position_bucket(relative: torch.Tensor, bidirectional: bool, buckets: int, max_distance: int):
    """T5's buckets: exact for small distances, logarithmic up to ``max_distance``; the sign gets half the
    buckets when ``bidirectional``, else only keys before the query count."""
    bucket = torch.zeros_like(relative)
    if bidirectional:
        buckets //= 2
        bucket = bucket + (relative > 0).long() * buckets
        relative = relative.abs()
    else:
        relative = -torch.clamp(relative, max=0)
    exact = buckets // 2
    large = (
        exact
        + (
            torch.log(relative.float().clamp(min=1) / exact)
            / math.log(max_distance / exact)
            * (buckets - exact)
        ).long()
    )
    large = torch.clamp(large, max=buckets - 1)
    return bucket + torch.where(relative < exact, relative, large)


class RelativePositionBias(nn.Module):
    """A learned scalar per head and relative-position bucket, added to the attention scores (T5)."""

    def __init__(self, config: TransformerConfig, bidirectional: bool):
        super().__init__()
        self.bidirectional = bidirectional
        self.buckets, self.max_distance = config.relative_buckets, config.relative_max_distance
        self.embedding = nn.Embedding(config.relative_buckets, config.num_heads)

    def forward(self, query_length: int, key_length: int, offset: int = 0) -> torch.Tensor:
        """``[1, heads, query_length, key_length]``; queries sit at ``offset + i`` (decoding with a cache)."""
        device = self.embedding.weight.device
        queries = torch.arange(offset, offset + query_length, device=device)[:, None]
        keys = torch.arange(key_length, device=device)[None, :]
        buckets = relative_position_bucket(
            keys - queries, self.bidirectional, self.buckets, self.max_distance
        )
        return self.embedding(buckets).permute(2, 0, 1).unsqueeze(0)


class AlibiBias(nn.Module):
    """ALiBi (Press et al., 2022): no parameters; each head subtracts its slope times the query-key distance
    from the scores, so attention starts local. n heads (a power of two) get the slopes 2^(-8/n), 2^(-16/n),
    ..., 2^-8; other counts take the slopes of the power of two below, then every other slope of the one
    above."""

    def __init__(self, config: TransformerConfig, bidirectional: bool):
        super().__init__()
        self.bidirectional = bidirectional
        self.register_buffer("slopes", alibi_slopes(config.num_heads), persistent=False)

    def forward(self, query_length: int, key_length: int, offset: int = 0) -> torch.Tensor:
        """``[1, heads, query_length, key_length]``; queries sit at ``offset + i`` (decoding with a cache)."""
        device = self.slopes.device
        queries = torch.arange(offset, offset + query_length, device=device)[:, None]
        keys = torch.arange(key_length, device=device)[None, :]
        distance = (keys - queries).abs() if self.bidirectional else (queries - keys).clamp(min=0)
        return -(self.slopes[:, None, None] * distance).unsqueeze(0)


def alibi_slopes(heads: int) -> torch.Tensor:
    power = 2 ** math.ceil(math.log2(heads))
    slopes = [2 ** (-8 * (i + 1) / power) for i in range(power)]
    if power != heads:
        lower = 2 ** math.floor(math.log2(heads))
        slopes = [2 ** (-8 * (i + 1) / lower) for i in range(lower)] + slopes[0::2][: heads - lower]
    return torch.tensor(slopes)


def position_bias(config: TransformerConfig, bidirectional: bool) -> nn.Module | None:
    """The attention-score bias that carries positions, or None when positions are a learned table."""
    if config.positions == "relative":
        return RelativePositionBias(config, bidirectional)
    if config.positions == "alibi":
        return AlibiBias(config, bidirectional)
    return None


def padding_bias(attention_mask: torch.Tensor | None, dtype: torch.dtype) -> torch.Tensor | None:
    """``[B, 1, 1, L]`` additive bias hiding padded keys, or None when nothing is padded."""
    if attention_mask is None or bool(attention_mask.all()):
        return None
    return (1.0 - attention_mask[:, None, None, :].to(dtype)) * torch.finfo(dtype).min


def causal_bias(
    length: int,
    past: int,
    dtype: torch.dtype,
    device: torch.device,
    prefix_lengths: torch.Tensor | None = None,
) -> torch.Tensor:
    """``[1, 1, length, past + length]`` additive bias hiding keys after each query (queries sit at
    ``past + i``). With ``prefix_lengths [B]`` it is ``[B, 1, length, past + length]`` and the first
    ``prefix_lengths[b]`` positions of row ``b`` also see each other (a prefix LM's bidirectional prefix)."""
    queries = torch.arange(past, past + length, device=device)[:, None]
    keys = torch.arange(past + length, device=device)[None, :]
    hidden = keys > queries
    if prefix_lengths is not None:
        prefix = prefix_lengths.to(device)[:, None, None]
        hidden = hidden[None] & ~((keys[None] < prefix) & (queries[None] < prefix))
        return torch.zeros(hidden.shape, dtype=dtype, device=device).masked_fill(
            hidden, torch.finfo(dtype).min
        )[:, None]
    bias = torch.zeros(length, past + length, dtype=dtype, device=device)
    return bias.masked_fill(hidden, torch.finfo(dtype).min)[None, None]


def unmask_unattended(bias: torch.Tensor) -> torch.Tensor:
    """``bias`` with each row that hides every key (a left-padded query under a causal mask sees only padding)
    opened to every key. Such a row's output is never read, but a row of -inf alone gives NaN in some kernels,
    which would reach the real tokens through their zero weights on it."""
    hidden = (bias <= torch.finfo(bias.dtype).min / 2).all(-1, keepdim=True)
    return bias.masked_fill(hidden, 0.0)


def add_biases(*biases: torch.Tensor | None) -> torch.Tensor | None:
    present = [b for b in biases if b is not None]
    if not present:
        return None
    total = present[0]
    for b in present[1:]:
        total = total + b
    return total
