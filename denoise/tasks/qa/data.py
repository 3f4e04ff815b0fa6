"""Extractive QA examples and SQuAD v1.1 / v2.0 JSON files: articles of paragraphs of questions;
``"is_impossible": true`` marks a question without an answer. The reader checks every answer against its
context and stops naming the file, the question id and the bad value; what :func:`write_squad` writes reads
back unchanged."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from denoise.data.json_lines import described
from denoise.errors import DenoiseError
from denoise.files import write_text
from denoise.tasks.files import FORMATS, check_format, output_path, read_text


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


def read_squad(path: str | Path) -> list[QAExample]:
    """Questions of a SQuAD v1.1 or v2.0 file, each answer checked against its context."""
    path = Path(path)
    check_format(path, "qa")
    try:
        document = json.loads(read_text(path))
    except json.JSONDecodeError as err:
        lines = "; it holds more than one JSON document (JSON lines?)" if err.msg == "Extra data" else ""
        raise DenoiseError(
            f"{path}, line {err.lineno}, column {err.colno}: not valid JSON ({err.msg}){lines}; "
            f"qa reads {FORMATS['qa']}"
        ) from None
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


EXPECTED = {str: "a string", int: "an integer", list: "a list"}


def _get(mapping: Any, key: str, kind: type | tuple[type, ...], where: str) -> Any:
    """``mapping[key]``, checked to be of type ``kind``."""
    if not isinstance(mapping, dict):
        raise DenoiseError(f"{where}: expected a JSON object with {key!r}, found {described(mapping)}")
    if key not in mapping:
        raise DenoiseError(f"{where}: no key {key!r}; the keys are {sorted(mapping)}")
    value = mapping[key]
    if not isinstance(value, kind) or isinstance(value, bool):
        kinds = kind if isinstance(kind, tuple) else (kind,)
        expected = " or ".join(EXPECTED[k] for k in kinds)
        raise DenoiseError(f"{where}: {key!r} holds {described(value)}, expected {expected}")
    return value


def write_squad(examples: Sequence[QAExample], path: str | Path, titles: Sequence[str] | None = None) -> None:
    """A SQuAD v2.0 file (v1.1 if every question has an answer); questions sharing a context share a paragraph.

    The file is one article titled by its name, or with ``titles`` (one per example) an article per run of
    questions of the same title. Titles only name the articles: :func:`read_squad` returns the examples.
    """
    path = output_path(path, examples)
    ids = [example.id for example in examples]
    if len(set(ids)) < len(ids):
        repeated = next(i for i in ids if ids.count(i) > 1)
        raise DenoiseError(f"{path}: question id {repeated!r} appears twice; give each question its own id")
    if titles is None:
        titles = [path.stem] * len(examples)
    if len(titles) != len(examples):
        raise DenoiseError(
            f"{path}: {len(titles)} titles for {len(examples)} questions; give one title per question"
        )
    articles: list[dict[str, Any]] = []
    for example, title in zip(examples, titles):
        for answer in example.answers:
            check_answer(answer, example.context, f"{path}: question {example.id!r}")
        if not articles or articles[-1]["title"] != title:
            articles.append({"title": title, "paragraphs": []})
        paragraphs = articles[-1]["paragraphs"]
        if not paragraphs or paragraphs[-1]["context"] != example.context:
            paragraphs.append({"context": example.context, "qas": []})
        answers = [{"text": answer.text, "answer_start": answer.start} for answer in example.answers]
        paragraphs[-1]["qas"].append(
            {"id": example.id, "question": example.question, "answers": answers, "is_impossible": not answers}
        )
    version = "1.1" if all(example.answerable for example in examples) else "v2.0"
    document = {"version": version, "data": articles}
    write_text(path, json.dumps(document, ensure_ascii=False, indent=1) + "\n")
