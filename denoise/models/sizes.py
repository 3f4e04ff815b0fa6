"""Named sizes with the published shapes: the BERT miniatures (tiny to medium, Turc et al. 2019), BERT base
and large (Devlin et al. 2019), and, from ``encoder_decoder``, BART base and large and T5 small and base."""

from __future__ import annotations

from typing import NamedTuple

from denoise.config import nearest
from denoise.errors import DenoiseError
from denoise.models.bert import BertConfig
from denoise.models.encoder_decoder import BART_SIZES, T5_SIZES, bart_config, t5_config
from denoise.models.layers import TransformerConfig


class BertShape(NamedTuple):
    num_layers: int
    d_model: int
    num_heads: int
    d_ff: int


BERT_SIZES: dict[str, BertShape] = {
    "tiny": BertShape(2, 128, 2, 512),
    "mini": BertShape(4, 256, 4, 1024),
    "small": BertShape(4, 512, 8, 2048),
    "medium": BertShape(8, 512, 8, 2048),
    "base": BertShape(12, 768, 12, 3072),
    "large": BertShape(24, 1024, 16, 4096),
}


def bert_config(
    size: str, vocab_size: int = 30522, max_positions: int = 512, type_vocab_size: int = 2
) -> BertConfig:
    """A :class:`BertConfig` of the named size (BERT's GELU, post-LayerNorm, dropout 0.1, pair head)."""
    if size not in BERT_SIZES:
        raise DenoiseError(
            f"unknown BERT size {size!r}{nearest(size, BERT_SIZES)}; sizes: {', '.join(BERT_SIZES)}"
        )
    shape = BERT_SIZES[size]
    encoder = TransformerConfig(
        vocab_size=vocab_size,
        d_model=shape.d_model,
        num_layers=shape.num_layers,
        num_heads=shape.num_heads,
        d_ff=shape.d_ff,
        max_positions=max_positions,
        type_vocab_size=type_vocab_size,
    )
    return BertConfig(encoder=encoder)


__all__ = ["BERT_SIZES", "BART_SIZES", "T5_SIZES", "bert_config", "bart_config", "t5_config"]
