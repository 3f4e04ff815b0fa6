"""BART token insertion (the ``insert`` noise of fairseq's denoising task for BART).

An example with ``n`` corruptible tokens gets exactly ``k = round(n * rate)`` new tokens, at positions chosen
uniformly among the ``L + k`` of its output (``L`` its length), the original tokens keeping their order in
the others; the model must find the tokens that do not belong. Of the inserted tokens, exactly
``round(k * random_fraction)``, chosen at random, are random regular tokens (never a special id or a
sentinel) and the rest the mask token. fairseq draws the random share with ``--mask-random`` (0 by default,
so its insertions are masks); here the default inserts random tokens, which a model cannot tell from the
text by their id alone. The target stays the original block.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from denoise.corruption.base import Corruption
from denoise.corruption.random import KeyedRandom, choose_exactly, exact_count
from denoise.corruption.sample import Sample

PLACE, KIND, REPLACEMENT = 0, 1, 2  # random streams


@dataclass(frozen=True)
class InsertConfig:
    rate: float = 0.1  # tokens inserted, as a share of the example's corruptible tokens
    random_fraction: float = 1.0  # of those, the share that are random regular tokens (the rest <mask>)

    RANGES: ClassVar[dict[str, str]] = {"rate": "[0, 1]", "random_fraction": "[0, 1]"}


class Insert(Corruption):
    name = "insert"
    Config = InsertConfig
    aligned = False

    def __init__(self, config: InsertConfig, vocab):
        super().__init__(config, vocab)
        self._regular = vocab.regular_ids()

    def __call__(self, sample: Sample, rng: KeyedRandom) -> Sample:
        inserted_count = self.planned(sample)
        lengths = sample.lengths + inserted_count
        width = int(lengths.max(initial=0))
        slots = np.arange(width)[None, :] < lengths[:, None]
        inserted = choose_exactly(rng, PLACE, slots, inserted_count)
        random = choose_exactly(rng, KIND, inserted, exact_count(inserted_count, self.config.random_fraction))
        draws = (rng.uniform(REPLACEMENT, width) * len(self._regular)).astype(np.int64)
        tokens = np.full((sample.batch_size, width), self.vocab.pad_id, dtype=sample.tokens.dtype)
        tokens[slots & ~inserted] = sample.tokens[sample.valid()]  # both in row-major order
        tokens[inserted] = self.vocab.mask_id
        tokens[random] = self._regular[draws[random]]
        return sample.with_tokens(tokens, lengths)

    def budget(self, before: Sample, after: Sample) -> tuple[np.ndarray, np.ndarray]:
        """``round(n * rate)`` inserted tokens, realised as the lengthening of each example."""
        return self.planned(before), after.lengths - before.lengths

    def planned(self, sample: Sample) -> np.ndarray:
        """``[B]`` the tokens to insert into each example."""
        return exact_count(self.corruptible(sample).sum(axis=1), self.config.rate)
