"""BART text infilling (Lewis et al., 2020).

Spans with Poisson(``mean_span``) lengths cover ``rate`` of the corruptible tokens of each example and each
span becomes a single mask token, so that the model must also predict how many tokens a mask stands for; a
span of length 0 inserts a mask. The realised rate is the requested one: an example with ``n`` corruptible
tokens has exactly ``m = round(n * rate)`` of them masked, because span lengths are drawn while their running
total is below ``m`` and the last span is cut to reach ``m``.

Spans are placed at random without overlap and with at least one unmasked token between two spans, so every
mask stands for exactly one span: the ``n - m`` unmasked tokens fall into the gaps before, between and after
the spans by a uniformly random composition. When there are too few unmasked tokens to separate the spans,
the example gets fewer spans and its last span takes the rest of the budget. Spans run over the corruptible
tokens only: special tokens are never masked and stay in place (a span reaching across one leaves its mask
before it). The target stays the original block.

``replace_length`` is fairseq's choice of what a span leaves (``--replace-length``): 1, one mask (BART); 0,
nothing (the span is deleted, and the model must find where text is missing); -1, a mask per token, so the
source keeps its length. A span of length 0 inserts one mask whichever is chosen, except with 0, where it
leaves nothing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from denoise.corruption.base import Corruption
from denoise.corruption.random import KeyedRandom, choose_exactly, exact_count
from denoise.corruption.sample import Sample, gather_kept
from denoise.errors import DenoiseError

LENGTHS, PLACEMENT = 0, 1  # random streams, counted from infill_spans' stream_base


@dataclass(frozen=True)
class InfillConfig:
    rate: float = 0.3  # the share of corruptible tokens masked, exactly
    mean_span: float = 3.0  # the Poisson mean of span lengths
    replace_length: int = 1  # what a span leaves: 1 one mask, 0 nothing, -1 a mask per token

    RANGES: ClassVar[dict[str, str]] = {"rate": "[0, 1]", "mean_span": "> 0", "replace_length": "[-1, 1]"}

    def __post_init__(self):
        if self.replace_length not in (-1, 0, 1):
            raise DenoiseError(
                f"infill replace_length must be 1 (one mask per span), 0 (delete the span) or -1 (a mask per "
                f"token), got {self.replace_length!r}"
            )


class Infill(Corruption):
    name = "infill"
    Config = InfillConfig
    aligned = False

    def __call__(self, sample: Sample, rng: KeyedRandom) -> Sample:
        eligible = self.corruptible(sample)
        starts, lengths, count = infill_spans(
            rng, 0, eligible.sum(axis=1), self.config.rate, self.config.mean_span
        )
        covered, mask_before = span_positions(eligible, starts, lengths, count)
        tokens, kept = sample.tokens, sample.valid() & ~covered
        if self.config.replace_length == 0:
            mask_before = np.zeros_like(mask_before)
        elif self.config.replace_length == -1:  # masks in place; only empty spans insert one
            tokens, kept = np.where(covered, self.vocab.mask_id, tokens), sample.valid()
            mask_before[:, :-1] &= ~covered
        tokens, new_lengths = emit(tokens, kept, mask_before, self.vocab.mask_id, self.vocab.pad_id)
        return sample.with_tokens(tokens, new_lengths)

    def budget(self, before: Sample, after: Sample) -> tuple[np.ndarray, np.ndarray]:
        """``round(n * rate)`` masked tokens: the tokens that left, and the masks that came, less those that
        stand for no token (empty spans); one count for every ``replace_length``."""
        planned = exact_count(self.corruptible(before).sum(axis=1), self.config.rate)
        masks = (after.tokens == self.vocab.mask_id) & after.valid()
        was_masked = (before.tokens == self.vocab.mask_id) & before.valid()
        return planned, before.lengths - after.lengths + masks.sum(axis=1) - was_masked.sum(axis=1)


def infill_spans(
    rng: KeyedRandom, stream_base: int, n: np.ndarray, rate: float, mean_span: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The spans of rows with ``n`` corruptible tokens, as ranges of their corruptible tokens (in order).

    Returns ``(starts, lengths, count)``: ``[B, S]`` start and length of each span, left to right and zero
    past a row's ``count`` spans, and ``[B]`` the number of spans. Each row's lengths sum to
    ``round(n * rate)``; two spans are always separated by at least one unmasked token.
    """
    n = np.asarray(n, dtype=np.int64)
    budget = exact_count(n, rate)
    unmasked = n - budget
    lengths, count = poisson_lengths(rng, stream_base + LENGTHS, budget, unmasked, mean_span)
    starts = spaced_starts(rng, stream_base + PLACEMENT, lengths, count, unmasked)
    return starts, lengths, count


def poisson_lengths(
    rng: KeyedRandom, stream: int, budget: np.ndarray, unmasked: np.ndarray, mean_span: float
) -> tuple[np.ndarray, np.ndarray]:
    """Poisson lengths kept while their running total is below ``budget``, the last one cut to meet it; at
    most ``unmasked + 1`` spans, so that unmasked tokens can separate them."""
    draws = rng.poisson(stream, candidate_count(int(budget.max(initial=0)), mean_span), mean_span)
    before = np.cumsum(draws, axis=1) - draws
    count = np.minimum((before < budget[:, None]).sum(axis=1), unmasked + 1)
    width = int(count.max(initial=0))
    draws, before = draws[:, :width], before[:, :width]
    span = np.arange(width)[None, :]
    last = count[:, None] - 1
    lengths = np.where(span < last, draws, np.where(span == last, budget[:, None] - before, 0))
    return lengths, count


def candidate_count(budget: int, mean_span: float) -> int:
    """How many Poisson lengths to draw for their sum to fall short of ``budget`` with probability < 1e-9."""
    if budget == 0:
        return 0
    return math.ceil((budget + 10 * math.sqrt(budget) + 10) / mean_span)


def spaced_starts(
    rng: KeyedRandom, stream: int, lengths: np.ndarray, count: np.ndarray, unmasked: np.ndarray
) -> np.ndarray:
    """Where each span starts, the unmasked tokens falling into the gaps by a uniformly random composition.

    Stars and bars: ``count`` bars among ``unmasked + 1`` slots leave ``unmasked + 1 - count`` free tokens
    in the ``count + 1`` gaps; each gap between two spans also gets one reserved token. Span ``i`` then starts
    at its bar's slot plus the lengths of the spans before it.
    """
    slots = np.arange(int(unmasked.max(initial=-1)) + 1)[None, :] <= unmasked[:, None]
    bars = choose_exactly(rng, stream, slots, count)
    bar_slots, _ = gather_kept(np.broadcast_to(np.arange(slots.shape[1]), slots.shape), bars, 0)
    real = np.arange(lengths.shape[1])[None, :] < count[:, None]
    return np.where(real, bar_slots + np.cumsum(lengths, axis=1) - lengths, 0)


def span_positions(
    eligible: np.ndarray, starts: np.ndarray, lengths: np.ndarray, count: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Map spans over corruptible tokens to the positions of the rows.

    Returns ``covered``, ``[B, W]`` True at the tokens a span replaces, and ``mask_before``, ``[B, W + 1]``
    True where a span's mask goes just before that position: its first token, or for an empty span the next
    corruptible token (one past the last corruptible token when there is none).
    """
    batch, width = eligible.shape
    rows = np.broadcast_to(np.arange(batch)[:, None], starts.shape)
    real = np.arange(starts.shape[1])[None, :] < count[:, None]
    nonempty = real & (lengths > 0)
    edges = np.zeros((batch, width + 1), dtype=np.int8)
    edges[rows[nonempty], starts[nonempty]] = 1
    edges[rows[nonempty], (starts + lengths)[nonempty]] = -1
    marks = np.cumsum(edges, axis=1, dtype=np.int8)  # 1 inside a span, in corruptible-token order
    marks[rows[real], starts[real]] += 2  # 2: a mask goes before this corruptible token
    rank = np.maximum(np.cumsum(eligible, axis=1) - 1, 0)
    at_positions = np.where(eligible, np.take_along_axis(marks, rank, axis=1), 0)
    mask_before = np.zeros((batch, width + 1), dtype=bool)
    mask_before[:, :width] = at_positions >= 2
    n = eligible.sum(axis=1)
    after_last = np.where(eligible, np.arange(1, width + 1), 0).max(axis=1, initial=0)
    mask_before[np.arange(batch), after_last] |= marks[np.arange(batch), n] >= 2
    return (at_positions & 1).astype(bool), mask_before


def emit(
    tokens: np.ndarray, kept: np.ndarray, mask_before: np.ndarray, mask_id: int, pad_id: int
) -> tuple[np.ndarray, np.ndarray]:
    """Each row's masks and kept tokens in position order (a mask before its position's token), padded."""
    batch, width = tokens.shape
    per_position = mask_before.astype(np.int64)
    per_position[:, :width] += kept
    first = np.cumsum(per_position, axis=1) - per_position
    lengths = per_position.sum(axis=1)
    discard = int(lengths.max(initial=0))
    out = np.full((batch, discard + 1), pad_id, dtype=tokens.dtype)
    np.put_along_axis(out, np.where(mask_before, first, discard), mask_id, axis=1)
    token_slots = np.where(kept, first[:, :width] + mask_before[:, :width], discard)
    np.put_along_axis(out, token_slots, tokens, axis=1)
    return out[:, :discard], lengths
