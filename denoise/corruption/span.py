"""T5 span corruption (Raffel et al., 2020, "Exploring the Limits of Transfer Learning with a Unified
Text-to-Text Transformer", section 3.1.4), as T5's ``random_spans_noise_mask`` draws it.

Of a row's ``n`` corruptible tokens, ``round(n * density)`` (at least 1, at most ``n - 1``) are noise, in
``round(noise / mean_span)`` spans (at least 1, and at most the number of noise and of kept tokens, so that
every span and every run between spans is non-empty); rounding is Python's (halves to even), as in T5's
``random_spans_helper``. The noise span lengths are a uniformly random composition of the noise tokens into
that many positive parts, the kept runs a uniformly random composition of the other tokens, and the row reads
kept run, noise span, kept run, ..., noise span. ``roll`` rotates that pattern by a random offset so that the
first and last positions are not biased (a span the rotation cuts in two then takes two sentinels).

The source keeps the other tokens and replaces each noise span by the next sentinel (``<extra_id_0>``,
``<extra_id_1>``...). The target is ``sentinel_0 span_0 sentinel_1 span_1 ... sentinel_k``: each sentinel
followed by the span it replaced, then one final sentinel (T5's own preprocessing leaves that final sentinel
out when the row ends in noise, so its targets can be one token shorter). No end-of-sequence token is added
here: the encoder-decoder batch appends one to source and target. Rows with fewer than 2 corruptible tokens
stay as they are, with target ``sentinel_0``.

Special tokens are neither counted nor made noise; one that falls inside a span splits it in two.
:func:`span_lengths` gives the exact source and target lengths of a row without special tokens, and
:func:`block_size_for` the longest block whose source fits a length, as T5's ``random_spans_helper`` does;
both count tokens before framing, so for a model input of 512 tokens with an end-of-sequence token ask for
``block_size_for(511, ...)`` (568 at density 0.15, mean span 3, as T5 computes).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from denoise.config import from_mapping
from denoise.corruption.base import Corruption
from denoise.corruption.random import KeyedRandom, choose_exactly
from denoise.corruption.sample import Sample, gather_kept
from denoise.errors import DenoiseError

NOISE_CUTS, KEPT_CUTS, ROLL = 0, 1, 2  # random streams


@dataclass(frozen=True)
class SpanConfig:
    density: float = 0.15  # the share of corruptible tokens that are noise
    mean_span: float = 3.0  # the mean length of a noise span
    roll: bool = False  # rotate the noise pattern by a random offset, so no position is favoured

    RANGES: ClassVar[dict[str, str]] = {"density": "(0, 1)", "mean_span": ">= 1"}


def noise_budget(n, density: float, mean_span: float) -> tuple[np.ndarray, np.ndarray]:
    """Noise tokens and noise spans of rows with ``n`` corruptible tokens (both 0 for rows under 2)."""
    n = np.asarray(n, dtype=np.int64)
    noise = np.clip(np.rint(n * density).astype(np.int64), 1, np.maximum(n - 1, 1))
    spans = np.rint(noise / mean_span).astype(np.int64)
    spans = np.minimum(np.maximum(spans, 1), np.minimum(noise, n - noise))
    short = n < 2
    return np.where(short, 0, noise), np.where(short, 0, spans)


def span_counts(n: int, density: float, mean_span: float, roll: bool = False) -> tuple[int, int]:
    """Noise tokens and spans of a row of ``n`` tokens; with ``roll``, the most spans (one more when the
    rotation can cut a span in two, that is when some span is longer than one token)."""
    noise, spans = (int(x) for x in noise_budget(n, density, mean_span))
    return noise, spans + int(roll and noise > spans)


def span_lengths(n: int, density: float, mean_span: float, roll: bool = False) -> tuple[int, int]:
    """``(source_length, target_length)`` of a row of ``n`` tokens after span corruption: exact without
    ``roll``, the longest with it. The source holds a sentinel per span, the target one more."""
    noise, spans = span_counts(n, density, mean_span, roll)
    return n - noise + spans, noise + spans + 1


def block_size_for(source_length: int, density: float, mean_span: float, roll: bool = False) -> int:
    """The largest block length whose corrupted source has at most ``source_length`` tokens.

    Blocks of that length give sources that pack with no padding (T5's ``random_spans_helper``); their target
    length is ``span_lengths(block_size_for(...), ...)[1]``. The source length grows with the block length,
    so a doubling then bisecting search finds it.
    """
    from_mapping(SpanConfig, {"density": density, "mean_span": mean_span}, where="span")  # the op's checks
    if source_length < 0:
        raise DenoiseError(f"source length must be >= 0, got {source_length}")

    def fits(n: int) -> bool:
        return span_lengths(n, density, mean_span, roll)[0] <= source_length

    low, high = 0, 1
    while fits(high):
        low, high = high, 2 * high
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (middle, high) if fits(middle) else (low, middle)
    return low


def random_composition(rng: KeyedRandom, stream: int, total: np.ndarray, parts: np.ndarray) -> np.ndarray:
    """``[B, max(parts)]`` part lengths of a uniformly random composition of ``total`` into ``parts`` positive
    parts, zero-padded: the ``parts - 1`` cuts are a uniform choice among the ``total - 1`` gaps between items."""
    width = int(total.max(initial=0))
    cuts_needed = np.maximum(parts - 1, 0)
    gaps = np.arange(max(width - 1, 0))[None, :] < (total - 1)[:, None]  # gap g lies before item g + 1
    cuts = choose_exactly(rng, stream, gaps, cuts_needed)
    items = np.arange(1, width, dtype=np.int32)[None, :]
    total = total.astype(np.int32)[:, None]
    boundaries = np.sort(np.where(cuts, items, total), axis=1)[:, : int(cuts_needed.max(initial=0))]
    return np.diff(np.concatenate([np.zeros_like(total), boundaries, total], axis=1), axis=1)


def interleaved_pattern(kept: np.ndarray, noise: np.ndarray, n: np.ndarray) -> np.ndarray:
    """``[B, max(n)]`` True at noise positions of rows laid out kept[0], noise[0], kept[1], noise[1], ..."""
    width = int(n.max(initial=0))
    ends = np.cumsum(np.stack([kept, noise], axis=2).reshape(len(n), -1), axis=1)
    boundary = np.zeros((len(n), width + 1), dtype=np.int8)
    boundary[np.arange(len(n))[:, None], ends] = 1
    return (np.cumsum(boundary[:, :width], axis=1, dtype=np.int32) & 1).astype(bool)


def to_positions(pattern: np.ndarray, corruptible: np.ndarray, offset: np.ndarray) -> np.ndarray:
    """``[B, W]`` noise mask: the ``k``-th corruptible position of a row takes ``pattern[(k - offset) mod n]``."""
    n = corruptible.sum(axis=1)
    if pattern.shape[1] == 0:
        return np.zeros_like(corruptible)
    positions = np.arange(corruptible.shape[1])[None, :]
    if ((positions < n[:, None]) == corruptible).all():  # no special tokens: the k-th is position k
        if not offset.any():
            return np.pad(pattern, ((0, 0), (0, corruptible.shape[1] - pattern.shape[1]))) & corruptible
        rank = np.broadcast_to(positions, corruptible.shape)
    else:
        rank = np.cumsum(corruptible, axis=1, dtype=np.int32) - 1
    index = np.mod(rank - offset[:, None], np.maximum(n, 1)[:, None])
    return corruptible & np.take_along_axis(pattern, index, axis=1)


def span_starts(noise: np.ndarray) -> np.ndarray:
    """``[B, W]`` True at the first position of each noise span."""
    starts = noise.copy()
    starts[:, 1:] &= ~noise[:, :-1]
    return starts


def merge_on_sentinels(source_row, target_row, sentinel_ids) -> np.ndarray:
    """The original row from an unpadded source and target row: each sentinel of the source is replaced by the
    tokens that follow the same sentinel in the target (a sentinel the source lacks, like the final one, and
    anything after it are dropped). Exact for rows that held no sentinel before corruption."""
    source, target = np.asarray(source_row, dtype=np.int64), np.asarray(target_row, dtype=np.int64)
    in_source, in_target = np.isin(source, sentinel_ids), np.isin(target, sentinel_ids)
    position_in_source = np.full(int(max(source.max(initial=0), target.max(initial=0))) + 1, -1)
    position_in_source[source[in_source]] = np.flatnonzero(in_source)
    group = np.cumsum(in_target) - 1  # which target sentinel each target token follows
    following = group >= 0
    anchor = np.full(len(target), -1)  # where that sentinel is in the source
    anchor[following] = position_in_source[target[in_target][group[following]]]
    spans = ~in_target & (anchor >= 0)
    order = np.argsort(np.concatenate([np.flatnonzero(~in_source), anchor[spans]]), kind="stable")
    return np.concatenate([source[~in_source], target[spans]])[order]


class Span(Corruption):
    name = "span"
    Config = SpanConfig
    aligned = False
    sets_target = True

    def __init__(self, config: SpanConfig, vocab):
        super().__init__(config, vocab)
        self._sentinels = np.asarray(vocab.sentinel_ids, dtype=np.int32)

    def check(self, block_size: int) -> None:
        c = self.config
        self._check_sentinels(block_size, span_counts(block_size, c.density, c.mean_span, c.roll)[1] + 1)

    def __call__(self, sample: Sample, rng: KeyedRandom) -> Sample:
        return self.corrupt(sample, rng, self.config.density, self.config.mean_span)

    def budget(self, before: Sample, after: Sample) -> tuple[np.ndarray, np.ndarray]:
        """``round(n * density)`` noise tokens, realised as the target's tokens other than sentinels."""
        c = self.config
        planned = noise_budget(self.corruptible(before).sum(axis=1), c.density, c.mean_span)[0]
        real = np.arange(after.target.shape[1])[None, :] < after.target_lengths[:, None]
        sentinels = np.isin(after.target, self._sentinels) & real
        return planned, after.target_lengths - sentinels.sum(axis=1)

    def corrupt(self, sample: Sample, rng: KeyedRandom, density, mean_span) -> Sample:
        """Span corruption with ``density`` and ``mean_span`` given per row (arrays) or for all (numbers);
        a mixture of span denoisers runs as one batch this way."""
        noise = self.choose(sample, rng, density, mean_span)
        starts = span_starts(noise)
        spans = starts.sum(axis=1)
        if len(spans):
            worst = int(np.argmax(spans))
            self._check_sentinels(int(sample.lengths[worst]), int(spans[worst]) + 1)
        span_index = np.cumsum(starts, axis=1, dtype=np.int32) - 1
        replaced = sample.tokens.copy()
        replaced[starts] = self._sentinels[span_index[starts]]
        source, source_lengths = gather_kept(replaced, sample.valid() & (~noise | starts), self.vocab.pad_id)
        target, target_lengths = self._target(sample.tokens, noise, starts, span_index, spans)
        return sample.with_tokens(
            source,
            source_lengths,
            target=target,
            target_lengths=target_lengths,
        )

    def choose(self, sample: Sample, rng: KeyedRandom, density=None, mean_span=None) -> np.ndarray:
        """``[B, W]`` True at the noise positions (density and mean span from the config unless given)."""
        density = self.config.density if density is None else density
        mean_span = self.config.mean_span if mean_span is None else mean_span
        corruptible = self.corruptible(sample)
        n = corruptible.sum(axis=1)
        noise, spans = noise_budget(n, density, mean_span)
        noise_lengths = random_composition(rng, NOISE_CUTS, noise, spans)
        kept_lengths = random_composition(rng, KEPT_CUTS, n - noise, spans)
        pattern = interleaved_pattern(kept_lengths, noise_lengths, n)
        offset = np.zeros_like(n)
        if self.config.roll:
            offset = np.floor(rng.uniform(ROLL, 1)[:, 0] * n).astype(np.int64)
        return to_positions(pattern, corruptible, offset)

    def _target(self, tokens, noise, starts, span_index, spans) -> tuple[np.ndarray, np.ndarray]:
        """Each span behind its sentinel, then the final sentinel."""
        size = len(spans)
        lengths = noise.sum(axis=1) + spans + 1
        width = int(lengths.max(initial=0))
        target = np.full((size, width), self.vocab.pad_id, dtype=np.int32)
        row_start = np.arange(size, dtype=np.int64) * width
        noise_so_far = np.cumsum(noise, axis=1, dtype=np.int32)
        slot = (
            row_start[:, None] + noise_so_far + span_index
        )  # where each noise token goes in the flat target
        flat = target.reshape(-1)
        flat[slot[noise]] = tokens[noise]
        flat[slot[starts] - 1] = self._sentinels[span_index[starts]]
        flat[row_start + lengths - 1] = self._sentinels[spans]
        return target, lengths

    def _check_sentinels(self, block_size: int, needed: int) -> None:
        available = len(self._sentinels)
        if needed > available:
            raise DenoiseError(
                f"{self.described(block_size)} needs {needed} sentinels but the tokenizer has {available}: "
                f"{self.remedy}, shorten blocks, or train a tokenizer with more sentinels"
            )

    remedy: ClassVar[str] = "lower the density, raise mean_span"  # what brings fewer spans

    def described(self, block_size: int) -> str:
        c = self.config
        return f"span corruption of {block_size}-token blocks at density {c.density:g}, mean span {c.mean_span:g}"
