"""SpanBERT's span masking: an exact token budget, span lengths from the truncated geometric distribution the
paper gives (mean 3.8 words), spans of whole words placed one at a time without overlap, replacement per
span."""

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from denoise import DenoiseError
from denoise.config import from_mapping
from denoise.corruption.base import Vocab
from denoise.corruption.random import KeyedRandom, exact_count
from denoise.corruption.sample import from_blocks
from denoise.corruption.span_mask import ORDER, SpanMask, SpanMaskConfig, first_fit, length_pmf
from denoise.labels import IGNORE
from tests.corruption_helpers import random_blocks


@pytest.fixture(scope="module")
def vocab(tokenizer):
    return Vocab.from_tokenizer(tokenizer)


@pytest.fixture(scope="module")
def text(vocab, tokenizer, held_out_documents):
    """64 blocks of 512 tokens of held-out text."""
    ids = np.array(tokenizer.encode(" ".join(held_out_documents))[: 64 * 512]).reshape(64, 512)
    return from_blocks(ids, [512] * 64, [[0]] * 64, [[0]] * 64)


def run(op, sample, seed=0, epoch=0):
    return op(sample, KeyedRandom(seed, epoch, np.arange(sample.batch_size)))


def with_specials(sample, vocab, every=7):
    """Special ids (cls, sep, a sentinel) at every ``every``-th real position."""
    tokens = sample.tokens.copy()
    positions = np.broadcast_to(np.arange(tokens.shape[1]) % every == 3, tokens.shape) & sample.valid()
    tokens[positions] = np.resize([vocab.cls_id, vocab.sep_id, vocab.sentinel_ids[3]], positions.sum())
    return sample.replace(tokens=tokens, original=tokens)


def corruptible(sample, vocab):
    return sample.valid() & ~vocab.special_mask()[sample.tokens]


def word_starts(sample, vocab):
    """``[B, W]`` True where a word starts: a ▁ piece, or a token after a special one."""
    eligible = corruptible(sample, vocab)
    after_other = np.ones_like(eligible)
    after_other[:, 1:] = ~eligible[:, :-1]
    return eligible & (vocab.word_starts[sample.tokens] | after_other)


@settings(max_examples=60, deadline=None)
@given(
    lengths=st.lists(st.integers(0, 600), min_size=1, max_size=8),
    rate=st.floats(0.001, 1),
    p=st.floats(0.05, 1),
    max_span=st.integers(1, 12),
    seed=st.integers(0, 99),
)
def test_exact_budget_and_labels_restore_the_input(vocab, lengths, rate, p, max_span, seed):
    sample = with_specials(random_blocks(vocab, lengths, seed), vocab)
    op = SpanMask(SpanMaskConfig(rate=rate, p=p, max_span=max_span), vocab)
    out = run(op, sample, seed)
    eligible = corruptible(sample, vocab)
    chosen = out.labels != IGNORE
    assert (chosen.sum(axis=1) == exact_count(eligible.sum(axis=1), rate)).all()
    assert not (chosen & ~eligible).any()
    assert (np.where(chosen, out.labels, out.tokens) == sample.tokens).all()
    assert (out.tokens[~eligible] == sample.tokens[~eligible]).all()
    planned, realised = op.budget(sample, out)
    assert planned.tolist() == realised.tolist()


def test_span_lengths_follow_the_truncated_geometric_of_mean_3_8(vocab):
    pmf = length_pmf(0.2, 10)
    words = np.arange(1, 11)
    exact = (words * 0.2 * 0.8 ** (words - 1)).sum() / (0.2 * 0.8 ** (words - 1)).sum()
    assert (pmf * words).sum() == pytest.approx(exact) and exact == pytest.approx(3.797, abs=1e-3)
    clipped = sum(0.8**k for k in range(10))  # E[min(Geo(0.2), 10)]: not the paper's 3.8
    assert clipped == pytest.approx(4.463, abs=1e-3)
    op = SpanMask(SpanMaskConfig(), vocab)
    drawn = op.lengths(KeyedRandom(0, 0, np.arange(400)), 500).ravel()
    sd = np.sqrt((pmf * (words - exact) ** 2).sum())
    assert abs(drawn.mean() - exact) < 4 * sd / np.sqrt(drawn.size)
    counts = np.bincount(drawn, minlength=11)[1:]
    expected = pmf * drawn.size
    chi2 = ((counts - expected) ** 2 / expected).sum()
    assert chi2 < chi2_bound(dof=9) and counts.sum() == drawn.size


def chi2_bound(dof: int, z: float = 4.0) -> float:
    """A chi-square quantile far in the tail (z standard deviations, Wilson-Hilferty)."""
    return dof * (1 - 2 / (9 * dof) + z * np.sqrt(2 / (9 * dof))) ** 3


def test_spans_are_whole_words_that_never_overlap_nor_cross_a_special_token(vocab, text):
    sample = with_specials(text, vocab, every=41)
    op = SpanMask(SpanMaskConfig(), vocab)
    spans = op.spans(sample, KeyedRandom(3, 0, np.arange(sample.batch_size)))
    starts = word_starts(sample, vocab)
    eligible = corruptible(sample, vocab)
    for row in range(sample.batch_size):
        depth = np.zeros(sample.tokens.shape[1] + 1, int)
        inside_a_word = 0
        for start in np.flatnonzero(spans[row]):
            end = start + spans[row, start]
            assert starts[row, start] and eligible[row, start:end].all()
            depth[start:end] += 1
            inside_a_word += end < eligible.shape[1] and eligible[row, end] and not starts[row, end]
        assert depth.max() == 1
        assert inside_a_word <= 1  # only the span that reaches the budget is cut inside a word


def test_spans_of_text_average_close_to_the_drawn_lengths(vocab, text):
    """Spans placed later overlap more, and the last is cut, so placed spans are a little shorter than the
    3.8 words drawn (3.5 on this text)."""
    op = SpanMask(SpanMaskConfig(), vocab)
    spans = op.spans(text, KeyedRandom(0, 0, np.arange(text.batch_size)))
    words = np.cumsum(word_starts(text, vocab), axis=1)
    rows, starts = np.nonzero(spans)
    span_words = words[rows, starts + spans[rows, starts] - 1] - words[rows, starts] + 1
    assert 3.2 < span_words.mean() < 3.8 and span_words.max() <= 10


def test_replacement_is_per_span_80_10_10(vocab, text):
    op = SpanMask(SpanMaskConfig(), vocab)
    rng = KeyedRandom(1, 0, np.arange(text.batch_size))
    out, spans = op(text, rng), op.spans(text, rng)
    kinds = []
    for row, start in zip(*np.nonzero(spans)):
        span = slice(start, start + spans[row, start])
        masked = out.tokens[row, span] == vocab.mask_id
        assert masked.all() or not masked.any()  # never part of a span
        kept = (out.tokens[row, span] == text.tokens[row, span]).all()
        kinds.append("mask" if masked.all() else "kept" if kept else "random")
    kinds = np.array(kinds)
    for kind, expected in (("mask", 0.8), ("random", 0.1), ("kept", 0.1)):
        observed = (kinds == kind).mean()
        assert abs(observed - expected) < 4 * np.sqrt(expected * (1 - expected) / len(kinds))
    assert not vocab.special_mask()[out.tokens[(out.labels != IGNORE) & (out.tokens != vocab.mask_id)]].any()


@settings(max_examples=80, deadline=None)
@given(st.integers(0, 10**6))
def test_first_fit_keeps_what_trying_one_by_one_keeps(seed):
    rng = np.random.default_rng(seed)
    rows, width = 3, int(rng.integers(1, 40))
    start = np.sort(rng.permuted(np.tile(np.arange(3 * width), (rows, 1)), axis=1)[:, :width], axis=1)
    end = start + rng.integers(1, 12, size=(rows, width))
    live = rng.random((rows, width)) < 0.8
    priority = rng.permuted(np.tile(np.arange(width, dtype=np.uint64), (rows, 1)), axis=1)
    kept = first_fit(start, end, live, priority)
    for row in range(rows):
        covered, expected = set(), np.zeros(width, bool)
        for j in np.argsort(priority[row]):
            cells = set(range(start[row, j], end[row, j]))
            if live[row, j] and not cells & covered:
                covered |= cells
                expected[j] = True
        assert kept[row].tolist() == expected.tolist()


def sequential_spans(op, sample, rng) -> np.ndarray:
    """The op's spans, placed one at a time in plain Python from the same draws (the module's description)."""
    eligible = corruptible(sample, vocab := op.vocab)
    starts = word_starts(sample, vocab)
    out = np.zeros(sample.tokens.shape, np.int64)
    width = int(starts.sum(axis=1).max(initial=0))
    for row in range(sample.batch_size):
        position = np.flatnonzero(starts[row]).tolist()
        ends = position[1:] + [sample.tokens.shape[1]]
        tokens = [int(eligible[row, a:b].sum()) for a, b in zip(position, ends)]
        opens_run = [p == 0 or not eligible[row, p - 1] for p in position]
        budget = exact_count(eligible[row].sum(), op.config.rate)
        covered = [False] * len(position)
        attempt = 0
        while budget > 0 and not all(covered):
            draws = op.lengths(rng.child(attempt), width)[row]
            priority = rng.child(attempt).sort_keys(ORDER, width)[row]
            placed = list(covered)
            for word in sorted(range(len(position)), key=lambda w: priority[w]):
                if placed[word] or budget == 0:
                    continue
                end = word + 1
                while (
                    end < min(word + draws[word], len(position)) and not opens_run[end] and not covered[end]
                ):
                    end += 1
                if any(placed[word:end]):
                    continue
                take = min(sum(tokens[word:end]), budget)
                out[row, position[word]] = take
                budget -= take
                placed[word:end] = [True] * (end - word)
            covered, attempt = placed, attempt + 1
    return out


@pytest.mark.parametrize(("rate", "lengths"), [(0.15, [512, 300, 17, 9, 2, 0]), (0.9, [64, 40, 23, 7])])
def test_placement_is_trying_word_starts_one_at_a_time(vocab, rate, lengths):
    sample = with_specials(random_blocks(vocab, lengths, seed=6), vocab, every=11)
    op = SpanMask(SpanMaskConfig(rate=rate), vocab)
    rng = KeyedRandom(2, 1, np.arange(len(lengths)))
    assert op.spans(sample, rng).tolist() == sequential_spans(op, sample, rng).tolist()


def test_a_span_mask_after_a_mask_keeps_the_first_labels(vocab):
    from denoise.corruption.mask import Mask, MaskConfig

    sample = random_blocks(vocab, [200, 90], seed=8)
    rng = KeyedRandom(0, 0, np.arange(2))
    first = Mask(MaskConfig(rate=0.1), vocab)(sample, rng.child(0))
    both = SpanMask(SpanMaskConfig(rate=0.1), vocab)(first, rng.child(1))
    labelled = first.labels != IGNORE
    assert (both.labels[labelled] == first.labels[labelled]).all()
    assert (both.labels != IGNORE).sum() > labelled.sum()


def test_bad_settings_are_named(vocab):
    for params, message in [
        ({"rate": 0}, r"rate must be in \(0, 1\], got 0"),
        ({"p": 0}, r"p must be in \(0, 1\], got 0"),
        ({"max_span": 0}, "max_span must be >= 1, got 0"),
        ({"mask_fraction": 0.95, "random_fraction": 0.1}, "mask_fraction 0.95 \\+ random_fraction 0.1"),
    ]:
        with pytest.raises(DenoiseError, match=message):
            from_mapping(SpanMaskConfig, params, where="span_mask")
    with pytest.raises(DenoiseError, match="word starts"):
        SpanMask(SpanMaskConfig(), dataclasses.replace(vocab, word_starts=None))


def test_each_span_is_numbered_for_the_boundary_objective(vocab, text):
    """``span_ids`` numbers each span's tokens (1, 2, ... along the row), so spans side by side stay apart."""
    op = SpanMask(SpanMaskConfig(rate=0.4), vocab)  # dense enough that spans touch
    rng = KeyedRandom(2, 0, np.arange(text.batch_size))
    out, spans = op(text, rng), op.spans(text, rng)
    touching = 0
    for row in range(text.batch_size):
        starts = np.flatnonzero(spans[row])
        expected = np.zeros(text.tokens.shape[1], int)
        for number, start in enumerate(starts, 1):
            expected[start : start + spans[row, start]] = number
        assert np.array_equal(out.span_ids[row], expected)
        touching += sum(start + spans[row, start] in set(starts) for start in starts)
    assert touching > 0
    assert ((out.span_ids > 0) == (out.labels != IGNORE)).all()


def test_a_later_mask_keeps_the_span_numbers_and_a_shuffle_drops_them(vocab, text):
    from denoise.corruption.base import numbers_spans
    from denoise.corruption.mask import Mask, MaskConfig
    from denoise.corruption.shuffle import Shuffle, ShuffleConfig

    spanned = run(SpanMask(SpanMaskConfig(), vocab), text)
    masked = run(Mask(MaskConfig(rate=0.1), vocab), spanned.replace(labels=None))
    assert np.array_equal(masked.span_ids, spanned.span_ids)
    shuffle = Shuffle(ShuffleConfig(), vocab)
    assert run(shuffle, spanned).span_ids is None
    span_mask, mask = SpanMask(SpanMaskConfig(), vocab), Mask(MaskConfig(), vocab)
    assert numbers_spans([span_mask]) and numbers_spans([span_mask, mask])
    assert not numbers_spans([span_mask, shuffle]) and not numbers_spans([mask])
