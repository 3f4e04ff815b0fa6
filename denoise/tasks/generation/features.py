"""Generation examples to features: the encoder reads ``source [SEP]``, the decoder writes ``target [SEP]``."""

from __future__ import annotations

from collections.abc import Sequence

from denoise.tasks.generation.data import TranslationExample
from denoise.tasks.text import TaskTokenizer


def generation_features(
    examples: Sequence[TranslationExample], tok: TaskTokenizer, max_length: int, max_target: int
) -> list[dict]:
    """Encoder input ``source [SEP]`` and labels ``target [SEP]`` (the decoder inputs are shifted in the model)."""
    sources, targets = tok.encode([e.source for e in examples]), tok.encode([e.target for e in examples])
    return [
        {
            "input_ids": source[: max_length - 1] + [tok.sep_id],
            "labels": target[: max_target - 1] + [tok.sep_id],
        }
        for source, target in zip(sources, targets)
    ]
