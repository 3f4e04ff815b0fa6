import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from denoise import DenoiseError
from denoise.data.packing import BlockPacker

# A corpus: documents, each a list of sentence lengths (some zero: empty sentences must vanish).
corpora = st.lists(st.lists(st.integers(0, 40), min_size=1, max_size=6), min_size=1, max_size=30)


def _flatten(corpus):
    """Ids numbered in stream order, with the global start positions of sentences and documents."""
    sentence_lengths = [n for doc in corpus for n in doc]
    document_lengths = [sum(doc) for doc in corpus]
    ids = np.arange(sum(document_lengths), dtype=np.int32) + 10
    cut = lambda lengths: [int(s) for s, n in zip(np.cumsum([0] + lengths[:-1]), lengths) if n > 0]
    return ids, document_lengths, sentence_lengths, cut(sentence_lengths), cut(document_lengths)


def _pack(corpus, block_size, chunks):
    """Pack the corpus, feeding its documents in ``chunks`` consecutive groups."""
    packer = BlockPacker(block_size, pad_id=0)
    batches = []
    bounds = np.linspace(0, len(corpus), chunks + 1).astype(int)
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        ids, doc_lengths, sent_lengths, _, _ = _flatten(corpus[lo:hi])
        offset = sum(sum(doc) for doc in corpus[:lo])
        batches.append(packer.add(ids + offset, np.array(doc_lengths), np.array(sent_lengths)))
    batches.append(packer.finish())
    return [row for batch in batches for row in batch.to_pylist()]


@settings(max_examples=200, deadline=None)
@given(corpus=corpora, block_size=st.integers(8, 64), chunks=st.integers(1, 4))
def test_packing_keeps_every_token_once_in_order_with_boundaries(corpus, block_size, chunks):
    chunks = min(chunks, len(corpus))
    ids, _, _, sentence_starts, document_starts = _flatten(corpus)
    blocks = _pack(corpus, block_size, chunks)

    assert all(len(b["input_ids"]) == block_size for b in blocks)
    assert all(b["length"] == block_size for b in blocks[:-1])
    tokens = [t for b in blocks for t in b["input_ids"][: b["length"]]]
    assert tokens == ids.tolist()
    assert all(t == 0 for t in blocks[-1]["input_ids"][blocks[-1]["length"] :]) if blocks else len(ids) == 0

    def global_positions(key):
        return [i * block_size + p for i, b in enumerate(blocks) for p in b[key]]

    assert global_positions("sentence_starts") == sentence_starts
    assert global_positions("document_starts") == document_starts
    assert set(document_starts) <= set(sentence_starts)


def test_chunking_does_not_change_the_blocks():
    rng = np.random.default_rng(0)
    corpus = [list(rng.integers(1, 30, size=rng.integers(1, 8))) for _ in range(200)]
    assert _pack(corpus, 64, 1) == _pack(corpus, 64, 7)


def test_exact_multiple_leaves_no_padded_block():
    packer = BlockPacker(8)
    full = packer.add(np.arange(16), np.array([16]), np.array([5, 11]))
    assert full.num_rows == 2 and packer.finish().num_rows == 0


@pytest.mark.parametrize("size", [0, 4, 7])
def test_block_size_below_eight_is_refused(size):
    with pytest.raises(DenoiseError, match=f"block size {size} "):
        BlockPacker(size)
