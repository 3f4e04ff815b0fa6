"""Counter-based randomness keyed by (seed, epoch, example index).

Every random number an op draws for example ``i`` at position ``j`` of stream ``s`` is a hash of
``(seed, epoch, index_i, salt, s, j)``: it does not depend on the batch the example sits in, on the number of
data workers, or on where a run resumed. Drawing is vectorised over the whole batch (numpy ``uint64``
arithmetic, SplitMix64's finaliser as the hash), so no Python loop runs per example or per token.
"""

from __future__ import annotations

import numpy as np

from denoise.errors import DenoiseError

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_STREAM = np.uint64(0xD1B54A32D192ED03)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_POSITION_BITS = np.uint64(20)
POSITION_MASK = (1 << 20) - 1


def _mix(x: np.ndarray) -> np.ndarray:
    """SplitMix64's finaliser: a bijection on uint64 with full avalanche."""
    x = (x ^ (x >> np.uint64(30))) * _M1
    x = (x ^ (x >> np.uint64(27))) * _M2
    return x ^ (x >> np.uint64(31))


def _as_u64(value: int) -> np.uint64:
    return np.uint64(int(value) & 0xFFFF_FFFF_FFFF_FFFF)


class KeyedRandom:
    """Random draws for a batch of examples, each keyed by (seed, epoch, its index) and a salt."""

    def __init__(
        self, seed: int, epoch: int, indices: np.ndarray, salt: int = 0, _keys: np.ndarray | None = None
    ):
        self.seed, self.epoch, self.salt = seed, epoch, salt
        self.indices = np.asarray(indices, dtype=np.int64)
        if _keys is None:
            with np.errstate(over="ignore"):
                base = _mix(_as_u64(seed) * _GOLDEN + _as_u64(epoch))
                base = _mix(base ^ _as_u64(salt) * _STREAM)
                _keys = _mix(self.indices.astype(np.uint64) * _GOLDEN ^ base)
        self.keys = _keys

    def __len__(self) -> int:
        return len(self.indices)

    def child(self, salt: int) -> KeyedRandom:
        """Independent draws for a sub-task (an op's position in a recipe, a denoiser of a mixture)."""
        with np.errstate(over="ignore"):
            keys = _mix(self.keys ^ (_as_u64(salt) + np.uint64(1)) * _STREAM)
        return KeyedRandom(self.seed, self.epoch, self.indices, salt, keys)

    def rows(self, selection: np.ndarray) -> KeyedRandom:
        """The same draws restricted to some examples (a boolean mask or row indices)."""
        return KeyedRandom(self.seed, self.epoch, self.indices[selection], self.salt, self.keys[selection])

    # ----------------------------------------------------------------------------------------------- draws

    def bits(self, stream: int, width: int) -> np.ndarray:
        """``[B, width]`` uint64 random bits."""
        positions = np.arange(width, dtype=np.uint64)
        with np.errstate(over="ignore"):
            stream_key = self.keys ^ (_as_u64(stream) + np.uint64(1)) * _STREAM
            return _mix(stream_key[:, None] + positions[None, :] * _GOLDEN)

    def uniform(self, stream: int, width: int) -> np.ndarray:
        """``[B, width]`` floats uniform in [0, 1) with 53 random bits."""
        return (self.bits(stream, width) >> np.uint64(11)).astype(np.float64) * (1.0 / (1 << 53))

    def sort_keys(self, stream: int, width: int) -> np.ndarray:
        """``[B, width]`` unique uint64 keys in random order: 44 random high bits, the position in the low 20.

        ``np.sort(keys) & POSITION_MASK`` is then a uniformly random permutation of the positions, faster than
        ``np.argsort``. The layout is fixed, so an example's order never depends on the width of its batch.
        """
        if width > POSITION_MASK + 1:
            raise DenoiseError(
                f"rows of {width} tokens are longer than the {POSITION_MASK + 1} corruption supports"
            )
        random_part = self.bits(stream, width) >> _POSITION_BITS
        return (random_part << _POSITION_BITS) | np.arange(width, dtype=np.uint64)[None, :]

    def poisson(self, stream: int, width: int, lam: float) -> np.ndarray:
        """``[B, width]`` Poisson(``lam``) draws by inverting the CDF."""
        cdf = poisson_cdf(lam)
        return np.searchsorted(cdf, self.uniform(stream, width), side="right").astype(np.int64)


def poisson_cdf(lam: float, tail: float = 1e-12) -> np.ndarray:
    """CDF of Poisson(``lam``) up to where the remaining mass is below ``tail``."""
    k_max = int(lam + 20 * np.sqrt(lam) + 20)
    k = np.arange(k_max + 1)
    log_pmf = k * np.log(lam) - lam - np.cumsum(np.log(np.maximum(k, 1)))
    cdf = np.cumsum(np.exp(log_pmf))
    return cdf[: int(np.searchsorted(cdf, 1 - tail)) + 1]


def exact_count(n: np.ndarray, rate: float) -> np.ndarray:
    """``round(n * rate)``, halves rounded up, as integers."""
    return np.floor(np.asarray(n) * rate + 0.5).astype(np.int64)


def choose_by_rate(
    rng: KeyedRandom, stream: int, eligible: np.ndarray, rate: float, budget: str
) -> np.ndarray:
    """``[B, W]`` eligible positions chosen at ``rate``: exactly ``round(n * rate)`` of a row's ``n`` eligible
    positions (``budget="exact"``), or each independently with probability ``rate`` (``"bernoulli"``)."""
    if budget == "bernoulli":
        return eligible & (rng.uniform(stream, eligible.shape[1]) < rate)
    return choose_exactly(rng, stream, eligible, exact_count(eligible.sum(axis=1), rate))


def choose_exactly(rng: KeyedRandom, stream: int, eligible: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """A boolean ``[B, W]`` mask choosing, per row, exactly ``min(counts, eligible)`` eligible positions,
    uniformly at random."""
    width = eligible.shape[1]
    keys = rng.sort_keys(stream, width)
    top = np.iinfo(keys.dtype).max
    keys = np.where(eligible, keys, top)
    ordered = np.sort(keys, axis=1)
    counts = np.minimum(np.asarray(counts, np.int64), eligible.sum(axis=1))
    threshold = (
        ordered[np.arange(len(keys)), np.clip(counts - 1, 0, max(width - 1, 0))] if width else ordered[:, :0]
    )
    chosen = (keys <= threshold[:, None]) & eligible if width else eligible
    return chosen & (counts > 0)[:, None]
