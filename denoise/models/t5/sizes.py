"""T5's named sizes and configuration: small and base as published, and a tiny one for CPUs."""

from __future__ import annotations

from denoise.models.encoder_decoder import EncoderDecoderConfig
from denoise.models.layers import TransformerConfig, named_size, with_changes

# "tiny" is not a published size: BERT-tiny's shape (2 layers of 128) in each stack, for CPU runs.
SIZES = {
    "tiny": {"num_layers": 2, "d_model": 128, "num_heads": 2, "d_kv": 64, "d_ff": 512},
    "small": {"num_layers": 6, "d_model": 512, "num_heads": 8, "d_kv": 64, "d_ff": 2048},
    "base": {"num_layers": 12, "d_model": 768, "num_heads": 12, "d_kv": 64, "d_ff": 3072},
}


def t5_config(size: str = "small", **changes) -> EncoderDecoderConfig:
    """T5 (v1.0) small or base: relative position buckets, RMSNorm before each sub-layer (eps 1e-6), no
    biases, unscaled attention, ReLU, final norms, vocabulary 32128, decoder output rescaled before the tied
    LM head. ``changes`` apply to both stacks (``gated=True, activation="gelu_tanh"`` gives v1.1's
    feed-forward). Parameter counts equal those of transformers' ``T5ForConditionalGeneration``."""
    stack = TransformerConfig(
        vocab_size=32128,
        **named_size(SIZES, "T5", size),
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
