"""The tagging kind."""

from __future__ import annotations

from pathlib import Path

from denoise.errors import DenoiseError
from denoise.tasks.kind import Kind, outputs
from denoise.tasks.tagging.data import read_conll
from denoise.tasks.tagging.features import tagging_features
from denoise.tasks.tagging.head import TaggingHead
from denoise.tasks.tagging.metrics import accuracy, entity_f1


class Tagging(Kind):
    name = "tagging"
    target_key = "labels"

    def __init__(self, config):
        super().__init__(config)
        self.tags: list[str] = []

    def read_file(self, path: Path, split: str) -> list:
        return read_conll(path)

    def fit(self, train: list) -> None:
        self.tags = sorted({tag for example in train for tag in example.tags})

    def check(self, examples: list, split: str) -> None:
        known = set(self.tags)
        for number, example in enumerate(examples, start=1):
            unseen = [tag for tag in example.tags if tag not in known]
            if unseen:
                raise DenoiseError(
                    f"{getattr(self.config.task, split) or split}: sentence {number} has tag {unseen[0]!r}, "
                    f"which the training split never uses (its tags: {', '.join(self.tags)})"
                )

    def state(self) -> dict:
        return {"tags": self.tags}

    def load_state(self, state: dict) -> None:
        self.tags = state["tags"]

    def features(self, examples, tok):
        return tagging_features(examples, tok, self.tags, self.config.max_length)

    def head(self, backbone):
        return TaggingHead(backbone.d_model, len(self.tags), dropout=self.config.dropout)

    def score(self, model, examples, features, tok, device, autocast):
        logits = outputs(model, features, tok, self.config.eval_batch_size, device, autocast)
        fallback = "O" if "O" in self.tags else self.tags[0]  # words cut off by max_length
        predicted = []
        for feature, scores in zip(features, logits):
            best = scores.argmax(-1)
            predicted.append(
                [self.tags[int(best[p])] if p >= 0 else fallback for p in feature["word_positions"]]
            )
        gold = [list(e.tags) for e in examples]
        flat_gold = [t for tags in gold for t in tags]
        flat_predicted = [t for tags in predicted for t in tags]
        metrics = {"accuracy": accuracy(flat_gold, flat_predicted)}
        if any(t.startswith(("B-", "I-")) for t in self.tags):
            metrics.update({f"entity_{k}": v for k, v in entity_f1(gold, predicted).items()})
        return metrics, predicted

    @classmethod
    def headline(cls, metrics: dict) -> tuple[str, float]:
        """Entity F1 for BIO tags, word accuracy otherwise."""
        name = "entity_f1" if "entity_f1" in metrics else "accuracy"
        return name, 100 * metrics[name]
