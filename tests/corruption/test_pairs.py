import numpy as np
import pytest

from denoise.config import from_mapping
from denoise.corruption.base import Vocab
from denoise.corruption.corpus import BlockCorpus, from_rows
from denoise.corruption.mask import Mask, MaskConfig
from denoise.corruption.pairs import (
    NextSentence,
    NextSentenceConfig,
    SentenceOrder,
    SentenceOrderConfig,
)
from denoise.corruption.random import KeyedRandom
from denoise.data.prepare import load_blocks, prepare_corpus
from denoise.errors import DenoiseError
from denoise.labels import IGNORE

EPOCHS = range(6)


@pytest.fixture(scope="module")
def blocks(tmp_path_factory, tokenizer, corpus_documents):
    """About 400 blocks of 64 tokens packed from twenty real scenes and chapters."""
    folder = tmp_path_factory.mktemp("pairs")
    path = folder / "documents.txt"
    path.write_text(
        "\n\n\n".join(corpus_documents[300:310] + corpus_documents[-10:]) + "\n", encoding="utf-8"
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DENOISE_CACHE", str(folder / "cache"))
        prepare_corpus([path], tokenizer, folder / "blocks", block_size=64)
    return load_blocks(folder / "blocks")


@pytest.fixture(scope="module")
def rows(blocks):
    return blocks.to_list()


@pytest.fixture(scope="module")
def corpus(blocks):
    return BlockCorpus(blocks)


@pytest.fixture(scope="module")
def vocab(tokenizer):
    return Vocab.from_tokenizer(tokenizer)


@pytest.fixture(scope="module")
def nsp(vocab, corpus):
    return NextSentence(NextSentenceConfig(), vocab, corpus=corpus)


@pytest.fixture(scope="module")
def sop(vocab):
    return SentenceOrder(SentenceOrderConfig(), vocab)


def run(op, corpus, indices, seed=0, epoch=0):
    indices = np.asarray(indices)
    rng = KeyedRandom(seed, epoch, indices)
    return op(corpus.sample(indices, op.vocab.pad_id), rng), rng


def pieces(out, b):
    """Example ``b`` of an output: its tokens, first segment and second segment (segment ids checked)."""
    n = int(out.lengths[b])
    tokens = out.tokens[b, :n].tolist()
    segments = out.segment_ids[b].tolist()
    first = segments[:n].count(0)
    assert segments == [0] * first + [1] * (n - first) + [0] * (len(segments) - n)
    return tokens, tokens[:first], tokens[first:]


def interior(row):
    """Sentence starts strictly inside a block, and those among them that do not begin a document."""
    n = row["length"]
    starts = [s for s in row["sentence_starts"] if 0 < s < n]
    return starts, [s for s in starts if s not in row["document_starts"]]


def epochs_of(op, corpus):
    """Every block of the corpus through ``op`` in several epochs: (indices, output, rng) per epoch."""
    indices = np.arange(len(corpus))
    for epoch in EPOCHS:
        out, rng = run(op, corpus, indices, epoch=epoch)
        yield indices, out, rng


# ------------------------------------------------------------------------------------------------ corpus


def test_block_corpus_fetches_rows_of_datasets_tables_and_lists(blocks, rows, corpus):
    indices = np.array([5, 0, len(rows) - 1, 5, 17])
    expected = from_rows([rows[i] for i in indices], pad_id=0)
    for source in (corpus, BlockCorpus(blocks.data.table), BlockCorpus(rows)):
        got = source.sample(indices, pad_id=0)
        assert len(source) == len(rows)
        for name in ("tokens", "lengths", "sentence_ids", "document_ids"):
            np.testing.assert_array_equal(getattr(got, name), getattr(expected, name))
    assert expected.lengths[2] < 64 and (expected.tokens[2, expected.lengths[2] :] == 0).all()
    first = rows[5]
    assert expected.tokens[0].tolist() == first["input_ids"]
    starts = [s for s in first["sentence_starts"] if s > 0]
    assert np.flatnonzero(np.diff(expected.sentence_ids[0])).tolist() == [s - 1 for s in starts]
    shuffled = BlockCorpus(blocks.select([17, 5, 0]))
    np.testing.assert_array_equal(shuffled.sample(np.array([1, 0]), 0).tokens, expected.tokens[[0, 4]])


# ---------------------------------------------------------------------------------------------------- NSP


def test_nsp_without_a_corpus_raises_a_clear_error(vocab, corpus, rows):
    op = NextSentence(NextSentenceConfig(), vocab)
    indices = np.arange(4)
    with pytest.raises(DenoiseError, match="NSP needs the corpus to draw random next sentences"):
        op(corpus.sample(indices), KeyedRandom(0, 0, indices))
    with pytest.raises(DenoiseError, match="at least 4 blocks"):
        NextSentence(NextSentenceConfig(), vocab, corpus=BlockCorpus(rows[:3]))
    with pytest.raises(DenoiseError, match=r"negative_rate must be in \[0, 1\], got 1.5"):
        from_mapping(NextSentenceConfig, {"negative_rate": 1.5})
    with pytest.raises(DenoiseError, match=r"swap_rate must be in \[0, 1\], got -0.1"):
        from_mapping(SentenceOrderConfig, {"swap_rate": -0.1})


@pytest.mark.parametrize("rate", [0.5, 0.2])
def test_nsp_labels_follow_the_negative_rate(vocab, corpus, rate):
    op = NextSentence(NextSentenceConfig(negative_rate=rate), vocab, corpus=corpus)
    labels = np.concatenate([out.pair_labels for _, out, _ in epochs_of(op, corpus)])
    assert set(labels.tolist()) == {0, 1}
    assert abs(labels.mean() - rate) < 4 * np.sqrt(rate * (1 - rate) / len(labels))


def test_nsp_positives_are_the_row_and_negatives_continue_with_another_block(nsp, corpus, rows):
    size = len(rows)
    negatives = at_sentence_start = 0
    for indices, out, rng in epochs_of(nsp, corpus):
        others = nsp.other_blocks(rng)
        for b, i in enumerate(indices):
            row = rows[i]
            n = row["length"]
            tokens, a, second = pieces(out, b)
            assert out.labels is None and out.original_lengths[b] == out.lengths[b]
            np.testing.assert_array_equal(out.original[b], out.tokens[b])
            if out.pair_labels[b] == 0:
                assert tokens == row["input_ids"][:n]
                continue
            negatives += 1
            j = int(others[b])
            assert j not in {(i - 1) % size, i, (i + 1) % size}
            other = rows[j]
            assert a == row["input_ids"][: len(a)] and len(a) >= 1 and len(second) >= 1
            assert len(tokens) == n or other["length"] < n - len(a)
            found = [
                s
                for s in range(other["length"] - len(second) + 1)
                if other["input_ids"][s : s + len(second)] == second
            ]
            assert found, "B is not a contiguous run of the other block"
            fitting = [s for s in other["sentence_starts"] if s + (n - len(a)) <= other["length"]]
            if fitting:
                assert set(found) & set(fitting), "B does not start at a sentence start though one fits"
                at_sentence_start += 1
    assert negatives > 0.4 * len(EPOCHS) * size and at_sentence_start > 0.5 * negatives


def test_nsp_other_block_is_never_a_neighbour_and_covers_the_rest(vocab, rows):
    for size in (4, 5, 9, 40):
        op = NextSentence(NextSentenceConfig(), vocab, corpus=BlockCorpus(rows[:size]))
        indices = np.arange(size)
        others = np.stack([op.other_blocks(KeyedRandom(3, epoch, indices)) for epoch in range(300)])
        for i in range(size):
            drawn = set(others[:, i].tolist())
            assert drawn == set(range(size)) - {(i - 1) % size, i, (i + 1) % size}


def test_nsp_segment_and_boundary_ids(nsp, corpus, rows):
    reference = corpus.sample(np.arange(len(rows)))
    for _, out, _ in epochs_of(nsp, corpus):
        for b in range(len(rows)):
            n = int(out.lengths[b])
            if n < 2:
                continue
            first = int((out.segment_ids[b, :n] == 0).sum())
            assert out.segment_ids[b, n:].sum() == 0
            sentences, documents = out.sentence_ids[b, :n], out.document_ids[b, :n]
            assert sentences[first] == sentences[first - 1] + 1
            np.testing.assert_array_equal(documents[:first], reference.document_ids[b, :first])
            if out.pair_labels[b] == 1:
                assert documents[first] == documents[first - 1] + 1
            else:
                np.testing.assert_array_equal(documents, reference.document_ids[b, :n])


def test_splits_fall_on_sentence_starts_inside_one_document(nsp, sop, corpus, rows):
    fallbacks = 0
    for op in (nsp, sop):
        for indices, out, _ in epochs_of(op, corpus):
            for b, i in enumerate(indices):
                row, n = rows[i], rows[i]["length"]
                first = len(pieces(out, b)[1])
                swapped = op is sop and out.pair_labels[b] == 1
                split = n - first if swapped else first
                starts, inside_documents = interior(row)
                assert 1 <= split <= n - 1
                if inside_documents:
                    assert split in inside_documents
                elif starts:
                    assert split in starts
                    fallbacks += 1
    assert fallbacks > 0


# ---------------------------------------------------------------------------------------------------- SOP


def test_sop_swaps_at_the_rate_and_keeps_every_token(vocab, corpus, rows):
    op = SentenceOrder(SentenceOrderConfig(swap_rate=0.5), vocab)
    labels = []
    for indices, out, _ in epochs_of(op, corpus):
        labels.append(out.pair_labels)
        for b, i in enumerate(indices):
            row = rows[i]["input_ids"][: rows[i]["length"]]
            tokens, first, second = pieces(out, b)
            assert sorted(tokens) == sorted(row) and first and second
            if out.pair_labels[b] == 0:
                assert tokens == row
            else:
                assert second + first == row
    labels = np.concatenate(labels)
    assert abs(labels.mean() - 0.5) < 4 * np.sqrt(0.25 / len(labels))


def test_sop_sentence_ids_count_up_along_the_swapped_row(sop, corpus):
    out, _ = run(sop, corpus, np.arange(len(corpus)))
    valid = out.valid()
    steps = np.diff(out.sentence_ids, axis=1)[valid[:, 1:]]
    assert set(steps.tolist()) <= {0, 1}
    assert set(np.diff(out.document_ids, axis=1)[valid[:, 1:]].tolist()) <= {0, 1}
    boundary = np.argmax(out.segment_ids, axis=1)
    rows = np.flatnonzero(out.lengths >= 2)
    assert (out.sentence_ids[rows, boundary[rows]] == out.sentence_ids[rows, boundary[rows] - 1] + 1).all()


def test_earlier_labels_and_originals_move_with_their_tokens(nsp, sop, vocab, corpus):
    indices = np.arange(len(corpus))
    rng = KeyedRandom(4, 0, indices)
    masked = Mask(MaskConfig(), vocab)(corpus.sample(indices, vocab.pad_id), rng.child(0))
    for op in (sop, nsp):
        out = op(masked, rng.child(1))
        pair = op(corpus.sample(indices, vocab.pad_id), rng.child(1))
        np.testing.assert_array_equal(out.original, pair.tokens)
        assert (out.tokens != out.original).any()
        for b in range(len(indices)):
            n = int(out.lengths[b])
            before, after = masked.labels[b].tolist(), out.labels[b].tolist()
            _, first, second = pieces(out, b)
            if op is sop and out.pair_labels[b] == 1:
                split = len(second)
                assert after[:n] == before[split:n] + before[:split]
            elif op is nsp and out.pair_labels[b] == 1:
                assert after[:n] == before[: len(first)] + [IGNORE] * len(second)
            else:
                assert after[:n] == before[:n]
            assert after[n:] == [IGNORE] * (len(after) - n)


# ----------------------------------------------------------------------------------------------- both ops


@pytest.mark.parametrize("name", ["nsp", "sop"])
def test_output_depends_only_on_the_example_key(name, nsp, sop, corpus):
    op = {"nsp": nsp, "sop": sop}[name]
    whole, _ = run(op, corpus, np.arange(len(corpus)), seed=7, epoch=2)
    picked = np.random.default_rng(0).permutation(len(corpus))[:50]
    for batch in (picked, picked[::-1], np.concatenate([picked[:10], picked[:3]])):
        part, _ = run(op, corpus, batch, seed=7, epoch=2)
        for b, i in enumerate(batch):
            n = int(whole.lengths[i])
            assert part.lengths[b] == n and part.pair_labels[b] == whole.pair_labels[i]
            assert part.tokens[b, :n].tolist() == whole.tokens[i, :n].tolist()
            assert part.segment_ids[b, :n].tolist() == whole.segment_ids[i, :n].tolist()
    for seed, epoch in ((8, 2), (7, 3)):
        other, _ = run(op, corpus, np.arange(len(corpus)), seed=seed, epoch=epoch)
        assert (other.pair_labels != whole.pair_labels).mean() > 0.3
        assert (other.segment_ids != whole.segment_ids).any(axis=1).mean() > 0.5


@pytest.mark.parametrize("name", ["nsp", "sop"])
def test_rows_of_zero_to_four_tokens(name, nsp, sop, corpus):
    op = {"nsp": nsp, "sop": sop}[name]
    short = [{"input_ids": list(range(100, 100 + n)), "sentence_starts": [0]} for n in range(5)]
    short.append({"input_ids": [7, 8, 9, 10], "sentence_starts": [0, 2], "document_starts": [0]})
    indices = np.arange(len(short))
    seen = set()
    for seed in range(40):
        rng = KeyedRandom(seed, 0, indices)
        out = op(from_rows(short, op.vocab.pad_id), rng)
        for b, row in enumerate(short):
            n = len(row["input_ids"])
            tokens, first, second = pieces(out, b)
            if n < 2:
                assert tokens == row["input_ids"] and out.pair_labels[b] == 0 and not second
                continue
            assert len(tokens) == n and first and second
            seen.add((n, int(out.pair_labels[b])))
            if b == 5:
                swapped = name == "sop" and out.pair_labels[b] == 1
                assert tokens[:2] == [7, 8] if not swapped else tokens == [9, 10, 7, 8]
                assert len(first) == 2
        assert out.tokens.shape == (len(short), 4)
    assert seen == {(n, label) for n in (2, 3, 4) for label in (0, 1)}


def test_pairs_across_documents_get_no_pair_label(vocab, sop, nsp, corpus):
    from denoise.models.framing import encoder_arrays

    rows = [{"input_ids": list(range(100, 112)), "sentence_starts": [0, 6], "document_starts": [0, 6]}] * 8
    for op in (sop, nsp):
        out = op(from_rows(rows, vocab.pad_id), KeyedRandom(0, 0, np.arange(8)))
        framed = encoder_arrays(out, vocab)["pair_labels"]
        from_other_block = (out.pair_labels == 1) & (op is nsp)
        assert (out.pair_usable == from_other_block).all()
        assert (framed[~from_other_block] == IGNORE).all() and (framed[from_other_block] == 1).all()
