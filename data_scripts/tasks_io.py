"""Writers of the task file formats: TSV tables, CoNLL tagging, line-aligned text, SQuAD JSON."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

Tagged = list[tuple[str, str]]  # (word, tag) pairs of one sentence


def find_source(sources: Path, package: str, name: str) -> Path:
    """The file ``name`` inside the unpacked ``package`` folder of ``sources`` (first match in path order)."""
    found = sorted((sources / package).rglob(name))
    if not found:
        raise FileNotFoundError(
            f"no {name} under {sources / package}; "
            f"run data_scripts/fetch_sources.py --out {sources} --only {package}"
        )
    return found[0]


def clean_text(text: str) -> str:
    """``text`` on one line: every run of whitespace (tabs and line breaks too) becomes one space."""
    return " ".join(text.split())


def clean_word(word: str) -> str:
    """A token without whitespace inside, so that a CoNLL line keeps two columns."""
    return "".join(word.split())


def write_tsv(rows: Iterable[Sequence[str]], header: Sequence[str], path: Path) -> None:
    """A tab-separated table with a header row and no quoting; fields must hold no tab or line break."""
    lines = ["\t".join(header)]
    for row in rows:
        if len(row) != len(header) or any(field != clean_text(field) or not field for field in row):
            raise ValueError(f"{path}: row {row!r} does not fit the columns {list(header)}")
        lines.append("\t".join(row))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def write_conll(sentences: Iterable[Tagged], path: Path) -> None:
    """One ``word TAG`` line per token, a blank line after each sentence."""
    lines = []
    for sentence in sentences:
        for word, tag in sentence:
            if not word or not tag or clean_word(word) != word or clean_word(tag) != tag:
                raise ValueError(f"{path}: token {word!r} with tag {tag!r} cannot be written as a CoNLL line")
            lines.append(f"{word} {tag}")
        lines.append("")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def write_lines(lines: Sequence[str], path: Path) -> None:
    """One text per line; each must be non-empty and on one line."""
    for text in lines:
        if not text or clean_text(text) != text:
            raise ValueError(f"{path}: {text!r} is empty or not a single clean line")
    path.write_text("".join(f"{text}\n" for text in lines), encoding="utf-8")


def write_json(document: Any, path: Path) -> None:
    path.write_text(json.dumps(document, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
