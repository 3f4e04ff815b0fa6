"""The span QA kind, and its settings (``qa:`` in a task recipe): long contexts in overlapping windows,
n-best span decoding, and "no answer" when the first token outscores the best span by more than a
threshold chosen on the dev split (only if the training set has unanswerable questions; 0 without a dev
split). Scores follow the official SQuAD v2.0 script where a task has unanswerable questions, v1.1's
otherwise (:meth:`SpanQA.squad_version`). It has no baseline."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import torch

from denoise.tasks.example_scores import ExampleScores
from denoise.tasks.kind import Kind, outputs
from denoise.tasks.qa.data import read_squad
from denoise.tasks.qa.features import qa_features
from denoise.tasks.qa.head import SpanHead
from denoise.tasks.qa.metrics import squad_scores, token_f1
from denoise.tasks.qa.spans import best_null_threshold, best_span, no_answer_diagnostics, rank_spans


@dataclass(frozen=True)
class QASettings:
    doc_stride: int = 32  # context tokens shared by consecutive windows
    max_answer_tokens: int = 30  # the longest span considered
    n_best: int = 5  # candidate spans kept per question
    span_window: int = 0  # neighbours on each side a token's start and end scores read (0: BERT's head)
    max_question_tokens: int = 64  # a question's tokens beyond these are cut

    RANGES: ClassVar[dict[str, str]] = {
        "doc_stride": ">= 0",
        "max_answer_tokens": ">= 1",
        "n_best": ">= 1",
        "span_window": ">= 0",
        "max_question_tokens": ">= 1",
    }


class SpanQA(Kind):
    name = "qa"
    settings_key = "qa"

    def __init__(self, config):
        super().__init__(config)
        self.no_answer = False
        self.null_threshold = 0.0  # "no answer" when its score minus the best span's exceeds this

    def read_file(self, path: Path, split: str) -> list:
        return read_squad(path)

    def fit(self, train: list) -> None:
        self.no_answer = any(not e.answers for e in train)

    def state(self) -> dict:
        return {"no_answer": self.no_answer, "null_threshold": self.null_threshold}

    def load_state(self, state: dict) -> None:
        self.no_answer = state["no_answer"]
        self.null_threshold = state.get("null_threshold", 0.0)

    def features(self, examples, tok):
        s = self.settings
        return qa_features(examples, tok, self.config.max_length, s.doc_stride, s.max_question_tokens)

    def head(self, backbone):
        return SpanHead(backbone.d_model, self.settings.span_window)

    def targets(self, batch: dict) -> torch.Tensor:
        return torch.stack([batch["start"], batch["end"]], dim=1)

    def candidates(self, model, examples, features, tok, device, autocast) -> list:
        """For each example: its n-best (text, score) spans and its no-answer score."""
        logits = outputs(model, features, tok, self.config.eval_batch_size, device, autocast)
        windows = defaultdict(list)
        for feature, scores in zip(features, logits):
            windows[feature["example"]].append((feature["offsets"], scores))
        ranked = []
        for number, example in enumerate(examples):
            spans, null = rank_spans(windows[number], self.settings.n_best, self.settings.max_answer_tokens)
            ranked.append(([(example.context[a:b], score) for score, a, b in spans], null))
        return ranked

    def tune(self, model, examples, features, tok, device, autocast) -> None:
        if self.no_answer:
            ranked = self.candidates(model, examples, features, tok, device, autocast)
            self.null_threshold = best_null_threshold(ranked, examples)

    def score(self, model, examples, features, tok, device, autocast):
        ranked = self.candidates(model, examples, features, tok, device, autocast)
        predictions, nbest = {}, []
        for example, (texts, null) in zip(examples, ranked):
            best = best_span(texts, null)
            silent = self.no_answer and null - best[1] > self.null_threshold
            predictions[example.id] = "" if silent else best[0]
            nbest.append(
                {
                    "id": example.id,
                    "prediction": predictions[example.id],
                    "null_score": null,
                    "nbest": [{"text": t, "score": s} for t, s in texts],
                }
            )
        metrics = squad_scores(predictions, examples, self.squad_version(examples))
        if self.no_answer:
            metrics["null_threshold"] = self.null_threshold
            metrics.update(no_answer_diagnostics(ranked, examples))
        return metrics, nbest

    def squad_version(self, examples: list) -> str:
        """The official script whose scores a task gets: SQuAD v2.0's where it has unanswerable questions
        (in the training split, or among the ``examples`` scored), v1.1's otherwise."""
        unanswerable = self.no_answer or any(not example.answerable for example in examples)
        return "2.0" if unanswerable else "1.1"

    def example_scores(self, examples: list, predictions: list) -> ExampleScores:
        """Each question's F1 against its gold answers, as the official script scores it."""
        version = self.squad_version(examples)
        return ExampleScores(
            [
                100.0
                * token_f1(predicted["prediction"], [answer.text for answer in example.answers], version)
                for example, predicted in zip(examples, predictions, strict=True)
            ]
        )

    @classmethod
    def headline(cls, metrics: dict) -> tuple[str, float]:
        return "f1", metrics["f1"]
