"""T5's i.i.d. noise with sentinels (Raffel et al., 2020, section 3.3.2 and the "i.i.d." row of its table of
corruption strategies): noise tokens drawn independently of one another instead of in spans, then handled as
span corruption is (:mod:`denoise.corruption.span`): each run of consecutive noise tokens becomes one sentinel
in the source, and the target lists the sentinels, each followed by the run it replaced.

The budget is exact, as span corruption's: of a row's ``n`` corruptible tokens, ``round(n * density)`` (at
least 1, at most ``n - 1``) are noise, chosen uniformly among all sets of that size; T5 drew each token with
chance ``density``, which gives the same rate on average. Rows with fewer than 2 corruptible tokens stay as
they are, with target ``sentinel_0``. With noise spread out, runs are short (mean ``1 / (1 - density)``
tokens), so a row needs about ``n * density * (1 - density)`` sentinels; ``check`` refuses blocks whose worst
case exceeds the tokenizer's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from denoise.corruption.random import KeyedRandom, choose_exactly
from denoise.corruption.sample import Sample
from denoise.corruption.span import Span, noise_budget

NOISE = 0  # random stream


@dataclass(frozen=True)
class IidNoiseConfig:
    density: float = 0.15  # the share of corruptible tokens that are noise

    RANGES: ClassVar[dict[str, str]] = {"density": "(0, 1)"}


class IidNoise(Span):
    name = "iid_noise"
    Config = IidNoiseConfig
    remedy = "lower the density"

    def described(self, block_size: int) -> str:
        return f"i.i.d. noise on {block_size}-token blocks at density {self.config.density:g}"

    def check(self, block_size: int) -> None:
        noise = int(self.noise(np.asarray([block_size]))[0])
        self._check_sentinels(block_size, min(noise, block_size - noise + 1) + 1)

    def __call__(self, sample: Sample, rng: KeyedRandom) -> Sample:
        return self.corrupt(sample, rng, self.config.density, None)

    def budget(self, before: Sample, after: Sample) -> tuple[np.ndarray, np.ndarray]:
        """``round(n * density)`` noise tokens, realised as the target's tokens other than sentinels."""
        planned = self.noise(self.corruptible(before).sum(axis=1))
        real = np.arange(after.target.shape[1])[None, :] < after.target_lengths[:, None]
        sentinels = np.isin(after.target, self._sentinels) & real
        return planned, after.target_lengths - sentinels.sum(axis=1)

    def choose(self, sample: Sample, rng: KeyedRandom, density=None, mean_span=None) -> np.ndarray:
        """``[B, W]`` True at the noise positions: a uniform choice of the row's noise count."""
        corruptible = self.corruptible(sample)
        return choose_exactly(rng, NOISE, corruptible, self.noise(corruptible.sum(axis=1)))

    def noise(self, n: np.ndarray) -> np.ndarray:
        """``[B]`` noise tokens of rows with ``n`` corruptible tokens (span corruption's count)."""
        return noise_budget(n, self.config.density, 1.0)[0]
