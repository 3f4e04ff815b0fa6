"""JSON lines, as corpus files and task files hold them: one JSON object per line, blank lines skipped. Every
problem is named by file and line, and a value of the wrong type by its JSON type."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from denoise.errors import DenoiseError

EXCERPT_CHARS = 60


def json_objects(lines: Iterable[str], path: str | Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, object) for each non-blank line of ``lines``, the lines of the file ``path``."""
    for number, line in enumerate(lines, 1):
        text = line.rstrip("\r\n")
        if not text.strip():
            continue
        try:
            row = json.loads(text)
        except json.JSONDecodeError as err:
            raise DenoiseError(
                f"{path}, line {number}, column {err.colno}: not valid JSON ({err.msg}): {excerpt(text)}; "
                f"{_one_object_per_line(number, text)}"
            ) from None
        if not isinstance(row, dict):
            raise DenoiseError(
                f"{path}, line {number}: expected a JSON object, found {json_type(row)}: {excerpt(text)}; "
                f"{_one_object_per_line(number, text)}"
            )
        yield number, row


def _one_object_per_line(number: int, text: str) -> str:
    advice = "each line must hold one JSON object"
    if number == 1 and text.lstrip().startswith("["):
        return f"{advice}, not a JSON array (`jq -c '.[]' FILE` writes an array's objects one per line)"
    return advice


def json_type(value: Any) -> str:
    """The JSON type of ``value`` as messages name it: a string, a number, a list, an object, true, null."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return "an object" if isinstance(value, dict) else type(value).__name__


def described(value: Any) -> str:
    """``value`` for a message: its JSON type, and the value itself when that says more."""
    if value is None or isinstance(value, bool):
        return json_type(value)
    return f"{json_type(value)} ({_shortened(json.dumps(value, ensure_ascii=False))})"


def string_value(value: Any, where: str) -> str:
    """``value``, checked to be a JSON string; ``where`` names it ("FILE, line 3: column 'text'")."""
    if not isinstance(value, str):
        raise DenoiseError(f"{where} holds {described(value)}, expected a string")
    return value


def excerpt(text: str) -> str:
    """The start of a line of ``text``, quoted, short enough for a message."""
    return repr(_shortened(text.strip()))


def _shortened(text: str) -> str:
    return text if len(text) <= EXCERPT_CHARS else text[:EXCERPT_CHARS] + "..."
