"""Sequence classification and regression (sentiment, sentence pairs such as NLI or paraphrase)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from denoise.finetune.kinds import Kind, outputs
from denoise.heads.classification import ClassificationHead
from denoise.tasks.features import classification_features
from denoise.tasks.metrics import accuracy, macro_f1
from denoise.tasks.readers import check_labels, label_set, read_classification


class Classification(Kind):
    target_key = "label"

    def __init__(self, config):
        super().__init__(config)
        self.regression = config.task.kind == "regression"
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
        pooling = self.config.pooling or backbone.family.pooling[backbone.mode]
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


def regression_scores(gold: list[float], predicted: list[float]) -> dict:
    gold_array, predicted_array = np.asarray(gold), np.asarray(predicted)
    pearson = float(np.corrcoef(gold_array, predicted_array)[0, 1]) if len(gold) > 1 else float("nan")
    ranks = [np.argsort(np.argsort(a)) for a in (gold_array, predicted_array)]
    spearman = float(np.corrcoef(*ranks)[0, 1]) if len(gold) > 1 else float("nan")
    return {
        "pearson": pearson,
        "spearman": spearman,
        "mse": float(np.mean((gold_array - predicted_array) ** 2)),
    }
