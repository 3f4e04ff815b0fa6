"""Tagging examples to features: labels on each word's first sub-token."""

from __future__ import annotations

from collections.abc import Sequence

from denoise.labels import IGNORE
from denoise.tasks.framing import frame
from denoise.tasks.tagging.data import TaggingExample
from denoise.tasks.text import TaskTokenizer


def tagging_features(
    examples: Sequence[TaggingExample], tok: TaskTokenizer, tags: list[str], max_length: int
) -> list[dict]:
    """Labels on each word's first sub-token (-100 on the others and on specials). ``word_positions`` gives
    the position of each word's first sub-token, -1 for words cut off by ``max_length``."""
    index = {tag: i for i, tag in enumerate(tags)}
    features = []
    for example in examples:
        ids, owners = tok.encode_words(list(example.words))
        keep = max_length - len(tok.prefix) - 1
        ids, owners = ids[:keep], owners[:keep]
        input_ids, types = frame(tok, ids)
        labels = [IGNORE] * len(input_ids)
        positions = [-1] * len(example.words)
        for position, owner in enumerate(owners, start=len(tok.prefix)):
            if owner is not None and positions[owner] == -1:
                positions[owner] = position
                labels[position] = index[example.tags[owner]]
        features.append(
            {"input_ids": input_ids, "token_type_ids": types, "labels": labels, "word_positions": positions}
        )
    return features
