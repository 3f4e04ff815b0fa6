"""BART's named sizes and configuration: base and large as published, and a tiny one for CPUs."""

from __future__ import annotations

from denoise.models.encoder_decoder import EncoderDecoderConfig
from denoise.models.layers import TransformerConfig, named_size, with_changes

# "tiny" is not a published size: BERT-tiny's shape (2 layers of 128) in each stack, for CPU runs.
SIZES = {
    "tiny": {"num_layers": 2, "d_model": 128, "num_heads": 2, "d_ff": 512},
    "base": {"num_layers": 6, "d_model": 768, "num_heads": 12, "d_ff": 3072},
    "large": {"num_layers": 12, "d_model": 1024, "num_heads": 16, "d_ff": 4096},
}


def bart_config(size: str = "base", **changes) -> EncoderDecoderConfig:
    """BART-base or -large: learned positions (offset 2), LayerNorm after each residual (eps 1e-5), GELU,
    biases, final logits bias, vocabulary 50265, 1024 positions. ``changes`` apply to both stacks. Parameter
    counts equal those of transformers' ``BartForConditionalGeneration``."""
    stack = TransformerConfig(
        vocab_size=50265,
        **named_size(SIZES, "BART", size),
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
