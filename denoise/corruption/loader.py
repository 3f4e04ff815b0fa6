"""Feeding a DataLoader: blocks with their index and epoch, and the collator that corrupts and frames them.

Each example's randomness is keyed by (seed, epoch, index), so the index and the epoch travel with the example:
:class:`EpochSampler` yields ``(epoch, index)`` pairs from the main process, which reach the workers even when
they are persistent, and :class:`IndexedBlocks` fetches a whole batch of blocks in one Arrow ``take``. A sampler
that knows the optimizer step of each batch (pre-training's) yields ``(epoch, index, step)`` triples instead, so
that a recipe's schedules (:mod:`denoise.corruption.schedule`) give every micro-batch of a step, in any worker,
the same values.

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
from denoise.corruption.schedule import progress
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
    """Blocks fetched together, with the corpus index of each, the epoch they are drawn for and the optimizer
    step they feed (None when the sampler does not say)."""

    blocks: Blocks
    indices: np.ndarray
    epoch: int | None
    step: int | None = None


Key = int | tuple[int, int] | tuple[int, int, int]  # index, (epoch, index) or (epoch, index, step)


def _one(values: set, what: str):
    """The one value a batch's keys share."""
    if len(values) != 1:
        raise DenoiseError(f"a batch mixes {what}s {sorted(values, key=str)}; draw each batch for one {what}")
    return values.pop()


def _split_keys(keys: Sequence[Key]) -> tuple[np.ndarray, int | None, int | None]:
    if keys and isinstance(keys[0], tuple):
        epoch = _one({key[0] for key in keys}, "epoch")
        step = _one({key[2] if len(key) > 2 else None for key in keys}, "step")
        return np.array([key[1] for key in keys], dtype=np.int64), epoch, step
    return np.array([int(k) for k in keys], dtype=np.int64), None, None


class IndexedBlocks(torch.utils.data.Dataset):
    """Prepared blocks for a DataLoader; keys are indices, ``(epoch, index)`` pairs from :class:`EpochSampler`
    or ``(epoch, index, step)`` triples."""

    def __init__(self, blocks):
        self.corpus = BlockCorpus(blocks)

    def __len__(self) -> int:
        return len(self.corpus)

    def __getitems__(self, keys: Sequence[Key]) -> IndexedBatch:
        indices, epoch, step = _split_keys(list(keys))
        return IndexedBatch(self.corpus.blocks(indices), indices, epoch, step)

    def __getitem__(self, key: Key) -> IndexedBatch:
        return self.__getitems__([key])


class Collator:
    """Corrupts a batch of blocks with a built recipe and frames it as the model reads it.

    ``frame(sample, vocab, pad_to_multiple_of)`` turns the corrupted sample into the model's batch: a family's
    ``Family.frame`` (``denoise.models.families``). Takes an :class:`IndexedBatch` (from
    :class:`IndexedBlocks`) or a list of block rows with an ``index`` (and optionally an ``epoch`` and a
    ``step``). The epoch is the batch's own when it carries one, else the one set with :meth:`set_epoch`.

    A recipe's schedules take the value for the batch's step of a run of ``total_steps`` (the start of the
    run when either is unknown); with ``evaluation``, the values they give held-out evaluation.
    """

    def __init__(
        self,
        corrupter: Corrupter,
        vocab: Vocab,
        frame: Callable[[Sample, Vocab, int | None], Any],
        seed: int = 0,
        pad_to_multiple_of: int | None = None,
        total_steps: int | None = None,
        evaluation: bool = False,
    ):
        self.corrupter, self.vocab, self.frame, self.seed = corrupter, vocab, frame, seed
        self.pad_to_multiple_of = pad_to_multiple_of
        self.total_steps, self.evaluation = total_steps, evaluation
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def scheduled_values(self, step: int | None) -> dict[str, Any]:
        """What the recipe's schedules give the batches of ``step``, e.g. ``{"mask.rate": 0.29}`` (empty
        without schedules)."""
        return self.corrupter.recipe.scheduled_values(progress(step, self.total_steps), self.evaluation)

    def corrupt(self, batch: IndexedBatch | Sequence[Mapping]) -> Sample:
        if not isinstance(batch, IndexedBatch):
            rows = list(batch)
            epoch, step = (rows[0].get("epoch"), rows[0].get("step")) if rows else (None, None)
            batch = IndexedBatch(blocks_from_rows(rows), np.array([r["index"] for r in rows]), epoch, step)
        epoch = self.epoch if batch.epoch is None else batch.epoch
        sample = batch.blocks.sample(self.vocab.pad_id)
        at = progress(batch.step, self.total_steps)
        return self.corrupter(sample, self.seed, epoch, batch.indices, at, self.evaluation)

    def __call__(self, batch: IndexedBatch | Sequence[Mapping]):
        return self.frame(self.corrupt(batch), self.vocab, self.pad_to_multiple_of)
