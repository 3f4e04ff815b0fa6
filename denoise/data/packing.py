"""Pack tokenized documents into fixed-length blocks that remember sentence and document boundaries.

Documents are concatenated in order and cut every ``block_size`` tokens, so every token appears exactly once
and only the very last block is padded. Each block records where sentences and documents start inside it:

- ``input_ids``: ``block_size`` token ids, padded with the pad id after ``length`` real tokens;
- ``length``: the number of real tokens;
- ``sentence_starts``: sorted positions where a sentence begins (a block whose first position is not listed
  starts in the middle of a sentence carried over from the previous block);
- ``document_starts``: sorted positions where a document begins (each is also a sentence start).

All work is vectorised with numpy over a chunk of documents; no Python loop runs per token or per document.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

MIN_BLOCK_SIZE = 8

BLOCK_SCHEMA = pa.schema(
    [
        ("input_ids", pa.list_(pa.int32())),
        ("length", pa.int32()),
        ("sentence_starts", pa.list_(pa.int32())),
        ("document_starts", pa.list_(pa.int32())),
    ]
)


@dataclass
class BlockPacker:
    """Feed it chunks of tokenized documents with :meth:`add`; call :meth:`finish` once at the end."""

    block_size: int
    pad_id: int = 0
    _ids: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int32), repr=False)
    _sentence_starts: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64), repr=False)
    _document_starts: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64), repr=False)

    def __post_init__(self) -> None:
        from denoise.errors import DenoiseError

        if self.block_size < MIN_BLOCK_SIZE:
            raise DenoiseError(f"block size {self.block_size} is too small; use at least {MIN_BLOCK_SIZE}")

    def add(
        self, ids: np.ndarray, document_lengths: np.ndarray, sentence_lengths: np.ndarray
    ) -> pa.RecordBatch:
        """Append documents (flat ids; token counts per document and per sentence, in order) and return the
        blocks completed so far. Sentence lengths must sum per document to the document lengths."""
        base = len(self._ids)
        stream = np.concatenate([self._ids, np.asarray(ids, np.int32)])
        sentence_starts = np.concatenate([self._sentence_starts, base + _starts(sentence_lengths)])
        document_starts = np.concatenate([self._document_starts, base + _starts(document_lengths)])
        complete = len(stream) // self.block_size * self.block_size
        batch = self._blocks(stream[:complete], sentence_starts, document_starts, complete)
        self._ids = stream[complete:]
        self._sentence_starts = sentence_starts[sentence_starts >= complete] - complete
        self._document_starts = document_starts[document_starts >= complete] - complete
        return batch

    def finish(self) -> pa.RecordBatch:
        """The last, padded block (an empty batch when the tokens filled whole blocks)."""
        length = len(self._ids)
        padded = np.full(self.block_size if length else 0, self.pad_id, np.int32)
        padded[:length] = self._ids
        batch = self._blocks(
            padded, self._sentence_starts, self._document_starts, len(padded), last_length=length
        )
        self._ids = self._ids[:0]
        self._sentence_starts = self._sentence_starts[:0]
        self._document_starts = self._document_starts[:0]
        return batch

    def _blocks(self, stream, sentence_starts, document_starts, end, last_length=None) -> pa.RecordBatch:
        n = len(stream) // self.block_size
        lengths = np.full(n, self.block_size, np.int32)
        if last_length is not None and n:
            lengths[-1] = last_length
        ids = pa.ListArray.from_arrays(np.arange(n + 1, dtype=np.int32) * self.block_size, stream)
        return pa.RecordBatch.from_arrays(
            [
                ids,
                pa.array(lengths),
                self._positions(sentence_starts[sentence_starts < end], n),
                self._positions(document_starts[document_starts < end], n),
            ],
            schema=BLOCK_SCHEMA,
        )

    def _positions(self, starts: np.ndarray, n: int) -> pa.ListArray:
        """Group absolute start positions by block as positions within the block."""
        offsets = np.searchsorted(starts, np.arange(n + 1) * self.block_size).astype(np.int32)
        return pa.ListArray.from_arrays(offsets, (starts % self.block_size).astype(np.int32))


def _starts(lengths: np.ndarray) -> np.ndarray:
    """Start offsets of consecutive segments of the given lengths (empty segments dropped)."""
    lengths = np.asarray(lengths, np.int64)
    lengths = lengths[lengths > 0]
    return np.concatenate([[0], np.cumsum(lengths[:-1])]).astype(np.int64) if len(lengths) else lengths
