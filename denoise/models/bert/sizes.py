"""BERT's named sizes with the published shapes: the miniatures tiny to medium (Turc et al., 2019), base and
large (Devlin et al., 2019); parameter counts equal those of transformers' ``BertForPreTraining``."""

from __future__ import annotations

from denoise.models.bert.model import BertConfig
from denoise.models.layers import TransformerConfig, named_size

SIZES = {
    "tiny": {"num_layers": 2, "d_model": 128, "num_heads": 2, "d_ff": 512},
    "mini": {"num_layers": 4, "d_model": 256, "num_heads": 4, "d_ff": 1024},
    "small": {"num_layers": 4, "d_model": 512, "num_heads": 8, "d_ff": 2048},
    "medium": {"num_layers": 8, "d_model": 512, "num_heads": 8, "d_ff": 2048},
    "base": {"num_layers": 12, "d_model": 768, "num_heads": 12, "d_ff": 3072},
    "large": {"num_layers": 24, "d_model": 1024, "num_heads": 16, "d_ff": 4096},
}


def bert_config(
    size: str, vocab_size: int = 30522, max_positions: int = 512, type_vocab_size: int = 2
) -> BertConfig:
    """A :class:`BertConfig` of the named size (BERT's GELU, post-LayerNorm, dropout 0.1, pair head)."""
    encoder = TransformerConfig(
        vocab_size=vocab_size,
        **named_size(SIZES, "BERT", size),
        max_positions=max_positions,
        type_vocab_size=type_vocab_size,
    )
    return BertConfig(encoder=encoder)
