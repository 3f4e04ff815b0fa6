"""Classification (and regression) examples and their files: ``.csv`` (comma-separated, quoted as the csv
module does it), ``.tsv`` (tab-separated, no quoting, as GLUE ships it), both with a header row, or
``.jsonl`` (one JSON object per line). A reader stops with a DenoiseError naming the file, the line
(1-based) and the bad value; what :func:`write_classification_tsv` writes reads back unchanged."""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from denoise.data.json_lines import described, string_value
from denoise.errors import DenoiseError
from denoise.tasks.files import (
    check_format,
    check_single_line,
    output_path,
    read_json_lines,
    read_text,
    write_lines,
)

CLASSIFICATION_SUFFIXES = (".csv", ".tsv", ".jsonl")
# The header write_classification_tsv writes; read such a file back with pair_column=PAIR_COLUMN.
TEXT_COLUMN, PAIR_COLUMN, LABEL_COLUMN = "text", "text_pair", "label"


@dataclass(frozen=True)
class ClassificationExample:
    """A text (or a text pair) with its label: a class name, or a float for regression tasks."""

    text: str
    label: str | float
    text_pair: str | None = None


def read_classification(
    path: str | Path,
    text_column: str = TEXT_COLUMN,
    pair_column: str | None = None,
    label_column: str = LABEL_COLUMN,
    regression: bool = False,
) -> list[ClassificationExample]:
    """Labelled texts (or text pairs) of a ``.csv``, ``.tsv`` or ``.jsonl`` file; float labels if ``regression``."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in CLASSIFICATION_SUFFIXES:
        check_format(path, "classification")  # a file another kind reads: say which
        raise DenoiseError(f"{path}: unsupported file type {suffix!r}; use one of {CLASSIFICATION_SUFFIXES}")
    columns = [c for c in (text_column, pair_column, label_column) if c is not None]
    if suffix == ".jsonl":
        rows = _jsonl_rows(path, columns)
    else:
        rows = _table_rows(path, "," if suffix == ".csv" else "\t", columns)
    examples = []
    for line, row in rows:
        text = _text_field(row, text_column, path, line)
        pair = _text_field(row, pair_column, path, line) if pair_column else None
        label = _label_field(row, label_column, regression, path, line)
        examples.append(ClassificationExample(text, label, pair))
    if not examples:
        raise DenoiseError(f"no examples in {path}; the split is empty, so fill it or leave it out")
    return examples


def label_set(examples: Sequence[ClassificationExample]) -> list[str]:
    """The labels of ``examples``, sorted."""
    labels = {example.label for example in examples}
    if any(not isinstance(label, str) for label in labels):
        raise DenoiseError("regression examples have numeric labels and no label set")
    return sorted(labels)


def check_labels(examples: Sequence[ClassificationExample], labels: Sequence[str], path: str | Path) -> None:
    """Stop at the first example of ``path`` whose label is not in ``labels`` (the training split's)."""
    known = set(labels)
    for number, example in enumerate(examples, 1):
        if example.label not in known:
            raise DenoiseError(
                f"{path}: example {number} has label {example.label!r}, which the training split does not have; "
                f"known labels: {', '.join(map(repr, labels))}; fix the label or add examples of it to training"
            )


def _table_rows(path: Path, delimiter: str, columns: list[str]) -> Iterator[tuple[int, dict[str, str]]]:
    """(line, row) for the data rows of a CSV or TSV file, after checking the header names ``columns``."""
    quoting = csv.QUOTE_NONE if delimiter == "\t" else csv.QUOTE_MINIMAL
    reader = csv.reader(io.StringIO(read_text(path), newline=""), delimiter=delimiter, quoting=quoting)
    try:
        header = next(reader, None)
        if header is None:
            return
        _check_columns(columns, header, f"{path}, line 1 (the header)")
        for row in reader:
            if not row:
                continue
            if len(row) != len(header):
                raise DenoiseError(
                    f"{path}, line {reader.line_num}: {len(row)} fields where the header has {len(header)}: "
                    f"{delimiter.join(row)!r}; give every row one value per column"
                )
            yield reader.line_num, dict(zip(header, row))
    except csv.Error as err:
        raise DenoiseError(f"{path}, line {reader.line_num}: {err}; fix the row") from None


def _jsonl_rows(path: Path, columns: list[str]) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line, object) for the non-blank lines of a JSON-lines file, each checked to hold ``columns``."""
    for line, row in read_json_lines(path):
        _check_columns(columns, list(row), f"{path}, line {line}")
        yield line, row


def _check_columns(columns: list[str], present: list[str], where: str) -> None:
    for column in columns:
        if column not in present:
            raise DenoiseError(
                f"{where}: no column {column!r}; the columns are {present}; name the right one "
                "(text_column, pair_column, label_column)"
            )


def _text_field(row: dict[str, Any], column: str, path: Path, line: int) -> str:
    value = string_value(row[column], f"{path}, line {line}: column {column!r}")
    if not value.strip():
        raise DenoiseError(f"{path}, line {line}: column {column!r} is empty; fill it in or remove the line")
    return value


def _label_field(row: dict[str, Any], column: str, regression: bool, path: Path, line: int) -> str | float:
    value = row[column]
    where = f"{path}, line {line}: column {column!r}"
    if value is None or (isinstance(value, str) and not value.strip()):
        found = "holds null" if value is None else "is empty"
        raise DenoiseError(f"{where} {found}; give every example a label")
    expected = (
        "a number: regression labels are numbers" if regression else "a class name (a string or an integer)"
    )
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise DenoiseError(f"{where} holds {described(value)}, expected {expected}")
    if not regression:
        if isinstance(value, float):
            raise DenoiseError(
                f"{where} holds {value!r}, expected {expected}; for numeric labels set regression=True"
            )
        return str(value).strip()
    try:
        number = float(value)
    except ValueError:
        raise DenoiseError(f"{where} holds {value!r}, expected {expected}") from None
    if not math.isfinite(number):
        raise DenoiseError(f"{where} holds {value!r}, which is not a finite number")
    return number


def write_classification_tsv(
    examples: Sequence[ClassificationExample],
    path: str | Path,
    extra_columns: Mapping[str, Sequence[str | float]] | None = None,
) -> None:
    """A GLUE-style TSV: header ``text``, ``text_pair`` (if the examples are pairs) and ``label``, then the
    ``extra_columns`` in their order, each a name and one value per example (a score beside a class label,
    say); read one back by naming it as the label column."""
    path = output_path(path, examples)
    with_pairs = {example.text_pair is not None for example in examples}
    if len(with_pairs) > 1:
        raise DenoiseError(
            f"{path}: some examples have a text pair and some do not; write them to separate files"
        )
    header = [TEXT_COLUMN, PAIR_COLUMN, LABEL_COLUMN] if True in with_pairs else [TEXT_COLUMN, LABEL_COLUMN]
    extras = dict(extra_columns or {})
    _check_extra_columns(extras, header, len(examples), path)
    header += list(extras)
    lines = ["\t".join(header)]
    for number, example in enumerate(examples, 1):
        label = _tsv_field(example.label)
        fields = (
            [example.text, example.text_pair, label]
            if example.text_pair is not None
            else [example.text, label]
        )
        fields += [_tsv_field(values[number - 1]) for values in extras.values()]
        for field in fields:
            check_single_line(field, f"{path}: example {number}", extra="\t")
        lines.append("\t".join(fields))
    write_lines(lines, path)


def _check_extra_columns(
    extras: dict[str, Sequence[str | float]], header: list[str], count: int, path: Path
) -> None:
    """Stop unless every extra column has a new, single-line name and one value per example."""
    for name, values in extras.items():
        check_single_line(name, f"{path}: an extra column name", extra="\t")
        if name in header:
            raise DenoiseError(
                f"{path}: the extra column {name!r} is already in the header {header}; give it another name"
            )
        if len(values) != count:
            raise DenoiseError(
                f"{path}: the extra column {name!r} has {len(values)} values for {count} examples; "
                "give one value per example"
            )


def _tsv_field(value: str | float) -> str:
    """A label or extra value as written: a float as ``repr`` writes it, so that it reads back unchanged."""
    return repr(value) if isinstance(value, float) else str(value)
