"""Hub tasks read through fake loaders that return in-memory datasets (no network)."""

from __future__ import annotations

import pytest
from datasets import ClassLabel, Dataset, Features, Sequence, Value

from denoise.errors import DenoiseError
from denoise.tasks.classification.data import ClassificationExample
from denoise.tasks.hub import TASKS, hub_examples
from denoise.tasks.qa.data import Answer, QAExample
from denoise.tasks.tagging.data import TaggingExample


class FakeLoader:
    """Stands in for datasets.load_dataset: records what it was asked for and returns ``rows``."""

    def __init__(self, rows: Dataset):
        self.rows = rows
        self.calls: list[tuple] = []

    def __call__(self, path, name=None, split=None):
        self.calls.append((path, name, split))
        return self.rows


def test_sst2_label_names_come_from_features():
    features = Features({"sentence": Value("string"), "label": ClassLabel(names=["negative", "positive"])})
    rows = Dataset.from_dict({"sentence": ["a dull film .", "a joy ."], "label": [0, 1]}, features=features)
    load = FakeLoader(rows)
    examples = hub_examples("sst2", "train", load=load)
    assert load.calls == [("nyu-mll/glue", "sst2", "train")]
    assert examples == [
        ClassificationExample("a dull film .", "negative"),
        ClassificationExample("a joy .", "positive"),
    ]


def test_mnli_pairs_and_matched_validation():
    names = ["entailment", "neutral", "contradiction"]
    features = Features(
        {"premise": Value("string"), "hypothesis": Value("string"), "label": ClassLabel(names=names)}
    )
    rows = Dataset.from_dict(
        {"premise": ["A man sings."], "hypothesis": ["Nobody sings."], "label": [2]}, features=features
    )
    load = FakeLoader(rows)
    examples = hub_examples("mnli", "validation", load=load)
    assert load.calls == [("nyu-mll/glue", "mnli", "validation_matched")]
    assert examples == [ClassificationExample("A man sings.", "contradiction", "Nobody sings.")]
    hub_examples("mnli", "validation_mismatched", load=load)
    assert load.calls[-1][2] == "validation_mismatched"


def test_stsb_is_regression():
    features = Features(
        {"sentence1": Value("string"), "sentence2": Value("string"), "label": Value("float32")}
    )
    rows = Dataset.from_dict(
        {"sentence1": ["A dog runs."], "sentence2": ["A dog is running."], "label": [4.5]}, features=features
    )
    examples = hub_examples("stsb", "validation", load=FakeLoader(rows))
    assert examples == [ClassificationExample("A dog runs.", 4.5, "A dog is running.")]


def test_hidden_labels_are_refused():
    features = Features(
        {"sentence": Value("string"), "label": ClassLabel(names=["unacceptable", "acceptable"])}
    )
    rows = Dataset.from_dict({"sentence": ["Ran he."], "label": [-1]}, features=features)
    with pytest.raises(DenoiseError, match=r"cola.*row 0: label -1 is hidden"):
        hub_examples("cola", "train", load=FakeLoader(rows))


def test_squad_v2_rows_become_qa_examples():
    features = Features(
        {
            "id": Value("string"),
            "title": Value("string"),
            "context": Value("string"),
            "question": Value("string"),
            "answers": {"text": Sequence(Value("string")), "answer_start": Sequence(Value("int32"))},
        }
    )
    context = "The bridge opened in 1932."
    rows = Dataset.from_dict(
        {
            "id": ["a", "b"],
            "title": ["Bridge", "Bridge"],
            "context": [context, context],
            "question": ["When did it open?", "Who paid for it?"],
            "answers": [{"text": ["1932"], "answer_start": [21]}, {"text": [], "answer_start": []}],
        },
        features=features,
    )
    load = FakeLoader(rows)
    examples = hub_examples("squad_v2", "validation", load=load)
    assert load.calls == [("rajpurkar/squad_v2", None, "validation")]
    assert examples == [
        QAExample("a", "When did it open?", context, (Answer("1932", 21),)),
        QAExample("b", "Who paid for it?", context, ()),
    ]


def test_conll2003_tag_names_come_from_features():
    tag_names = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]
    features = Features(
        {"tokens": Sequence(Value("string")), "ner_tags": Sequence(ClassLabel(names=tag_names))}
    )
    rows = Dataset.from_dict(
        {"tokens": [["Ada", "Lovelace", "left", "London"], []], "ner_tags": [[1, 2, 0, 3], []]},
        features=features,
    )
    load = FakeLoader(rows)
    examples = hub_examples("conll2003", "test", load=load)
    assert load.calls == [("eriktks/conll2003", None, "test")]
    assert examples == [
        TaggingExample(["Ada", "Lovelace", "left", "London"], ["B-PER", "I-PER", "O", "B-LOC"])
    ]


def test_unknown_task_names_the_nearest():
    with pytest.raises(DenoiseError, match=r"unknown task 'sst-2' \(did you mean 'sst2'\?\)"):
        hub_examples("sst-2", "train", load=FakeLoader(Dataset.from_dict({})))


def test_unknown_split_names_the_nearest():
    with pytest.raises(DenoiseError, match=r"no split 'valid' \(did you mean 'validation'\?\)"):
        hub_examples("rte", "valid", load=FakeLoader(Dataset.from_dict({})))


def test_missing_column_is_named():
    rows = Dataset.from_dict({"text": ["Hi."], "label": [0]})
    with pytest.raises(DenoiseError, match=r"no column 'sentence1'; the columns are \['text', 'label'\]"):
        hub_examples("mrpc", "train", load=FakeLoader(rows))


def test_every_task_is_listed():
    expected = {
        "sst2",
        "mnli",
        "qnli",
        "mrpc",
        "qqp",
        "rte",
        "cola",
        "stsb",
        "squad",
        "squad_v2",
        "conll2003",
    }
    assert set(TASKS) == expected
