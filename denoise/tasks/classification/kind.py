"""The classification and regression kinds, and their settings (``classification:`` in a task recipe)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from denoise.config import check_choice
from denoise.tasks.classification.data import check_labels, label_set, read_classification
from denoise.tasks.classification.features import classification_features
from denoise.tasks.classification.head import POOLINGS, ClassificationHead
from denoise.tasks.classification.metrics import accuracy, macro_f1, regression_scores
from denoise.tasks.kind import Kind, outputs


@dataclass(frozen=True)
class ClassificationSettings:
    # first | mean | last; None: the family's default for the mode (first for BERT's [CLS], the last
    # decoder state the BART way, the mean of encoder states otherwise)
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
        pooling = self.settings.pooling or backbone.family.pooling[backbone.mode]
        size = 1 if self.regression else len(self.labels)
        return ClassificationHead(backbone.d_model, size, pooling=pooling, dropout=self.config.dropout)

    def score(self, model, examples, features, tok, device, autocast):
        logits = outputs(model, features, tok, self.config.eval_batch_size, device, autocast)
        if self.regression:
            predicted = [float(x) for x in logits]
            gold = [float(e.label) for e in examples]
            return regression_scores(gold, predicted), predicted
        predicted = [self.labels[int(x.argmax())] for x in logits]
        gold = [e.label for e in examples]
        return {"accuracy": accuracy(gold, predicted), "macro_f1": macro_f1(gold, predicted)}, predicted

    @classmethod
    def headline(cls, metrics: dict) -> tuple[str, float]:
        return "accuracy", 100 * metrics["accuracy"]


class Regression(Classification):
    """A score per text (or pair), trained with mean squared error; the same head with one output."""

    name = "regression"
    regression = True

    @classmethod
    def headline(cls, metrics: dict) -> tuple[str, float]:
        return "pearson", metrics["pearson"]
