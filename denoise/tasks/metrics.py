"""Task metrics: accuracy and macro F1 for classification, entity F1 for BIO tagging, exact match and token F1
for SQuAD, BLEU and chrF for translation, and the area under the ROC curve of a ranking.

Accuracy and the F1 scores of classification and tagging are fractions in [0, 1]; the SQuAD scores, BLEU and
chrF are percentages, as their usual scripts report them.
"""

from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Hashable, Mapping, Sequence

import sacrebleu

from denoise.errors import DenoiseError
from denoise.tasks.examples import QAExample

_PUNCTUATION = frozenset(string.punctuation)
_ARTICLES = re.compile(r"\b(a|an|the)\b")


def _check_pairs(gold: Sequence, predicted: Sequence, what: str) -> None:
    if len(gold) != len(predicted):
        raise DenoiseError(f"{len(gold)} gold {what} but {len(predicted)} predicted; predict one for each")
    if not gold:
        raise DenoiseError(f"no {what} to score")


# Classification


def accuracy(gold: Sequence[Hashable], predicted: Sequence[Hashable]) -> float:
    """The fraction of predictions equal to their gold label."""
    _check_pairs(gold, predicted, "labels")
    return sum(g == p for g, p in zip(gold, predicted)) / len(gold)


def macro_f1(gold: Sequence[Hashable], predicted: Sequence[Hashable]) -> float:
    """F1 of each label found in ``gold`` or ``predicted``, averaged with equal weights."""
    _check_pairs(gold, predicted, "labels")
    gold_counts, predicted_counts = Counter(gold), Counter(predicted)
    correct = Counter(g for g, p in zip(gold, predicted) if g == p)
    labels = gold_counts.keys() | predicted_counts.keys()
    # F1 = 2 tp / (2 tp + fp + fn), and 2 tp + fp + fn = gold count + predicted count.
    scores = [2 * correct[label] / (gold_counts[label] + predicted_counts[label]) for label in labels]
    return sum(scores) / len(scores)


# Tagging


def entities(tags: Sequence[str]) -> list[tuple[str, int, int]]:
    """The ``(type, start, end)`` spans (``end`` exclusive) of BIO tags.

    An ``I-X`` that does not continue an ``X`` entity starts one, so IOB1 tags and ill-formed BIO read the way
    conlleval reads them.
    """
    spans = []
    open_type: str | None = None
    start = 0
    for position, tag in enumerate(tags):
        prefix, entity_type = _parse_tag(tag)
        continues = prefix == "I" and entity_type == open_type
        if open_type is not None and not continues:
            spans.append((open_type, start, position))
            open_type = None
        if prefix != "O" and not continues:
            open_type, start = entity_type, position
    if open_type is not None:
        spans.append((open_type, start, len(tags)))
    return spans


def _parse_tag(tag: str) -> tuple[str, str | None]:
    if tag == "O":
        return "O", None
    prefix, dash, entity_type = tag.partition("-")
    if prefix not in ("B", "I") or not dash or not entity_type:
        raise DenoiseError(f"tag {tag!r} is not a BIO tag; use O, B-TYPE or I-TYPE")
    return prefix, entity_type


def entity_f1(
    gold_sequences: Sequence[Sequence[str]], predicted_sequences: Sequence[Sequence[str]]
) -> dict[str, float]:
    """Entity-level precision, recall and F1, micro-averaged over all sentences.

    A predicted entity is correct only if its type and both boundaries match a gold entity.
    """
    _check_pairs(gold_sequences, predicted_sequences, "sentences")
    gold_spans: set[tuple] = set()
    predicted_spans: set[tuple] = set()
    for number, (gold, predicted) in enumerate(zip(gold_sequences, predicted_sequences)):
        if len(gold) != len(predicted):
            raise DenoiseError(
                f"sentence {number + 1}: {len(gold)} gold tags but {len(predicted)} predicted; predict one per word"
            )
        gold_spans.update((number, *span) for span in entities(gold))
        predicted_spans.update((number, *span) for span in entities(predicted))
    correct = len(gold_spans & predicted_spans)
    precision = correct / len(predicted_spans) if predicted_spans else 0.0
    recall = correct / len(gold_spans) if gold_spans else 0.0
    f1 = 2 * precision * recall / (precision + recall) if correct else 0.0
    return {"precision": precision, "recall": recall, "f1": f1}


# SQuAD


def normalize_answer(text: str) -> str:
    """Lowercase, drop punctuation and the articles a, an, the, and collapse whitespace."""
    text = "".join(c for c in text.lower() if c not in _PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", text).split())


def _gold_answers(golds: str | Sequence[str]) -> list[str]:
    """The gold answers that survive normalization; ``[""]`` for an unanswerable question."""
    if isinstance(golds, str):
        golds = [golds]
    return [gold for gold in golds if normalize_answer(gold)] or [""]


def exact_match(prediction: str, golds: str | Sequence[str]) -> float:
    """1.0 if the normalized prediction equals a normalized gold answer, else 0.0 (no golds: unanswerable)."""
    normalized = normalize_answer(prediction)
    return float(any(normalized == normalize_answer(gold) for gold in _gold_answers(golds)))


def token_f1(prediction: str, golds: str | Sequence[str]) -> float:
    """The best F1 of the normalized prediction's tokens against any gold answer's."""
    return max(_tokens_f1(prediction, gold) for gold in _gold_answers(golds))


def _tokens_f1(prediction: str, gold: str) -> float:
    predicted_tokens, gold_tokens = normalize_answer(prediction).split(), normalize_answer(gold).split()
    if not predicted_tokens or not gold_tokens:
        return float(predicted_tokens == gold_tokens)  # no answer scores only against no answer
    shared = sum((Counter(predicted_tokens) & Counter(gold_tokens)).values())
    if not shared:
        return 0.0
    precision, recall = shared / len(predicted_tokens), shared / len(gold_tokens)
    return 2 * precision * recall / (precision + recall)


def squad_scores(predictions: Mapping[str, str], examples: Sequence[QAExample]) -> dict[str, float]:
    """Exact match and F1 in percent over ``examples``, with ``total``; where some questions are unanswerable,
    the same for the answerable (``has_answer_*``) and unanswerable (``no_answer_*``) ones.

    ``predictions`` maps every question id to its predicted answer, the empty string for no answer; ids of
    other questions are ignored.
    """
    if not examples:
        raise DenoiseError("no questions to score")
    missing = [example.id for example in examples if example.id not in predictions]
    if missing:
        raise DenoiseError(
            f"no prediction for {len(missing)} of {len(examples)} questions, the first {missing[0]!r}; "
            "predict an answer for every question (the empty string for no answer)"
        )
    scores = _average_scores(predictions, examples)
    answerable = [example for example in examples if example.answerable]
    unanswerable = [example for example in examples if not example.answerable]
    if unanswerable:
        for prefix, group in (("has_answer", answerable), ("no_answer", unanswerable)):
            if group:
                scores.update(
                    {f"{prefix}_{key}": value for key, value in _average_scores(predictions, group).items()}
                )
    return scores


def ranking_auc(positives: Sequence[float], negatives: Sequence[float]) -> float:
    """The chance that a positive scores above a negative, ties counting half: the area under the ROC
    curve (Mann-Whitney U over the product of the group sizes). 0.5 is chance, 1.0 a perfect ranking."""
    if not positives or not negatives:
        raise DenoiseError(f"{len(positives)} positives and {len(negatives)} negatives: the AUC needs both")
    ordered = sorted([(value, True) for value in positives] + [(value, False) for value in negatives])
    rank_sum, start = 0.0, 0
    while start < len(ordered):  # tied values share the mean of their ranks (1-based)
        end = start
        while end + 1 < len(ordered) and ordered[end + 1][0] == ordered[start][0]:
            end += 1
        positives_here = sum(is_positive for _, is_positive in ordered[start : end + 1])
        rank_sum += positives_here * (start + end + 2) / 2
        start = end + 1
    n_pos, n_neg = len(positives), len(negatives)
    return (rank_sum - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)


def _average_scores(predictions: Mapping[str, str], examples: Sequence[QAExample]) -> dict[str, float]:
    exact = f1 = 0.0
    for example in examples:
        golds = [answer.text for answer in example.answers]
        exact += exact_match(predictions[example.id], golds)
        f1 += token_f1(predictions[example.id], golds)
    return {
        "exact_match": 100 * exact / len(examples),
        "f1": 100 * f1 / len(examples),
        "total": len(examples),
    }


# Translation


def bleu_chrf(predictions: Sequence[str], references: Sequence[str]) -> dict[str, float]:
    """Corpus BLEU and chrF (sacrebleu's defaults) of ``predictions`` against one reference each."""
    _check_pairs(references, predictions, "sentences")
    predictions, references = list(predictions), [list(references)]
    return {
        "bleu": sacrebleu.corpus_bleu(predictions, references).score,
        "chrf": sacrebleu.corpus_chrf(predictions, references).score,
    }
