"""SQuAD scores as the official evaluation scripts compute them, and the ranking AUC of the no-answer
decision.

The v1.1 and v2.0 scripts normalize answers alike and differ on answers that normalize to nothing (a gold
answer ``"the"`` or ``"."``, an empty prediction). v1.1 scores against every gold answer, and an F1 with no
shared token is 0, so an empty prediction against such a gold answer has exact match 1 but F1 0. v2.0 drops
the gold answers that normalize to nothing (a question left with none has only ``""`` as its answer, as an
unanswerable one has), and an F1 where either side has no tokens is 1 if both have none, else 0. Each
function takes the ``version`` ("1.1" or "2.0") to follow; the QA kind chooses it for a task.
"""

from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Mapping, Sequence

from denoise.errors import DenoiseError
from denoise.tasks.qa.data import QAExample

_PUNCTUATION = frozenset(string.punctuation)
_ARTICLES = re.compile(r"\b(a|an|the)\b")
SQUAD_VERSIONS = ("1.1", "2.0")


def normalize_answer(text: str) -> str:
    """Lowercase, drop punctuation and the articles a, an, the, and collapse whitespace."""
    text = "".join(c for c in text.lower() if c not in _PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", text).split())


def _gold_answers(golds: str | Sequence[str], version: str) -> list[str]:
    """The gold answers a question is scored against. v2.0: those whose normalization is not empty, or
    ``[""]`` when none is (an unanswerable question); v1.1: all of them, as given."""
    check_version(version)
    golds = [golds] if isinstance(golds, str) else list(golds)
    if version == "1.1":
        if not golds:
            raise DenoiseError(
                "a question without answers cannot be scored the SQuAD v1.1 way; score it with version='2.0'"
            )
        return golds
    return [gold for gold in golds if normalize_answer(gold)] or [""]


def check_version(version: str) -> None:
    if version not in SQUAD_VERSIONS:
        raise DenoiseError(f"SQuAD version {version!r} is not one of {', '.join(SQUAD_VERSIONS)}")


def exact_match(prediction: str, golds: str | Sequence[str], version: str = "2.0") -> float:
    """1.0 if the normalized prediction equals a normalized gold answer, else 0.0 (v2.0 and no golds: an
    unanswerable question, which only a prediction that normalizes to nothing matches)."""
    normalized = normalize_answer(prediction)
    return float(any(normalized == normalize_answer(gold) for gold in _gold_answers(golds, version)))


def token_f1(prediction: str, golds: str | Sequence[str], version: str = "2.0") -> float:
    """The best F1 of the normalized prediction's tokens against any gold answer's, the ``version`` way."""
    return max(_tokens_f1(prediction, gold, version) for gold in _gold_answers(golds, version))


def _tokens_f1(prediction: str, gold: str, version: str) -> float:
    predicted_tokens, gold_tokens = normalize_answer(prediction).split(), normalize_answer(gold).split()
    if version == "2.0" and (not predicted_tokens or not gold_tokens):
        return float(predicted_tokens == gold_tokens)  # no answer scores only against no answer
    shared = sum((Counter(predicted_tokens) & Counter(gold_tokens)).values())
    if not shared:  # v1.1: also where either side normalizes to nothing
        return 0.0
    precision, recall = shared / len(predicted_tokens), shared / len(gold_tokens)
    return 2 * precision * recall / (precision + recall)


def squad_scores(
    predictions: Mapping[str, str], examples: Sequence[QAExample], version: str
) -> dict[str, float]:
    """Exact match and F1 in percent over ``examples`` the SQuAD ``version`` way, with ``total``; where some
    questions are unanswerable, the same for the answerable (``has_answer_*``) and unanswerable
    (``no_answer_*``) ones.

    ``predictions`` maps every question id to its predicted answer, the empty string for no answer; ids of
    other questions are ignored.
    """
    check_version(version)
    if not examples:
        raise DenoiseError("no questions to score")
    missing = [example.id for example in examples if example.id not in predictions]
    if missing:
        raise DenoiseError(
            f"no prediction for {len(missing)} of {len(examples)} questions, the first {missing[0]!r}; "
            "predict an answer for every question (the empty string for no answer)"
        )
    scores = _average_scores(predictions, examples, version)
    answerable = [example for example in examples if example.answerable]
    unanswerable = [example for example in examples if not example.answerable]
    if unanswerable:
        for prefix, group in (("has_answer", answerable), ("no_answer", unanswerable)):
            if group:
                scores.update(
                    {
                        f"{prefix}_{key}": value
                        for key, value in _average_scores(predictions, group, version).items()
                    }
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


def _average_scores(
    predictions: Mapping[str, str], examples: Sequence[QAExample], version: str
) -> dict[str, float]:
    exact = f1 = 0.0
    for example in examples:
        golds = [answer.text for answer in example.answers]
        exact += exact_match(predictions[example.id], golds, version)
        f1 += token_f1(predictions[example.id], golds, version)
    return {
        "exact_match": 100 * exact / len(examples),
        "f1": 100 * f1 / len(examples),
        "total": len(examples),
    }
