"""Each test example's part of a task's headline, so that comparisons can resample test examples.

A headline that is a mean over examples (accuracy of a label, a question's F1) gives each example's score; a
headline that is a ratio of sums over examples gives each example's numerator and denominator: word accuracy
is a sentence's right words over its words (so a resampled sentence brings all its words), entity F1 is twice
a sentence's right entities over its gold plus predicted entities (``2C / (G + P)`` equals
``2PR / (P + R)``). Either way ``headline`` recomputes the kind's figure from the parts.
"""

from __future__ import annotations

from dataclasses import dataclass

from denoise.errors import DenoiseError


@dataclass(frozen=True)
class ExampleScores:
    parts: list[float]  # each example's numerator (its score, for a mean)
    totals: list[float] | None = None  # each example's denominator; None: 1 each (a mean over examples)

    def __post_init__(self):
        if self.totals is not None and len(self.totals) != len(self.parts):
            raise DenoiseError(
                f"{len(self.parts)} parts but {len(self.totals)} totals; give one of each per example"
            )

    @property
    def headline(self) -> float:
        """``sum(parts) / sum(totals)``; 0 where the totals sum to 0."""
        whole = len(self.parts) if self.totals is None else sum(self.totals)
        return sum(self.parts) / whole if whole else 0.0
