"""Tagging examples and CoNLL files: one token per line in whitespace-separated columns, a blank line between
sentences, ``-DOCSTART-`` lines skipped. The reader refuses a table (by its suffix, or a tab-separated table
with a header by its lines) and stops naming the file, the line and the bad value; what :func:`write_conll`
writes reads back unchanged."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from denoise.errors import DenoiseError
from denoise.tasks.files import FORMATS, check_format, output_path, read_lines, write_lines

DOCSTART = "-DOCSTART-"
RENAME = "; if the file is CoNLL all the same, rename it to .conll"


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


def read_conll(path: str | Path, word_column: int = 0, tag_column: int = -1) -> list[TaggingExample]:
    """Sentences of a CoNLL file, the words and tags taken from the given columns."""
    path = Path(path)
    check_format(path, "tagging", RENAME if path.suffix.lower() in (".tsv", ".csv") else "")
    lines = read_lines(path)
    _refuse_table(path, lines)
    examples: list[TaggingExample] = []
    words: list[str] = []
    tags: list[str] = []
    for line, text in enumerate(lines, 1):
        fields = text.split()
        if not fields or text.startswith(DOCSTART):
            if words:
                examples.append(TaggingExample(words, tags))
                words, tags = [], []
            continue
        if len(fields) < 2:
            raise DenoiseError(
                f"{path}, line {line}: {text!r} has one column, so its tag is missing; "
                "write a word and its tag separated by whitespace on every token line"
            )
        try:
            word, tag = fields[word_column], fields[tag_column]
        except IndexError:
            raise DenoiseError(
                f"{path}, line {line}: {text!r} has {len(fields)} columns, fewer than word_column={word_column} "
                f"and tag_column={tag_column} need; fix the line or the column numbers"
            ) from None
        words.append(word)
        tags.append(tag)
    if words:
        examples.append(TaggingExample(words, tags))
    if not examples:
        raise DenoiseError(f"no examples in {path}; the split is empty, so fill it or leave it out")
    return examples


def _refuse_table(path: Path, lines: list[str]) -> None:
    """Stop if ``lines`` are a tab-separated table rather than CoNLL: a first line with tabs, then no blank line
    (CoNLL has one after each sentence), the same number of tab-separated fields on every line, and fields
    holding spaces (a CoNLL field never does: its columns are split at whitespace)."""
    if not lines or "\t" not in lines[0]:
        return
    end = len(lines)
    while end > 1 and not lines[end - 1].strip():
        end -= 1
    rows = lines[1:end]
    width = lines[0].count("\t")
    if not rows or any(not row.strip() or row.count("\t") != width for row in rows):
        return
    if not any(" " in field.strip() for row in rows for field in row.split("\t")):
        return
    raise DenoiseError(
        f"{path}, line 1: {lines[0]!r} looks like the header of a tab-separated table (every line has "
        f"{width + 1} tab-separated fields, some holding spaces, and no blank line separates sentences); "
        f"tagging reads {FORMATS['tagging']} — for a classification table set task.kind=classification"
    )


def write_conll(examples: Sequence[TaggingExample], path: str | Path) -> None:
    """Two columns, word and tag, a blank line after each sentence."""
    path = output_path(path, examples)
    lines = []
    for number, example in enumerate(examples, 1):
        where = f"{path}: sentence {number}"
        if not example.words:
            raise DenoiseError(f"{where} has no words; drop it")
        for word, tag in zip(example.words, example.tags):
            for value in (word, tag):
                if len(value.split()) != 1 or value != value.strip():
                    raise DenoiseError(
                        f"{where}: {value!r} is empty or holds whitespace, which CoNLL cannot hold"
                    )
            if word.startswith(DOCSTART):
                raise DenoiseError(f"{where}: the word {word!r} would be read as a document break")
            lines.append(f"{word} {tag}")
        lines.append("")
    write_lines(lines, path)
