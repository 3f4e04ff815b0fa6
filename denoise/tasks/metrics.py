"""Scores more than one kind of task uses."""

from __future__ import annotations

from collections.abc import Hashable, Sequence

from denoise.errors import DenoiseError


def check_pairs(gold: Sequence, predicted: Sequence, what: str) -> None:
    if len(gold) != len(predicted):
        raise DenoiseError(f"{len(gold)} gold {what} but {len(predicted)} predicted; predict one for each")
    if not gold:
        raise DenoiseError(f"no {what} to score")


def accuracy(gold: Sequence[Hashable], predicted: Sequence[Hashable]) -> float:
    """The fraction of predictions equal to their gold label."""
    check_pairs(gold, predicted, "labels")
    return sum(g == p for g, p in zip(gold, predicted)) / len(gold)
