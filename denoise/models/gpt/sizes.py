"""GPT's named sizes: a tiny one for CPUs, and GPT-2's published shapes (Radford et al., 2019) with their
parameter counts (small 124M, medium 355M, large 774M, xl 1.5B at GPT-2's 50,257 tokens and 1,024 positions)."""

from __future__ import annotations

from denoise.models.gpt.model import GPTConfig
from denoise.models.layers import TransformerConfig, named_size

SIZES = {
    "tiny": {"num_layers": 2, "d_model": 128, "num_heads": 2, "d_ff": 512},
    "mini": {"num_layers": 4, "d_model": 256, "num_heads": 4, "d_ff": 1024},
    "small": {"num_layers": 12, "d_model": 768, "num_heads": 12, "d_ff": 3072},
    "medium": {"num_layers": 24, "d_model": 1024, "num_heads": 16, "d_ff": 4096},
    "large": {"num_layers": 36, "d_model": 1280, "num_heads": 20, "d_ff": 5120},
    "xl": {"num_layers": 48, "d_model": 1600, "num_heads": 25, "d_ff": 6400},
}

GPT2_VOCAB = 50257
GPT2_END = 50256  # <|endoftext|>


def gpt_stack(size: str, vocab_size: int = GPT2_VOCAB, max_positions: int = 1024, pad_id: int = GPT2_END):
    """GPT-2's stack: learned positions, LayerNorm before each sub-layer and after the last block, tanh GELU,
    biases, dropout 0.1, no embedding norm."""
    return TransformerConfig(
        vocab_size=vocab_size,
        **named_size(SIZES, "GPT", size),
        activation="gelu_tanh",
        pre_norm=True,
        norm="layer",
        norm_eps=1e-5,
        max_positions=max_positions,
        embedding_norm=False,
        final_norm=True,
        final_dropout=False,
        pad_id=pad_id,
    )


def gpt_config(size: str) -> GPTConfig:
    """A :class:`GPTConfig` of the named size with GPT-2's vocabulary and 1,024 positions."""
    return GPTConfig(stack=gpt_stack(size), eos_id=GPT2_END)
