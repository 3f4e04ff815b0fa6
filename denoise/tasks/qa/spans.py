"""From the start and end scores of a question's windows to its ranked answer spans, and the no-answer
decision: "no answer" when the first token's score beats the best span's by more than a threshold chosen
on the dev split, as SQuAD 2.0 systems choose it."""

from __future__ import annotations

import torch

from denoise.tasks.qa.metrics import ranking_auc, token_f1


def best_span(texts: list, null: float) -> tuple[str, float]:
    """The first of a question's ranked (text, score) spans; the empty answer at the no-answer score when
    no span fits."""
    return texts[0] if texts else ("", null)


def no_answer_diagnostics(ranked: list, examples: list) -> dict[str, float]:
    """What the official scores mix up, apart: how well the best spans answer the answerable questions
    whatever the no-answer decision (``has_answer_best_span_f1``, percent), and how well the margin of the
    best span over the no-answer score ranks answerable questions above unanswerable ones
    (``no_answer_auc``; 0.5 is chance). Empty where the questions are all of one kind."""
    margins: dict[bool, list[float]] = {True: [], False: []}
    span_f1 = []
    for example, (texts, null) in zip(examples, ranked):
        best_text, best_score = best_span(texts, null)
        margins[example.answerable].append(best_score - null)
        if example.answerable:
            span_f1.append(token_f1(best_text, [answer.text for answer in example.answers]))
    if not margins[True] or not margins[False]:
        return {}
    return {
        "has_answer_best_span_f1": 100 * sum(span_f1) / len(span_f1),
        "no_answer_auc": ranking_auc(margins[True], margins[False]),
    }


def best_null_threshold(ranked: list, examples: list) -> float:
    """The threshold on (no-answer score - best span score) that maximises F1 over ``examples`` (the dev
    split), as SQuAD 2.0 systems choose it: answering question i gains the F1 of its best span, staying
    silent gains 1 when it has no answer. Questions are swept in order of that difference."""
    rows = []
    for example, (texts, null) in zip(examples, ranked):
        best_text, best_score = best_span(texts, null)
        golds = [answer.text for answer in example.answers]
        answered = token_f1(best_text, golds) if golds else float(best_text == "")
        rows.append((null - best_score, answered, 0.0 if golds else 1.0))
    rows.sort()
    # Threshold below every difference: silent everywhere; each step answers one more question.
    total = best = sum(silent for _, _, silent in rows)
    threshold = rows[0][0] - 1.0 if rows else 0.0
    for i, (difference, answered, silent) in enumerate(rows):
        total += answered - silent
        tied_with_next = i + 1 < len(rows) and rows[i + 1][0] == difference
        if total > best and not tied_with_next:  # a threshold answers all tied questions or none
            best, threshold = total, difference
    return threshold


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
