"""Binary sentiment of movie-review sentences rated by people (VADER's ground truth, Hutto & Gilbert 2014).

The PyPI sdist of ``vaderSentiment`` 3.3.2 ships ``additional_resources/hutto_ICWSM_2014.tar.gz``; its
``movieReviewSnippets_GroundTruth.txt`` holds 10,605 rotten-tomatoes sentences, one per line as
``id<TAB>mean rating<TAB>sentence``, the mean of about 20 ratings from -4 (very negative) to +4.
"""

from __future__ import annotations

import tarfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from data_scripts.tasks_io import clean_text, find_source
from data_scripts.tasks_splits import SPLITS, Splits, normalize, remove_leaks, split_of
from denoise.errors import DenoiseError
from denoise.tasks.classification.data import ClassificationExample, write_classification_tsv

ARCHIVE = "hutto_ICWSM_2014.tar.gz"
MEMBER = "movieReviewSnippets_GroundTruth.txt"
# Sentences rated closer to neutral than this are left out: their sign is mostly rater noise.
MIN_ABS_SCORE = 0.5


@dataclass(frozen=True)
class RatedSentence:
    text: str
    score: float

    @property
    def label(self) -> str:
        return "positive" if self.score > 0 else "negative"


def read_rated_sentences(archive: Path) -> list[RatedSentence]:
    """The movie-review sentences of the VADER archive with their mean ratings."""
    with tarfile.open(archive) as tar:
        member = next((m for m in tar.getmembers() if m.name.endswith(MEMBER)), None)
        if member is None:
            raise DenoiseError(f"{archive} holds no {MEMBER}; is it the archive of vaderSentiment 3.3.2?")
        raw = tar.extractfile(member).read().decode("utf-8")
    sentences = []
    for number, line in enumerate(raw.splitlines(), 1):
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) != 3:
            raise DenoiseError(
                f"{archive}:{MEMBER}, line {number}: expected id, rating, text; got {line!r}; "
                "is it the archive of vaderSentiment 3.3.2?"
            )
        text = clean_text(fields[2])
        if text:
            sentences.append(RatedSentence(text, float(fields[1])))
    return sentences


def build(sources: Path, seed: int) -> Splits[RatedSentence]:
    archive = find_source(sources, "vader", ARCHIVE)
    splits: Splits[RatedSentence] = {name: [] for name in SPLITS}
    for sentence in read_rated_sentences(archive):
        if abs(sentence.score) >= MIN_ABS_SCORE:
            splits[split_of(normalize(sentence.text), seed)].append(sentence)
    return remove_leaks(splits, lambda s: [s.text])


def write(examples: list[RatedSentence], folder: Path, split: str) -> None:
    """A TSV of ``text``, ``label`` and ``score`` (the mean rating, for regression)."""
    write_classification_tsv(
        [ClassificationExample(s.text, s.label) for s in examples],
        folder / f"{split}.tsv",
        extra_columns={"score": [s.score for s in examples]},
    )


def summary(examples: list[RatedSentence]) -> str:
    counts = Counter(s.label for s in examples)
    return f"positive {counts['positive']}, negative {counts['negative']}"
