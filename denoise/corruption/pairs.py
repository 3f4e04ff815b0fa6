"""Sentence pairs for encoder-only pre-training: next sentence prediction (BERT, Devlin et al., 2019) and
sentence order prediction (ALBERT, Lan et al., 2020).

Each row of ``n`` tokens is split into a first segment A and a second segment B, both non-empty. The split is
a random sentence start strictly inside the row, preferring one that does not begin a document (so A and B
are consecutive text of one document); a row without an interior sentence start is split at a random token
position in ``[1, n - 1]``. Rows of fewer than two tokens stay a single segment with pair label 0.

- ``nsp``: with probability ``negative_rate`` B is replaced by as many tokens of another block of the corpus
  (label 1, "random next"), starting at a sentence start of that block when one leaves room for them. The
  other block of example ``i`` in a corpus of ``N`` blocks is ``(i + 2 + floor(u * (N - 3))) mod N`` for a
  uniform ``u`` keyed by the example, never the block before, the block itself or the block after.
- ``sop``: with probability ``swap_rate`` the segments are shown in swapped order, B then A (label 1).

A row that cannot make a real pair of its own (fewer than two tokens, or A and B from different documents
because its only interior sentence starts begin documents) is marked not ``pair_usable``: the model batch
gives it pair label -100, which the pair loss skips (an NSP negative, whose B comes from another block, stays
usable).

The output keeps the row's length (an NSP row is shorter only when the other block is shorter than B, as the
corpus's last, padded block may be). ``segment_ids`` are 0 on the segment shown first and 1 on the second;
``sentence_ids`` and ``document_ids`` are renumbered along the new row, a sentence never spanning both
segments and B from another block starting a new document. ``original`` becomes the uncorrupted pair, and
aligned labels of earlier ops move with their tokens (B from another block has none).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from denoise.corruption.base import Corruption
from denoise.corruption.corpus import BlockCorpus, Blocks
from denoise.corruption.random import KeyedRandom
from denoise.corruption.sample import Sample
from denoise.errors import DenoiseError
from denoise.labels import IGNORE

SPLIT, DECIDE, OTHER_BLOCK, OTHER_START = 0, 1, 2, 3  # random streams
MIN_CORPUS_BLOCKS = 4  # the example's block, its neighbours, and at least one other


@dataclass(frozen=True)
class NextSentenceConfig:
    negative_rate: float = 0.5  # the share of pairs whose second segment comes from another block

    RANGES: ClassVar[dict[str, str]] = {"negative_rate": "[0, 1]"}


@dataclass(frozen=True)
class SentenceOrderConfig:
    swap_rate: float = 0.5  # the share of pairs shown in swapped order

    RANGES: ClassVar[dict[str, str]] = {"swap_rate": "[0, 1]"}


class NextSentence(Corruption):
    name = "nsp"
    Config = NextSentenceConfig
    aligned = True
    needs_boundaries = True
    needs_corpus = True
    pairs = True

    def __init__(self, config: NextSentenceConfig, vocab, corpus: BlockCorpus | None = None):
        super().__init__(config, vocab)
        if corpus is not None and not isinstance(corpus, BlockCorpus):
            corpus = BlockCorpus(corpus)
        if corpus is not None and len(corpus) < MIN_CORPUS_BLOCKS:
            raise DenoiseError(
                f"NSP needs a corpus of at least {MIN_CORPUS_BLOCKS} blocks to draw random next sentences "
                f"from blocks other than an example's neighbours, got {len(corpus)}"
            )
        self._corpus = corpus

    @property
    def corpus(self) -> BlockCorpus:
        if self._corpus is None:
            raise DenoiseError(
                "NSP needs the corpus to draw random next sentences: build the recipe with "
                "corpus=BlockCorpus(load_blocks(dir))"
            )
        return self._corpus

    def __call__(self, sample: Sample, rng: KeyedRandom) -> Sample:
        negative = self.negatives(sample, rng)
        others = self.corpus.blocks(self.other_blocks(rng)[negative])
        return self.join(sample, rng, negative, others)

    def negatives(self, sample: Sample, rng: KeyedRandom) -> np.ndarray:
        """``[B]`` True for the examples whose B is to come from another block."""
        return (rng.uniform(DECIDE, 1)[:, 0] < self.config.negative_rate) & (sample.lengths >= 2)

    def other_blocks(self, rng: KeyedRandom) -> np.ndarray:
        """``[B]`` the block each example draws its random next segment from (example indices are block
        indices of the corpus)."""
        size = len(self.corpus)
        offset = 2 + np.floor(rng.uniform(OTHER_BLOCK, 1)[:, 0] * (size - 3)).astype(np.int64)
        return (rng.indices % size + offset) % size

    def join(self, sample: Sample, rng: KeyedRandom, negative: np.ndarray, others: Blocks) -> Sample:
        """A followed by B; for the negatives B comes from ``others``, one fetched block per negative example
        in order (an empty one leaves its example positive)."""
        split = split_points(sample, rng)
        rows = np.flatnonzero(negative)
        usable = others.lengths > 0
        wanted = sample.lengths[rows] - split[rows]
        start = other_starts(others, wanted, rng.rows(rows))
        positions = np.arange(sample.tokens.shape[1])[None, :]
        from_other = (positions >= split[rows][:, None]) & usable[:, None]
        source = positions + (start - split[rows])[:, None]
        other = others.sample(self.vocab.pad_id)

        def spliced(values: np.ndarray, other_values: np.ndarray | int) -> np.ndarray:
            out = values.copy()
            out[rows] = np.where(from_other, other_values, values[rows])
            return out

        lengths = sample.lengths.copy()
        lengths[rows[usable]] = split[rows[usable]] + np.minimum(wanted, others.lengths - start)[usable]
        negative = negative.copy()
        negative[rows] = usable
        return _pair(
            sample,
            tokens=spliced(sample.tokens, _gather(other.tokens, source)),
            original=spliced(sample.original, _gather(other.tokens, source)),
            lengths=lengths,
            first_length=split,
            sentence_ids=spliced(_ids(sample.sentence_ids, sample), _gather(other.sentence_ids, source)),
            document_ids=spliced(_ids(sample.document_ids, sample), _gather(other.document_ids, source)),
            new_document=(positions == split[:, None]) & negative[:, None],
            labels=None if sample.labels is None else spliced(sample.labels, IGNORE),
            pair_labels=negative,
            pair_usable=negative | ~unusable_pairs(sample, split),
            pad_id=self.vocab.pad_id,
        )


class SentenceOrder(Corruption):
    name = "sop"
    Config = SentenceOrderConfig
    aligned = True
    reorders = True
    needs_boundaries = True
    pairs = True

    def __call__(self, sample: Sample, rng: KeyedRandom) -> Sample:
        split = split_points(sample, rng)
        lengths = sample.lengths
        swapped = (rng.uniform(DECIDE, 1)[:, 0] < self.config.swap_rate) & (lengths >= 2)
        source = _rotation(lengths, np.where(swapped, split, 0), sample.tokens.shape[1])

        def moved(values: np.ndarray) -> np.ndarray:
            return np.take_along_axis(values, source, axis=1)

        return _pair(
            sample,
            tokens=moved(sample.tokens),
            original=moved(sample.original),
            lengths=lengths,
            first_length=np.where(swapped, lengths - split, split),
            sentence_ids=moved(_ids(sample.sentence_ids, sample)),
            document_ids=moved(_ids(sample.document_ids, sample)),
            new_document=np.zeros(source.shape, dtype=bool),
            labels=None if sample.labels is None else moved(sample.labels),
            pair_labels=swapped,
            pair_usable=~unusable_pairs(sample, split),
            pad_id=self.vocab.pad_id,
        )


# ------------------------------------------------------------------------------------------------- splitting


def interior_starts(sample: Sample) -> tuple[np.ndarray, np.ndarray]:
    """``[B, W]`` masks of the sentence starts and of the document starts strictly inside each row."""
    valid = sample.valid()
    sentences = _changes(sample.sentence_ids, valid)
    documents = _changes(sample.document_ids, valid)
    return sentences | documents, documents


def split_points(sample: Sample, rng: KeyedRandom) -> np.ndarray:
    """``[B]`` where B begins: a random interior sentence start, one that does not begin a document when the
    row has any; else a random position in ``[1, n - 1]``; ``n`` itself for rows of fewer than two tokens."""
    sentences, documents = interior_starts(sample)
    inside_documents = sentences & ~documents
    preferred = np.where(inside_documents.any(axis=1)[:, None], inside_documents, sentences)
    u = rng.uniform(SPLIT, 1)[:, 0]
    position, found = pick_one(preferred, u)
    n = sample.lengths
    anywhere = 1 + np.floor(u * (n - 1)).astype(np.int64)
    return np.where(found, position, np.where(n >= 2, anywhere, n))


def unusable_pairs(sample: Sample, split: np.ndarray) -> np.ndarray:
    """``[B]`` True where the row's own segments make no real pair: fewer than two tokens, or A and B from
    different documents (the row's only interior sentence starts were document starts)."""
    rows = np.arange(sample.batch_size)
    if sample.document_ids is None or sample.tokens.shape[1] == 0:
        return sample.lengths < 2
    at = np.clip(split, 1, sample.tokens.shape[1] - 1)
    crosses = sample.document_ids[rows, at] != sample.document_ids[rows, at - 1]
    return (sample.lengths < 2) | crosses


def other_starts(others: Blocks, wanted: np.ndarray, rng: KeyedRandom) -> np.ndarray:
    """``[R]`` where each run of ``wanted`` tokens starts in its other block: a random sentence start that
    leaves room for the run, else a random position that does (0 when the block is too short)."""
    room = others.lengths - wanted
    width = others.input_ids.shape[1]
    fits = others.sentence_start_marks() & (np.arange(width)[None, :] <= room[:, None])
    u = rng.uniform(OTHER_START, 1)[:, 0]
    position, found = pick_one(fits, u)
    anywhere = np.floor(u * (np.maximum(room, 0) + 1)).astype(np.int64)
    return np.where(found, position, anywhere)


def pick_one(mask: np.ndarray, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The ``floor(u * count)``-th True position of each row (uniform for uniform ``u``), and whether the row
    has any."""
    counts = mask.sum(axis=1)
    rank = np.floor(u * counts).astype(np.int64)
    position = np.argmax(np.cumsum(mask, axis=1) > rank[:, None], axis=1) if mask.shape[1] else counts
    return position.astype(np.int64), counts > 0


# ------------------------------------------------------------------------------------------------- building


def _pair(
    sample: Sample,
    *,
    tokens: np.ndarray,
    original: np.ndarray,
    lengths: np.ndarray,
    first_length: np.ndarray,
    sentence_ids: np.ndarray,
    document_ids: np.ndarray,
    new_document: np.ndarray,
    labels: np.ndarray | None,
    pair_labels: np.ndarray,
    pair_usable: np.ndarray,
    pad_id: int,
) -> Sample:
    """The pair as a Sample: padding restored, segment ids, ids renumbered along the new row."""
    positions = np.arange(tokens.shape[1])[None, :]
    valid = positions < lengths[:, None]
    second = positions >= first_length[:, None]
    return sample.replace(
        tokens=np.where(valid, tokens, pad_id).astype(np.int32),
        lengths=lengths,
        original=np.where(valid, original, pad_id).astype(np.int32),
        original_lengths=lengths,
        sentence_ids=_renumber(sentence_ids, valid, positions == first_length[:, None]),
        document_ids=_renumber(document_ids, valid, new_document),
        labels=None if labels is None else np.where(valid, labels, IGNORE).astype(np.int32),
        segment_ids=(second & valid).astype(np.int32),
        span_ids=None,
        pair_labels=pair_labels.astype(np.int64),
        pair_usable=pair_usable,
    )


def _rotation(lengths: np.ndarray, shift: np.ndarray, width: int) -> np.ndarray:
    """``[B, W]`` source positions that rotate each row's real tokens left by ``shift``."""
    positions = np.arange(width)[None, :]
    rotated = (positions + shift[:, None]) % np.maximum(lengths, 1)[:, None]
    return np.where(positions < lengths[:, None], rotated, positions)


def _renumber(ids: np.ndarray, valid: np.ndarray, breaks: np.ndarray) -> np.ndarray:
    """Ids counting up from 0 at every change of ``ids`` and at every break, over the real tokens."""
    change = np.zeros(ids.shape, dtype=bool)
    change[:, 1:] = ids[:, 1:] != ids[:, :-1]
    change |= breaks
    change &= valid
    change[:, :1] = False
    return np.cumsum(change, axis=1, dtype=np.int32)


def _changes(ids: np.ndarray | None, valid: np.ndarray) -> np.ndarray:
    """``[B, W]`` True at real positions after the first whose id differs from the previous position's."""
    change = np.zeros(valid.shape, dtype=bool)
    if ids is not None:
        change[:, 1:] = (ids[:, 1:] != ids[:, :-1]) & valid[:, 1:]
    return change


def _ids(ids: np.ndarray | None, sample: Sample) -> np.ndarray:
    return np.zeros(sample.tokens.shape, dtype=np.int32) if ids is None else ids


def _gather(values: np.ndarray, source: np.ndarray) -> np.ndarray:
    """``values[r, source[r, p]]``, positions clipped to the row (zeros for zero-width values)."""
    if values.shape[1] == 0:
        return np.zeros(source.shape, dtype=values.dtype)
    return np.take_along_axis(values, np.clip(source, 0, values.shape[1] - 1), axis=1)
