"""Tagging scores: word accuracy, and entity precision, recall and F1 for BIO tags (as conlleval counts them)."""

from __future__ import annotations

from collections.abc import Sequence

from denoise.errors import DenoiseError
from denoise.tasks.metrics import accuracy, check_pairs

__all__ = ["accuracy", "entities", "entity_f1"]


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
    gold_spans: set[tuple] = set()
    predicted_spans: set[tuple] = set()
    for number, (gold, predicted) in enumerate(zip(gold_sequences, predicted_sequences)):
        if len(gold) != len(predicted):
            raise DenoiseError(
                f"sentence {number + 1}: {len(gold)} gold tags but {len(predicted)} predicted; predict one per word"
            )
        gold_spans.update((number, *span) for span in entities(gold))
        predicted_spans.update((number, *span) for span in entities(predicted))
    correct = len(gold_spans & predicted_spans)
    precision = correct / len(predicted_spans) if predicted_spans else 0.0
    recall = correct / len(gold_spans) if gold_spans else 0.0
    f1 = 2 * precision * recall / (precision + recall) if correct else 0.0
    return {"precision": precision, "recall": recall, "f1": f1}
