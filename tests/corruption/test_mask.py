import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from denoise import DenoiseError
from denoise.config import from_mapping
from denoise.corruption.base import Vocab
from denoise.corruption.mask import Mask, MaskConfig, exact_count
from denoise.corruption.random import KeyedRandom
from denoise.labels import IGNORE
from tests.corruption_helpers import random_blocks, rows_of


@pytest.fixture(scope="module")
def vocab(tokenizer):
    return Vocab.from_tokenizer(tokenizer)


def run(op, sample, seed=0, epoch=0, indices=None):
    indices = np.arange(sample.batch_size) if indices is None else np.asarray(indices)
    return op(sample, KeyedRandom(seed, epoch, indices))


def with_specials(sample, vocab, every=7):
    """Put special ids (cls, sep, a sentinel, a mode token) at every ``every``-th position."""
    specials = np.array([vocab.cls_id, vocab.sep_id, vocab.sentinel_ids[3], *vocab.mode_ids.values()])
    tokens = sample.tokens.copy()
    positions = np.arange(tokens.shape[1]) % every == 3
    tokens[:, positions] = specials[np.arange(positions.sum()) % len(specials)]
    tokens[~sample.valid()] = vocab.pad_id
    return sample.replace(tokens=tokens, original=tokens)


@settings(max_examples=60, deadline=None)
@given(
    lengths=st.lists(st.integers(0, 600), min_size=1, max_size=8),
    rate=st.floats(0, 1),
    seed=st.integers(0, 99),
)
def test_exact_budget_and_labels_restore_the_input(vocab, lengths, rate, seed):
    sample = with_specials(random_blocks(vocab, lengths, seed), vocab)
    out = run(Mask(MaskConfig(rate=rate), vocab), sample, seed)
    corruptible = sample.valid() & ~vocab.special_mask()[sample.tokens]
    chosen = out.labels != IGNORE
    assert (chosen.sum(axis=1) == exact_count(corruptible.sum(axis=1), rate)).all()
    assert not (chosen & ~corruptible).any()
    restored = np.where(chosen, out.labels, out.tokens)
    assert (restored == sample.tokens).all()
    assert (out.tokens[~corruptible] == sample.tokens[~corruptible]).all()


def test_80_10_10_split_within_confidence_interval(vocab):
    sample = random_blocks(vocab, [512] * 256, seed=1)
    out = run(Mask(MaskConfig(), vocab), sample)
    chosen = out.labels != IGNORE
    n = chosen.sum()
    masked = (out.tokens == vocab.mask_id)[chosen].mean()
    kept = (out.tokens == sample.tokens)[chosen].mean()
    random_ = 1 - masked - kept
    for observed, expected in ((masked, 0.8), (random_, 0.1), (kept, 0.1)):
        assert abs(observed - expected) < 4 * np.sqrt(expected * (1 - expected) / n) + 1e-3


def test_predict_all_targets_every_corruptible_token_and_corrupts_the_same_ones(vocab):
    sample = with_specials(random_blocks(vocab, [300, 64, 0, 9], seed=4), vocab)
    chosen_only = run(Mask(MaskConfig(rate=0.4), vocab), sample, seed=5)
    every = run(Mask(MaskConfig(rate=0.4, predict_all=True), vocab), sample, seed=5)
    corruptible = sample.valid() & ~vocab.special_mask()[sample.tokens]
    assert ((every.labels != IGNORE) == corruptible).all()
    assert (every.labels[corruptible] == sample.tokens[corruptible]).all()
    assert (every.tokens == chosen_only.tokens).all()


def test_random_replacements_are_regular_ids_and_cover_the_vocabulary(vocab):
    sample = random_blocks(vocab, [512] * 128, seed=2)
    out = run(Mask(MaskConfig(mask_fraction=0.0, random_fraction=1.0), vocab), sample)
    replaced = out.tokens[out.labels != IGNORE]
    assert not vocab.special_mask()[replaced].any()
    assert len(np.unique(replaced)) > 0.9 * min(len(replaced), len(vocab.regular_ids())) * 0.5


def test_bernoulli_budget_rate(vocab):
    sample = random_blocks(vocab, [512] * 64, seed=3)
    out = run(Mask(MaskConfig(budget="bernoulli"), vocab), sample)
    counts = (out.labels != IGNORE).sum(axis=1)
    assert len(set(counts.tolist())) > 5
    assert abs(counts.mean() / 512 - 0.15) < 4 * np.sqrt(0.15 * 0.85 / (512 * 64))


def test_whole_word_masking_masks_whole_words_within_budget(vocab, tokenizer, held_out_documents):
    ids = tokenizer.encode(" ".join(held_out_documents))[: 64 * 256]
    from denoise.corruption.sample import from_blocks

    sample = from_blocks(np.array(ids).reshape(64, 256), [256] * 64, [[0]] * 64, [[0]] * 64)
    out = run(Mask(MaskConfig(whole_word=True), vocab), sample)
    chosen = out.labels != IGNORE
    word = np.cumsum(vocab.word_starts[sample.tokens], axis=1)
    for row in range(64):
        for w in np.unique(word[row]):
            in_word = chosen[row][word[row] == w]
            assert in_word.all() or not in_word.any()
    budget = exact_count(256, 0.15)
    assert (chosen.sum(axis=1) <= budget).all() and chosen.sum(axis=1).mean() > budget - 4


def test_output_of_an_example_does_not_depend_on_its_batch(vocab):
    sample = random_blocks(vocab, [50, 512, 0, 3, 300, 512, 1, 200], seed=4, width=512)
    op = Mask(MaskConfig(whole_word=False), vocab)
    indices = np.arange(100, 108)
    whole = run(op, sample, 7, 2, indices)
    order = np.array([5, 0, 7, 2])
    part = run(op, sample.rows(order), 7, 2, indices[order])
    for i, row in enumerate(order):
        n = sample.lengths[row]
        assert part.tokens[i, :n].tolist() == whole.tokens[row, :n].tolist()
        assert part.labels[i, :n].tolist() == whole.labels[row, :n].tolist()
    other_epoch = run(op, sample, 7, 3, indices)
    assert rows_of(other_epoch) != rows_of(whole)


@pytest.mark.parametrize("length", [0, 1, 2, 3, 4])
def test_tiny_rows(vocab, length):
    sample = random_blocks(vocab, [length, 4], seed=5)
    out = run(Mask(MaskConfig(), vocab), sample)
    assert (out.labels[0] != IGNORE).sum() == exact_count(length, 0.15)
    assert (out.tokens[0, length:] == vocab.pad_id).all()


def test_bad_config_values_are_named():
    with pytest.raises(DenoiseError, match=r"rate must be in \(0, 1\], got 1.5"):
        from_mapping(MaskConfig, {"rate": 1.5})
    with pytest.raises(DenoiseError, match=r"rate must be in \(0, 1\], got 0"):
        from_mapping(MaskConfig, {"rate": 0.0})  # nothing to predict
    with pytest.raises(DenoiseError, match="0.7"):
        MaskConfig(mask_fraction=0.7, random_fraction=0.7)
    with pytest.raises(DenoiseError, match="sometimes"):
        MaskConfig(budget="sometimes")


def test_whole_word_masking_fills_the_budget_like_bert_on_short_rows(vocab, tokenizer, held_out_documents):
    from denoise.corruption.mask import greedy_fill
    from denoise.corruption.sample import from_blocks

    ids = np.array(tokenizer.encode(" ".join(held_out_documents))[: 512 * 16])
    for length in (8, 20, 512):
        rows = len(ids) // length
        sample = from_blocks(
            ids[: rows * length].reshape(rows, length), [length] * rows, [[0]] * rows, [[0]] * rows
        )
        chosen = run(Mask(MaskConfig(whole_word=True), vocab), sample).labels != IGNORE
        budget = exact_count(length, 0.15)
        assert (chosen.sum(axis=1) <= budget).all()
        assert chosen.sum(axis=1).mean() > budget - 0.5
    lengths = np.array([[3, 2, 1, 4, 1], [5, 5, 1, 1, 0]])
    assert greedy_fill(lengths, np.array([4, 6])).tolist() == [
        [True, False, True, False, False],
        [True, False, True, False, False],
    ]
