"""Prefix language modelling (Raffel et al., 2020, section 3.2.1; UL2's S-denoiser, Tay et al., 2023).

Each row is split at a uniformly random point: the source is the prefix and the target the rest of the row.
The split leaves at least one token on each side, and ``min_fraction`` / ``max_fraction`` bound the prefix
length as a fraction of the row (the defaults allow any split). Rows with fewer than 2 tokens are all prefix,
with an empty target.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from denoise.corruption.base import Corruption
from denoise.corruption.random import KeyedRandom
from denoise.corruption.sample import Sample
from denoise.errors import DenoiseError

SPLIT = 0  # random stream


@dataclass(frozen=True)
class PrefixLMConfig:
    min_fraction: float = 0.0  # the shortest prefix, as a share of the row
    max_fraction: float = 1.0  # the longest prefix, as a share of the row

    RANGES: ClassVar[dict[str, str]] = {"min_fraction": "[0, 1]", "max_fraction": "[0, 1]"}

    def __post_init__(self):
        if self.min_fraction > self.max_fraction:
            raise DenoiseError(
                f"prefix_lm needs min_fraction <= max_fraction, got min_fraction "
                f"{self.min_fraction} and max_fraction {self.max_fraction}"
            )


def split_range(n: np.ndarray, min_fraction: float, max_fraction: float) -> tuple[np.ndarray, np.ndarray]:
    """The shortest and longest prefix of rows of ``n`` tokens: within the fractions and within [1, n - 1]
    (the shortest when the fractions leave no whole length); both ``n`` for rows under 2 tokens."""
    n = np.asarray(n, dtype=np.int64)
    longest_allowed = np.maximum(n - 1, 1)
    shortest = np.clip(np.ceil(n * min_fraction).astype(np.int64), 1, longest_allowed)
    longest = np.clip(np.floor(n * max_fraction).astype(np.int64), shortest, longest_allowed)
    short = n < 2
    return np.where(short, n, shortest), np.where(short, n, longest)


class PrefixLM(Corruption):
    name = "prefix_lm"
    Config = PrefixLMConfig
    aligned = False
    sets_target = True
    partitions = True

    def __call__(self, sample: Sample, rng: KeyedRandom) -> Sample:
        split = self.choose(sample, rng)
        width = sample.tokens.shape[1]
        positions = np.arange(width)[None, :]
        source = np.where(positions < split[:, None], sample.tokens, self.vocab.pad_id).astype(np.int32)
        target_lengths = sample.lengths - split
        following = np.minimum(split[:, None] + positions, max(width - 1, 0))
        target = np.take_along_axis(sample.tokens, following, axis=1) if width else sample.tokens
        target = np.where(positions < target_lengths[:, None], target, self.vocab.pad_id).astype(np.int32)
        out = sample.replace(tokens=source, lengths=split, target=target, target_lengths=target_lengths)
        return out.trim()

    def choose(self, sample: Sample, rng: KeyedRandom) -> np.ndarray:
        """``[B]`` the prefix length of each row."""
        shortest, longest = split_range(sample.lengths, self.config.min_fraction, self.config.max_fraction)
        draws = rng.uniform(SPLIT, 1)[:, 0]
        return shortest + np.floor(draws * (longest - shortest + 1)).astype(np.int64)
