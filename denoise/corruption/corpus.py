"""Random access to packed blocks (see ``denoise.data.packing``) as batches, for ops that draw other blocks.

A :class:`BlockCorpus` wraps the ``datasets.Dataset`` of ``load_blocks``, a ``pyarrow.Table`` with the block
columns, or any object with ``__len__`` and ``__getitem__`` returning block rows (dicts). One call fetches every
requested block at once: Arrow-backed corpora are gathered with a single ``take`` and converted column by column.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from denoise.corruption.sample import Sample, from_blocks, pad_rows


@dataclass(frozen=True)
class Blocks:
    """Fetched blocks: ids ``[B, L]``, real lengths, and start positions as flat values with row offsets."""

    input_ids: np.ndarray
    lengths: np.ndarray
    sentence_values: np.ndarray
    sentence_offsets: np.ndarray  # [B + 1]
    document_values: np.ndarray
    document_offsets: np.ndarray  # [B + 1]

    def __len__(self) -> int:
        return len(self.lengths)

    @property
    def sentence_starts(self) -> list[np.ndarray]:
        return np.split(self.sentence_values, self.sentence_offsets[1:-1])

    @property
    def document_starts(self) -> list[np.ndarray]:
        return np.split(self.document_values, self.document_offsets[1:-1])

    def sample(self, pad_id: int = 0) -> Sample:
        return from_blocks(
            self.input_ids, self.lengths, self.sentence_starts, self.document_starts, pad_id=pad_id
        )

    def sentence_start_marks(self) -> np.ndarray:
        """``[B, L]`` True where a sentence begins, position 0 included when the block lists it."""
        marks = np.zeros(self.input_ids.shape, dtype=bool)
        rows = np.repeat(np.arange(len(self)), np.diff(self.sentence_offsets))
        inside = self.sentence_values < self.input_ids.shape[1]
        marks[rows[inside], self.sentence_values[inside]] = True
        return marks


class BlockCorpus:
    """Packed blocks fetched by index, many at a time."""

    def __init__(self, blocks):
        if isinstance(blocks, pa.Table):
            self._table, self._rows = blocks, None
        elif hasattr(blocks, "with_format"):
            self._table, self._rows = None, blocks.with_format("arrow")
        else:
            self._table, self._rows = None, blocks

    def __len__(self) -> int:
        return len(self._table) if self._table is not None else len(self._rows)

    def blocks(self, indices: np.ndarray) -> Blocks:
        """The blocks at ``indices`` (in that order, repeats allowed)."""
        indices = np.asarray(indices, dtype=np.int64).reshape(-1)
        if self._table is not None:
            return blocks_from_table(self._table.take(indices))
        if hasattr(self._rows, "with_format"):
            return blocks_from_table(self._rows[indices])
        return blocks_from_rows([self._rows[int(i)] for i in indices])

    def sample(self, indices: np.ndarray, pad_id: int = 0) -> Sample:
        """The blocks at ``indices`` as a :class:`Sample`."""
        return self.blocks(indices).sample(pad_id)


def blocks_from_table(table: pa.Table) -> Blocks:
    """Blocks from an Arrow table with the columns of ``denoise.data.packing.BLOCK_SCHEMA``."""
    ids, id_offsets = _flat_lists(table.column("input_ids"))
    widths = np.diff(id_offsets)
    if len(widths) and (widths == widths[0]).all():
        input_ids = ids.reshape(len(widths), int(widths[0]))
    else:
        input_ids, _ = pad_rows([ids[a:b] for a, b in zip(id_offsets[:-1], id_offsets[1:])], 0)
    sentences, sentence_offsets = _flat_lists(table.column("sentence_starts"))
    documents, document_offsets = _flat_lists(table.column("document_starts"))
    return Blocks(
        input_ids.astype(np.int32, copy=False),
        table.column("length").to_numpy().astype(np.int64),
        sentences.astype(np.int64),
        sentence_offsets,
        documents.astype(np.int64),
        document_offsets,
    )


def blocks_from_rows(rows: Sequence[dict]) -> Blocks:
    """Blocks from row dicts; ``length`` defaults to the number of ids, missing starts to none."""
    input_ids, widths = pad_rows([np.asarray(r["input_ids"], np.int32) for r in rows], 0)
    lengths = np.array([r.get("length", w) for r, w in zip(rows, widths)], dtype=np.int64)
    sentences = [np.asarray(r.get("sentence_starts", []), np.int64) for r in rows]
    documents = [np.asarray(r.get("document_starts", []), np.int64) for r in rows]
    return Blocks(input_ids, lengths, *_flatten(sentences), *_flatten(documents))


def from_rows(rows: Sequence[dict], pad_id: int = 0) -> Sample:
    """A :class:`Sample` of block rows (dicts with ``input_ids`` and optionally ``length``, ``sentence_starts``,
    ``document_starts``)."""
    return blocks_from_rows(rows).sample(pad_id)


def _flat_lists(column: pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
    """The values of a list column and the ``[B + 1]`` offsets of each row's values among them."""
    lists = column.combine_chunks() if column.num_chunks != 1 else column.chunk(0)
    counts = pc.list_value_length(lists).fill_null(0).to_numpy(zero_copy_only=False)
    offsets = np.concatenate([[0], np.cumsum(counts, dtype=np.int64)])
    return lists.flatten().to_numpy(zero_copy_only=False), offsets


def _flatten(rows: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    counts = np.array([len(r) for r in rows], dtype=np.int64)
    values = np.concatenate(rows) if len(rows) else np.zeros(0, np.int64)
    return values.astype(np.int64), np.concatenate([[0], np.cumsum(counts)])
