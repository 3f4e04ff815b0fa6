"""Building corruption inputs for tests: random blocks of regular ids with sentence and document starts."""

import numpy as np

from denoise.corruption.sample import from_blocks


def random_blocks(vocab, lengths, seed=0, width=None, sentences_every=12, documents_every=90):
    """A Sample of rows with the given lengths, regular ids, and random sentence/document starts."""
    rng = np.random.default_rng(seed)
    regular = vocab.regular_ids()
    width = width or max(max(lengths, default=0), 1)
    ids = regular[rng.integers(0, len(regular), size=(len(lengths), width))]
    sentence_starts, document_starts = [], []
    for n in lengths:
        sentences = sorted({0, *rng.integers(1, max(n, 2), size=max(n // sentences_every, 0)).tolist()})
        documents = sorted(
            {0, *rng.choice(sentences, size=min(len(sentences), n // documents_every)).tolist()}
        )
        sentence_starts.append([s for s in sentences if s < n])
        document_starts.append([d for d in documents if d < n])
    return from_blocks(ids, lengths, sentence_starts, document_starts, pad_id=vocab.pad_id)


def rows_of(sample, field="tokens", lengths=None):
    """Each row's real part as a list."""
    values = getattr(sample, field)
    lengths = sample.lengths if lengths is None else lengths
    return [values[i, : lengths[i]].tolist() for i in range(len(lengths))]
