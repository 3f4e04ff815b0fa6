"""Classification examples to features: one text, or a pair joined by the separator with segment ids."""

from __future__ import annotations

from collections.abc import Sequence

from denoise.tasks.classification.data import ClassificationExample
from denoise.tasks.framing import frame, truncate_pair
from denoise.tasks.text import TaskTokenizer


def classification_features(
    examples: Sequence[ClassificationExample], tok: TaskTokenizer, labels: list[str] | None, max_length: int
) -> list[dict]:
    """``labels`` lists the class names (their index is the target); None for regression."""
    firsts = tok.encode([e.text for e in examples])
    pairs = [e.text_pair is not None for e in examples]
    seconds = tok.encode([e.text_pair for e in examples if e.text_pair is not None])
    index = {label: i for i, label in enumerate(labels or [])}
    features, second_rows = [], iter(seconds)
    for example, first, paired in zip(examples, firsts, pairs):
        second = next(second_rows) if paired else None
        budget = max_length - len(tok.prefix) - 1 - (1 if paired else 0)
        first, second = truncate_pair(first, second, budget)
        ids, types = frame(tok, first, second)
        target = float(example.label) if labels is None else index[example.label]
        features.append({"input_ids": ids, "token_type_ids": types, "label": target})
    return features
