"""BART document rotation (Lewis et al., 2020).

A token is chosen uniformly at random and the document is rotated to begin with it, so that the model must
find the document's true start. With ``per_document`` (the default) every document of a packed block is
rotated on its own, its boundaries taken from the block's ``document_ids``; otherwise the whole block turns
as one. Sentence ids, labels and segment ids move with their tokens. The target stays the original block.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from denoise.corruption.base import Corruption
from denoise.corruption.random import KeyedRandom
from denoise.corruption.sample import Sample, move, run_starts, segments
from denoise.errors import DenoiseError

FIRST_TOKEN = 0  # random stream


@dataclass(frozen=True)
class RotateConfig:
    per_document: bool = True  # rotate each document of a block on its own

    def __post_init__(self):
        if not isinstance(self.per_document, bool):
            raise DenoiseError(f"rotate per_document must be true or false, got {self.per_document!r}")


class Rotate(Corruption):
    name = "rotate"
    Config = RotateConfig
    aligned = True
    reorders = True
    needs_boundaries = True
    keeps_spans = True

    def __call__(self, sample: Sample, rng: KeyedRandom) -> Sample:
        valid = sample.valid()
        if self.config.per_document:
            if sample.document_ids is None:
                raise DenoiseError(
                    "rotate needs document boundaries, which ops that change the length (delete, infill...) "
                    "drop; put rotate before them in the recipe, or set per_document: false to rotate whole "
                    "blocks"
                )
            begins = run_starts(valid, sample.document_ids)
        else:
            begins = run_starts(valid)
        if not sample.lengths.any():
            return sample
        destination = rotated_positions(begins, sample.lengths, rng.uniform(FIRST_TOKEN, valid.shape[1]))
        return sample.replace(
            tokens=move(sample.tokens, destination),
            sentence_ids=move(sample.sentence_ids, destination),
            document_ids=move(sample.document_ids, destination),
            labels=move(sample.labels, destination),
            segment_ids=move(sample.segment_ids, destination),
            span_ids=move(sample.span_ids, destination),
        )


def rotated_positions(begins: np.ndarray, lengths: np.ndarray, uniform: np.ndarray) -> np.ndarray:
    """``[B, W]`` the new position of every position when each run starting at ``begins`` is rotated to begin
    at its token ``floor(uniform[b, run] * run length)``."""
    runs = segments(begins, lengths)
    first = (uniform[:, : runs.starts.shape[1]] * runs.lengths).astype(np.int64)
    run_start = np.take_along_axis(runs.starts, runs.index, axis=1)
    run_length = np.maximum(np.take_along_axis(runs.lengths, runs.index, axis=1), 1)
    offset = np.take_along_axis(first, runs.index, axis=1)
    positions = np.arange(begins.shape[1])[None, :]
    rotated = run_start + (positions - run_start - offset) % run_length
    return np.where(positions < lengths[:, None], rotated, positions)
