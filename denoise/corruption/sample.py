"""The batch that flows through a corruption recipe, and the array helpers the ops share.

Every array is a padded numpy array with one row per example; ``lengths`` says how much of each row is real.
An op receives a :class:`Sample` and returns a new one (``dataclasses.replace``), never mutating its input.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import NamedTuple

import numpy as np


@dataclass(frozen=True)
class Sample:
    tokens: np.ndarray  # [B, W] int32: what the model reads (padded with the pad id)
    lengths: np.ndarray  # [B] int64
    original: np.ndarray  # [B, L] int32: the uncorrupted block
    original_lengths: np.ndarray  # [B]
    sentence_ids: np.ndarray | None = None  # [B, W]: sentence index of each token inside its block
    document_ids: np.ndarray | None = None  # [B, W]: document index of each token inside its block
    labels: np.ndarray | None = None  # [B, W]: aligned labels, IGNORE where nothing is predicted
    target: np.ndarray | None = None  # [B, T]: decoder target; None means "the original"
    target_lengths: np.ndarray | None = None  # [B]
    segment_ids: np.ndarray | None = None  # [B, W]: 0 for the first segment of a pair, 1 for the second
    pair_labels: np.ndarray | None = None  # [B]: NSP (1 = random next) or SOP (1 = swapped) label
    pair_usable: np.ndarray | None = None  # [B]: False where a row's segments make no real pair
    mode_ids: np.ndarray | None = None  # [B]: mode token to prepend (mixtures), -1 for none
    # [B, W]: the number (from 1) of the span an op masked (span_mask) that each token lies in, 0 outside any:
    # SpanBERT's boundary objective reads each span's extent from it
    span_ids: np.ndarray | None = None

    @property
    def batch_size(self) -> int:
        return len(self.lengths)

    def valid(self) -> np.ndarray:
        """``[B, W]`` True at real (non-padding) token positions."""
        return np.arange(self.tokens.shape[1])[None, :] < self.lengths[:, None]

    def replace(self, **changes) -> Sample:
        return replace(self, **changes)

    def with_tokens(self, tokens: np.ndarray, lengths: np.ndarray, **changes) -> Sample:
        """A new source of other lengths: the per-position fields, which no longer line up, are dropped."""
        return replace(
            self,
            tokens=tokens,
            lengths=lengths,
            sentence_ids=None,
            document_ids=None,
            labels=None,
            segment_ids=None,
            span_ids=None,
            **changes,
        )

    def rows(self, selection: np.ndarray) -> Sample:
        """The sub-batch of the selected examples, trimmed to its own widest row."""
        picked = {}
        for name, value in vars(self).items():
            picked[name] = None if value is None else value[selection]
        sub = Sample(**picked)
        return sub.trim()

    def trim(self) -> Sample:
        """Drop padding columns beyond the longest row."""
        width = int(self.lengths.max(initial=0))
        changes = {
            n: getattr(self, n)[:, :width]
            for n in ("tokens", "sentence_ids", "document_ids", "labels", "segment_ids", "span_ids")
            if getattr(self, n) is not None
        }
        if self.target is not None:
            changes["target"] = self.target[:, : int(self.target_lengths.max(initial=0))]
        changes["original"] = self.original[:, : int(self.original_lengths.max(initial=0))]
        return replace(self, **changes)

    def targets(self) -> tuple[np.ndarray, np.ndarray]:
        """The decoder target and its lengths (the original block when no op set one)."""
        if self.target is None:
            return self.original, self.original_lengths
        return self.target, self.target_lengths


def from_blocks(
    input_ids: np.ndarray,
    lengths: np.ndarray,
    sentence_starts: Sequence,
    document_starts: Sequence,
    pad_id: int = 0,
) -> Sample:
    """A Sample of packed blocks (see ``denoise.data.packing``): ids ``[B, L]``, real lengths and the ragged
    lists of sentence and document start positions."""
    tokens = np.asarray(input_ids, dtype=np.int32)
    lengths = np.asarray(lengths, dtype=np.int64)
    valid = np.arange(tokens.shape[1])[None, :] < lengths[:, None]
    tokens = np.where(valid, tokens, pad_id).astype(np.int32)
    return Sample(
        tokens=tokens,
        lengths=lengths,
        original=tokens,
        original_lengths=lengths,
        sentence_ids=segment_index(sentence_starts, tokens.shape),
        document_ids=segment_index(document_starts, tokens.shape),
    )


def segment_index(starts: Sequence, shape: tuple[int, int]) -> np.ndarray:
    """``[B, W]`` index of the segment each position belongs to, from ragged start positions per row.

    Positions before a row's first start (a sentence carried over from the previous block) get index 0, and
    so does the segment beginning at that first start when it is at position 0.
    """
    marks = np.zeros(shape, dtype=np.int32)
    rows = np.repeat(np.arange(shape[0]), [len(s) for s in starts])
    columns = np.concatenate([np.asarray(s, dtype=np.int64) for s in starts]) if len(rows) else rows
    keep = (columns > 0) & (columns < shape[1])
    marks[rows[keep], columns[keep]] = 1  # a row's starts are distinct
    return np.cumsum(marks, axis=1, dtype=np.int32)


def pad_rows(rows: Sequence[np.ndarray], fill: int, dtype=np.int32) -> tuple[np.ndarray, np.ndarray]:
    """Stack 1-D arrays of different lengths into ``[B, max_len]`` with ``fill``; returns (array, lengths)."""
    lengths = np.array([len(r) for r in rows], dtype=np.int64)
    out = np.full((len(rows), int(lengths.max(initial=0))), fill, dtype=dtype)
    if len(rows):
        out[np.arange(out.shape[1])[None, :] < lengths[:, None]] = np.concatenate(rows) if rows else []
    return out, lengths


def gather_kept(values: np.ndarray, keep: np.ndarray, fill: int) -> tuple[np.ndarray, np.ndarray]:
    """Move the kept entries of each row to its front, in order; the rest becomes ``fill``.

    Returns the ``[B, max kept]`` array and the kept count per row.
    """
    counts = keep.sum(axis=1)
    out = np.full((values.shape[0], int(counts.max(initial=0))), fill, dtype=values.dtype)
    out[np.arange(out.shape[1])[None, :] < counts[:, None]] = values[keep]  # both in row-major order
    return out, counts


def scatter_rows(
    values: np.ndarray, positions: np.ndarray, valid: np.ndarray, width: int, fill: int
) -> np.ndarray:
    """``out[b, positions[b, j]] = values[b, j]`` wherever ``valid[b, j]``; ``fill`` elsewhere."""
    out = np.full((values.shape[0], width), fill, dtype=values.dtype)
    rows = np.broadcast_to(np.arange(values.shape[0])[:, None], values.shape)
    out[rows[valid], positions[valid]] = values[valid]
    return out


class Segments(NamedTuple):
    """Consecutive runs of the real positions of each row."""

    index: np.ndarray  # [B, W] run of each position (0 at positions of empty rows)
    starts: np.ndarray  # [B, S] first position of each run, 0 past count
    lengths: np.ndarray  # [B, S] tokens of each run, 0 past count
    count: np.ndarray  # [B] runs per row


def run_starts(valid: np.ndarray, *ids: np.ndarray) -> np.ndarray:
    """``[B, W]`` True at the real positions where a run begins: the first one, and wherever any of ``ids``
    differs from the previous position."""
    begins = np.zeros_like(valid)
    begins[:, :1] = True
    for values in ids:
        begins[:, 1:] |= values[:, 1:] != values[:, :-1]
    return begins & valid


def segments(begins: np.ndarray, lengths: np.ndarray) -> Segments:
    """The runs that start at ``begins`` and end at the next start or at the row's length."""
    width = begins.shape[1]
    starts, count = gather_kept(np.broadcast_to(np.arange(width), begins.shape), begins, 0)
    run = np.arange(starts.shape[1])[None, :]
    following = np.concatenate([starts[:, 1:], np.zeros((len(starts), 1), starts.dtype)], axis=1)
    ends = np.where(run + 1 < count[:, None], following, lengths[:, None])
    run_lengths = np.where(run < count[:, None], ends - starts, 0)
    index = np.maximum(np.cumsum(begins, axis=1) - 1, 0)
    return Segments(index, starts, run_lengths, count)


def move(values: np.ndarray | None, destination: np.ndarray) -> np.ndarray | None:
    """``out[b, destination[b, p]] = values[b, p]``, for a per-row permutation ``destination``."""
    if values is None:
        return None
    flat = (destination + np.arange(len(values))[:, None] * values.shape[1]).ravel()
    out = np.empty_like(values)
    out.ravel()[flat] = values.ravel()
    return out
