"""A mixture of denoisers picked per example, each announced by a mode token (UL2, Tay et al., 2023).

Each example draws one denoiser with probability proportional to its weight (from its own keyed
randomness, so the choice does not depend on the batch). The chosen denoiser's mode token (``[NLU]``,
``[NLG]``, ``[S2S]``) is recorded in ``mode_ids`` and prepended to the encoder input when the batch is built.

Its default, and the ``ul2`` recipe, are UL2's seven denoisers: regular span corruption (R: mean span 3 and
8 at 15%), extreme span corruption (X: mean span 3 and 8 at 50%, mean span 64 at 15% and 50%) and prefix
language modelling (S); there S draws 20% of the examples and the six span denoisers share the rest equally.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from denoise.corruption.base import Corruption, Vocab
from denoise.corruption.random import KeyedRandom
from denoise.corruption.sample import Sample
from denoise.corruption.span import Span
from denoise.errors import DenoiseError

CHOICE = 0  # random stream


@dataclass(frozen=True)
class Denoiser:
    op: str
    weight: float = 1.0
    mode: str | None = None  # mode token piece, e.g. "[NLU]"
    params: dict[str, Any] = field(default_factory=dict)

    RANGES: ClassVar[dict[str, str]] = {"weight": "> 0"}  # a share of the examples, relative to the others


def _span(mode: str, mean_span: float, density: float) -> Denoiser:
    return Denoiser("span", 0.1333, mode, {"mean_span": mean_span, "density": density})


# UL2's seven: R (regular spans), X (extreme spans or rates), S (prefix LM, a fifth of the examples).
UL2 = (
    _span("[NLU]", 3, 0.15),
    _span("[NLU]", 8, 0.15),
    _span("[NLG]", 3, 0.5),
    _span("[NLG]", 8, 0.5),
    _span("[NLG]", 64, 0.15),
    _span("[NLG]", 64, 0.5),
    Denoiser("prefix_lm", 0.2, "[S2S]"),
)


@dataclass(frozen=True)
class MixtureConfig:
    denoisers: tuple[Denoiser, ...] = UL2  # {op, weight (> 0), mode, params} each; default: UL2's seven

    def __post_init__(self):
        if not self.denoisers:
            raise DenoiseError("a mixture needs a list of denoisers; the ul2 recipe shows one")
        for d in self.denoisers:
            if d.op == Mixture.name:
                raise DenoiseError("a mixture cannot contain another mixture")


class Mixture(Corruption):
    name = "mixture"
    Config = MixtureConfig
    aligned = False
    sets_target = True
    composes = True

    def __init__(self, config: MixtureConfig, vocab: Vocab, children: list[Corruption]):
        """``children``: the built op of each of ``config.denoisers``, in order (the registry builds them)."""
        super().__init__(config, vocab)
        for d, op in zip(config.denoisers, children):
            if not op.sets_target:
                raise DenoiseError(
                    f"mixture denoiser {d.op!r} does not define a target; use span, mass or prefix_lm"
                )
        self.ops = list(children)
        self.partitions = all(op.partitions for op in self.ops)
        self.mode_ids = [self._mode_id(d.mode) for d in config.denoisers]
        spans = [op for op in self.ops if isinstance(op, Span) and not op.config.roll]
        self._span = spans[0] if spans else None
        self._is_span = np.array([op in spans for op in self.ops])
        self._density = np.array([op.config.density if op in spans else 0.0 for op in self.ops])
        self._mean_span = np.array([op.config.mean_span if op in spans else 1.0 for op in self.ops])
        weights = np.array([d.weight for d in config.denoisers], dtype=np.float64)
        self.cumulative = np.cumsum(weights / weights.sum())

    def _mode_id(self, mode: str | None) -> int:
        if mode is None:
            return -1
        if mode not in self.vocab.mode_ids:
            raise DenoiseError(
                f"mode token {mode!r} is not in the tokenizer (it has {sorted(self.vocab.mode_ids)}); "
                "use one of those or none"
            )
        return self.vocab.mode_ids[mode]

    def check(self, block_size: int) -> None:
        for op in self.ops:
            op.check(block_size)

    def choose(self, rng: KeyedRandom) -> np.ndarray:
        """Index of the denoiser each example uses."""
        draws = rng.uniform(CHOICE, 1)[:, 0]
        return np.minimum(np.searchsorted(self.cumulative, draws, side="right"), len(self.ops) - 1)

    def __call__(self, sample: Sample, rng: KeyedRandom) -> Sample:
        choice = self.choose(rng)
        parts = []
        span_rows = np.flatnonzero(self._is_span[choice])
        if len(span_rows):  # every span denoiser in one batch, with each row's density and mean span
            picked = choice[span_rows]
            parts.append(
                (
                    span_rows,
                    self._span.corrupt(
                        sample.rows(span_rows),
                        rng.rows(span_rows).child(0),
                        self._density[picked],
                        self._mean_span[picked],
                    ),
                )
            )
        for k, op in enumerate(self.ops):
            rows = np.flatnonzero(choice == k) if not self._is_span[k] else []
            if len(rows):
                parts.append((rows, op(sample.rows(rows), rng.rows(rows).child(k + 1))))
        return _assemble(sample, parts, np.array(self.mode_ids)[choice], self.vocab.pad_id)


def _assemble(
    sample: Sample, parts: list[tuple[np.ndarray, Sample]], mode_ids: np.ndarray, pad_id: int
) -> Sample:
    """Put the outputs of the sub-batches back in the original row order."""
    size = sample.batch_size
    lengths = np.zeros(size, np.int64)
    target_lengths = np.zeros(size, np.int64)
    width = max((p.tokens.shape[1] for _, p in parts), default=0)
    target_width = max((p.target.shape[1] for _, p in parts), default=0)
    tokens = np.full((size, width), pad_id, np.int32)
    target = np.full((size, target_width), pad_id, np.int32)
    for rows, part in parts:
        lengths[rows], target_lengths[rows] = part.lengths, part.target_lengths
        tokens[rows, : part.tokens.shape[1]] = part.tokens
        target[rows, : part.target.shape[1]] = part.target
    return sample.with_tokens(
        tokens,
        lengths,
        target=target,
        target_lengths=target_lengths,
        mode_ids=mode_ids,
    )
