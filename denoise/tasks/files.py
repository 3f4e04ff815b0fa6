"""Reading and writing task files, whatever the kind: text that must be UTF-8, lines, JSON lines, the check
that a file is of the format its kind reads, and the checks every writer makes so that what it writes reads
back unchanged."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from denoise.data.json_lines import json_objects
from denoise.data.sources import binary_format
from denoise.errors import DenoiseError
from denoise.files import write_text

# What each kind reads, and the suffixes that say a file is for one kind (.txt, often CoNLL, says nothing).
FORMATS = {
    "classification": "a table: .csv or .tsv with a header row, or .jsonl",
    "tagging": "CoNLL: one token and its tag per line, a blank line between sentences",
    "qa": "a SQuAD JSON file (.json: data, then paragraphs, then qas)",
}
TABLE_SUFFIXES = (".csv", ".tsv", ".jsonl", ".parquet")
CONLL_SUFFIXES = (".conll", ".conllu", ".bio", ".iob", ".iob2", ".bioes")
SUFFIX_KINDS = {
    **dict.fromkeys((".csv", ".tsv", ".jsonl"), "classification"),
    ".json": "qa",
    **dict.fromkeys(CONLL_SUFFIXES, "tagging"),
    ".parquet": None,
}
KIND_FILES = {"classification": "a classification table", "qa": "SQuAD JSON", "tagging": "CoNLL"}


def read_text(path: Path) -> str:
    """The file as text: UTF-8 (a byte order mark is dropped), line endings untouched."""
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        found = binary_format(data)
        if found:
            raise DenoiseError(
                f"{path} is {found} data, not text; decompress or convert it to a text file first"
            ) from None
        raise DenoiseError(
            f"{path}: byte {err.start} is not UTF-8 ({err.reason}); convert the file to UTF-8"
        ) from None


def read_json_lines(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line, object) for the non-blank lines of a JSON-lines file."""
    return json_objects(read_lines(path), path)


def check_format(path: Path, kind: str, advice: str = "") -> None:
    """Stop if the suffix of ``path`` says it is for another kind than ``kind`` (or for none), naming the kind
    that reads it; ``advice`` is added to the message."""
    suffix = path.suffix.lower()
    owner = SUFFIX_KINDS.get(suffix, kind)
    if owner == kind:
        return
    noun = "table" if suffix in TABLE_SUFFIXES else "file"
    if owner is None:
        instead = "no task kind reads Parquet: write it as .jsonl or .tsv for classification"
    else:
        instead = f"for {KIND_FILES[owner]} set task.kind={owner}"
    raise DenoiseError(f"{path}: a {suffix} {noun}; {kind} reads {FORMATS[kind]} — {instead}{advice}")


def read_lines(path: Path) -> list[str]:
    """The lines of a text file, without their line breaks (``\\n`` or ``\\r\\n``)."""
    text = read_text(path)
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    return [line.removesuffix("\r") for line in lines]


def output_path(path: str | Path, examples: Sequence[Any]) -> Path:
    if not examples:
        raise DenoiseError(f"no examples to write to {path}; a file without examples cannot be read back")
    return Path(path)


def check_single_line(text: str, where: str, extra: str = "") -> None:
    if not text.strip() or any(c in text for c in "\n\r" + extra):
        breaks = "a line break or a tab" if extra else "a line break"
        raise DenoiseError(f"{where}: {text!r} is empty or holds {breaks}, which the file format cannot hold")


def write_lines(lines: list[str], path: Path) -> None:
    write_text(path, "".join(line + "\n" for line in lines))
