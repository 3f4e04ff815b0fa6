"""The classification and regression kinds, and their settings (``classification:`` in a task recipe)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from denoise.config import check_choice
from denoise.tasks.bag_of_words import NaiveBayes, RidgeRegression, word_counts
from denoise.tasks.classification.data import (
    ClassificationExample,
    check_labels,
    label_set,
    read_classification,
)
from denoise.tasks.classification.features import classification_features
from denoise.tasks.classification.head import POOLINGS, ClassificationHead
from denoise.tasks.classification.metrics import accuracy, macro_f1, regression_scores
from denoise.tasks.example_scores import ExampleScores
from denoise.tasks.kind import Kind, outputs
from denoise.tasks.metrics import check_pairs


@dataclass(frozen=True)
class ClassificationSettings:
    # first | mean | last; None: the family's default for the mode (first for BERT's [CLS] where it has a
    # pooler, else mean; the last decoder state the BART way, the mean of encoder states otherwise)
    pooling: str | None = None

    def __post_init__(self):
        if self.pooling is not None:
            check_choice("classification.pooling", self.pooling, POOLINGS)


class Classification(Kind):
    name = "classification"
    target_key = "label"
    settings_key = "classification"
    regression = False

    def __init__(self, config):
        super().__init__(config)
        self.labels: list[str] | None = None

    def read_file(self, path: Path, split: str) -> list:
        task = self.config.task
        return read_classification(
            path, task.text_column, task.pair_column, task.label_column, regression=self.regression
        )

    def fit(self, train: list) -> None:
        self.labels = None if self.regression else label_set(train)

    def check(self, examples: list, split: str) -> None:
        if not self.regression:
            check_labels(examples, self.labels, getattr(self.config.task, split) or split)

    def state(self) -> dict:
        return {"labels": self.labels}

    def load_state(self, state: dict) -> None:
        self.labels = state["labels"]

    def features(self, examples, tok):
        return classification_features(examples, tok, self.labels, self.config.max_length)

    def head(self, backbone):
        pooling = self.settings.pooling or default_pooling(backbone)
        size = 1 if self.regression else len(self.labels)
        return ClassificationHead(
            backbone.d_model, size, pooling=pooling, dropout=self.config.dropout, linear=self.config.probe
        )

    def score(self, model, examples, features, tok, device, autocast):
        logits = outputs(model, features, tok, self.config.eval_batch_size, device, autocast)
        if self.regression:
            predicted = [float(x) for x in logits]
            gold = [float(e.label) for e in examples]
            return regression_scores(gold, predicted), predicted
        predicted = [self.labels[int(x.argmax())] for x in logits]
        return label_scores([e.label for e in examples], predicted), predicted

    def baseline(self, train: list, examples: list) -> tuple[str, dict]:
        """Multinomial naive Bayes on word counts (:mod:`denoise.tasks.bag_of_words`), Laplace-smoothed."""
        model = NaiveBayes(documents(train), [e.label for e in train])
        predicted = model.predict(documents(examples))
        return "naive Bayes on word counts", label_scores([e.label for e in examples], predicted)

    def example_scores(self, examples: list, predictions: list) -> ExampleScores | None:
        if self.regression:
            return None
        return ExampleScores([100.0 * (p == e.label) for e, p in zip(examples, predictions, strict=True)])

    @classmethod
    def headline(cls, metrics: dict) -> tuple[str, float]:
        return "accuracy", 100 * metrics["accuracy"]


class Regression(Classification):
    """A score per text (or pair), trained with mean squared error; the same head with one output."""

    name = "regression"
    regression = True

    def baseline(self, train: list, examples: list) -> tuple[str, dict]:
        """Ridge regression on word counts (:mod:`denoise.tasks.bag_of_words`), its penalty chosen on a
        held-out fifth of ``train``."""
        model = RidgeRegression(documents(train), [float(e.label) for e in train])
        predicted = model.predict(documents(examples))
        name = f"ridge regression on word counts (penalty {model.penalty:g})"
        return name, baseline_regression_scores([float(e.label) for e in examples], predicted)

    @classmethod
    def headline(cls, metrics: dict) -> tuple[str, float]:
        return "pearson", metrics["pearson"]


def label_scores(gold: list[str], predicted: list[str]) -> dict:
    """What the classification kind reports: accuracy and macro F1."""
    return {"accuracy": accuracy(gold, predicted), "macro_f1": macro_f1(gold, predicted)}


def documents(examples: list[ClassificationExample]) -> list:
    """The word counts of each example's text (or text pair)."""
    return [word_counts(e.text, e.text_pair) for e in examples]


def baseline_regression_scores(gold: list[float], predicted: list[float]) -> dict:
    """:func:`regression_scores`, except that a correlation with a constant (every prediction the same, the
    training mean say, or every gold score the same) is undefined and reported as 0 rather than divided by a
    zero spread."""
    check_pairs(gold, predicted, "scores")
    if len(set(predicted)) > 1 and len(set(gold)) > 1:
        return regression_scores(gold, predicted)
    mse = sum((g - p) ** 2 for g, p in zip(gold, predicted)) / len(gold)
    return {"pearson": 0.0, "spearman": 0.0, "mse": mse}


def default_pooling(backbone) -> str:
    """The family's pooling for the mode, except that a model with no pooler reads the mean of its states
    where the family would read the first: only a sentence-pair task (NSP, SOP) trains [CLS] to stand for
    the sequence, through the pooler, so a model pre-trained without one (masked LM alone, ELECTRA) leaves
    it untrained (on the sentiment dev split, a tiny masked LM: 67.9% from the mean, 58.9% from [CLS])."""
    pooling = backbone.family.pooling[backbone.mode]
    if pooling == "first" and backbone.family.pooler_state(backbone.model) is None:
        return "mean"
    return pooling
