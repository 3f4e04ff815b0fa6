"""BERT masked language modelling (Devlin et al., 2019).

``rate`` of the corruptible tokens are chosen for prediction; of those, ``mask_fraction`` become the mask
token, ``random_fraction`` a random regular token (never a special id or sentinel), and the rest stay.
The budget is exact by default: ``round(n * rate)`` tokens of an example with ``n`` corruptible tokens.
With ``budget: bernoulli`` each token is chosen independently with probability ``rate``.
With ``predict_all``, every corruptible token is a target, not only the chosen ones: ELECTRA's All-Tokens
MLM (Clark et al., 2020), which trains the states of the unmasked tokens that fine-tuning reads.

Whole-word masking chooses whole words (a word starts at a piece beginning with ``▁``, which any
SentencePiece model marks) in random order, skipping a word that would overrun the token budget and going on
with the next, as BERT's data tools do.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from denoise.corruption.base import Corruption
from denoise.corruption.random import KeyedRandom, choose_by_rate, exact_count
from denoise.corruption.sample import Sample
from denoise.errors import DenoiseError
from denoise.labels import IGNORE

SELECT, ACTION, REPLACEMENT = 0, 1, 2  # random streams


@dataclass(frozen=True)
class MaskConfig:
    rate: float = 0.15  # the share of corruptible tokens predicted
    mask_fraction: float = 0.8  # of those, the share that become <mask>
    random_fraction: float = 0.1  # and the share that become a random regular token (the rest stay)
    budget: str = "exact"  # or "bernoulli"
    whole_word: bool = False  # choose whole words (pieces after one starting with ▁)
    predict_all: bool = False  # targets on every corruptible token, the unchosen ones included

    # a rate of 0 would predict nothing (a loss of 0)
    RANGES: ClassVar[dict[str, str]] = {
        "rate": "(0, 1]",
        "mask_fraction": "[0, 1]",
        "random_fraction": "[0, 1]",
    }

    def __post_init__(self):
        if self.mask_fraction + self.random_fraction > 1:
            raise DenoiseError(
                f"mask_fraction {self.mask_fraction} + random_fraction {self.random_fraction} must lie in [0, 1]"
            )
        if self.budget not in ("exact", "bernoulli"):
            raise DenoiseError(f"mask budget must be 'exact' or 'bernoulli', got {self.budget!r}")


class Mask(Corruption):
    name = "mask"
    Config = MaskConfig
    aligned = True
    keeps_spans = True

    def __init__(self, config: MaskConfig, vocab):
        super().__init__(config, vocab)
        self._regular = vocab.regular_ids()
        if config.whole_word and vocab.word_starts is None:
            raise DenoiseError(
                "whole-word masking needs the tokenizer's word starts; build the Vocab from a tokenizer"
            )

    def __call__(self, sample: Sample, rng: KeyedRandom) -> Sample:
        chosen = self.choose(sample, rng)
        tokens = sample.tokens
        width = tokens.shape[1]
        action = rng.uniform(ACTION, width)
        masked = chosen & (action < self.config.mask_fraction)
        randomized = chosen & ~masked & (action < self.config.mask_fraction + self.config.random_fraction)
        draws = (rng.uniform(REPLACEMENT, width) * len(self._regular)).astype(np.int64)
        corrupted = np.where(masked, self.vocab.mask_id, tokens)
        corrupted = np.where(randomized, self._regular[draws], corrupted).astype(np.int32)
        targets = self.corruptible(sample) if self.config.predict_all else chosen
        labels = np.where(targets, tokens, IGNORE).astype(np.int32)
        if sample.labels is not None:  # a second mask op keeps the first one's labels
            labels = np.where(sample.labels != IGNORE, sample.labels, labels)
        return sample.replace(tokens=corrupted, labels=labels)

    def budget(self, before: Sample, after: Sample) -> tuple[np.ndarray, np.ndarray] | None:
        """``round(n * rate)`` predicted tokens, realised as labels (whole words may fall short of it)."""
        c = self.config
        if c.budget != "exact" or c.whole_word or c.predict_all:
            return None
        planned = exact_count(self.corruptible(before).sum(axis=1), c.rate)
        return planned, (after.labels != IGNORE).sum(axis=1)

    def choose(self, sample: Sample, rng: KeyedRandom) -> np.ndarray:
        """``[B, W]`` True at the positions to predict."""
        eligible = self.corruptible(sample)
        if self.config.whole_word:
            return self._choose_words(sample, eligible, rng)
        return choose_by_rate(rng, SELECT, eligible, self.config.rate, self.config.budget)

    def _choose_words(self, sample: Sample, eligible: np.ndarray, rng: KeyedRandom) -> np.ndarray:
        """Whole words taken in random order, skipping any word that would overrun the token budget."""
        if eligible.shape[1] == 0:
            return eligible
        starts = eligible & (self.vocab.word_starts[sample.tokens] | ~np.roll(eligible, 1, axis=1))
        starts[:, 0] = eligible[:, 0]
        word = np.cumsum(starts, axis=1) - 1  # word index of each token (eligible tokens only)
        width = eligible.shape[1]
        word_lengths = np.zeros((len(word), width + 1), dtype=np.int64)
        rows = np.broadcast_to(np.arange(len(word))[:, None], word.shape)
        np.add.at(word_lengths, (rows[eligible], word[eligible]), 1)
        if self.config.budget == "bernoulli":
            picked_words = rng.uniform(SELECT, width + 1) < self.config.rate
        else:
            budget = exact_count(eligible.sum(axis=1), self.config.rate)
            order = rng.sort_keys(SELECT, width + 1)
            order = np.where(word_lengths > 0, order, np.iinfo(order.dtype).max)
            ranked = np.argsort(order, axis=1)
            within = greedy_fill(np.take_along_axis(word_lengths, ranked, axis=1), budget)
            picked_words = np.zeros_like(within)
            np.put_along_axis(picked_words, ranked, within, axis=1)
        return eligible & np.take_along_axis(picked_words, np.maximum(word, 0), axis=1)


MAX_FILL_PASSES = 32


def greedy_fill(lengths: np.ndarray, budget: np.ndarray) -> np.ndarray:
    """``[B, K]`` which items to take, going through each row in order and taking every item that still fits
    the row's budget. Each pass takes the fitting items up to the first that overruns; passes repeat until
    nothing fits (every pass takes at least one item, and rows rarely need more than a few)."""
    taken = np.zeros(lengths.shape, dtype=bool)
    remaining = np.asarray(budget, dtype=np.int64).copy()
    for _ in range(MAX_FILL_PASSES):
        fits = ~taken & (lengths > 0) & (lengths <= remaining[:, None])
        if not fits.any():
            break
        take = fits & (np.cumsum(np.where(fits, lengths, 0), axis=1) <= remaining[:, None])
        taken |= take
        remaining -= np.where(take, lengths, 0).sum(axis=1)
    return taken
