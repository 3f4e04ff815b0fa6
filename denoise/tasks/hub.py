"""Ready tasks on the Hugging Face hub (network access needed): GLUE, SQuAD v1.1 and v2.0, CoNLL-2003 NER.

``hub_examples("mnli", "validation")`` loads a split through ``datasets.load_dataset`` and turns its rows into
the examples of each kind (``denoise/tasks/<kind>/data.py``), label ids into the label names of the dataset's features. GLUE's
test splits are left out: their labels are hidden.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from types import MappingProxyType
from typing import Any

import datasets

from denoise.config import nearest
from denoise.errors import DenoiseError
from denoise.tasks.classification.data import ClassificationExample
from denoise.tasks.qa.data import Answer, QAExample, check_answer
from denoise.tasks.tagging.data import TaggingExample

TaskExample = ClassificationExample | QAExample | TaggingExample


@dataclass(frozen=True)
class HubTask:
    """Where a task's dataset lives and how its rows become examples."""

    path: str
    config: str | None
    splits: Mapping[str, str]  # split name accepted by hub_examples -> the dataset's split
    to_examples: Callable[
        [datasets.Dataset, str], list[TaskExample]
    ]  # (rows, where they come from) -> examples


def _splits(**names: str) -> Mapping[str, str]:
    return MappingProxyType(names)


def _classification_examples(
    text_column: str,
    pair_column: str | None,
    regression: bool,
    rows: datasets.Dataset,
    where: str,
) -> list[ClassificationExample]:
    _require_columns(rows, [c for c in (text_column, pair_column, "label") if c], where)
    names = getattr(rows.features["label"], "names", None)
    texts, labels = rows[text_column], rows["label"]
    pairs = rows[pair_column] if pair_column else [None] * len(rows)
    examples = []
    for row, (text, pair, label) in enumerate(zip(texts, pairs, labels)):
        if regression:
            examples.append(ClassificationExample(text, float(label), pair))
            continue
        if label is None or label < 0:
            raise DenoiseError(f"{where}, row {row}: label {label} is hidden; use a split with labels")
        examples.append(ClassificationExample(text, names[label] if names else str(label), pair))
    return examples


def _qa_examples(rows: datasets.Dataset, where: str) -> list[QAExample]:
    _require_columns(rows, ["id", "question", "context", "answers"], where)
    examples = []
    for question_id, question, context, answers in zip(
        rows["id"], rows["question"], rows["context"], rows["answers"]
    ):
        spans = [Answer(text, start) for text, start in zip(answers["text"], answers["answer_start"])]
        for answer in spans:
            check_answer(answer, context, f"{where}, question {question_id!r}")
        examples.append(QAExample(question_id, question, context, tuple(spans)))
    return examples


def _tagging_examples(tag_column: str, rows: datasets.Dataset, where: str) -> list[TaggingExample]:
    _require_columns(rows, ["tokens", tag_column], where)
    names = rows.features[tag_column].feature.names
    return [
        TaggingExample(words, [names[tag] for tag in tags])
        for words, tags in zip(rows["tokens"], rows[tag_column])
        if words
    ]


def _require_columns(rows: datasets.Dataset, columns: Sequence[str], where: str) -> None:
    for column in columns:
        if column not in rows.column_names:
            raise DenoiseError(f"{where}: no column {column!r}; the columns are {rows.column_names}")


GLUE = "nyu-mll/glue"
_TRAIN_VALIDATION = _splits(train="train", validation="validation")


def _glue(config: str, text_column: str, pair_column: str | None = None, regression: bool = False) -> HubTask:
    splits = _TRAIN_VALIDATION
    if config == "mnli":
        splits = _splits(
            train="train",
            validation="validation_matched",
            validation_matched="validation_matched",
            validation_mismatched="validation_mismatched",
        )
    return HubTask(
        GLUE, config, splits, partial(_classification_examples, text_column, pair_column, regression)
    )


TASKS: Mapping[str, HubTask] = MappingProxyType(
    {
        "cola": _glue("cola", "sentence"),
        "sst2": _glue("sst2", "sentence"),
        "mrpc": _glue("mrpc", "sentence1", "sentence2"),
        "qqp": _glue("qqp", "question1", "question2"),
        "stsb": _glue("stsb", "sentence1", "sentence2", regression=True),
        "mnli": _glue("mnli", "premise", "hypothesis"),
        "qnli": _glue("qnli", "question", "sentence"),
        "rte": _glue("rte", "sentence1", "sentence2"),
        "squad": HubTask("rajpurkar/squad", None, _TRAIN_VALIDATION, _qa_examples),
        "squad_v2": HubTask("rajpurkar/squad_v2", None, _TRAIN_VALIDATION, _qa_examples),
        "conll2003": HubTask(
            "eriktks/conll2003",
            None,
            _splits(train="train", validation="validation", test="test"),
            partial(_tagging_examples, "ner_tags"),
        ),
    }
)


def hub_examples(
    name: str, split: str, load: Callable[..., Any] = datasets.load_dataset
) -> list[TaskExample]:
    """The examples of split ``split`` of the ready task ``name``, read with ``load`` (``datasets.load_dataset``)."""
    task = TASKS.get(name)
    if task is None:
        raise DenoiseError(f"unknown task {name!r}{nearest(name, TASKS)}; ready tasks: {', '.join(TASKS)}")
    hub_split = task.splits.get(split)
    if hub_split is None:
        raise DenoiseError(
            f"task {name!r} has no split {split!r}{nearest(split, task.splits)}; its splits: {', '.join(task.splits)}"
        )
    rows = load(task.path, name=task.config, split=hub_split)
    where = f"{task.path}" + (f" ({task.config})" if task.config else "") + f", split {hub_split!r}"
    examples = task.to_examples(rows, where)
    if not examples:
        raise DenoiseError(f"no examples in {where}; the split is empty")
    return examples
