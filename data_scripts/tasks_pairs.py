"""Verse pairs: is a King James verse (``kjv``) the same verse as a World English Bible one (``web``)?

A reference is kept when both translations have it, their words overlap at least MIN_OVERLAP (Dice over
lower-cased word sets), and the KJV verse overlaps its own WEB verse more than the WEB verses numbered just
before and after it (otherwise the numbering is shifted or the verses are near repeats). A ``same`` pair is
a kept reference; a ``different`` pair joins a KJV verse to the WEB verse within NEGATIVE_WINDOW verses of it,
in the same chapter, that overlaps it most while staying clearly another verse. Chapters are split by a hash,
and each split has as many pairs of each label.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from data_scripts.tasks_bible import Reference, chapter_key, dice, load_verses, words
from data_scripts.tasks_splits import SPLITS, Splits, remove_leaks, split_of
from denoise.tasks.classification.data import ClassificationExample, write_classification_tsv

MIN_OVERLAP = 0.15
NEGATIVE_WINDOW = 3
# A negative overlaps the KJV verse at least this much less than the verse's own translation does ...
NEGATIVE_MARGIN = 0.2
# ... and the two KJV verses differ this much at least (refrains and repeated lists say the same thing).
MAX_SOURCE_OVERLAP = 0.6


@dataclass(frozen=True)
class VersePairExample:
    reference: Reference  # of the KJV verse
    text: str
    text_pair: str
    label: str  # "same" or "different"


def shifted(reference: Reference, offset: int) -> Reference:
    book, chapter, verse = reference
    return book, chapter, verse + offset


def aligned_references(
    kjv: dict[Reference, frozenset[str]], web: dict[Reference, frozenset[str]]
) -> set[Reference]:
    """References whose two verses share enough words, and more than either neighbouring WEB verse does."""
    kept = set()
    for reference, words_kjv in kjv.items():
        if reference not in web:
            continue
        own = dice(words_kjv, web[reference])
        neighbours = [
            dice(words_kjv, web[n]) for n in (shifted(reference, -1), shifted(reference, 1)) if n in web
        ]
        if own >= MIN_OVERLAP and all(own > other for other in neighbours):
            kept.add(reference)
    return kept


def negative_partner(
    reference: Reference,
    aligned: set[Reference],
    kjv: dict[Reference, frozenset[str]],
    web: dict[Reference, frozenset[str]],
) -> Reference | None:
    """The WEB verse near ``reference`` most like its KJV verse while clearly being another verse."""
    own = dice(kjv[reference], web[reference])
    offsets = [o for d in range(1, NEGATIVE_WINDOW + 1) for o in (-d, d)]  # nearest first breaks ties
    candidates = []
    for offset in offsets:
        other = shifted(reference, offset)
        if other not in aligned or dice(kjv[reference], kjv[other]) >= MAX_SOURCE_OVERLAP:
            continue
        overlap = dice(kjv[reference], web[other])
        if overlap <= own - NEGATIVE_MARGIN:
            candidates.append((overlap, -abs(offset), other))
    return max(candidates, key=lambda c: c[:2])[2] if candidates else None


def split_examples(
    references: list[Reference],
    kjv_text: dict[Reference, str],
    web_text: dict[Reference, str],
    seed: int,
    split: str,
) -> list[VersePairExample]:
    """Half of the references (drawn with the seed) as ``same`` pairs, the others as ``different`` ones."""
    aligned = set(references)
    kjv = {r: words(kjv_text[r]) for r in references}
    web = {r: words(web_text[r]) for r in references}
    order = sorted(references)
    random.Random(f"{seed}:bible_pairs:{split}").shuffle(order)
    positives = set(order[: len(order) // 2])
    examples = []
    for reference in references:
        if reference in positives:
            examples.append(VersePairExample(reference, kjv_text[reference], web_text[reference], "same"))
        elif (partner := negative_partner(reference, aligned, kjv, web)) is not None:
            examples.append(VersePairExample(reference, kjv_text[reference], web_text[partner], "different"))
    return examples


def balance(examples: list[VersePairExample], seed: int, split: str) -> list[VersePairExample]:
    """``examples`` with as many of each label: some of the larger label, drawn with the seed, are dropped."""
    counts = Counter(e.label for e in examples)
    if len(counts) < 2:
        return []
    larger = max(counts, key=lambda label: (counts[label], label))
    indices = [i for i, e in enumerate(examples) if e.label == larger]
    dropped = set(
        random.Random(f"{seed}:balance:{split}").sample(indices, counts[larger] - min(counts.values()))
    )
    return [e for i, e in enumerate(examples) if i not in dropped]


def build(sources: Path, seed: int) -> Splits[VersePairExample]:
    kjv_text, web_text = load_verses(sources, "kjv"), load_verses(sources, "web")
    aligned = aligned_references(
        {r: words(t) for r, t in kjv_text.items()}, {r: words(t) for r, t in web_text.items()}
    )
    references: Splits[Reference] = {name: [] for name in SPLITS}
    for reference in kjv_text:
        if reference in aligned:
            references[split_of(chapter_key(reference), seed)].append(reference)
    splits = {name: split_examples(refs, kjv_text, web_text, seed, name) for name, refs in references.items()}
    splits = remove_leaks(splits, lambda e: [e.text, e.text_pair])
    return {name: balance(examples, seed, name) for name, examples in splits.items()}


def write(examples: list[VersePairExample], folder: Path, split: str) -> None:
    """A TSV of ``text`` (the KJV verse), ``text_pair`` (the WEB verse) and ``label``."""
    write_classification_tsv(
        [ClassificationExample(e.text, e.label, e.text_pair) for e in examples], folder / f"{split}.tsv"
    )


def summary(examples: list[VersePairExample]) -> str:
    counts = Counter(e.label for e in examples)
    return f"same {counts['same']}, different {counts['different']}"
