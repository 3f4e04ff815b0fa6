"""What every op of the registry promises, checked for each entry with no per-op code: its output for an
example does not depend on the batch around it nor on the DataLoader's workers, another seed changes it,
padding and special ids are left alone, and an exact budget is met exactly."""

from collections import Counter

import numpy as np
import pytest
import torch

from denoise.corruption.base import Vocab
from denoise.corruption.corpus import BlockCorpus, blocks_from_rows
from denoise.corruption.random import KeyedRandom
from denoise.corruption.registry import OPS, build_op
from denoise.corruption.sample import Sample
from tests.corruption_helpers import random_blocks

LENGTHS = [64, 40, 64, 2, 17, 64, 33, 64, 51, 9, 64, 28]


@pytest.fixture(scope="module")
def vocab(tokenizer):
    return Vocab.from_tokenizer(tokenizer)


@pytest.fixture(scope="module")
def rows(vocab):
    """Blocks as the pipeline gives them, with a few special ids inside, which no op may corrupt."""
    sample = random_blocks(vocab, LENGTHS, seed=5)
    tokens = sample.tokens.copy()
    for row, n in enumerate(LENGTHS):
        tokens[row, 3 : n - 1 : 5] = vocab.cls_id  # a sixth of the tokens, so no op misses them all
        tokens[row, 5 : n - 1 : 6] = vocab.sep_id
    return [
        {
            "input_ids": tokens[i, :n].tolist(),
            "sentence_starts": sorted(
                set(np.flatnonzero(np.diff(sample.sentence_ids[i, :n], prepend=-1)).tolist())
            ),
            "document_starts": sorted(
                set(np.flatnonzero(np.diff(sample.document_ids[i, :n], prepend=-1)).tolist())
            ),
        }
        for i, n in enumerate(LENGTHS)
    ]


def sample_of(rows, vocab, indices) -> Sample:
    return blocks_from_rows([rows[i] for i in indices]).sample(vocab.pad_id)


def op_named(name, vocab, rows):
    return build_op(name, {}, vocab, corpus=BlockCorpus(rows))


def per_example(out: Sample) -> list[tuple]:
    """Each example's output, field by field, without padding."""
    target, target_lengths = out.targets()
    examples = []
    for i in range(out.batch_size):
        n, t = out.lengths[i], target_lengths[i]
        examples.append(
            (
                out.tokens[i, :n].tolist(),
                None if out.labels is None else out.labels[i, :n].tolist(),
                None if out.segment_ids is None else out.segment_ids[i, :n].tolist(),
                target[i, :t].tolist(),
                None if out.pair_labels is None else int(out.pair_labels[i]),
                None if out.mode_ids is None else int(out.mode_ids[i]),
            )
        )
    return examples


def corrupt(op, rows, vocab, indices, seed=0, epoch=0) -> Sample:
    indices = np.asarray(indices)
    return op(sample_of(rows, vocab, indices), KeyedRandom(seed, epoch, indices))


class CorruptRows:
    """A collate function applying an op to blocks by their index (picklable, for DataLoader workers)."""

    def __init__(self, op, rows, vocab):
        self.op, self.rows, self.vocab = op, rows, vocab

    def __call__(self, indices):
        return per_example(corrupt(self.op, self.rows, self.vocab, indices, seed=7, epoch=1))


@pytest.mark.parametrize("name", sorted(OPS))
def test_an_example_comes_out_the_same_in_any_batch(name, vocab, rows):
    op = op_named(name, vocab, rows)
    everything = per_example(corrupt(op, rows, vocab, range(len(rows))))
    order = [5, 0, 11, 3, 8, 1, 10, 2, 7, 4, 9, 6]
    for part in (order[:5], order[5:], order[5:6]):
        assert per_example(corrupt(op, rows, vocab, part)) == [everything[i] for i in part]


@pytest.mark.parametrize("name", sorted(OPS))
def test_an_example_comes_out_the_same_with_any_number_of_workers(name, vocab, rows):
    op = op_named(name, vocab, rows)
    outputs = {}
    for workers in (0, 2):
        loader = torch.utils.data.DataLoader(
            list(range(len(rows))), batch_size=5, num_workers=workers, collate_fn=CorruptRows(op, rows, vocab)
        )
        outputs[workers] = [example for batch in loader for example in batch]
    assert outputs[0] == outputs[2]


@pytest.mark.parametrize("name", sorted(OPS))
def test_another_seed_corrupts_otherwise(name, vocab, rows):
    """...unless the op declares that it draws nothing (``draws = False``)."""
    op = op_named(name, vocab, rows)
    indices = range(len(rows))
    outputs = [per_example(corrupt(op, rows, vocab, indices, seed=seed)) for seed in (0, 1)]
    assert (outputs[0] != outputs[1]) == op.draws


@pytest.mark.parametrize("name", sorted(OPS))
def test_padding_and_special_ids_are_left_alone(name, vocab, rows):
    op = op_named(name, vocab, rows)
    indices = np.arange(len(rows))
    before = sample_of(rows, vocab, indices)
    after = op(before, KeyedRandom(0, 0, indices))
    assert (after.tokens[~after.valid()] == vocab.pad_id).all()
    target, target_lengths = after.targets()
    assert (target[np.arange(target.shape[1])[None, :] >= target_lengths[:, None]] == vocab.pad_id).all()
    drawn_from_elsewhere = after.pair_labels == 1 if op.needs_corpus else np.zeros(len(rows), bool)
    for i in np.flatnonzero(~drawn_from_elsewhere):
        carried = Counter(
            t for t in before.tokens[i, : before.lengths[i]].tolist() if t in (vocab.cls_id, vocab.sep_id)
        )
        kept = Counter(after.tokens[i, : after.lengths[i]].tolist())
        if after.target is not None:  # what the op moved into a target of its own
            kept += Counter(after.target[i, : after.target_lengths[i]].tolist())
        assert all(kept[t] >= count for t, count in carried.items()), f"example {i} lost a special id"


@pytest.mark.parametrize("name", sorted(OPS))
def test_an_exact_budget_is_met(name, vocab, rows):
    op = op_named(name, vocab, rows)
    indices = np.arange(len(rows))
    before = sample_of(rows, vocab, indices)
    budget = op.budget(before, op(before, KeyedRandom(0, 0, indices)))
    if budget is None:
        pytest.skip(f"{name} has no exact budget")
    planned, realised = budget
    assert planned.tolist() == realised.tolist() and planned.sum() > 0
