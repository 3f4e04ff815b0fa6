"""Extractive span QA (SQuAD v1.1 and v2.0): long contexts in overlapping windows, n-best span decoding,
and "no answer" when the first token outscores every span (only if the training set has unanswerable
questions)."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import torch

from denoise.finetune.kinds import Kind, outputs
from denoise.heads.span import SpanHead
from denoise.tasks.features import qa_features
from denoise.tasks.metrics import squad_scores
from denoise.tasks.readers import read_squad


class SpanQA(Kind):
    def __init__(self, config):
        super().__init__(config)
        self.no_answer = False

    def read_file(self, path: Path, split: str) -> list:
        return read_squad(path)

    def fit(self, train: list) -> None:
        self.no_answer = any(not e.answers for e in train)

    def state(self) -> dict:
        return {"no_answer": self.no_answer}

    def load_state(self, state: dict) -> None:
        self.no_answer = state["no_answer"]

    def features(self, examples, tok):
        return qa_features(examples, tok, self.config.max_length, self.config.doc_stride)

    def head(self, d_model: int, encoder_only: bool):
        return SpanHead(d_model)

    def targets(self, batch: dict) -> torch.Tensor:
        return torch.stack([batch["start"], batch["end"]], dim=1)

    def score(self, model, examples, features, tok, device, autocast):
        logits = outputs(model, features, tok, self.config.eval_batch_size, device, autocast)
        windows = defaultdict(list)
        for feature, scores in zip(features, logits):
            windows[feature["example"]].append((feature["offsets"], scores))
        predictions, nbest = {}, []
        for number, example in enumerate(examples):
            candidates, null = rank_spans(windows[number], self.config.n_best, self.config.max_answer_tokens)
            texts = [(example.context[a:b], score) for score, a, b in candidates]
            best = texts[0] if texts else ("", null)
            predictions[example.id] = "" if self.no_answer and null > best[1] else best[0]
            nbest.append(
                {
                    "id": example.id,
                    "prediction": predictions[example.id],
                    "null_score": null,
                    "nbest": [{"text": t, "score": s} for t, s in texts],
                }
            )
        return squad_scores(predictions, examples), nbest


def rank_spans(windows: list, n_best: int, max_tokens: int) -> tuple[list[tuple[float, int, int]], float]:
    """The ``n_best`` best (score, char start, char end) spans over all windows of one question, and the
    lowest no-answer score of its windows (start and end logits of the first token)."""
    spans, null = [], float("inf")
    for offsets, scores in windows:
        start_logits, end_logits = scores[:, 0], scores[:, 1]
        null = min(null, float(start_logits[0] + end_logits[0]))
        context = torch.tensor([o is not None for o in offsets] + [False] * (len(scores) - len(offsets)))
        starts = torch.where(context, start_logits, float("-inf")).topk(min(n_best, len(scores))).indices
        ends = torch.where(context, end_logits, float("-inf")).topk(min(n_best, len(scores))).indices
        for s in starts.tolist():
            for e in ends.tolist():
                if context[s] and context[e] and s <= e < s + max_tokens:
                    spans.append((float(start_logits[s] + end_logits[e]), offsets[s][0], offsets[e][1]))
    spans.sort(key=lambda span: -span[0])
    unique, seen = [], set()
    for span in spans:
        if span[1:] not in seen:
            seen.add(span[1:])
            unique.append(span)
    return unique[:n_best], null
