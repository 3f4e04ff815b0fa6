"""Reading and writing task files, whatever the kind: text that must be UTF-8, lines, and the checks every
writer makes so that what it writes reads back unchanged."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from denoise.errors import DenoiseError
from denoise.files import write_text


def read_text(path: Path) -> str:
    """The file as text: UTF-8 (a byte order mark is dropped), line endings untouched."""
    try:
        return path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise DenoiseError(
            f"{path}: byte {err.start} is not UTF-8 ({err.reason}); convert the file to UTF-8"
        ) from None


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
