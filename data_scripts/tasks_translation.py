"""English to Spanish translation, verse by verse: King James (``kjv``) to Reina-Valera 1909 (``sparv``).

Verses are paired by reference. Where Reina-Valera numbers verses differently (a verse moved to the next
chapter, or two verses merged), the module's slots are shifted against the KJV's, so a pair is kept only if
both verses are non-empty, the chapter does not follow a chapter where the two modules' verses differ, and
a length-based alignment of the chapter (``tasks_align``) joins the two verses one to one. The Spanish
side loses what the KJV module keeps out of its verses (psalm titles, the notes closing the epistles) and
the capitals that open each chapter. Whole books are held out for dev and test.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from data_scripts.tasks_align import LengthModel, one_to_one
from data_scripts.tasks_bible import (
    Chapter,
    Reference,
    chapters_after_gaps,
    drop_psalm_titles,
    drop_subscriptions,
    load_verses,
    restore_drop_caps,
)
from data_scripts.tasks_splits import SPLITS, Splits, remove_leaks
from denoise.tasks.generation.data import TranslationExample, write_parallel

# Each held-out set has Old Testament books, a gospel and letters.
DEV_BOOKS = ("Ruth", "Jonah", "Mark", "Col")
TEST_BOOKS = ("Esth", "John", "Phil", "Jas")


@dataclass(frozen=True)
class VersePair:
    reference: Reference
    source: str
    target: str


def book_split(book: str) -> str:
    return "dev" if book in DEV_BOOKS else "test" if book in TEST_BOOKS else "train"


def by_chapter(verses: dict[Reference, str]) -> dict[Chapter, list[Reference]]:
    chapters: dict[Chapter, list[Reference]] = defaultdict(list)
    for reference in verses:
        chapters[reference[:2]].append(reference)
    return chapters


def aligned_pairs(source: dict[Reference, str], target: dict[Reference, str]) -> list[VersePair]:
    """Verse pairs of the two modules whose numbering agrees, in the source's order."""
    skipped = chapters_after_gaps(source, target)
    common = [r for r in source if r in target and r[:2] not in skipped]
    model = LengthModel.fit([(len(source[r]), len(target[r])) for r in common])
    target_chapters = by_chapter(target)
    kept: set[Reference] = set()
    for chapter, first in by_chapter(source).items():
        second = target_chapters.get(chapter, [])
        if chapter in skipped or not second:
            continue
        lengths = [len(source[r]) for r in first], [len(target[r]) for r in second]
        kept.update(first[i] for i, j in one_to_one(model, *lengths) if first[i] == second[j])
    return [VersePair(r, source[r], target[r]) for r in source if r in kept]


def build(sources: Path, seed: int) -> Splits[VersePair]:
    """Train, dev and test pairs; the books fix the split, so ``seed`` changes nothing."""
    english = load_verses(sources, "kjv")
    spanish = restore_drop_caps(drop_subscriptions(drop_psalm_titles(load_verses(sources, "sparv"))))
    splits: Splits[VersePair] = {name: [] for name in SPLITS}
    for pair in aligned_pairs(english, spanish):
        splits[book_split(pair.reference[0])].append(pair)
    return remove_leaks(splits, lambda pair: [pair.source, pair.target])


def write(examples: list[VersePair], folder: Path, split: str) -> None:
    """English verses to ``split.en`` and their Spanish ones to ``split.es``, a verse per line."""
    write_parallel(
        [TranslationExample(pair.source, pair.target) for pair in examples],
        folder / f"{split}.en",
        folder / f"{split}.es",
    )


def summary(examples: list[VersePair]) -> str:
    books = dict.fromkeys(pair.reference[0] for pair in examples)
    chapters = {pair.reference[:2] for pair in examples}
    named = f" ({', '.join(books)})" if len(books) <= 8 else ""
    return f"{len(books)} books{named}, {len(chapters)} chapters"
