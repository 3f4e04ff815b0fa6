"""BART token deletion (Lewis et al., 2020).

``rate`` of the corruptible tokens are deleted and the rest close up, so that the model must also decide which
positions are missing. The budget is exact by default: ``round(n * rate)`` tokens of an example with ``n``
corruptible tokens. With ``budget: bernoulli`` each token is deleted independently with probability ``rate``.
Special tokens are never deleted. The target stays the original block.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from denoise.corruption.base import Corruption
from denoise.corruption.random import KeyedRandom, choose_by_rate, exact_count
from denoise.corruption.sample import Sample, gather_kept
from denoise.errors import DenoiseError

SELECT = 0  # random stream


@dataclass(frozen=True)
class DeleteConfig:
    rate: float = 0.15  # the share of corruptible tokens deleted
    budget: str = "exact"  # or "bernoulli"

    RANGES: ClassVar[dict[str, str]] = {"rate": "[0, 1]"}

    def __post_init__(self):
        if self.budget not in ("exact", "bernoulli"):
            raise DenoiseError(f"delete budget must be 'exact' or 'bernoulli', got {self.budget!r}")


class Delete(Corruption):
    name = "delete"
    Config = DeleteConfig
    aligned = False

    def __call__(self, sample: Sample, rng: KeyedRandom) -> Sample:
        deleted = self.choose(sample, rng)
        tokens, lengths = gather_kept(sample.tokens, sample.valid() & ~deleted, self.vocab.pad_id)
        return sample.with_tokens(tokens, lengths)

    def budget(self, before: Sample, after: Sample) -> tuple[np.ndarray, np.ndarray] | None:
        """``round(n * rate)`` deleted tokens, realised as the shortening of each example."""
        if self.config.budget != "exact":
            return None
        planned = exact_count(self.corruptible(before).sum(axis=1), self.config.rate)
        return planned, before.lengths - after.lengths

    def choose(self, sample: Sample, rng: KeyedRandom) -> np.ndarray:
        """``[B, W]`` True at the positions to delete."""
        return choose_by_rate(rng, SELECT, self.corruptible(sample), self.config.rate, self.config.budget)
