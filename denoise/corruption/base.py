"""What every corruption op is: a typed config, declared properties, and a vectorised ``__call__``.

An op class sets:

- ``name``: its registry name; ``Config``: a dataclass of its parameters with the papers' defaults;
- ``aligned``: True when every output position still corresponds to one input position (same length), so an
  encoder-only model can take it;
- ``needs_boundaries``: True when it reads sentence or document boundaries (permute, rotate, pairs);
- ``sets_target``: True when it defines the decoder target itself (span, MASS, prefix LM) instead of leaving
  "reconstruct the original";
- ``pairs``: True for sentence-pair constructions (NSP, SOP), which only encoder-only models take;
- ``needs_corpus``: True when it draws other blocks of the corpus (NSP); it then takes ``corpus=``;
- ``reorders``: True when it moves tokens without changing any (permute, rotate, SOP);
- ``marks_spans``: True when it numbers the spans it masked (``Sample.span_ids``: span_mask), so that a BERT
  trains SpanBERT's span boundary head on them;
- ``keeps_spans``: True when it leaves those numbers in place for the tokens they belong to (it changes
  tokens and labels without moving them, or moves the numbers with them);
- ``composes``: True when it is made of other ops (a mixture); the registry builds those from its config's
  ``denoisers`` and hands them over as ``children=``;
- ``draws``: False for an op that draws nothing at random (clm): every seed gives the same output;
- ``partitions``: True when its source and target split the block between them (clm, prefix LM), so that
  the two together are no longer than the block.

``__call__(sample, rng)`` maps a :class:`~denoise.corruption.sample.Sample` to a new one using only ``rng``
for randomness. ``check(block_size)`` raises a clear error, before any training, for settings that cannot work
with blocks of that size. An op whose budget is exact says so in ``budget(before, after)``: how many tokens of
each example it was to corrupt, and how many the output shows it did.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from denoise.corruption.random import KeyedRandom
from denoise.corruption.sample import Sample


@dataclass(frozen=True)
class Vocab:
    """The ids corruption ops need, from a denoise tokenizer or any other."""

    size: int
    pad_id: int
    mask_id: int
    cls_id: int
    sep_id: int
    sentinel_ids: tuple[int, ...]
    special_ids: tuple[int, ...]
    mode_ids: dict[str, int] = field(default_factory=dict)
    word_starts: np.ndarray | None = field(default=None, repr=False)  # [size] bool, for whole-word masking

    @classmethod
    def from_tokenizer(cls, tokenizer) -> Vocab:
        return cls(
            size=tokenizer.vocab_size,
            pad_id=tokenizer.pad_id,
            mask_id=tokenizer.mask_id,
            cls_id=tokenizer.cls_id,
            sep_id=tokenizer.sep_id,
            sentinel_ids=tuple(tokenizer.sentinel_ids),
            special_ids=tuple(int(i) for i in tokenizer.special_ids),
            mode_ids=dict(tokenizer.mode_ids),
            word_starts=tokenizer.word_start_mask(),
        )

    def special_mask(self) -> np.ndarray:
        """``[size]`` True for ids never corrupted nor drawn (pad, cls, sep, mask, sentinels, modes...)."""
        mask = np.zeros(self.size, dtype=bool)
        mask[list(self.special_ids)] = True
        return mask

    def regular_ids(self) -> np.ndarray:
        """Ids random replacements are drawn from: every id that is not special."""
        return np.flatnonzero(~self.special_mask()).astype(np.int32)


class Corruption:
    name: ClassVar[str]
    Config: ClassVar[type]
    aligned: ClassVar[bool] = True
    needs_boundaries: ClassVar[bool] = False
    sets_target: ClassVar[bool] = False
    pairs: ClassVar[bool] = False
    needs_corpus: ClassVar[bool] = False
    reorders: ClassVar[bool] = False
    marks_spans: ClassVar[bool] = False
    keeps_spans: ClassVar[bool] = False
    composes: ClassVar[bool] = False
    draws: ClassVar[bool] = True
    partitions: ClassVar[bool] = False

    def __init__(self, config, vocab: Vocab):
        self.config = config
        self.vocab = vocab
        self._special = vocab.special_mask()

    def __call__(self, sample: Sample, rng: KeyedRandom) -> Sample:
        raise NotImplementedError

    def check(self, block_size: int) -> None:
        """Raise a DenoiseError if this op cannot work on blocks of ``block_size`` tokens."""

    def budget(self, before: Sample, after: Sample) -> tuple[np.ndarray, np.ndarray] | None:
        """``(planned, realised)`` tokens per example, where the op's budget is exact; None otherwise."""
        return None

    def corruptible(self, sample: Sample) -> np.ndarray:
        """``[B, W]`` True at real positions holding a non-special token."""
        return sample.valid() & ~self._special[sample.tokens]


def numbers_spans(ops) -> bool:
    """Whether a recipe's ``ops`` leave numbered spans in its batches: one numbers them and every op after it
    keeps them in place."""
    marking = [i for i, op in enumerate(ops) if op.marks_spans]
    return bool(marking) and all(op.keeps_spans for op in ops[marking[-1] + 1 :])
