"""Paired bootstrap intervals: exact on degenerate cases, reproducible, and covering about as often as they
claim on simulated scores."""

from __future__ import annotations

import numpy as np
import pytest

from denoise.compare.statistics import Difference, paired_difference, paired_example_difference
from denoise.errors import DenoiseError


def test_identical_scores_differ_by_exactly_zero():
    scores = [0.81, 0.79, 0.84, 0.8]
    assert paired_difference(scores, scores) == Difference(0.0, 0.0, 0.0, 4)
    assert not paired_difference(scores, scores).excludes_zero


def test_a_constant_shift_is_the_shift():
    b = [0.5, 0.25, 0.75, 0.125, 0.625]
    difference = paired_difference([x + 0.25 for x in b], b)  # exact in binary
    assert (difference.mean, difference.low, difference.high) == (0.25, 0.25, 0.25)
    assert difference.excludes_zero
    shifted = paired_difference([x - 0.1 for x in b], b)
    assert shifted.mean == pytest.approx(-0.1) and shifted.low == pytest.approx(-0.1)
    assert shifted.high == pytest.approx(-0.1) and shifted.excludes_zero


def test_the_same_scores_give_the_same_interval():
    a, b = [0.7, 0.9, 0.65, 0.8, 0.75], [0.72, 0.8, 0.6, 0.79, 0.7]
    assert paired_difference(a, b) == paired_difference(a, b)
    assert paired_difference(a, b, seed=1) != paired_difference(a, b, seed=2)
    first = paired_difference(a, b)
    assert first.low < first.mean < first.high and first.n == 5


@pytest.mark.parametrize("n", [2, 3])
def test_with_two_or_three_seeds_the_interval_is_the_range(n):
    differences = [0.5, -0.125, 0.25][:n]  # exact in binary, so the means of repeats are too
    interval = paired_difference(differences, [0.0] * n)
    assert (interval.low, interval.high) == (min(differences), max(differences))
    assert not interval.excludes_zero  # the seeds disagree on which cell is ahead


def test_four_seeds_already_narrow_the_range():
    differences = [0.3, -0.1, 0.2, 0.1]
    interval = paired_difference(differences, [0.0] * 4)
    assert min(differences) < interval.low < interval.high < max(differences)


def test_coverage_on_normal_scores_is_near_the_level():
    rng = np.random.default_rng(3)
    trials, seeds, shift = 300, 20, 0.4
    covered = 0
    for trial in range(trials):
        b = rng.normal(0.0, 1.0, seeds)
        a = b + shift + rng.normal(0.0, 1.0, seeds)
        interval = paired_difference(a, b, resamples=1000, seed=trial)
        covered += interval.low <= shift <= interval.high
    # The percentile bootstrap under-covers a little at 20 seeds (about 93%).
    assert 0.87 <= covered / trials <= 0.99


def test_per_example_resampling_with_one_seed_and_many_examples():
    rng = np.random.default_rng(0)
    b = (rng.random((1, 4000)) < 0.7).astype(float)
    a = np.maximum(b, rng.random((1, 4000)) < 0.1)  # A right wherever B is, and on some more
    interval = paired_example_difference(a, b, resamples=2000)
    assert interval.n == 1 and interval.mean == pytest.approx(float((a - b).mean()))
    assert 0 < interval.low < interval.mean < interval.high and interval.excludes_zero
    same = paired_example_difference(a, a, resamples=200)
    assert (same.mean, same.low, same.high) == (0.0, 0.0, 0.0)


def test_per_example_resampling_is_reproducible_and_shifts_exactly():
    b = [[1.0, 0.0, 1.0, 0.0], [0.0, 0.0, 1.0, 1.0]]
    a = [[x + 0.5 for x in row] for row in b]
    shifted = paired_example_difference(a, b, resamples=500)
    assert (shifted.mean, shifted.low, shifted.high, shifted.n) == (0.5, 0.5, 0.5, 2)
    c = [[1.0, 1.0, 0.0, 0.0], [1.0, 0.0, 1.0, 0.0]]
    assert paired_example_difference(c, b, seed=4) == paired_example_difference(c, b, seed=4)


def test_per_example_coverage_of_an_accuracy_difference():
    rng = np.random.default_rng(5)
    covered, trials = 0, 100
    for trial in range(trials):
        b = (rng.random((3, 400)) < 0.6).astype(float)
        a = (rng.random((3, 400)) < 0.65).astype(float)
        interval = paired_example_difference(a, b, resamples=400, seed=trial)
        covered += interval.low <= 0.05 <= interval.high
    assert 0.85 <= covered / trials <= 1.0


@pytest.mark.parametrize(
    "a, b, message",
    [
        ([0.1, 0.2], [0.1], "do not pair up"),
        ([0.1], [0.2], "at least 2 paired seeds"),
        ([0.1, float("nan")], [0.2, 0.3], "NaN or infinite"),
    ],
)
def test_scores_that_cannot_be_bootstrapped_are_refused(a, b, message):
    with pytest.raises(DenoiseError, match=message):
        paired_difference(a, b)


def test_bad_settings_and_ragged_examples_are_refused():
    with pytest.raises(DenoiseError, match="level=1.5"):
        paired_difference([0.1, 0.2], [0.1, 0.3], level=1.5)
    with pytest.raises(DenoiseError, match="resamples=0"):
        paired_difference([0.1, 0.2], [0.1, 0.3], resamples=0)
    with pytest.raises(DenoiseError, match="different numbers of examples"):
        paired_example_difference([[1.0, 0.0], [1.0]], [[1.0, 0.0], [1.0, 1.0]])
    with pytest.raises(DenoiseError, match="at least 2"):
        paired_example_difference([[1.0]], [[0.0]])


def test_a_ratio_of_sums_is_resampled_by_example_and_weighs_long_examples_more():
    """Word accuracy: each sentence's right words over its words. The observed difference is the ratio's,
    not the mean of per-sentence accuracies, and identical cells differ by exactly 0."""
    rng = np.random.default_rng(0)
    words = rng.integers(1, 40, size=(2, 300)).astype(float)
    right_a = np.floor(words * 0.9)
    right_b = np.floor(words * 0.6)
    right_b[:, words[0] > 20] = words[:, words[0] > 20]  # b is right on the long sentences only
    found = paired_example_difference(right_a, right_b, resamples=2000, a_totals=words, b_totals=words)
    expected = np.mean(right_a.sum(1) / words.sum(1) - right_b.sum(1) / words.sum(1))
    assert found.mean == pytest.approx(expected)
    assert found.low < found.mean < found.high
    same = paired_example_difference(right_a, right_a, resamples=200, a_totals=words, b_totals=words)
    assert same.mean == same.low == same.high == 0


def test_a_ratio_with_no_denominator_counts_zero_and_bad_totals_are_refused():
    """Entity F1 where neither side has an entity: 0, as the metric scores it."""
    zeros = [[0.0, 0.0]]
    found = paired_example_difference(zeros, zeros, resamples=10, a_totals=zeros, b_totals=zeros)
    assert found.mean == 0
    with pytest.raises(DenoiseError, match="one denominator per score"):
        paired_example_difference([[1.0, 0.0]], [[1.0, 0.0]], a_totals=[[1.0]], b_totals=[[1.0, 1.0]])
    with pytest.raises(DenoiseError, match="negative"):
        paired_example_difference([[1.0, 0.0]], [[1.0, 0.0]], a_totals=[[1.0, -1.0]], b_totals=[[1.0, 1.0]])
