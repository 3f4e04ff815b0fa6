"""Deterministic train/dev/test splits that share no sentence.

Units (sentences, chapters, word families) go to a split by a hash of the seed and their key, so a split
does not depend on the order of the input or on what else it holds. ``remove_leaks`` then drops repeated
examples and any example sharing a sentence with a split ranked above it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from typing import TypeVar

T = TypeVar("T")
Splits = dict[str, list[T]]

SPLITS = ("train", "dev", "test")
# Evaluation splits stay whole; a training example gives way when it shares a sentence with one of them.
_RANK = ("test", "dev", "train")


def unit_fraction(key: str, seed: int) -> float:
    """A number in [0, 1) fixed by ``seed`` and ``key``, uniform over keys."""
    digest = hashlib.sha256(f"{seed}:{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def split_of(key: str, seed: int, dev: float = 0.1, test: float = 0.1) -> str:
    """The split of the unit named ``key``: about ``dev`` of the units go to dev and ``test`` to test."""
    fraction = unit_fraction(key, seed)
    if fraction < test:
        return "test"
    if fraction < test + dev:
        return "dev"
    return "train"


def normalize(sentence: str) -> str:
    """The form two sentences are compared in: lower case, whitespace collapsed."""
    return " ".join(sentence.lower().split())


def remove_leaks(splits: Splits[T], sentences: Callable[[T], Iterable[str]]) -> Splits[T]:
    """``splits`` without repeated examples, and without examples sharing a sentence with a higher split.

    Splits rank test, dev, train: test keeps every distinct example, dev loses those with a sentence in
    test, train those with a sentence in test or dev. Order within a split is kept.
    """
    taken: set[str] = set()
    kept: Splits[T] = {}
    for name in _RANK:
        seen_examples: set[tuple[str, ...]] = set()
        own: set[str] = set()
        kept[name] = []
        for example in splits.get(name, []):
            key = tuple(normalize(s) for s in sentences(example))
            if key in seen_examples or taken.intersection(key):
                continue
            seen_examples.add(key)
            own.update(key)
            kept[name].append(example)
        taken |= own
    return {name: kept[name] for name in SPLITS}
