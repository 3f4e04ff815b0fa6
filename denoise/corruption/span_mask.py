"""SpanBERT span masking (Joshi et al., 2020, "SpanBERT: Improving Pre-training by Representing and Predicting
Spans", section 3.1): masked LM over contiguous spans of whole words instead of single tokens.

Span lengths, in words, follow a geometric distribution Geo(``p``) truncated to 1..``max_span`` words and
renormalised, as SpanBERT's code draws them: mean 3.797 words at p = 0.2 and 10 words, the 3.8 the paper gives
(``min(length, max_span)`` would give 4.46). A span starts at a word start (``vocab.word_starts``, as
whole-word masking reads them); a special token ends a word, and no span crosses one.

The budget is exact: ``round(n * rate)`` of a row's ``n`` corruptible tokens are predicted. Spans are placed
as if the row's word starts were tried one at a time in random order, each with a length of its own: a span
that would overlap one placed before is skipped, a span that would cross a special token or the row's end
stops there, and the span that reaches the budget is cut to fit it (it may then end inside a word, as in
SpanBERT's code; skipping a span that would overrun, as whole-word masking does, could fall short). When every
start has been tried and the budget is not met yet (short rows, high rates), the free words are tried again
in a new order, each span stopping where a masked word begins. SpanBERT's code differs in small ways: a span
starts at the word of a random token (so long words start more spans), may run into masked words, and its
budget is ``ceil(n * rate)``.

Replacement is per span, as SpanBERT's: ``mask_fraction`` of the spans become ``<mask>`` throughout,
``random_fraction`` become random regular tokens (one drawn per token), the rest stay; every token of a span
is a label. Every span's tokens carry its number (``Sample.span_ids``): SpanBERT's span boundary objective,
a head of the model, predicts each span's tokens from the tokens around it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from denoise.corruption.base import Corruption
from denoise.corruption.random import POSITION_MASK, KeyedRandom, exact_count
from denoise.corruption.sample import Sample, gather_kept
from denoise.errors import DenoiseError
from denoise.labels import IGNORE

LENGTH, ORDER = 0, 1  # random streams of each placement pass (a child stream per pass)
ACTION, REPLACEMENT = 0, 1  # random streams of the op


@dataclass(frozen=True)
class SpanMaskConfig:
    rate: float = 0.15  # the share of corruptible tokens predicted, in spans of whole words
    p: float = 0.2  # span lengths in words follow a geometric distribution Geo(p) up to max_span
    max_span: int = 10  # the longest span in words (Geo(p) renormalised over 1..max_span)
    mask_fraction: float = 0.8  # the share of spans that become <mask> throughout
    random_fraction: float = 0.1  # and the share that become random regular tokens (the rest stay)

    RANGES: ClassVar[dict[str, str]] = {
        "rate": "(0, 1]",
        "p": "(0, 1]",
        "max_span": ">= 1",
        "mask_fraction": "[0, 1]",
        "random_fraction": "[0, 1]",
    }

    def __post_init__(self):
        if self.mask_fraction + self.random_fraction > 1:
            raise DenoiseError(
                f"span_mask mask_fraction {self.mask_fraction} + random_fraction {self.random_fraction} must "
                "be at most 1; lower one of them"
            )


def length_pmf(p: float, max_span: int) -> np.ndarray:
    """``[max_span]`` the chance of a span of 1, 2, ... ``max_span`` words, the distribution
    :meth:`SpanMask.lengths` draws from: Geo(p) truncated, renormalised."""
    pmf = p * (1 - p) ** np.arange(max_span, dtype=np.float64)
    return pmf / pmf.sum()


class SpanMask(Corruption):
    name = "span_mask"
    Config = SpanMaskConfig
    aligned = True
    marks_spans = True
    keeps_spans = True

    def __init__(self, config: SpanMaskConfig, vocab):
        super().__init__(config, vocab)
        if vocab.word_starts is None:
            raise DenoiseError(
                "span_mask needs the tokenizer's word starts; build the Vocab from a tokenizer"
            )
        self._regular = vocab.regular_ids()

    def __call__(self, sample: Sample, rng: KeyedRandom) -> Sample:
        span_tokens = self.spans(sample, rng)
        size, width = span_tokens.shape
        c = self.config
        action = rng.uniform(ACTION, width)  # read at each span's first position
        kind = np.where(action < c.mask_fraction + c.random_fraction, 2, 3)
        kind = np.where(action < c.mask_fraction, 1, kind)
        starts = span_tokens > 0
        rows, columns = np.nonzero(starts)
        opens, closes = np.zeros((size, width + 1), np.int64), np.zeros((size, width + 1), np.int64)
        opens[rows, columns] = kind[starts]
        closes[rows, columns + span_tokens[starts]] = kind[starts]  # spans are disjoint: each end is unique
        code = np.cumsum(opens - closes, axis=1)[:, :width]  # the kind of the span covering each position
        tokens = sample.tokens
        draws = (rng.uniform(REPLACEMENT, width) * len(self._regular)).astype(np.int64)
        corrupted = np.where(code == 1, self.vocab.mask_id, tokens)
        corrupted = np.where(code == 2, self._regular[draws], corrupted).astype(np.int32)
        labels = np.where(code > 0, tokens, IGNORE).astype(np.int32)
        if sample.labels is not None:  # a mask op before keeps its labels
            labels = np.where(sample.labels != IGNORE, sample.labels, labels)
        return sample.replace(
            tokens=corrupted, labels=labels, span_ids=span_numbers(starts, code, sample.span_ids)
        )

    def budget(self, before: Sample, after: Sample) -> tuple[np.ndarray, np.ndarray]:
        """``round(n * rate)`` predicted tokens, realised as labels."""
        planned = exact_count(self.corruptible(before).sum(axis=1), self.config.rate)
        return planned, (after.labels != IGNORE).sum(axis=1)

    def lengths(self, rng: KeyedRandom, width: int) -> np.ndarray:
        """``[B, width]`` span lengths in words, drawn by inverting the truncated geometric's CDF."""
        p, most = self.config.p, self.config.max_span
        if p == 1:
            return np.ones((len(rng), width), np.int64)
        q = 1 - p
        words = np.ceil(np.log1p(-rng.uniform(LENGTH, width) * (1 - q**most)) / np.log(q))
        return np.clip(words, 1, most).astype(np.int64)

    def spans(self, sample: Sample, rng: KeyedRandom) -> np.ndarray:
        """``[B, W]`` the length in tokens of the span that starts at each position (0 where none does)."""
        eligible = self.corruptible(sample)
        size, width = eligible.shape
        after_other = np.ones_like(eligible)  # after a special token, padding or nothing
        after_other[:, 1:] = ~eligible[:, :-1]
        word_start = eligible & (self.vocab.word_starts[sample.tokens] | after_other)
        position, count = gather_kept(np.broadcast_to(np.arange(width), eligible.shape), word_start, width)
        words = position.shape[1]
        real = np.arange(words)[None, :] < count[:, None]
        opens_run = np.take_along_axis(after_other, np.minimum(position, width - 1), axis=1) & real
        eligible_before = np.concatenate([np.zeros((size, 1), np.int64), np.cumsum(eligible, axis=1)], axis=1)
        starts = np.concatenate([position, np.full((size, 1), width)], axis=1)
        tokens_before = np.take_along_axis(eligible_before, starts, axis=1)  # [B, words + 1]
        remaining = exact_count(eligible.sum(axis=1), self.config.rate)
        covered = np.zeros((size, words), bool)
        out = np.zeros((size, width), np.int64)
        for attempt in range(words + 1):  # every pass leaves fewer free words; a second pass is rare
            free = real & ~covered & (remaining > 0)[:, None]
            if not free.any():
                break
            draws = rng.child(attempt)
            lengths = np.minimum(self.lengths(draws, words), words_to_next(opens_run | covered | ~real))
            priority = draws.sort_keys(ORDER, words)
            first, taken = place(priority, free, lengths, tokens_before, remaining)
            placed = taken > 0
            rows = np.broadcast_to(np.arange(size)[:, None], first.shape)
            out[rows[placed], np.take_along_axis(position, first, axis=1)[placed]] = taken[placed]
            remaining -= taken.sum(axis=1)
            if (remaining > 0).any():
                last = first + np.take_along_axis(lengths, first, axis=1)
                covered |= words_covered(first, last, placed, words)
        return out


NONE = np.iinfo(np.uint64).max  # a sort key after every real one


def place(priority, free, lengths, tokens_before, budget) -> tuple[np.ndarray, np.ndarray]:
    """Spans tried in order of ``priority`` (lowest first) from each ``free`` word, ``lengths`` words long,
    each kept unless it overlaps one kept before, until a row's ``budget`` of tokens is spent.

    Returns ``[B, K]`` the first word of each span kept, in the order kept, and the tokens it takes (the span
    that reaches the budget is cut; 0 past it). A span takes a token or more, so unless spans overlap, as
    many tries as the largest budget are enough: the rows they do not settle try every word.
    """
    words = priority.shape[1]
    tried = np.sort(np.where(free, priority, NONE), axis=1)  # the keys in the order tried
    keys = np.concatenate([priority, np.full((len(priority), 1), NONE)], axis=1)
    for tries in dict.fromkeys((min(int(budget.max(initial=0)), words), words)):
        live = tried[:, :tries] != NONE
        start = np.sort(np.where(live, tried[:, :tries] & POSITION_MASK, words).astype(np.int64), axis=1)
        key = np.take_along_axis(keys, start, axis=1)
        end = start + np.take_along_axis(lengths, np.minimum(start, words - 1), axis=1)
        kept = first_fit(start, end, key != NONE, key)
        ordered = np.sort(np.where(kept, key, NONE), axis=1)
        in_order = ordered != NONE
        first = np.where(in_order, ordered & POSITION_MASK, 0).astype(np.int64)
        last = first + np.take_along_axis(lengths, first, axis=1)
        span_tokens = np.take_along_axis(tokens_before, last, axis=1)
        span_tokens = np.where(in_order, span_tokens - np.take_along_axis(tokens_before, first, axis=1), 0)
        before = np.cumsum(span_tokens, axis=1) - span_tokens
        taken = np.clip(budget[:, None] - before, 0, span_tokens)
        if tries == words or not ((taken.sum(axis=1) < budget) & (tried[:, tries] != NONE)).any():
            return first, taken
    return first, taken


def words_to_next(stops: np.ndarray) -> np.ndarray:
    """``[B, K]`` how many items from each one up to the next stop after it (or the row's end)."""
    size, width = stops.shape
    index = np.where(stops, np.arange(width), width)
    following = np.minimum.accumulate(index[:, ::-1], axis=1)[:, ::-1]  # the first stop at or after each
    following = np.concatenate([following[:, 1:], np.full((size, 1), width)], axis=1)
    return following - np.arange(width)[None, :]


def words_covered(first: np.ndarray, last: np.ndarray, real: np.ndarray, width: int) -> np.ndarray:
    """``[B, width]`` True inside the ranges ``first[b, j] .. last[b, j] - 1`` where ``real[b, j]``."""
    size = len(first)
    delta = np.zeros((size, width + 1), np.int64)
    rows = np.broadcast_to(np.arange(size)[:, None], first.shape)
    np.add.at(delta, (rows[real], first[real]), 1)
    np.add.at(delta, (rows[real], last[real]), -1)
    return np.cumsum(delta, axis=1)[:, :width] > 0


def first_fit(start: np.ndarray, end: np.ndarray, live: np.ndarray, priority: np.ndarray) -> np.ndarray:
    """``[B, K]`` the live candidates kept when each row's are tried in order of ``priority`` (lowest first),
    keeping each that overlaps none kept before; candidate ``j`` covers ``start[j]`` to ``end[j] - 1``, and
    a row's starts are distinct and increasing.

    The order is followed in rounds, not one candidate at a time: a round keeps every undecided candidate that
    comes first among the undecided ones it overlaps, and drops those that overlap a kept one. That keeps the
    same candidates as going one by one, and with random priorities a few rounds settle a row.
    """
    reach = int(np.where(live, end - start, 0).max(initial=0))  # j overlaps j + d only for d < reach
    neighbours = []  # for each distance d: j overlaps j + d; and so when j comes first; when j + d does
    for d in range(1, min(reach, live.shape[1])):
        overlap = end[:, :-d] > start[:, d:]
        left_first = priority[:, :-d] < priority[:, d:]
        neighbours.append((d, overlap, overlap & left_first, overlap & ~left_first))
    kept = np.zeros_like(live)
    undecided = live.copy()
    while undecided.any():
        beaten = np.zeros_like(undecided)
        for d, _, left_wins, right_wins in neighbours:
            both = undecided[:, :-d] & undecided[:, d:]
            beaten[:, d:] |= both & left_wins
            beaten[:, :-d] |= both & right_wins
        won = undecided & ~beaten
        lost = np.zeros_like(undecided)
        for d, overlap, _, _ in neighbours:
            lost[:, d:] |= overlap & won[:, :-d]
            lost[:, :-d] |= overlap & won[:, d:]
        kept |= won
        undecided &= ~won & ~lost
    return kept


def span_numbers(starts: np.ndarray, covered: np.ndarray, before: np.ndarray | None) -> np.ndarray:
    """``[B, W]`` the number (from 1, left to right) of the span each covered position lies in, 0 elsewhere;
    after the numbers of an earlier span op (``before``), which keep their place."""
    numbers = np.where(covered > 0, np.cumsum(starts, axis=1), 0).astype(np.int32)
    if before is None:
        return numbers
    offset = before.max(axis=1, initial=0)[:, None]
    return np.where(before > 0, before, np.where(numbers > 0, numbers + offset, 0)).astype(np.int32)
