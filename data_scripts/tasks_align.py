"""Length-based alignment of two sequences of sentences, after Gale & Church (1993).

Translated sentences have lengths in a near-constant ratio. A dynamic program pairs the sequences into
beads (1-1, 1-0, 0-1, 2-1, 1-2 sentences) of least cost, the cost of a bead being the negative log of its
prior and of the probability of its length difference under a normal model.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import accumulate

# A sentence without a counterpart costs its prior alone, whatever its length: a verse that a translation
# numbers elsewhere is missing however long it is. Its prior is set as low as a 1-1 pair of lengths about
# 4.4 standard deviations apart, so that the alignment does not skip verses to get over a run of wordy ones.
BEAD_PRIORS = {(1, 1): 0.89, (2, 1): 0.0445, (1, 2): 0.0445, (1, 0): 1e-5, (0, 1): 1e-5}


@dataclass(frozen=True)
class LengthModel:
    ratio: float  # characters of the second language per character of the first
    variance: float  # of the length difference, per character

    @classmethod
    def fit(cls, pairs: Sequence[tuple[int, int]]) -> LengthModel:
        """The model of (first, second) lengths of sentences known to be translations."""
        ratio = sum(b for _, b in pairs) / max(1, sum(a for a, _ in pairs))
        variance = sum((b - ratio * a) ** 2 / max(a, 1) for a, b in pairs) / max(1, len(pairs))
        return cls(ratio, max(variance, 1e-6))

    def cost(self, first: int, second: int, prior: float) -> float:
        if not first or not second:
            return -math.log(prior)
        mean = max((first + second / self.ratio) / 2, 1.0)
        delta = abs(second - first * self.ratio) / math.sqrt(mean * self.variance)
        probability = max(math.erfc(delta / math.sqrt(2)), 1e-300)  # two-sided tail of a standard normal
        return -math.log(prior) - math.log(probability)


def one_to_one(
    model: LengthModel, first: Sequence[int], second: Sequence[int], band: int = 4
) -> list[tuple[int, int]]:
    """Index pairs (i, j) that the best alignment of the two length sequences joins in 1-1 beads.

    Only cells with ``|i - j| <= band`` are searched: verses numbered alike drift apart by a few at most, and
    sequences whose lengths differ by more than ``band`` give no pairs.
    """
    rows, columns = len(first), len(second)
    first_sums, second_sums = list(accumulate(first, initial=0)), list(accumulate(second, initial=0))
    best: dict[tuple[int, int], tuple[float, tuple[int, int]]] = {(0, 0): (0.0, (0, 0))}
    for i in range(rows + 1):
        for j in range(max(0, i - band), min(columns, i + band) + 1):
            options = []
            for (di, dj), prior in BEAD_PRIORS.items():
                previous = best.get((i - di, j - dj))
                if previous is not None:
                    length_first = first_sums[i] - first_sums[i - di]
                    length_second = second_sums[j] - second_sums[j - dj]
                    options.append((previous[0] + model.cost(length_first, length_second, prior), (di, dj)))
            if options:
                best[(i, j)] = min(options)
    if (rows, columns) not in best:
        return []
    pairs = []
    i, j = rows, columns
    while (i, j) != (0, 0):
        di, dj = best[(i, j)][1]
        if (di, dj) == (1, 1):
            pairs.append((i - 1, j - 1))
        i, j = i - di, j - dj
    return pairs[::-1]
