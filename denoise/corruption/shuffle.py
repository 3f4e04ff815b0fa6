"""T5's deshuffling objective (Raffel et al., 2020, section 3.3.1, tables 3 and 4): the tokens of a row are
shuffled and the decoder writes the original back.

The corruptible tokens of a row go through one uniformly random permutation, as T5's ``permute_noise_tokens``
does with every token chosen as noise; special tokens and padding keep their places. With
``within_documents`` each document of a packed block is shuffled on its own (a T5 example is one document);
by default the whole row is. Labels of earlier ops move with their tokens; sentence and document ids stay
with the positions, which keep the block's layout. No token is changed, so the target stays the original
block.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from denoise.corruption.base import Corruption
from denoise.corruption.random import KeyedRandom
from denoise.corruption.sample import Sample, run_starts
from denoise.errors import DenoiseError

ORDER = 0  # random stream


@dataclass(frozen=True)
class ShuffleConfig:
    within_documents: bool = False  # shuffle each document of a block on its own

    def __post_init__(self):
        if not isinstance(self.within_documents, bool):
            raise DenoiseError(
                f"shuffle within_documents must be true or false, got {self.within_documents!r}"
            )


class Shuffle(Corruption):
    name = "shuffle"
    Config = ShuffleConfig
    aligned = True
    reorders = True

    def __call__(self, sample: Sample, rng: KeyedRandom) -> Sample:
        movable = self.corruptible(sample)
        width = movable.shape[1]
        if not movable.any():
            return sample
        group = np.where(movable, self.groups(sample), np.iinfo(np.int64).max)
        order = np.lexsort((rng.sort_keys(ORDER, width), group), axis=1)  # movable positions first, shuffled
        first = np.arange(width)[None, :] < movable.sum(axis=1)[:, None]

        def shuffled(values: np.ndarray | None) -> np.ndarray | None:
            if values is None:
                return None
            out = values.copy()
            out[movable] = np.take_along_axis(values, order, axis=1)[first]  # both in row-major order
            return out

        return sample.replace(tokens=shuffled(sample.tokens), labels=shuffled(sample.labels), span_ids=None)

    def groups(self, sample: Sample) -> np.ndarray:
        """``[B, W]`` the group each position is shuffled within: its document, or the whole row."""
        if not self.config.within_documents:
            return np.zeros(sample.tokens.shape, np.int64)
        if sample.document_ids is None:
            raise DenoiseError(
                "shuffle within_documents needs document boundaries, which ops that change the length "
                "(delete, infill...) drop; put shuffle before them in the recipe, or set "
                "within_documents: false"
            )
        return np.cumsum(run_starts(sample.valid(), sample.document_ids), axis=1).astype(np.int64)
