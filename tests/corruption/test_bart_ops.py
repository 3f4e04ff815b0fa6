"""BART corruptions: token deletion, text infilling (and its replace lengths), token insertion, sentence
permutation, document rotation."""

from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from denoise import DenoiseError
from denoise.config import from_mapping
from denoise.corruption.base import Vocab
from denoise.corruption.delete import Delete, DeleteConfig
from denoise.corruption.infill import Infill, InfillConfig, infill_spans
from denoise.corruption.insert import Insert, InsertConfig
from denoise.corruption.mask import exact_count
from denoise.corruption.permute import Permute, PermuteConfig
from denoise.corruption.random import KeyedRandom
from denoise.corruption.rotate import Rotate, RotateConfig
from denoise.corruption.sample import from_blocks
from denoise.data.packing import BlockPacker

OPS = {
    "delete": (Delete, DeleteConfig()),
    "delete-bernoulli": (Delete, DeleteConfig(budget="bernoulli")),
    "infill": (Infill, InfillConfig()),
    "infill-delete-spans": (Infill, InfillConfig(replace_length=0)),
    "infill-mask-per-token": (Infill, InfillConfig(replace_length=-1)),
    "insert": (Insert, InsertConfig()),
    "insert-masks": (Insert, InsertConfig(random_fraction=0.0)),
    "permute": (Permute, PermuteConfig()),
    "permute-across-documents": (Permute, PermuteConfig(within_documents=False)),
    "rotate": (Rotate, RotateConfig()),
    "rotate-block": (Rotate, RotateConfig(per_document=False)),
}


@pytest.fixture(scope="session")
def vocab(tokenizer) -> Vocab:
    return Vocab.from_tokenizer(tokenizer)


def make_op(name, vocab):
    cls, config = OPS[name]
    return cls(config, vocab)


def random_sample(vocab, seed, batch, width, min_length=0, specials=0, max_sentences=8, padding=0):
    """Blocks of random regular ids with random lengths (up to ``width``), sentence and document starts, and
    ``specials`` sep tokens per row at random positions; ``padding`` adds columns of padding."""
    g = np.random.default_rng(seed)
    regular = vocab.regular_ids()
    ids = regular[g.integers(0, len(regular), (batch, width))]
    lengths = g.integers(min_length, width + 1, batch)
    sentence_starts, document_starts = [], []
    for row, length in enumerate(lengths):
        starts = np.unique(g.integers(0, max(length, 1), g.integers(0, max_sentences + 1)))
        sentence_starts.append(starts)
        document_starts.append(starts[g.random(len(starts)) < 0.3])
        if length:
            ids[row, g.integers(0, length, specials)] = vocab.sep_id
    ids = np.pad(ids, ((0, 0), (0, padding)))
    return from_blocks(ids, lengths, sentence_starts, document_starts, pad_id=vocab.pad_id)


def real(sample, name, b):
    """Example ``b``'s real part of one field, as a list."""
    return getattr(sample, name)[b, : sample.lengths[b]].tolist()


def cells(sample, b, fields):
    """Example ``b``'s real positions as tuples of the given fields."""
    return list(zip(*(real(sample, name, b) for name in fields)))


def rows_of(sample, fields=("tokens",)):
    """Each example's real part of the given fields, as tuples (None for a field that is None)."""
    return [
        tuple(None if getattr(sample, name) is None else tuple(real(sample, name, b)) for name in fields)
        for b in range(sample.batch_size)
    ]


def runs(values):
    """Start and end of each run of equal values."""
    cuts = [0] + [i for i in range(1, len(values)) if values[i] != values[i - 1]] + [len(values)]
    return list(zip(cuts[:-1], cuts[1:]))


def sentences_of(sample, b, fields, start=0, end=None):
    """Example ``b``'s sentences (runs of equal sentence and document id) between ``start`` and ``end``, each
    a tuple of its positions' ``fields``."""
    values = cells(sample, b, fields)[start:end]
    boundaries = cells(sample, b, ("sentence_ids", "document_ids"))[start:end]
    return [tuple(values[a:z]) for a, z in runs(boundaries)]


def chi_square(counts, expected):
    counts = np.asarray(counts, dtype=float)
    return float(((counts - expected) ** 2 / expected).sum())


# ------------------------------------------------------------------------------------------------- all four


@pytest.mark.parametrize("name", OPS)
def test_an_example_gets_the_same_output_in_any_batch(vocab, name):
    op = make_op(name, vocab)
    sample = random_sample(vocab, seed=1, batch=16, width=48, specials=1)
    indices = np.arange(100, 116)
    fields = ("tokens", "sentence_ids", "document_ids")
    whole = rows_of(op(sample, KeyedRandom(7, 2, indices)), fields)
    shuffled = np.random.default_rng(0).permutation(16)
    batchings = [[np.arange(5), np.arange(5, 16)], [shuffled], [np.array([i]) for i in range(16)]]
    for batches in batchings:
        for part in batches:
            out = op(sample.rows(part), KeyedRandom(7, 2, indices[part]))
            assert rows_of(out, fields) == [whole[i] for i in part]


@pytest.mark.parametrize("name", OPS)
def test_other_seeds_and_epochs_give_other_outputs(vocab, name):
    op = make_op(name, vocab)
    sample = random_sample(vocab, seed=2, batch=16, width=64, min_length=32)
    indices = np.arange(16)
    reference = rows_of(op(sample, KeyedRandom(7, 0, indices)))
    assert rows_of(op(sample, KeyedRandom(7, 0, indices))) == reference
    assert rows_of(op(sample, KeyedRandom(8, 0, indices))) != reference
    assert rows_of(op(sample, KeyedRandom(7, 1, indices))) != reference


@pytest.mark.parametrize("name", OPS)
def test_padding_stays_padding_and_never_changes_real_rows(vocab, name):
    op = make_op(name, vocab)
    sample = random_sample(vocab, seed=3, batch=12, width=40, specials=1)
    wider = random_sample(vocab, seed=3, batch=12, width=40, specials=1, padding=90)
    rng = KeyedRandom(5, 0, np.arange(12))
    out, wide_out = op(sample, rng), op(wider, rng)
    assert rows_of(out) == rows_of(wide_out)
    for result in (out, wide_out):
        padding = np.arange(result.tokens.shape[1])[None, :] >= result.lengths[:, None]
        assert (result.tokens[padding] == vocab.pad_id).all()


@pytest.mark.parametrize("name", OPS)
def test_length_changing_ops_drop_aligned_arrays_and_keep_the_original_as_target(vocab, name):
    op = make_op(name, vocab)
    sample = random_sample(vocab, seed=4, batch=8, width=32, min_length=10)
    out = op(sample, KeyedRandom(0, 0, np.arange(8)))
    assert out.target is None and out.targets()[0] is sample.original
    if op.aligned:
        assert (out.lengths == sample.lengths).all() and out.sentence_ids is not None
    else:
        assert out.sentence_ids is None and out.document_ids is None and out.labels is None


@pytest.mark.parametrize(
    ("config", "values"),
    [
        (DeleteConfig, {"rate": 1.5}),
        (DeleteConfig, {"budget": "sometimes"}),
        (InfillConfig, {"rate": -0.1}),
        (InfillConfig, {"mean_span": 0}),
        (InfillConfig, {"mean_span": float("nan")}),
        (InfillConfig, {"replace_length": 2}),
        (InsertConfig, {"rate": 1.5}),
        (InsertConfig, {"random_fraction": -0.5}),
        (PermuteConfig, {"within_documents": "yes"}),
        (RotateConfig, {"per_document": 1}),
    ],
)
def test_bad_settings_are_refused(config, values):
    with pytest.raises(DenoiseError, match=next(iter(values))):
        from_mapping(config, values)


# ---------------------------------------------------------------------------------------------------- delete


def test_delete_removes_exactly_its_budget_of_regular_tokens_and_keeps_the_order(vocab):
    op = Delete(DeleteConfig(rate=0.15), vocab)
    sample = random_sample(vocab, seed=10, batch=32, width=200, specials=5)
    rng = KeyedRandom(3, 0, np.arange(32))
    out = op(sample, rng)
    deleted = op.choose(sample, rng)
    corruptible = op.corruptible(sample)
    assert not (deleted & ~corruptible).any()
    assert (deleted.sum(axis=1) == exact_count(corruptible.sum(axis=1), 0.15)).all()
    assert (out.lengths == sample.lengths - deleted.sum(axis=1)).all()
    seps = lambda row: [t for t in row if t == vocab.sep_id]
    for b in range(32):
        kept = sample.tokens[b][sample.valid()[b] & ~deleted[b]]
        assert real(out, "tokens", b) == kept.tolist()
        assert seps(real(out, "tokens", b)) == seps(real(sample, "tokens", b))


def test_bernoulli_deletion_has_the_rate_on_average(vocab):
    op = Delete(DeleteConfig(rate=0.15, budget="bernoulli"), vocab)
    sample = random_sample(vocab, seed=11, batch=64, width=512, min_length=512)
    out = op(sample, KeyedRandom(0, 0, np.arange(64)))
    total = sample.lengths.sum()
    rate = 1 - out.lengths.sum() / total
    assert abs(rate - 0.15) < 3 * np.sqrt(0.15 * 0.85 / total)
    assert len(set((sample.lengths - out.lengths).tolist())) > 5  # the count varies per example


# ---------------------------------------------------------------------------------------------------- infill


def fill_masks(source, starts, lengths, original, mask_id):
    """Replace the i-th mask of ``source`` by span i of ``original``; also return the number of masks."""
    filled, span = [], 0
    for token in source:
        if token == mask_id:
            filled.extend(original[starts[span] : starts[span] + lengths[span]])
            span += 1
        else:
            filled.append(token)
    return filled, span


def test_infill_realises_the_requested_rate_in_every_example(vocab):
    op = Infill(InfillConfig(rate=0.3, mean_span=3.0), vocab)
    sample = random_sample(vocab, seed=20, batch=64, width=512, min_length=512)
    out = op(sample, KeyedRandom(1, 0, np.arange(64)))
    masks = (out.tokens == vocab.mask_id).sum(axis=1)
    masked = sample.lengths - (out.lengths - masks)
    assert (masked == exact_count(sample.lengths, 0.3)).all()
    assert np.abs(masked / sample.lengths - 0.3).max() <= 0.01


def test_infill_span_lengths_are_poisson(vocab):
    """Mean length and share of empty spans, leaving out each row's last span (cut to meet the budget).

    The kept spans are the draws before the one that crosses the budget. That one is size-biased (its mean is
    ``1 + mean_span`` for a Poisson), so by Wald's identity the kept spans average ``3 - 1 / (kept per row)``.
    """
    rows, n = 128, 2048
    starts, lengths, count = infill_spans(KeyedRandom(9, 0, np.arange(rows)), 0, np.full(rows, n), 0.3, 3.0)
    full = np.arange(lengths.shape[1])[None, :] < count[:, None] - 1
    spans = lengths[full]
    assert len(spans) > 20_000
    expected = 3.0 - rows / len(spans)
    assert abs(spans.mean() - expected) < 2.576 * np.sqrt(3.0 / len(spans))
    empty, p_empty = (spans == 0).mean(), np.exp(-3.0)
    assert abs(empty - p_empty) < 2.576 * np.sqrt(p_empty * (1 - p_empty) / len(spans))


@settings(max_examples=150, deadline=None)
@given(
    lengths=st.lists(st.integers(0, 40), min_size=1, max_size=6),
    rate=st.floats(0, 1),
    mean_span=st.floats(0.2, 8),
    seed=st.integers(0, 2**32),
)
def test_infill_masks_stand_for_their_spans(vocab, lengths, rate, mean_span, seed):
    g = np.random.default_rng(seed)
    regular = vocab.regular_ids()
    ids = regular[g.integers(0, len(regular), (len(lengths), 40))]
    sample = from_blocks(ids, lengths, [[]] * len(lengths), [[]] * len(lengths), pad_id=vocab.pad_id)
    rng = KeyedRandom(seed, 0, np.arange(len(lengths)))
    out = Infill(InfillConfig(rate=rate, mean_span=mean_span), vocab)(sample, rng)
    starts, span_lengths, count = infill_spans(rng, 0, sample.lengths, rate, mean_span)
    for b, n in enumerate(sample.lengths):
        original = sample.tokens[b, :n].tolist()
        spans = list(zip(starts[b, : count[b]], span_lengths[b, : count[b]]))
        assert sum(length for _, length in spans) == exact_count(n, rate)
        assert all(s + length < next_start for (s, length), (next_start, _) in zip(spans, spans[1:]))
        filled, masks = fill_masks(
            real(out, "tokens", b), starts[b], span_lengths[b], original, vocab.mask_id
        )
        assert masks == count[b]
        assert filled == original


@settings(max_examples=100, deadline=None)
@given(
    lengths=st.lists(st.integers(0, 40), min_size=1, max_size=6),
    rate=st.floats(0, 1),
    replace_length=st.sampled_from([0, -1]),
    seed=st.integers(0, 2**32),
)
def test_infill_replace_lengths_leave_nothing_or_a_mask_per_token(vocab, lengths, rate, replace_length, seed):
    """0: the source is the original less its spans; -1: the original with every span token a mask, and one
    mask more for each empty span. Either way the budget is the one of one mask per span."""
    g = np.random.default_rng(seed)
    regular = vocab.regular_ids()
    ids = regular[g.integers(0, len(regular), (len(lengths), 40))]
    sample = from_blocks(ids, lengths, [[]] * len(lengths), [[]] * len(lengths), pad_id=vocab.pad_id)
    rng = KeyedRandom(seed, 0, np.arange(len(lengths)))
    op = Infill(InfillConfig(rate=rate, replace_length=replace_length), vocab)
    out = op(sample, rng)
    starts, span_lengths, count = infill_spans(rng, 0, sample.lengths, rate, 3.0)
    planned, realised = op.budget(sample, out)
    assert planned.tolist() == realised.tolist()
    for b, n in enumerate(sample.lengths):
        original = sample.tokens[b, :n].tolist()
        spans = list(zip(starts[b, : count[b]].tolist(), span_lengths[b, : count[b]].tolist()))
        expected, position = [], 0
        for start, length in spans:
            expected += original[position:start]
            expected += [vocab.mask_id] * (length or 1) if replace_length == -1 else []
            position = start + length
        expected += original[position:]
        assert real(out, "tokens", b) == expected


def test_infill_of_tiny_rows(vocab):
    regular = vocab.regular_ids()[:5]
    sample = from_blocks(np.tile(regular, (5, 1)), np.arange(5), [[]] * 5, [[]] * 5, pad_id=vocab.pad_id)
    out = Infill(InfillConfig(rate=0.3), vocab)(sample, KeyedRandom(0, 0, np.arange(5)))
    rows = [row for (row,) in rows_of(out)]
    assert rows[:2] == [(), (regular[0],)]  # round(0.3) = 0 tokens masked
    for n in (2, 3, 4):  # one token masked, by a single mask
        assert rows[n].count(vocab.mask_id) == 1 and len(rows[n]) == n


def test_infill_never_masks_nor_moves_specials(vocab):
    op = Infill(InfillConfig(rate=0.3), vocab)
    sample = random_sample(vocab, seed=21, batch=32, width=120, specials=6)
    rng = KeyedRandom(2, 0, np.arange(32))
    out = op(sample, rng)
    corruptible = op.corruptible(sample)
    starts, lengths, count = infill_spans(rng, 0, corruptible.sum(axis=1), 0.3, 3.0)
    for b in range(32):
        source = real(out, "tokens", b)
        assert [t for t in source if t == vocab.sep_id] == [
            t for t in real(sample, "tokens", b) if t == vocab.sep_id
        ]
        regular = sample.tokens[b][corruptible[b]].tolist()
        without_specials = [t for t in source if t != vocab.sep_id]
        filled, masks = fill_masks(without_specials, starts[b], lengths[b], regular, vocab.mask_id)
        assert filled == regular and masks == count[b]


def test_infill_masks_show_in_decoded_text(tokenizer, vocab, text_sample):
    out = Infill(InfillConfig(), vocab)(text_sample, KeyedRandom(0, 0, np.arange(text_sample.batch_size)))
    masks = (out.tokens == vocab.mask_id).sum(axis=1)
    decoded = tokenizer.decode(out.tokens.tolist())
    assert [text.count("<mask>") for text in decoded] == masks.tolist()
    assert (masks > 5).all()


# --------------------------------------------------------------------------------------------------- permute


@pytest.fixture(scope="module")
def text_sample(tokenizer, held_out_documents):
    """Blocks of real text packed like the prepare pipeline does, with their sentence and document starts."""
    sentences = [tokenizer.splitter.split(document) for document in held_out_documents[:8]]
    encoded = [tokenizer.encode(document) for document in sentences]
    sentence_lengths = [len(ids) for document in encoded for ids in document]
    document_lengths = [sum(len(ids) for ids in document) for document in encoded]
    ids = np.concatenate([np.asarray(ids, np.int32) for document in encoded for ids in document])
    packer = BlockPacker(256, pad_id=tokenizer.pad_id)
    blocks = packer.add(ids, np.array(document_lengths), np.array(sentence_lengths)).to_pylist()
    blocks += packer.finish().to_pylist()
    return from_blocks(
        np.array([b["input_ids"] for b in blocks]),
        np.array([b["length"] for b in blocks]),
        [b["sentence_starts"] for b in blocks],
        [b["document_starts"] for b in blocks],
        pad_id=tokenizer.pad_id,
    )


def test_permute_shuffles_whole_sentences_of_real_text(tokenizer, vocab, text_sample):
    out = Permute(PermuteConfig(), vocab)(text_sample, KeyedRandom(0, 0, np.arange(text_sample.batch_size)))
    decoded = lambda sentences: Counter(tokenizer.decode([[t for (t,) in s] for s in sentences]))
    changed = 0
    for b in range(text_sample.batch_size):
        before, after = (sentences_of(s, b, ("tokens",)) for s in (text_sample, out))
        assert decoded(before) == decoded(after)
        changed += before != after
    assert changed > text_sample.batch_size // 2


@pytest.mark.parametrize("within_documents", [True, False])
def test_permute_moves_sentences_intact(vocab, within_documents):
    sample = random_sample(vocab, seed=30, batch=64, width=80, specials=2, max_sentences=10)
    sample = sample.replace(labels=sample.tokens + 1, segment_ids=sample.sentence_ids % 2)
    out = Permute(PermuteConfig(within_documents), vocab)(sample, KeyedRandom(4, 0, np.arange(64)))
    fields = ("tokens", "labels", "segment_ids", "document_ids")
    changed = 0
    for b in range(64):
        before, after = sentences_of(sample, b, fields), sentences_of(out, b, fields)
        assert Counter(before) == Counter(after)
        new_ids = real(out, "sentence_ids", b)
        assert new_ids == sorted(new_ids) and len(set(new_ids)) == len(after)  # contiguous, numbered in order
        if within_documents:
            assert real(out, "document_ids", b) == real(sample, "document_ids", b)
            for a, end in runs(real(sample, "document_ids", b)):
                inside = [Counter(sentences_of(s, b, fields, a, end)) for s in (sample, out)]
                assert inside[0] == inside[1]
        changed += before != after
    several = sum(len(set(cells(sample, b, ("sentence_ids", "document_ids")))) > 2 for b in range(64))
    assert changed > several // 2


def test_permute_leaves_one_sentence_rows_alone(vocab):
    sample = random_sample(vocab, seed=31, batch=8, width=30, max_sentences=0)
    out = Permute(PermuteConfig(), vocab)(sample, KeyedRandom(0, 0, np.arange(8)))
    assert (out.tokens == sample.tokens).all()


def test_permute_orders_are_uniform(vocab):
    examples = 1200
    tokens = np.tile(vocab.regular_ids()[:6], (examples, 1))
    sample = from_blocks(tokens, np.full(examples, 6), [[0, 2, 5]] * examples, [[0]] * examples)
    out = Permute(PermuteConfig(), vocab)(sample, KeyedRandom(0, 0, np.arange(examples)))
    orders = Counter(tuple(row) for row in out.tokens.tolist())
    assert len(orders) == 6
    assert chi_square(list(orders.values()), examples / 6) < 20.5  # 5 degrees of freedom, p = 0.001


def test_permute_needs_sentence_boundaries(vocab):
    sample = random_sample(vocab, seed=32, batch=2, width=10).replace(sentence_ids=None)
    with pytest.raises(DenoiseError, match="sentence boundaries"):
        Permute(PermuteConfig(), vocab)(sample, KeyedRandom(0, 0, np.arange(2)))


# ---------------------------------------------------------------------------------------------------- rotate


def rotation(before, after):
    """The r with ``after == before[r:] + before[:r]``, or None."""
    return next((r for r in range(max(len(before), 1)) if after == before[r:] + before[:r]), None)


@pytest.mark.parametrize("per_document", [True, False])
def test_rotate_turns_each_document(vocab, per_document):
    sample = random_sample(vocab, seed=40, batch=64, width=60, specials=1)
    sample = sample.replace(labels=sample.tokens + 1)
    out = Rotate(RotateConfig(per_document), vocab)(sample, KeyedRandom(1, 0, np.arange(64)))
    fields = ("tokens", "sentence_ids", "labels")
    turned = 0
    for b, n in enumerate(sample.lengths):
        documents = runs(real(sample, "document_ids", b)) if per_document else [(0, n)]
        for a, end in documents:
            r = rotation(cells(sample, b, fields)[a:end], cells(out, b, fields)[a:end])
            assert r is not None
            turned += r > 0
        assert Counter(real(sample, "tokens", b)) == Counter(real(out, "tokens", b))
    assert turned > 20


def test_rotation_starts_are_uniform(vocab):
    examples = 1000
    tokens = np.tile(vocab.regular_ids()[:5], (examples, 1))
    sample = from_blocks(tokens, np.full(examples, 5), [[0]] * examples, [[0]] * examples)
    out = Rotate(RotateConfig(), vocab)(sample, KeyedRandom(0, 0, np.arange(examples)))
    firsts = Counter(out.tokens[:, 0].tolist())
    assert chi_square([firsts[t] for t in tokens[0]], examples / 5) < 18.5  # 4 degrees of freedom, p = 0.001


def test_rotate_per_document_needs_document_boundaries(vocab):
    sample = random_sample(vocab, seed=41, batch=2, width=10, min_length=4).replace(document_ids=None)
    with pytest.raises(DenoiseError, match="document boundaries"):
        Rotate(RotateConfig(), vocab)(sample, KeyedRandom(0, 0, np.arange(2)))
    out = Rotate(RotateConfig(per_document=False), vocab)(sample, KeyedRandom(0, 0, np.arange(2)))
    assert out.document_ids is None


# ---------------------------------------------------------------------------------------------------- insert


def without_inserted(source, inserted_positions):
    return [t for i, t in enumerate(source) if i not in inserted_positions]


def test_insert_adds_exactly_its_budget_and_keeps_the_text_in_order(vocab):
    op = Insert(InsertConfig(rate=0.2, random_fraction=0.5), vocab)
    sample = random_sample(vocab, seed=30, batch=64, width=200, specials=3)
    out = op(sample, KeyedRandom(3, 0, np.arange(64)))
    planned = exact_count(op.corruptible(sample).sum(axis=1), 0.2)
    assert (out.lengths - sample.lengths == planned).all() and planned.sum() > 1000
    regular = set(vocab.regular_ids().tolist())
    for b in range(64):
        source, original = real(out, "tokens", b), real(sample, "tokens", b)
        masks = [i for i, t in enumerate(source) if t == vocab.mask_id]
        assert len(masks) == planned[b] - exact_count(planned[b], 0.5)
        # the original is a subsequence of the source, and what is left over is masks and regular ids
        it = iter(enumerate(source))
        matched = [next(i for i, t in it if t == token) for token in original]
        extra = [t for i, t in enumerate(source) if i not in set(matched)]
        assert len(extra) == planned[b] and all(t == vocab.mask_id or t in regular for t in extra)
    assert out.target is None and out.targets()[0] is sample.original


def test_insert_positions_are_uniform_over_the_output(vocab):
    """Inserting k tokens into a row of L: every output position is an insertion with chance k / (L + k)."""
    op = Insert(InsertConfig(rate=0.25, random_fraction=0.0), vocab)
    sample = random_sample(vocab, seed=31, batch=4000, width=12, min_length=12)
    out = op(sample, KeyedRandom(4, 0, np.arange(4000)))
    counts = (out.tokens == vocab.mask_id).sum(axis=0)  # 3 masks in each row of 15
    assert out.tokens.shape[1] == 15 and counts.sum() == 3 * 4000
    assert chi_square(counts, 4000 * 3 / 15) < 36.1  # 14 degrees of freedom, p = 0.001


def test_insert_draws_random_tokens_from_the_regular_ids(vocab):
    op = Insert(InsertConfig(rate=1.0), vocab)
    sample = random_sample(vocab, seed=32, batch=200, width=50, min_length=50)
    out = op(sample, KeyedRandom(5, 0, np.arange(200)))
    inserted = Counter(out.tokens.ravel().tolist()) - Counter(sample.tokens.ravel().tolist())
    assert vocab.mask_id not in inserted and sum(inserted.values()) == 200 * 50
    assert not set(inserted) & set(vocab.special_ids)
