"""Paired bootstrap confidence intervals for the difference between two cells of a grid on a task.

Two cells are fine-tuned with the same seeds, so their scores pair up by seed (cell A seed s against cell B
seed s), and the pairing shares what a seed sets for both (the order of the training examples).
:func:`paired_difference` takes the per-seed differences and gives their mean with a percentile bootstrap
interval: draw as many differences as there are, with replacement, ``resamples`` times; the interval runs
between the ``(1 - level) / 2`` and ``(1 + level) / 2`` quantiles of the resampled means. The resampling has
its own generator, seeded by ``seed``, so the same scores always give the same interval.

With n seeds the resampled means can take only the values of the multisets of n differences (3 for 2
seeds, 10 for 3), so the interval is coarse: a resample drawing the lowest difference every time has chance
``n ** -n``, above 2.5% for n <= 3, so with 2 or 3 seeds the 95% interval is the range of the differences,
and it excludes zero only when every seed puts the same cell ahead. At small n the interval also covers
less than ``level``: the spread of a resampled mean is the plug-in one, ``sqrt((n - 1) / n)`` of the usual
standard error, with normal rather than Student-t tails.

A test split is itself a sample, and so is a seed. :func:`paired_example_difference` resamples both: given
each example's score under each seed for both cells (1 or 0 for a correct label, a question's F1), it
resamples seeds and examples at once, the same ones for both cells; with one seed it resamples the examples
alone, and with thousands of examples its intervals are fine-grained whatever the number of seeds. A metric
that is a ratio of sums over examples resamples the same way, given each example's numerator and
denominator: word accuracy (a sentence's right words over its words, so a sentence's words stay together),
entity F1 (twice a sentence's right entities over its gold and predicted ones). Corpus metrics that are
neither (macro F1, Pearson, BLEU) stay with the seed bootstrap. Each fine-tuning run's
``predictions-test.jsonl`` holds one prediction per test example in the split's order (a label, a score, a
list of tags, a QA answer under ``"prediction"``, a text); scoring them against the split's gold answers,
example by example, is the task kind's step (:meth:`denoise.tasks.kind.Kind.example_scores`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from denoise.errors import DenoiseError

RESAMPLES = 10_000
LEVEL = 0.95
CHUNK = 256  # resamples drawn at once by the two-level bootstrap


@dataclass(frozen=True)
class Difference:
    """The mean of A minus B and its bootstrap interval ``[low, high]`` at ``level``; ``n`` is the number
    of paired seeds."""

    mean: float
    low: float
    high: float
    n: int
    level: float = LEVEL

    @property
    def excludes_zero(self) -> bool:
        """The interval lies wholly above or below zero: one cell is ahead at this level."""
        return self.low > 0 or self.high < 0


def paired_difference(
    a: Sequence[float],
    b: Sequence[float],
    resamples: int = RESAMPLES,
    level: float = LEVEL,
    seed: int = 0,
) -> Difference:
    """The mean of ``a[i] - b[i]`` (scores paired by seed) and its percentile bootstrap interval over the
    pairs."""
    differences = _differences(np.asarray(a, dtype=float), np.asarray(b, dtype=float), least=2)
    _check_settings(resamples, level)
    n = len(differences)
    draws = np.random.default_rng(seed).integers(0, n, size=(resamples, n))
    return _interval(differences.mean(), differences[draws].mean(axis=1), n, level)


def paired_example_difference(
    a: Sequence[Sequence[float]],
    b: Sequence[Sequence[float]],
    resamples: int = RESAMPLES,
    level: float = LEVEL,
    seed: int = 0,
    a_totals: Sequence[Sequence[float]] | None = None,
    b_totals: Sequence[Sequence[float]] | None = None,
) -> Difference:
    """Cell A's score minus cell B's, averaged over seeds, and its percentile bootstrap interval, resampling
    seeds and test examples together; ``n`` is the number of seeds.

    Row s of ``a`` holds seed s's numerator on each example e of the test split, row s of ``a_totals`` the
    denominators: seed s scores ``sum(a[s]) / sum(a_totals[s])`` (the mean of ``a[s]`` without totals), 0
    where the denominators sum to 0. ``b`` and ``b_totals`` likewise, on the same examples."""
    a_parts, b_parts = _matrix(a, "a"), _matrix(b, "b")
    a_whole = _totals(a_totals, a_parts, "a_totals")
    b_whole = _totals(b_totals, b_parts, "b_totals")
    _differences(a_parts, b_parts, least=1)
    _differences(a_whole, b_whole, least=1)
    seeds, examples = a_parts.shape
    if examples < 2:
        raise DenoiseError(f"{examples} example(s): resampling examples needs at least 2")
    _check_settings(resamples, level)
    generator = np.random.default_rng(seed)
    observed = _ratio(a_parts.sum(1), a_whole.sum(1)) - _ratio(b_parts.sum(1), b_whole.sum(1))
    means = []
    for start in range(0, resamples, CHUNK):
        count = min(CHUNK, resamples - start)
        seed_counts = generator.multinomial(seeds, np.full(seeds, 1 / seeds), size=count)
        example_counts = generator.multinomial(examples, np.full(examples, 1 / examples), size=count)
        per_seed = _ratio(example_counts @ a_parts.T, example_counts @ a_whole.T) - _ratio(
            example_counts @ b_parts.T, example_counts @ b_whole.T
        )  # count x seeds: each resample's difference under each seed
        means.append((seed_counts * per_seed).sum(1) / seeds)
    return _interval(float(observed.mean()), np.concatenate(means), seeds, level)


def _totals(totals, parts: np.ndarray, name: str) -> np.ndarray:
    """The denominators ``totals`` as an array shaped like ``parts`` (ones when None: a mean)."""
    if totals is None:
        return np.ones_like(parts)
    whole = _matrix(totals, name)
    if whole.shape != parts.shape:
        raise DenoiseError(
            f"{name} has shape {whole.shape} but the scores {parts.shape}; give one denominator per score"
        )
    if (whole < 0).any():
        raise DenoiseError(f"{name} holds a negative denominator; each is a count (words, entities)")
    return whole


def _ratio(parts: np.ndarray, whole: np.ndarray) -> np.ndarray:
    """``parts / whole``, 0 where ``whole`` is 0 (no entity gold or predicted: F1 0, as the metric has it)."""
    return np.divide(parts, whole, out=np.zeros_like(parts, dtype=float), where=whole != 0)


def _matrix(rows: Sequence[Sequence[float]], name: str) -> np.ndarray:
    """``rows`` (a seed's per-example scores each) as a seeds x examples array."""
    if any(np.ndim(row) != 1 for row in rows):
        raise DenoiseError(f"{name} must hold one list of per-example scores per seed")
    lengths = {len(row) for row in rows}
    if len(lengths) > 1:
        raise DenoiseError(
            f"{name}'s seeds score different numbers of examples ({sorted(lengths)}); score each seed on the "
            "same test split"
        )
    if lengths == {0}:
        raise DenoiseError(f"{name} holds no per-example scores")
    return np.asarray(rows, dtype=float)


def _differences(a: np.ndarray, b: np.ndarray, least: int) -> np.ndarray:
    """``a - b``, once both are checked to pair up, to hold at least ``least`` seeds, and to be finite."""
    if a.shape != b.shape:
        raise DenoiseError(
            f"the scores do not pair up: shapes {a.shape} and {b.shape}; give both the same seeds"
        )
    if len(a) < least:
        raise DenoiseError(
            f"{len(a)} seed(s): this bootstrap needs at least {least} paired seeds; fine-tune with more "
            "(seeds=[0, 1, 2])"
        )
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise DenoiseError("a score is NaN or infinite; drop the failed run or rerun it")
    return a - b


def _check_settings(resamples: int, level: float) -> None:
    if resamples < 1:
        raise DenoiseError(f"resamples={resamples}: draw at least 1 (10000 gives stable 95% intervals)")
    if not 0 < level < 1:
        raise DenoiseError(f"level={level} is not a probability between 0 and 1 (0.95 for 95%)")


def _interval(mean: float, resampled: np.ndarray, n: int, level: float) -> Difference:
    low, high = np.quantile(resampled, [(1 - level) / 2, (1 + level) / 2])
    return Difference(float(mean), float(low), float(high), n, level)
