"""T5's deshuffling: each row's corruptible tokens in a uniformly random order, special tokens in place, the
original block as the target."""

import itertools
from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from denoise import DenoiseError
from denoise.config import from_mapping
from denoise.corruption.base import Vocab
from denoise.corruption.mask import Mask, MaskConfig
from denoise.corruption.random import KeyedRandom
from denoise.corruption.sample import from_blocks
from denoise.corruption.shuffle import Shuffle, ShuffleConfig
from denoise.labels import IGNORE
from tests.corruption.test_span_mask import chi2_bound, with_specials
from tests.corruption_helpers import random_blocks, rows_of


@pytest.fixture(scope="module")
def vocab(tokenizer):
    return Vocab.from_tokenizer(tokenizer)


def run(op, sample, seed=0, epoch=0, indices=None):
    indices = np.arange(sample.batch_size) if indices is None else np.asarray(indices)
    return op(sample, KeyedRandom(seed, epoch, indices))


def same_rows(vocab, n, count):
    """``count`` rows holding the same ``n`` distinct regular ids, so that each token can be followed."""
    ids = np.tile(vocab.regular_ids()[:n], (count, 1))
    return from_blocks(ids, [n] * count, [[0]] * count, [[0]] * count)


@settings(max_examples=60, deadline=None)
@given(
    lengths=st.lists(st.integers(0, 300), min_size=1, max_size=8),
    within_documents=st.booleans(),
    seed=st.integers(0, 99),
)
def test_each_row_is_a_permutation_with_special_tokens_in_place(vocab, lengths, within_documents, seed):
    sample = with_specials(random_blocks(vocab, lengths, seed, documents_every=40), vocab)
    out = run(Shuffle(ShuffleConfig(within_documents=within_documents), vocab), sample, seed)
    movable = sample.valid() & ~vocab.special_mask()[sample.tokens]
    assert (out.tokens[~movable] == sample.tokens[~movable]).all()
    for row in range(sample.batch_size):
        documents = sample.document_ids[row] if within_documents else np.zeros_like(sample.document_ids[row])
        for document in np.unique(documents[movable[row]]):
            place = movable[row] & (documents == document)
            assert sorted(out.tokens[row, place]) == sorted(sample.tokens[row, place])
    target, target_lengths = out.targets()
    assert rows_of(out.replace(tokens=target), lengths=target_lengths) == rows_of(sample)  # the original
    assert (out.lengths == sample.lengths).all()


def test_every_token_goes_anywhere_alike(vocab):
    n, count = 8, 4000
    sample = same_rows(vocab, n, count)
    out = run(Shuffle(ShuffleConfig(), vocab), sample, seed=3)
    source = np.searchsorted(vocab.regular_ids()[:n], out.tokens)  # where each output token came from
    moves = np.zeros((n, n))
    np.add.at(moves, (source.ravel(), np.tile(np.arange(n), count)), 1)
    expected = count / n
    chi2 = ((moves - expected) ** 2 / expected).sum()
    assert chi2 < chi2_bound(dof=(n - 1) ** 2)


def test_every_order_is_equally_likely(vocab):
    n, count = 4, 24 * 400
    out = run(Shuffle(ShuffleConfig(), vocab), same_rows(vocab, n, count), seed=5)
    orders = Counter(map(tuple, out.tokens.tolist()))
    assert len(orders) == 24 and set(orders) == set(itertools.permutations(vocab.regular_ids()[:n].tolist()))
    expected = count / 24
    chi2 = sum((c - expected) ** 2 / expected for c in orders.values())
    assert chi2 < chi2_bound(dof=23)


def test_an_example_comes_out_the_same_in_any_batch_and_changes_with_the_epoch(vocab):
    sample = random_blocks(vocab, [50, 512, 0, 3, 300, 512, 1, 200], seed=4, width=512)
    op = Shuffle(ShuffleConfig(), vocab)
    indices = np.arange(100, 108)
    whole = run(op, sample, 7, 2, indices)
    order = np.array([5, 0, 7, 2])
    part = run(op, sample.rows(order), 7, 2, indices[order])
    assert rows_of(part) == [rows_of(whole)[i] for i in order]
    assert rows_of(run(op, sample, 7, 3, indices)) != rows_of(whole)


def test_labels_move_with_their_tokens(vocab):
    sample = random_blocks(vocab, [120, 64], seed=2)
    rng = KeyedRandom(0, 0, np.arange(2))
    kept = Mask(MaskConfig(rate=0.3, mask_fraction=0, random_fraction=0), vocab)(sample, rng.child(0))
    out = Shuffle(ShuffleConfig(), vocab)(kept, rng.child(1))
    labelled = out.labels != IGNORE
    assert (out.labels[labelled] == out.tokens[labelled]).all()
    assert labelled.sum() == (kept.labels != IGNORE).sum()
    assert (out.sentence_ids == sample.sentence_ids).all()  # the block's layout stays


def test_within_documents_needs_document_boundaries(vocab):
    sample = random_blocks(vocab, [30], seed=1)
    op = Shuffle(ShuffleConfig(within_documents=True), vocab)
    with pytest.raises(DenoiseError, match="shuffle within_documents needs document boundaries"):
        run(op, sample.replace(document_ids=None))
    with pytest.raises(DenoiseError, match="within_documents must be true or false, got 'yes'"):
        ShuffleConfig(within_documents="yes")
    with pytest.raises(DenoiseError, match="unknown key 'rate'"):
        from_mapping(ShuffleConfig, {"rate": 0.5}, where="shuffle")
