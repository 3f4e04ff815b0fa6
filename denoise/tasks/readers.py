"""Readers and writers of task files: classification tables, CoNLL tagging, SQuAD JSON, parallel text.

Formats:

- classification: ``.csv`` (comma-separated, quoted as the csv module does it), ``.tsv`` (tab-separated, no
  quoting, as GLUE ships it), both with a header row; or ``.jsonl`` (one JSON object per line);
- CoNLL: one token per line in whitespace-separated columns, a blank line between sentences, ``-DOCSTART-``
  lines skipped;
- SQuAD v1.1 / v2.0 JSON: articles of paragraphs of questions; ``"is_impossible": true`` marks a question
  without an answer;
- parallel text: two UTF-8 files, a sentence per line, line ``n`` of one translating line ``n`` of the other.

Every reader returns a list of examples and stops with a DenoiseError naming the file, the line (1-based) or
the question id, and the bad value. What a writer writes, the matching reader gives back unchanged.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from denoise.errors import DenoiseError
from denoise.files import write_text
from denoise.tasks.examples import (
    Answer,
    ClassificationExample,
    QAExample,
    TaggingExample,
    TranslationExample,
)

CLASSIFICATION_SUFFIXES = (".csv", ".tsv", ".jsonl")
DOCSTART = "-DOCSTART-"
# The header write_classification_tsv writes; read such a file back with pair_column=PAIR_COLUMN.
TEXT_COLUMN, PAIR_COLUMN, LABEL_COLUMN = "text", "text_pair", "label"


# Classification


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
    reader = csv.reader(io.StringIO(_read_text(path), newline=""), delimiter=delimiter, quoting=quoting)
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
    for line, text in enumerate(_read_lines(path), 1):
        if not text.strip():
            continue
        try:
            row = json.loads(text)
        except json.JSONDecodeError as err:
            raise DenoiseError(f"{path}, line {line}: not valid JSON ({err.msg}): {text!r}") from None
        if not isinstance(row, dict):
            raise DenoiseError(f"{path}, line {line}: expected a JSON object, found {text!r}")
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
    value = row[column]
    if not isinstance(value, str):
        raise DenoiseError(f"{path}, line {line}: column {column!r} holds {value!r}, not text")
    if not value.strip():
        raise DenoiseError(f"{path}, line {line}: column {column!r} is empty; fill it in or remove the line")
    return value


def _label_field(row: dict[str, Any], column: str, regression: bool, path: Path, line: int) -> str | float:
    value = row[column]
    where = f"{path}, line {line}"
    if isinstance(value, bool) or value is None or (isinstance(value, str) and not value.strip()):
        raise DenoiseError(f"{where}: label {value!r} is empty or not a label; give every example a label")
    if regression:
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise DenoiseError(
                f"{where}: label {value!r} is not a number; regression labels are numbers"
            ) from None
        if not math.isfinite(number):
            raise DenoiseError(f"{where}: label {value!r} is not a finite number")
        return number
    if not isinstance(value, (str, int)):
        raise DenoiseError(
            f"{where}: label {value!r} is not a class name; use text or integer labels, or regression=True"
        )
    return str(value).strip()


# CoNLL tagging


def read_conll(path: str | Path, word_column: int = 0, tag_column: int = -1) -> list[TaggingExample]:
    """Sentences of a CoNLL file, the words and tags taken from the given columns."""
    path = Path(path)
    examples: list[TaggingExample] = []
    words: list[str] = []
    tags: list[str] = []
    for line, text in enumerate(_read_lines(path), 1):
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


# SQuAD


def read_squad(path: str | Path) -> list[QAExample]:
    """Questions of a SQuAD v1.1 or v2.0 file, each answer checked against its context."""
    path = Path(path)
    try:
        document = json.loads(_read_text(path))
    except json.JSONDecodeError as err:
        raise DenoiseError(f"{path}, line {err.lineno}: not valid JSON ({err.msg})") from None
    examples: list[QAExample] = []
    seen: set[str] = set()
    for article_number, article in enumerate(_get(document, "data", list, str(path)), 1):
        where_article = f"{path}, article {article_number}"
        for paragraph_number, paragraph in enumerate(_get(article, "paragraphs", list, where_article), 1):
            where = f"{where_article}, paragraph {paragraph_number}"
            context = _get(paragraph, "context", str, where)
            for qa in _get(paragraph, "qas", list, where):
                example = _qa_example(qa, context, where, str(path))
                if example.id in seen:
                    raise DenoiseError(
                        f"{path}: question id {example.id!r} appears twice; give each question its own id"
                    )
                seen.add(example.id)
                examples.append(example)
    if not examples:
        raise DenoiseError(f"no examples in {path}; the split is empty, so fill it or leave it out")
    return examples


def _qa_example(qa: Any, context: str, where: str, path: str) -> QAExample:
    question_id = str(_get(qa, "id", (str, int), where))
    where = f"{path}, question {question_id!r}"
    question = _get(qa, "question", str, where)
    if qa.get("is_impossible", False):
        return QAExample(question_id, question, context, ())
    answers = []
    for raw in _get(qa, "answers", list, where):
        answer = Answer(_get(raw, "text", str, where), _get(raw, "answer_start", int, where))
        check_answer(answer, context, where)
        answers.append(answer)
    if not answers:
        raise DenoiseError(
            f'{where}: no answers, and the question is not marked "is_impossible": true; '
            "add an answer or mark the question unanswerable"
        )
    return QAExample(question_id, question, context, tuple(answers))


def check_answer(answer: Answer, context: str, where: str) -> None:
    """Stop unless ``answer.text`` stands in ``context`` at ``answer.start``."""
    if not answer.text:
        raise DenoiseError(f"{where}: an answer is empty; remove it or mark the question unanswerable")
    if answer.start >= 0 and context[answer.start : answer.end] == answer.text:
        return
    found = context.find(answer.text)
    hint = f"it first occurs at offset {found}" if found >= 0 else "the context does not contain it"
    raise DenoiseError(
        f"{where}: the answer {answer.text!r} is not in its context at that offset ({answer.start}); "
        f"{hint}; fix answer_start or the answer text"
    )


def _get(mapping: Any, key: str, kind: type | tuple[type, ...], where: str) -> Any:
    """``mapping[key]``, checked to be of type ``kind``."""
    if not isinstance(mapping, dict):
        raise DenoiseError(f"{where}: expected a JSON object with {key!r}, found {type(mapping).__name__}")
    if key not in mapping:
        raise DenoiseError(f"{where}: no key {key!r}; the keys are {sorted(mapping)}")
    value = mapping[key]
    if not isinstance(value, kind) or isinstance(value, bool):
        raise DenoiseError(f"{where}: {key!r} holds {value!r}, which is not of the expected type")
    return value


# Parallel text


def read_parallel(source_path: str | Path, target_path: str | Path) -> list[TranslationExample]:
    """Sentence pairs of two line-aligned text files."""
    source_path, target_path = Path(source_path), Path(target_path)
    sources, targets = _read_lines(source_path), _read_lines(target_path)
    if not sources and not targets:
        raise DenoiseError(f"no examples in {source_path} and {target_path}; both files are empty")
    if len(sources) != len(targets):
        raise DenoiseError(
            f"{source_path} has {len(sources)} lines but {target_path} has {len(targets)}; "
            "the files must be line-aligned, a sentence and its translation on the same line number"
        )
    for line, (source, target) in enumerate(zip(sources, targets), 1):
        for path, text in ((source_path, source), (target_path, target)):
            if not text.strip():
                raise DenoiseError(
                    f"{path}, line {line}: empty line; remove the pair from both files or fill it in"
                )
    return [TranslationExample(source, target) for source, target in zip(sources, targets)]


# Shared reading


def _read_text(path: Path) -> str:
    """The file as text: UTF-8 (a byte order mark is dropped), line endings untouched."""
    try:
        return path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise DenoiseError(
            f"{path}: byte {err.start} is not UTF-8 ({err.reason}); convert the file to UTF-8"
        ) from None


def _read_lines(path: Path) -> list[str]:
    """The lines of a text file, without their line breaks (``\\n`` or ``\\r\\n``)."""
    text = _read_text(path)
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    return [line.removesuffix("\r") for line in lines]


# Writers


def write_classification_tsv(examples: Sequence[ClassificationExample], path: str | Path) -> None:
    """A GLUE-style TSV: header ``text``, ``text_pair`` (if the examples are pairs) and ``label``."""
    path = _output_path(path, examples)
    with_pairs = {example.text_pair is not None for example in examples}
    if len(with_pairs) > 1:
        raise DenoiseError(
            f"{path}: some examples have a text pair and some do not; write them to separate files"
        )
    header = [TEXT_COLUMN, PAIR_COLUMN, LABEL_COLUMN] if True in with_pairs else [TEXT_COLUMN, LABEL_COLUMN]
    lines = ["\t".join(header)]
    for number, example in enumerate(examples, 1):
        label = repr(example.label) if isinstance(example.label, float) else str(example.label)
        fields = (
            [example.text, example.text_pair, label]
            if example.text_pair is not None
            else [example.text, label]
        )
        for field in fields:
            _check_single_line(field, f"{path}: example {number}", extra="\t")
        lines.append("\t".join(fields))
    _write_lines(lines, path)


def write_conll(examples: Sequence[TaggingExample], path: str | Path) -> None:
    """Two columns, word and tag, a blank line after each sentence."""
    path = _output_path(path, examples)
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
    _write_lines(lines, path)


def write_squad(examples: Sequence[QAExample], path: str | Path) -> None:
    """A SQuAD v2.0 file (v1.1 if every question has an answer); questions sharing a context share a paragraph."""
    path = _output_path(path, examples)
    ids = [example.id for example in examples]
    if len(set(ids)) < len(ids):
        repeated = next(i for i in ids if ids.count(i) > 1)
        raise DenoiseError(f"{path}: question id {repeated!r} appears twice; give each question its own id")
    paragraphs: list[dict[str, Any]] = []
    for example in examples:
        for answer in example.answers:
            check_answer(answer, example.context, f"{path}: question {example.id!r}")
        if not paragraphs or paragraphs[-1]["context"] != example.context:
            paragraphs.append({"context": example.context, "qas": []})
        answers = [{"text": answer.text, "answer_start": answer.start} for answer in example.answers]
        paragraphs[-1]["qas"].append(
            {"id": example.id, "question": example.question, "answers": answers, "is_impossible": not answers}
        )
    version = "1.1" if all(example.answerable for example in examples) else "v2.0"
    document = {"version": version, "data": [{"title": path.stem, "paragraphs": paragraphs}]}
    write_text(path, json.dumps(document, ensure_ascii=False, indent=1) + "\n")


def write_parallel(
    examples: Sequence[TranslationExample], source_path: str | Path, target_path: str | Path
) -> None:
    """Sources to one file and targets to the other, a sentence per line."""
    _output_path(source_path, examples)
    for number, example in enumerate(examples, 1):
        for text in (example.source, example.target):
            _check_single_line(text, f"example {number}")
    _write_lines([example.source for example in examples], Path(source_path))
    _write_lines([example.target for example in examples], Path(target_path))


def _output_path(path: str | Path, examples: Sequence[Any]) -> Path:
    if not examples:
        raise DenoiseError(f"no examples to write to {path}; a file without examples cannot be read back")
    return Path(path)


def _check_single_line(text: str, where: str, extra: str = "") -> None:
    if not text.strip() or any(c in text for c in "\n\r" + extra):
        breaks = "a line break or a tab" if extra else "a line break"
        raise DenoiseError(f"{where}: {text!r} is empty or holds {breaks}, which the file format cannot hold")


def _write_lines(lines: list[str], path: Path) -> None:
    write_text(path, "".join(line + "\n" for line in lines))
