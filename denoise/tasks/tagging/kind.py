"""The tagging kind, and its baseline: each word's most frequent tag in training."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from denoise.errors import DenoiseError
from denoise.tasks.example_scores import ExampleScores
from denoise.tasks.kind import Kind, outputs
from denoise.tasks.tagging.data import TaggingExample, read_conll
from denoise.tasks.tagging.features import tagging_features
from denoise.tasks.tagging.head import TaggingHead
from denoise.tasks.tagging.metrics import accuracy, entity_f1, sentence_entities


class Tagging(Kind):
    name = "tagging"
    target_key = "labels"

    def __init__(self, config):
        super().__init__(config)
        self.tags: list[str] = []

    def read_file(self, path: Path, split: str) -> list:
        return read_conll(path)

    def fit(self, train: list) -> None:
        self.tags = tag_set(train)

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
        return tag_scores([list(e.tags) for e in examples], predicted, self.tags), predicted

    def baseline(self, train: list, examples: list) -> tuple[str, dict]:
        """Each word's most frequent tag in ``train`` (:class:`MostFrequentTag`)."""
        tagger = MostFrequentTag(train)
        predicted = [[tagger.tag(word) for word in e.words] for e in examples]
        gold = [list(e.tags) for e in examples]
        return "most frequent tag of each word", tag_scores(gold, predicted, tag_set(train))

    def example_scores(self, examples: list, predictions: list) -> ExampleScores:
        """Per sentence: for BIO tags twice its right entities over its gold and predicted entities (their
        sums give entity F1), otherwise its right words over its words (word accuracy)."""
        pairs = list(zip([list(e.tags) for e in examples], predictions, strict=True))
        if is_bio(self.tags):
            counts = [sentence_entities(gold, predicted) for gold, predicted in pairs]
            return ExampleScores([200.0 * right for right, _, _ in counts], [g + p for _, g, p in counts])
        right = [
            100.0 * sum(g == p for g, p in zip(gold, predicted, strict=True)) for gold, predicted in pairs
        ]
        return ExampleScores(right, [len(gold) for gold, _ in pairs])

    @classmethod
    def headline(cls, metrics: dict) -> tuple[str, float]:
        """Entity F1 for BIO tags, word accuracy otherwise."""
        name = "entity_f1" if "entity_f1" in metrics else "accuracy"
        return name, 100 * metrics[name]


def tag_set(examples: Sequence[TaggingExample]) -> list[str]:
    """The tags ``examples`` use, sorted."""
    return sorted({tag for example in examples for tag in example.tags})


def tag_scores(gold: list[list[str]], predicted: list[list[str]], tags: Sequence[str]) -> dict:
    """What the tagging kind reports: word accuracy, and entity precision, recall and F1 (``entity_*``)
    when ``tags`` (the training split's) are BIO tags."""
    flat_gold = [t for sentence in gold for t in sentence]
    flat_predicted = [t for sentence in predicted for t in sentence]
    metrics = {"accuracy": accuracy(flat_gold, flat_predicted)}
    if is_bio(tags):
        metrics.update({f"entity_{k}": v for k, v in entity_f1(gold, predicted).items()})
    return metrics


def is_bio(tags: Sequence[str]) -> bool:
    """Whether ``tags`` mark entities with BIO prefixes (then the headline is entity F1)."""
    return any(t.startswith(("B-", "I-")) for t in tags)


class MostFrequentTag:
    """Tags a word with its most frequent tag in the training sentences; a word never seen as it is written
    with the most frequent tag of its lowercased form, and a word never seen at all with the most frequent
    tag overall. Ties go to the tag more frequent overall, then to the first in sorted order."""

    def __init__(self, train: Sequence[TaggingExample]):
        self.by_word: dict[str, Counter] = {}
        self.by_lowercase: dict[str, Counter] = {}
        overall: Counter = Counter()
        for example in train:
            for word, tag in zip(example.words, example.tags):
                self.by_word.setdefault(word, Counter())[tag] += 1
                self.by_lowercase.setdefault(word.lower(), Counter())[tag] += 1
                overall[tag] += 1
        if not overall:
            raise DenoiseError("no tagged words to count; fill the training split")
        self.rank = {tag: (-count, tag) for tag, count in overall.items()}
        self.default = min(overall, key=self.rank.__getitem__)

    def tag(self, word: str) -> str:
        counts = self.by_word.get(word) or self.by_lowercase.get(word.lower())
        if counts is None:
            return self.default
        return min(counts, key=lambda tag: (-counts[tag], self.rank[tag]))
