"""Causal language modelling (GPT; Radford et al., 2018): predict every token from the ones before it.

Nothing is corrupted: the model reads no source and writes the whole block as its target, so a decoder-only
model is trained on the next token at every position. Any op that only reorders tokens may come before it
(the model then writes the reordered block); as the target's maker it must be the last step.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from denoise.corruption.base import Corruption
from denoise.corruption.random import KeyedRandom
from denoise.corruption.sample import Sample


@dataclass(frozen=True)
class ClmConfig:
    pass


class Clm(Corruption):
    name = "clm"
    Config = ClmConfig
    aligned = False
    sets_target = True
    draws = False
    partitions = True

    def __call__(self, sample: Sample, rng: KeyedRandom) -> Sample:
        empty = np.full((sample.batch_size, 0), self.vocab.pad_id, dtype=np.int32)
        return sample.with_tokens(
            empty,
            np.zeros(sample.batch_size, dtype=np.int64),
            target=sample.tokens.copy(),
            target_lengths=sample.lengths.copy(),
        )
