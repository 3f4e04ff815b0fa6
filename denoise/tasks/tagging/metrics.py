"""Tagging scores: word accuracy, and entity precision, recall and F1 for BIO tags (as conlleval counts them)."""

from __future__ import annotations

from collections.abc import Sequence

from denoise.errors import DenoiseError
from denoise.tasks.metrics import accuracy, check_pairs

__all__ = ["accuracy", "entities", "entity_f1", "sentence_entities"]


def entities(tags: Sequence[str]) -> list[tuple[str, int, int]]:
    """The ``(type, start, end)`` spans (``end`` exclusive) of BIO tags.

    An ``I-X`` that does not continue an ``X`` entity starts one, so IOB1 tags and ill-formed BIO read the way
    conlleval reads them.
    """
    spans = []
    open_type: str | None = None
    start = 0
    for position, tag in enumerate(tags):
        prefix, entity_type = _parse_tag(tag)
        continues = prefix == "I" and entity_type == open_type
        if open_type is not None and not continues:
            spans.append((open_type, start, position))
            open_type = None
        if prefix != "O" and not continues:
            open_type, start = entity_type, position
    if open_type is not None:
        spans.append((open_type, start, len(tags)))
    return spans


def _parse_tag(tag: str) -> tuple[str, str | None]:
    if tag == "O":
        return "O", None
    prefix, dash, entity_type = tag.partition("-")
    if prefix not in ("B", "I") or not dash or not entity_type:
        raise DenoiseError(f"tag {tag!r} is not a BIO tag; use O, B-TYPE or I-TYPE")
    return prefix, entity_type


def entity_f1(
    gold_sequences: Sequence[Sequence[str]], predicted_sequences: Sequence[Sequence[str]]
) -> dict[str, float]:
    """Entity-level precision, recall and F1, micro-averaged over all sentences.

    A predicted entity is correct only if its type and both boundaries match a gold entity.
    """
    check_pairs(gold_sequences, predicted_sequences, "sentences")
    correct = gold_count = predicted_count = 0
    for number, (gold, predicted) in enumerate(zip(gold_sequences, predicted_sequences)):
        if len(gold) != len(predicted):
            raise DenoiseError(
                f"sentence {number + 1}: {len(gold)} gold tags but {len(predicted)} predicted; predict one per word"
            )
        right, gold_here, predicted_here = sentence_entities(gold, predicted)
        correct, gold_count, predicted_count = (
            correct + right,
            gold_count + gold_here,
            predicted_count + predicted_here,
        )
    precision = correct / predicted_count if predicted_count else 0.0
    recall = correct / gold_count if gold_count else 0.0
    f1 = 2 * precision * recall / (precision + recall) if correct else 0.0
    return {"precision": precision, "recall": recall, "f1": f1}


def sentence_entities(gold: Sequence[str], predicted: Sequence[str]) -> tuple[int, int, int]:
    """One sentence's right entities (type and both boundaries), gold entities and predicted entities."""
    gold_spans, predicted_spans = set(entities(gold)), set(entities(predicted))
    return len(gold_spans & predicted_spans), len(gold_spans), len(predicted_spans)
