"""Each kind's per-example parts recompute its headline exactly, so that comparisons resampling test examples
resample the figure the tables show: a label's accuracy, word accuracy and entity F1 by sentence, and a
question's F1 the SQuAD way."""

from __future__ import annotations

import random

import pytest

from denoise.errors import DenoiseError
from denoise.tasks.classification.data import ClassificationExample
from denoise.tasks.classification.kind import label_scores
from denoise.tasks.example_scores import ExampleScores
from denoise.tasks.kinds import kind_named
from denoise.tasks.qa.data import Answer, QAExample
from denoise.tasks.qa.metrics import squad_scores
from denoise.tasks.tagging.data import TaggingExample
from denoise.tasks.tagging.kind import tag_scores

BIO = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]
POS = ["NN", "VB", "DT", "JJ"]


def random_tags(chooser: random.Random, tags: list[str], length: int) -> list[str]:
    return [chooser.choice(tags) for _ in range(length)]


@pytest.mark.parametrize("tags", [BIO, POS], ids=["entity-f1", "word-accuracy"])
def test_tagging_parts_recompute_the_headline(tags):
    chooser = random.Random(len(tags))
    kind = kind_named("tagging")(None)
    kind.tags = tags
    for _ in range(20):
        gold = [random_tags(chooser, tags, chooser.randint(1, 12)) for _ in range(chooser.randint(1, 15))]
        predicted = [
            [tag if chooser.random() < 0.6 else chooser.choice(tags) for tag in sentence] for sentence in gold
        ]
        examples = [TaggingExample([f"w{i}" for i in range(len(s))], s) for s in gold]
        parts = kind.example_scores(examples, predicted)
        assert len(parts.parts) == len(examples)
        expected = kind.headline(tag_scores(gold, predicted, tags))[1]
        assert parts.headline == pytest.approx(expected)


def test_a_sentence_without_entities_adds_nothing_to_entity_f1():
    kind = kind_named("tagging")(None)
    kind.tags = BIO
    examples = [TaggingExample(["a", "b"], ["O", "O"]), TaggingExample(["Ann", "ran"], ["B-PER", "O"])]
    parts = kind.example_scores(examples, [["O", "O"], ["B-PER", "O"]])
    assert parts == ExampleScores([0.0, 200.0], [0, 2]) and parts.headline == 100.0


def test_classification_parts_are_each_labels_accuracy():
    kind = kind_named("classification")(None)
    examples = [ClassificationExample(("t",), label) for label in ["pos", "neg", "pos", "neg"]]
    predicted = ["pos", "pos", "pos", "neg"]
    parts = kind.example_scores(examples, predicted)
    assert parts.totals is None
    assert parts.headline == kind.headline(label_scores([e.label for e in examples], predicted))[1] == 75.0


@pytest.mark.parametrize("unanswerable", [False, True], ids=["v1.1", "v2.0"])
def test_qa_parts_are_each_questions_f1(unanswerable):
    chooser = random.Random(3)
    context = "the cat sat on the mat near a red door in the old house"
    words = context.split()
    examples, predictions, nbest = [], {}, []
    for number in range(40):
        start = chooser.randrange(len(words) - 3)
        answer = " ".join(words[start : start + chooser.randint(1, 3)])
        answers = () if unanswerable and number % 4 == 0 else (Answer(answer, context.index(answer)),)
        guess = chooser.choice([answer, "the", "", " ".join(words[start : start + 4]), "."])
        examples.append(QAExample(f"q{number}", "where?", context, answers))
        predictions[f"q{number}"] = guess
        nbest.append({"id": f"q{number}", "prediction": guess})
    kind = kind_named("qa")(None)
    kind.fit(examples)
    version = kind.squad_version(examples)
    assert version == ("2.0" if unanswerable else "1.1")
    parts = kind.example_scores(examples, nbest)
    assert parts.headline == pytest.approx(kind.headline(squad_scores(predictions, examples, version))[1])


def test_regression_has_no_parts_and_ragged_parts_are_refused():
    kind = kind_named("regression")(None)
    assert kind.example_scores([ClassificationExample(("t",), "0.5")], [0.5]) is None
    with pytest.raises(DenoiseError, match="2 parts but 1 totals"):
        ExampleScores([1.0, 0.0], [1.0])
