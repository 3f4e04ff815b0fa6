"""Noun and verb synsets of WordNet 3.0, from Debian ``wordnet-base`` (``usr/share/wordnet/data.*``).

A data line reads ``offset lexfile pos word-count (word lex-id)... pointer-count (symbol offset pos
source/target)... [verb frames] | gloss``, the gloss being a definition followed by quoted usage examples.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from data_scripts.tasks_io import clean_text, find_source

DATA_FILES = {"n": "data.noun", "v": "data.verb"}

_EXAMPLES_START = re.compile(r';\s*"')
_QUOTED = re.compile(r'"([^"]+)"')
_LEADING_PARENTHESIS = re.compile(r"^\([^()]*\)\s*")


@dataclass(frozen=True)
class Synset:
    offset: str
    pos: str  # "n" or "v"
    lemmas: tuple[str, ...]  # spaces for underscores
    hypernyms: tuple[str, ...]  # offsets of the "@" pointers
    is_instance: bool  # an "@i" pointer: a named instance (a person, a place, an event)
    definition: str  # without usage examples or a leading "(domain)" label
    example: str | None  # the first usage example

    @property
    def key(self) -> str:
        return f"{self.pos}{self.offset}"


def split_gloss(gloss: str) -> tuple[str, str | None]:
    """The definition of a gloss and its first quoted usage example."""
    start = _EXAMPLES_START.search(gloss)
    definition = gloss[: start.start()] if start else gloss
    example = _QUOTED.search(gloss, start.start()) if start else None
    while _LEADING_PARENTHESIS.match(definition):
        definition = _LEADING_PARENTHESIS.sub("", definition, count=1)
    definition = clean_text(definition).rstrip(" ;:,.")
    return definition, clean_text(example.group(1)) if example else None


def parse_data_line(line: str) -> Synset | None:
    """The synset of a data-file line, or None for the licence header."""
    if line.startswith("  ") or " | " not in line:
        return None
    head, gloss = line.split(" | ", 1)
    fields = head.split()
    word_count = int(fields[3], 16)
    lemmas = tuple(fields[4 + 2 * i].replace("_", " ") for i in range(word_count))
    pointer_at = 4 + 2 * word_count
    pointers = [
        fields[pointer_at + 1 + 4 * i : pointer_at + 5 + 4 * i] for i in range(int(fields[pointer_at]))
    ]
    definition, example = split_gloss(gloss)
    return Synset(
        offset=fields[0],
        pos=fields[2],
        lemmas=lemmas,
        hypernyms=tuple(offset for symbol, offset, _, _ in pointers if symbol == "@"),
        is_instance=any(symbol == "@i" for symbol, *_ in pointers),
        definition=definition,
        example=example,
    )


def read_synsets(sources: Path, pos: str) -> list[Synset]:
    """The synsets of one part of speech in file order (which groups them by lexicographer file)."""
    path = find_source(sources, "wordnet", DATA_FILES[pos])
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    return [synset for synset in map(parse_data_line, lines) if synset is not None]
