"""Feeding a DataLoader: blocks with their index and epoch, and the collator that corrupts and frames them.

Each example's randomness is keyed by (seed, epoch, index), so the index and the epoch travel with the example:
:class:`EpochSampler` yields ``(epoch, index)`` pairs from the main process, which reach the workers even when
they are persistent, and :class:`IndexedBlocks` fetches a whole batch of blocks in one Arrow ``take``.

    sampler = EpochSampler(torch.utils.data.RandomSampler(blocks, generator=g))
    loader = DataLoader(IndexedBlocks(blocks), batch_size=64, sampler=sampler,
                        collate_fn=Collator(corrupter, vocab, FAMILIES["bart"].frame))
    for epoch in range(epochs):
        sampler.set_epoch(epoch)
        for batch in loader: ...
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from denoise.corruption.base import Vocab
from denoise.corruption.corpus import BlockCorpus, Blocks, blocks_from_rows
from denoise.corruption.recipe import Corrupter
from denoise.corruption.sample import Sample
from denoise.errors import DenoiseError


class EpochSampler(torch.utils.data.Sampler):
    """Wraps a sampler of indices (sequential by default) to yield ``(epoch, index)`` pairs."""

    def __init__(self, sampler: Sequence[int] | torch.utils.data.Sampler, epoch: int = 0):
        self.sampler, self.epoch = sampler, epoch

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch
        if hasattr(self.sampler, "set_epoch"):  # e.g. DistributedSampler
            self.sampler.set_epoch(epoch)

    def __len__(self) -> int:
        return len(self.sampler)

    def __iter__(self) -> Iterator[tuple[int, int]]:
        return ((self.epoch, int(index)) for index in self.sampler)


@dataclass(frozen=True)
class IndexedBatch:
    """Blocks fetched together, with the corpus index of each and the epoch they are drawn for."""

    blocks: Blocks
    indices: np.ndarray
    epoch: int | None


def _split_keys(keys: Sequence[int | tuple[int, int]]) -> tuple[np.ndarray, int | None]:
    if keys and isinstance(keys[0], tuple):
        epochs = {epoch for epoch, _ in keys}
        if len(epochs) != 1:
            raise DenoiseError(f"a batch mixes epochs {sorted(epochs)}; draw each batch from one epoch")
        return np.array([index for _, index in keys], dtype=np.int64), epochs.pop()
    return np.array([int(k) for k in keys], dtype=np.int64), None


class IndexedBlocks(torch.utils.data.Dataset):
    """Prepared blocks for a DataLoader; keys are indices or ``(epoch, index)`` pairs from :class:`EpochSampler`."""

    def __init__(self, blocks):
        self.corpus = BlockCorpus(blocks)

    def __len__(self) -> int:
        return len(self.corpus)

    def __getitems__(self, keys: Sequence[int | tuple[int, int]]) -> IndexedBatch:
        indices, epoch = _split_keys(list(keys))
        return IndexedBatch(self.corpus.blocks(indices), indices, epoch)

    def __getitem__(self, key: int | tuple[int, int]) -> IndexedBatch:
        return self.__getitems__([key])


class Collator:
    """Corrupts a batch of blocks with a built recipe and frames it as the model reads it.

    ``frame(sample, vocab, pad_to_multiple_of)`` turns the corrupted sample into the model's batch: a family's
    ``Family.frame`` (``denoise.models.families``). Takes an :class:`IndexedBatch` (from
    :class:`IndexedBlocks`) or a list of block rows with an ``index`` (and optionally an ``epoch``). The epoch
    is the batch's own when it carries one, else the one set with :meth:`set_epoch`.
    """

    def __init__(
        self,
        corrupter: Corrupter,
        vocab: Vocab,
        frame: Callable[[Sample, Vocab, int | None], Any],
        seed: int = 0,
        pad_to_multiple_of: int | None = None,
    ):
        self.corrupter, self.vocab, self.frame, self.seed = corrupter, vocab, frame, seed
        self.pad_to_multiple_of = pad_to_multiple_of
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def corrupt(self, batch: IndexedBatch | Sequence[Mapping]) -> Sample:
        if not isinstance(batch, IndexedBatch):
            rows = list(batch)
            epoch = rows[0].get("epoch") if rows else None
            batch = IndexedBatch(blocks_from_rows(rows), np.array([r["index"] for r in rows]), epoch)
        epoch = self.epoch if batch.epoch is None else batch.epoch
        return self.corrupter(batch.blocks.sample(self.vocab.pad_id), self.seed, epoch, batch.indices)

    def __call__(self, batch: IndexedBatch | Sequence[Mapping]):
        return self.frame(self.corrupt(batch), self.vocab, self.pad_to_multiple_of)
