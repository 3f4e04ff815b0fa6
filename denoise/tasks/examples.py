"""The examples of the downstream tasks: classification (and regression), tagging, span QA, translation.

Examples are frozen and hashable: sequences are stored as tuples, whatever the caller passes.
"""

from __future__ import annotations

from dataclasses import dataclass

from denoise.errors import DenoiseError


@dataclass(frozen=True)
class ClassificationExample:
    """A text (or a text pair) with its label: a class name, or a float for regression tasks."""

    text: str
    label: str | float
    text_pair: str | None = None


@dataclass(frozen=True)
class TaggingExample:
    """A sentence as words with one tag per word (POS tags, or BIO entity tags)."""

    words: tuple[str, ...]
    tags: tuple[str, ...]

    def __post_init__(self):
        object.__setattr__(self, "words", tuple(self.words))
        object.__setattr__(self, "tags", tuple(self.tags))
        if len(self.words) != len(self.tags):
            raise DenoiseError(f"{len(self.words)} words but {len(self.tags)} tags; give one tag per word")


@dataclass(frozen=True)
class Answer:
    """An answer span: its text and the character offset where it starts in the context."""

    text: str
    start: int

    @property
    def end(self) -> int:
        return self.start + len(self.text)


@dataclass(frozen=True)
class QAExample:
    """A question about a context; no answers means the question is unanswerable (SQuAD v2.0)."""

    id: str
    question: str
    context: str
    answers: tuple[Answer, ...]

    def __post_init__(self):
        object.__setattr__(self, "answers", tuple(self.answers))

    @property
    def answerable(self) -> bool:
        return bool(self.answers)


@dataclass(frozen=True)
class TranslationExample:
    """A source sentence and its translation."""

    source: str
    target: str
