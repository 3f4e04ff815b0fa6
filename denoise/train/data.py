"""Pre-training data: the prepared blocks, a held-out split, and the batches of each optimizer step.

Which blocks a step reads is a function of (seed, step) alone: epoch ``e`` visits the training blocks in a
permutation drawn from ``(seed, e)``, and step ``s`` takes the next ``global_batch`` of them. Each process
reads its own micro-batches of that global batch, so one process or many see the same examples per step, and
a resumed run starts at its step without replaying the loader.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from denoise.cache import cache_root
from denoise.corruption.loader import Collator, IndexedBlocks
from denoise.data.prepare import (
    MANIFEST_FILE,
    TOKENIZER_DIR,
    fingerprint_inputs,
    load_blocks,
    prepare_corpus,
)
from denoise.errors import DenoiseError
from denoise.tokenizer import Tokenizer, cached_tokenizer


@dataclass(frozen=True)
class Split:
    """Corpus indices of the training and the held-out blocks."""

    train: np.ndarray
    validation: np.ndarray


def prepare_data(settings, main_process: bool = True) -> tuple[Tokenizer, Path]:
    """The tokenizer and the directory of prepared blocks for ``settings`` (a ``DataSettings``), tokenizing
    the corpus when the cache lacks it (only the main process writes; call it there first)."""
    if settings.prepared:
        directory = Path(settings.prepared)
        load_blocks(directory)  # a clear error when it holds no prepared corpus
        prepared_size = json.loads((directory / MANIFEST_FILE).read_text())["stats"]["block_size"]
        if prepared_size != settings.block_size:
            raise DenoiseError(
                f"data.prepared {directory} holds blocks of {prepared_size} tokens but data.block_size is "
                f"{settings.block_size}; set data.block_size={prepared_size} or prepare the corpus again"
            )
        tokenizer = Tokenizer.load(directory / TOKENIZER_DIR)
        if settings.tokenizer and Tokenizer.load(settings.tokenizer).vocab_size != tokenizer.vocab_size:
            raise DenoiseError(
                f"data.tokenizer {settings.tokenizer} differs from the tokenizer {directory} was prepared with; "
                "leave data.tokenizer unset with data.prepared"
            )
        return tokenizer, directory
    inputs = list(settings.corpus)
    if settings.tokenizer:
        tokenizer = Tokenizer.load(settings.tokenizer)
    else:
        tokenizer = cached_tokenizer(
            inputs,
            settings.vocab_size,
            text_column=settings.text_column,
            encoding_errors=settings.encoding_errors,
        )
    errors = settings.encoding_errors
    fingerprint = fingerprint_inputs(inputs, tokenizer, settings.block_size, settings.text_column, errors)
    directory = cache_root() / "corpora" / f"pretrain-b{settings.block_size}-{fingerprint[:16]}"
    if main_process:
        prepare_corpus(
            inputs,
            tokenizer,
            directory,
            block_size=settings.block_size,
            num_proc=settings.num_proc,
            text_column=settings.text_column,
            encoding_errors=errors,
            streaming=settings.streaming,
            overwrite=True,
        )
    return tokenizer, directory


def corpus_fingerprint(directory: Path) -> str:
    """What the prepared corpus in ``directory`` was made from, as its manifest records it."""
    return json.loads((Path(directory) / MANIFEST_FILE).read_text())["fingerprint"]


def split_blocks(count: int, validation_blocks: int, global_batch: int, seed: int) -> Split:
    """Hold out ``validation_blocks`` blocks drawn with ``seed``; the rest train."""
    if count - validation_blocks < global_batch:
        raise DenoiseError(
            f"the corpus has {count} blocks: after holding out data.validation_blocks={validation_blocks}, "
            f"fewer than one global batch of {global_batch} remain; use more text, smaller blocks "
            "(data.block_size) or a smaller training.global_batch"
        )
    order = np.random.default_rng([seed, 7919]).permutation(count)
    return Split(train=np.sort(order[validation_blocks:]), validation=np.sort(order[:validation_blocks]))


@dataclass(frozen=True)
class Layout:
    """How a global batch divides: ``accumulation`` micro-batches of ``micro_batch`` on each of ``processes``."""

    global_batch: int
    micro_batch: int
    processes: int

    @classmethod
    def of(cls, global_batch: int, micro_batch: int | None, processes: int) -> Layout:
        micro = micro_batch or global_batch // processes
        if micro < 1 or global_batch % (micro * processes):
            raise DenoiseError(
                f"training.global_batch {global_batch} does not split into micro-batches of {micro} on "
                f"{processes} process(es); choose a global batch that is a multiple of micro_batch x processes"
            )
        return cls(global_batch, micro, processes)

    @property
    def accumulation(self) -> int:
        return self.global_batch // (self.micro_batch * self.processes)


class StepSampler(torch.utils.data.Sampler):
    """Yields this process's micro-batches, as ``(epoch, index, step)`` keys, for steps ``start`` to ``stop``
    (the step travels with the keys for the corruption's schedules)."""

    def __init__(self, train: np.ndarray, layout: Layout, rank: int, seed: int, start: int, stop: int):
        self.train, self.layout, self.rank, self.seed = train, layout, rank, seed
        self.start, self.stop = start, stop
        self.steps_per_epoch = len(train) // layout.global_batch

    def __len__(self) -> int:
        return max(self.stop - self.start, 0) * self.layout.accumulation

    def global_batch(self, step: int) -> tuple[int, np.ndarray]:
        epoch, position = divmod(step, self.steps_per_epoch)
        order = np.random.default_rng([self.seed, epoch]).permutation(len(self.train))
        size = self.layout.global_batch
        return epoch, self.train[order[position * size : (position + 1) * size]]

    def __iter__(self) -> Iterator[list[tuple[int, int, int]]]:
        micro, processes = self.layout.micro_batch, self.layout.processes
        for step in range(self.start, self.stop):
            epoch, indices = self.global_batch(step)
            for j in range(self.layout.accumulation):
                first = (j * processes + self.rank) * micro
                yield [(epoch, int(i), step) for i in indices[first : first + micro]]


class EvalSampler(torch.utils.data.Sampler):
    """This process's share of the first ``batches`` micro-batches of the held-out blocks (always epoch 0,
    so every evaluation sees the same corruption), for the evaluation after ``step`` steps (which schedules
    without an eval value read); with ``equal_shares`` every process gets as many."""

    def __init__(
        self,
        validation: np.ndarray,
        micro_batch: int,
        batches: int,
        rank: int,
        processes: int,
        step: int = 0,
        equal_shares: bool = False,
    ):
        chunks = [validation[i : i + micro_batch] for i in range(0, len(validation), micro_batch)]
        chunks = chunks[: batches * processes]
        if equal_shares:  # as many micro-batches for every process, the few left over unread
            chunks = chunks[: len(chunks) // processes * processes]
        self.mine, self.step = chunks[rank::processes], step

    def __len__(self) -> int:
        return len(self.mine)

    def __iter__(self) -> Iterator[list[tuple[int, int, int]]]:
        return ([(0, int(i), self.step) for i in chunk] for chunk in self.mine)


def make_loader(blocks, sampler: torch.utils.data.Sampler, collator: Collator, workers: int, seed: int):
    """A DataLoader over ``blocks``; its own generator keeps the global RNG (dropout) untouched."""
    return torch.utils.data.DataLoader(
        IndexedBlocks(blocks),
        batch_sampler=sampler,
        collate_fn=collator,
        num_workers=workers,
        generator=torch.Generator().manual_seed(seed),
        persistent_workers=False,
    )
