"""BART sentence permutation (Lewis et al., 2020).

The sentences of each block are shuffled uniformly at random; the tokens of a sentence stay together and in
order. With ``within_documents`` (the default) sentences move only inside their own document and documents
keep their place, so no sentence crosses into another document. Sentence boundaries come from the block's
``sentence_ids`` (never from guessing at punctuation); a sentence cut by the block's start or end counts as
one, and a block without ``document_ids`` counts as one document. The output keeps ``document_ids``, labels
and segment ids with their tokens and numbers the sentences in their new order. The target stays the original
block.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from denoise.corruption.base import Corruption
from denoise.corruption.random import KeyedRandom
from denoise.corruption.sample import Sample, Segments, move, run_starts, segments
from denoise.errors import DenoiseError

ORDER = 0  # random stream


@dataclass(frozen=True)
class PermuteConfig:
    within_documents: bool = True  # sentences move only inside their own document

    def __post_init__(self):
        if not isinstance(self.within_documents, bool):
            raise DenoiseError(
                f"permute within_documents must be true or false, got {self.within_documents!r}"
            )


class Permute(Corruption):
    name = "permute"
    Config = PermuteConfig
    aligned = True
    reorders = True
    needs_boundaries = True
    keeps_spans = True

    def __call__(self, sample: Sample, rng: KeyedRandom) -> Sample:
        if sample.sentence_ids is None:
            raise DenoiseError(
                "permute needs sentence boundaries, which ops that change the length (delete, infill...) "
                "drop; put permute before them in the recipe"
            )
        if not sample.lengths.any():
            return sample
        valid = sample.valid()
        documents = sample.document_ids
        if documents is None:
            documents = np.zeros_like(sample.sentence_ids)
        sentences = segments(run_starts(valid, sample.sentence_ids, documents), sample.lengths)
        order = shuffled_order(rng, sentences, self.groups(valid, documents, sentences))
        destination = destinations(sentences, order, valid)
        renumbered = np.take_along_axis(ranks(order), sentences.index, axis=1)
        sentence_ids = np.where(valid, renumbered, sample.sentence_ids).astype(sample.sentence_ids.dtype)
        return sample.replace(
            tokens=move(sample.tokens, destination),
            sentence_ids=move(sentence_ids, destination),
            document_ids=move(sample.document_ids, destination),
            labels=move(sample.labels, destination),
            segment_ids=move(sample.segment_ids, destination),
            span_ids=move(sample.span_ids, destination),
        )

    def groups(self, valid: np.ndarray, documents: np.ndarray, sentences: Segments) -> np.ndarray:
        """``[B, S]`` the group each sentence is shuffled within: its document, or the whole block."""
        if not self.config.within_documents:
            return np.zeros_like(sentences.starts)
        document_runs = np.cumsum(run_starts(valid, documents), axis=1) - 1
        return np.take_along_axis(document_runs, sentences.starts, axis=1)


def shuffled_order(rng: KeyedRandom, sentences: Segments, group: np.ndarray) -> np.ndarray:
    """``[B, S]`` sentence indices in their new order: groups in order, uniformly shuffled inside each group,
    empty entries last."""
    real = np.arange(group.shape[1])[None, :] < sentences.count[:, None]
    group = np.where(real, group, np.iinfo(group.dtype).max)
    return np.lexsort((rng.bits(ORDER, group.shape[1]), group), axis=1)


def destinations(runs: Segments, order: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """``[B, W]`` the new position of every position when each row's runs are laid out in ``order``."""
    lengths_in_order = np.take_along_axis(runs.lengths, order, axis=1)
    new_starts = np.empty_like(runs.starts)
    np.put_along_axis(new_starts, order, np.cumsum(lengths_in_order, axis=1) - lengths_in_order, axis=1)
    shift = np.take_along_axis(new_starts - runs.starts, runs.index, axis=1)
    positions = np.arange(valid.shape[1])[None, :]
    return np.where(valid, positions + shift, positions)


def ranks(order: np.ndarray) -> np.ndarray:
    """``[B, S]`` the place of each entry in its row's ``order``."""
    places = np.empty_like(order)
    np.put_along_axis(places, order, np.broadcast_to(np.arange(order.shape[1]), order.shape), axis=1)
    return places
