"""MASS: masked sequence to sequence pre-training (Song et al., 2019, "MASS: Masked Sequence to Sequence
Pre-training for Language Generation").

One contiguous fragment of ``round(n * fraction)`` of a row's ``n`` corruptible tokens (at least one, halves
rounded up) starts at a uniformly random position. The encoder reads the row with every fragment token
replaced by the mask token, so the source keeps its length; the decoder predicts the fragment, which is the
target. The paper masks half of each segment (``fraction: 0.5``). Special tokens are never masked: the
fragment runs over the row's corruptible tokens. Two details of the paper are left out: its 80/10/10 mix of
mask, random and kept tokens inside the fragment (here all become the mask), and decoder positions that
continue the fragment's positions in the source (here the decoder counts from 0, like every target).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from denoise.corruption.base import Corruption
from denoise.corruption.random import KeyedRandom, exact_count
from denoise.corruption.sample import Sample, gather_kept

START = 0  # random stream


@dataclass(frozen=True)
class MassConfig:
    fraction: float = 0.5  # the fragment's share of the corruptible tokens

    RANGES: ClassVar[dict[str, str]] = {"fraction": "(0, 1]"}


def fragment_length(n: np.ndarray, fraction: float) -> np.ndarray:
    """``round(n * fraction)``, at least 1 and at most ``n``."""
    n = np.asarray(n, dtype=np.int64)
    return np.clip(exact_count(n, fraction), np.minimum(n, 1), n)


class Mass(Corruption):
    name = "mass"
    Config = MassConfig
    aligned = False
    sets_target = True

    def __call__(self, sample: Sample, rng: KeyedRandom) -> Sample:
        fragment = self.choose(sample, rng)
        source = np.where(fragment, self.vocab.mask_id, sample.tokens).astype(np.int32)
        target, target_lengths = gather_kept(sample.tokens, fragment, self.vocab.pad_id)
        return sample.replace(tokens=source, target=target, target_lengths=target_lengths)

    def budget(self, before: Sample, after: Sample) -> tuple[np.ndarray, np.ndarray]:
        """``round(n * fraction)`` tokens in the fragment, realised as the target's length."""
        return fragment_length(
            self.corruptible(before).sum(axis=1), self.config.fraction
        ), after.target_lengths

    def choose(self, sample: Sample, rng: KeyedRandom) -> np.ndarray:
        """``[B, W]`` True at the fragment's positions."""
        corruptible = self.corruptible(sample)
        n = corruptible.sum(axis=1)
        length = fragment_length(n, self.config.fraction)
        start = np.floor(rng.uniform(START, 1)[:, 0] * (n - length + 1)).astype(np.int64)
        rank = np.cumsum(corruptible, axis=1, dtype=np.int32) - 1
        return corruptible & (rank >= start[:, None]) & (rank < (start + length)[:, None])
