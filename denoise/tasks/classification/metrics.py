"""Classification and regression scores."""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Sequence

import numpy as np

from denoise.tasks.metrics import accuracy, check_pairs

__all__ = ["accuracy", "macro_f1", "regression_scores"]


def macro_f1(gold: Sequence[Hashable], predicted: Sequence[Hashable]) -> float:
    """F1 of each label found in ``gold`` or ``predicted``, averaged with equal weights."""
    check_pairs(gold, predicted, "labels")
    gold_counts, predicted_counts = Counter(gold), Counter(predicted)
    correct = Counter(g for g, p in zip(gold, predicted) if g == p)
    labels = gold_counts.keys() | predicted_counts.keys()
    # F1 = 2 tp / (2 tp + fp + fn), and 2 tp + fp + fn = gold count + predicted count.
    scores = [2 * correct[label] / (gold_counts[label] + predicted_counts[label]) for label in labels]
    return sum(scores) / len(scores)


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
