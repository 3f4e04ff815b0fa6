"""A recipe's ``model:`` section: a family, a named size and the dimensions that replace the size's.

The vocabulary and special ids come from the tokenizer (:class:`Ids`), so a BART or T5 built from settings
speaks denoise's ids (pad 0, start ``<cls>``, end ``<sep>``) rather than the published checkpoints' own.
Each family turns settings into its config (``Family.from_settings``);
:func:`denoise.models.families.build_model` builds the model.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

STACK_KEYS = (
    "num_layers",
    "d_model",
    "num_heads",
    "d_ff",
    "d_kv",
    "embedding_size",
    "max_positions",
    "dropout",
    "attention_dropout",
    "activation",
    "gated",
    "positions",
)


@dataclass(frozen=True)
class ModelSettings:
    family: str = "bert"  # a registered family (denoise/models/families.py): bert, bart, t5, gpt
    # one of the family's named sizes (its sizes.py): bert tiny..large, bart tiny..large, t5 tiny..base, gpt tiny..xl
    size: str = "tiny"
    # Each of these, when set, replaces the named size's value (in both stacks of an encoder-decoder).
    num_layers: int | None = None  # layers of each stack
    decoder_layers: int | None = None  # encoder-decoder only; num_layers when unset
    d_model: int | None = None  # the width of the token states
    num_heads: int | None = None  # attention heads
    d_ff: int | None = None  # the feed-forward layer's inner width
    d_kv: int | None = None  # each head's width; d_model / num_heads when unset
    embedding_size: int | None = None  # bert: narrower embeddings projected up to d_model (ALBERT, ELECTRA)
    max_positions: int | None = None  # learned position tables (BERT, BART)
    dropout: float | None = 0.0  # dropout on embeddings and residual branches; null: the size's (0.1)
    attention_dropout: float | None = 0.0  # dropout on attention weights; null: the size's (0.1)
    activation: str | None = None  # gelu | gelu_tanh | relu
    gated: bool | None = None  # gated feed-forward (T5 v1.1)
    positions: str | None = None  # learned (BERT, BART) | relative (T5's buckets) | alibi
    pair_head: bool | None = None  # BERT's NSP/SOP head; None: when the corruption recipe builds pairs
    # BERT's span boundary head (SpanBERT); None: when the corruption recipe masks spans (span_mask)
    span_head: bool | None = None
    # gpt: how the source's positions see each other, bidirectional (a prefix LM, UL2) or causal (GPT-2)
    prefix_attention: str = "bidirectional"

    RANGES: ClassVar[dict[str, str]] = {
        "num_layers": ">= 1",
        "decoder_layers": ">= 1",
        "d_model": ">= 1",
        "num_heads": ">= 1",
        "d_ff": ">= 1",
        "d_kv": ">= 1",
        "embedding_size": ">= 1",
        "max_positions": ">= 1",
        "dropout": "[0, 1)",
        "attention_dropout": "[0, 1)",
    }


@dataclass(frozen=True)
class Ids:
    """The tokenizer's ids a model needs."""

    vocab_size: int
    pad_id: int
    start_id: int  # first decoder input
    eos_id: int

    @classmethod
    def of(cls, tokenizer) -> Ids:
        """A denoise tokenizer's ids: decoders start at ``<cls>`` and stop at ``<sep>``."""
        return cls(tokenizer.vocab_size, tokenizer.pad_id, start_id=tokenizer.cls_id, eos_id=tokenizer.sep_id)


def stack_changes(settings: ModelSettings, ids: Ids) -> dict:
    """The stack settings a recipe sets, with the tokenizer's vocabulary and pad id."""
    changes = {k: getattr(settings, k) for k in STACK_KEYS if getattr(settings, k) is not None}
    return {**changes, "vocab_size": ids.vocab_size, "pad_id": ids.pad_id}
