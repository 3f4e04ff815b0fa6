"""Corruption recipes: named compositions of registry ops, written in YAML.

A recipe file looks like::

    name: bart
    description: sentence permutation, then text infilling of 30% of tokens
    steps:
      - op: permute
      - op: infill
        rate: 0.3

A numeric setting may follow a schedule over the run instead (``rate: {schedule: linear, points: [[0, 0.3],
[1, 0.15]]}``, see :mod:`denoise.corruption.schedule`); ``recipe.at(progress)`` is the recipe with each
schedule at its value.

``Recipe.load("bart")`` reads a recipe shipped with denoise (``denoise/corruption/recipes/``);
``Recipe.load("my.yaml")`` reads a file. ``recipe.build(vocab, kind)`` checks the recipe against the kind of
model it feeds (``encoder``: predictions at the input's positions; ``encoder_decoder``: a target sequence to
write; ``decoder``: the same, written after the source as a prefix; a family's record names its kind) before any data is touched and returns a :class:`Corrupter`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from denoise.config import nearest
from denoise.corruption.base import Corruption, Vocab
from denoise.corruption.random import KeyedRandom
from denoise.corruption.registry import OPS, build_op, op_settings
from denoise.corruption.sample import Sample
from denoise.corruption.schedule import Schedule, check_numeric, parse_params
from denoise.errors import DenoiseError

RECIPE_KEYS = ("name", "description", "steps")


def recipes_dir() -> Path:
    return Path(str(resources.files("denoise.corruption") / "recipes"))


def available_recipes() -> list[str]:
    return sorted(p.stem for p in recipes_dir().glob("*.yaml"))


@dataclass(frozen=True)
class Step:
    op: str
    params: dict[str, Any] = field(default_factory=dict)  # a scheduled key holds its Schedule

    @property
    def schedules(self) -> dict[str, Schedule]:
        return {key: value for key, value in self.params.items() if isinstance(value, Schedule)}

    def at(self, progress: float, evaluation: bool = False) -> Step:
        """This step with each schedule at its value for ``progress`` (evaluation's value with ``evaluation``)."""
        params = {
            key: value.value(progress, evaluation) if isinstance(value, Schedule) else value
            for key, value in self.params.items()
        }
        return Step(self.op, params)

    def to_mapping(self) -> dict[str, Any]:
        """The params as a recipe file writes them."""
        return {k: v.to_mapping() if isinstance(v, Schedule) else v for k, v in self.params.items()}

    def points_to_check(self) -> Iterator[tuple[float, bool, str]]:
        """``(progress, evaluation, what)`` for each point of this step's schedules and each eval value: where
        its settings are checked (between points a linear value lies between its neighbours)."""
        schedules = self.schedules
        fractions = sorted({fraction for s in schedules.values() for fraction, _ in s.points})
        for key, schedule in schedules.items():
            for fraction, value in schedule.points:
                yield fraction, False, f"at point [{fraction:g}, {value:g}] of its {key} schedule"
            if schedule.eval is not None:
                for fraction in fractions:
                    yield fraction, True, f"with the eval value {schedule.eval:g} of its {key} schedule"


@dataclass(frozen=True)
class Recipe:
    name: str
    steps: tuple[Step, ...]
    description: str = ""

    @classmethod
    def load(cls, name_or_path: str | Path) -> Recipe:
        """A shipped recipe by name, or a YAML file."""
        path = Path(name_or_path)
        if path.suffix not in (".yaml", ".yml"):
            names = available_recipes()
            if str(name_or_path) not in names:
                raise DenoiseError(
                    f"unknown corruption recipe {str(name_or_path)!r}{nearest(str(name_or_path), names)}; "
                    f"recipes: {', '.join(names)}, or a path to a .yaml file"
                )
            path = recipes_dir() / f"{name_or_path}.yaml"
        if not path.is_file():
            raise FileNotFoundError(f"recipe file {path} does not exist")
        try:
            data = yaml.safe_load(path.read_text())
        except yaml.YAMLError as err:
            raise DenoiseError(f"{path} is not valid YAML: {err}") from None
        return cls.from_mapping(data, default_name=path.stem, where=str(path))

    @classmethod
    def from_mapping(cls, data: Any, default_name: str = "recipe", where: str = "recipe") -> Recipe:
        if not isinstance(data, Mapping):
            raise DenoiseError(f"{where} must be a mapping with a 'steps' list, got {type(data).__name__}")
        for key in data:
            if key not in RECIPE_KEYS:
                raise DenoiseError(
                    f"unknown key {key!r} in {where}{nearest(key, RECIPE_KEYS)}; keys: {RECIPE_KEYS}"
                )
        steps = data.get("steps")
        if not isinstance(steps, Sequence) or isinstance(steps, str) or not steps:
            raise DenoiseError(f"{where} needs a non-empty 'steps' list of {{op: NAME, ...params}} entries")
        name, parsed = str(data.get("name", default_name)), []
        for i, step in enumerate(steps):
            if not isinstance(step, Mapping) or "op" not in step:
                raise DenoiseError(f"step {i} of {where} must be a mapping with an 'op' key, got {step!r}")
            params = {k: v for k, v in step.items() if k != "op"}
            place = f"corruption {name!r} steps[{i}] (op {step['op']!r})"
            parsed.append(Step(step["op"], parse_params(params, place)))
        return cls(name, tuple(parsed), str(data.get("description", "")))

    def to_mapping(self) -> dict:
        return {
            "name": self.name,
            "description": self.description,
            "steps": [{"op": s.op, **s.to_mapping()} for s in self.steps],
        }

    @property
    def scheduled(self) -> bool:
        return any(step.schedules for step in self.steps)

    def at(self, progress: float, evaluation: bool = False) -> Recipe:
        """This recipe with each schedule at its value for ``progress``, a fraction of the run (evaluation's
        value with ``evaluation``)."""
        return replace(self, steps=tuple(step.at(progress, evaluation) for step in self.steps))

    def scheduled_values(self, progress: float, evaluation: bool = False) -> dict[str, Any]:
        """Each schedule's value at ``progress``, named ``OP.KEY`` (``OP[i].KEY`` for an op named twice)."""
        ops = [step.op for step in self.steps]
        values = {}
        for i, step in enumerate(self.steps):
            label = step.op if ops.count(step.op) == 1 else f"{step.op}[{i}]"
            for key, schedule in step.schedules.items():
                values[f"{label}.{key}"] = schedule.value(progress, evaluation)
        return values

    def check_settings(self) -> None:
        """Every step's settings checked, at every point of its schedules, before anything is built (or a
        corpus prepared) for them."""
        for i, step in enumerate(self.steps):
            where = f"corruption {self.name!r} steps[{i}] (op {step.op!r})"
            if not step.schedules:
                op_settings(step.op, step.params, where=where)
                continue
            if step.op not in OPS:
                op_settings(step.op, None, where=where)  # names the unknown op and the nearest one
            check_numeric(step.schedules, OPS[step.op].Config, where)
            for progress, evaluation, point in step.points_to_check():
                try:
                    op_settings(step.op, step.at(progress, evaluation).params, where=where)
                except DenoiseError as err:
                    raise DenoiseError(f"{err} ({point})") from None

    def build(self, vocab: Vocab, kind: str, block_size: int | None = None, corpus=None) -> Corrupter:
        """Ops for a model of ``kind`` (see :data:`MODEL_KINDS`), checked against it and ``block_size`` at
        every point of the recipe's schedules."""
        if self.scheduled:
            self.check_settings()  # each point's value named in errors
        corrupter = Corrupter(self, kind, vocab, corpus)
        for progress, evaluation in self.points_to_check():
            ops = corrupter.ops_at(progress, evaluation)
            check_composition(self.name, ops, kind)
            if block_size is not None:
                for op in ops:
                    op.check(block_size)
        return corrupter

    def points_to_check(self) -> list[tuple[float, bool]]:
        """``(progress, evaluation)`` at the start and at every point of every step's schedules."""
        found = {(p, evaluation) for step in self.steps for p, evaluation, _ in step.points_to_check()}
        return sorted({(0.0, False), *found})


PREDICTING_OPS = ("mask", "span_mask")  # the ops that give an encoder-only model labels to predict


def check_encoder_ops(name: str, ops: Sequence[Corruption]) -> None:
    for op in ops:
        if not op.aligned:
            raise DenoiseError(
                f"recipe {name!r}: op {op.name!r} changes the sequence length, so an encoder-only model "
                f"cannot predict at aligned positions; use an encoder-decoder model or drop {op.name!r}"
            )
    if not any(op.name in PREDICTING_OPS for op in ops):
        raise DenoiseError(
            f"recipe {name!r} gives an encoder-only model nothing to predict; add a mask or span_mask step"
        )


def check_writing_ops(name: str, ops: Sequence[Corruption], model: str) -> None:
    """A model that writes its target (an encoder-decoder, or a decoder-only model that reads the source as
    its prefix) takes every op but the sentence-pair constructions."""
    for op in ops:
        if op.pairs:
            raise DenoiseError(
                f"recipe {name!r}: op {op.name!r} builds sentence pairs for encoder-only pre-training; "
                f"{model} cannot take it"
            )


@dataclass(frozen=True)
class ModelKind:
    """What a kind of model does with a corrupted block."""

    aligned_targets: bool  # predicts labels at the input's own positions (else writes a target sequence)
    check: Callable[[str, Sequence[Corruption]], None]  # refuses ops it cannot take, naming them


# The kinds of model, each with the ops it takes; a family's record names its kind.
MODEL_KINDS = {
    "encoder": ModelKind(aligned_targets=True, check=check_encoder_ops),
    "encoder_decoder": ModelKind(
        aligned_targets=False,
        check=lambda name, ops: check_writing_ops(name, ops, "an encoder-decoder model"),
    ),
    # reads the source (nothing, for clm) as its prefix and writes the target after it
    "decoder": ModelKind(
        aligned_targets=False, check=lambda name, ops: check_writing_ops(name, ops, "a decoder-only model")
    ),
}


def check_composition(name: str, ops: Sequence[Corruption], kind: str) -> None:
    """Raise a DenoiseError naming the op when a recipe cannot feed a model of ``kind`` or its order cannot
    work."""
    if kind not in MODEL_KINDS:
        raise DenoiseError(
            f"unknown kind of model {kind!r}{nearest(kind, MODEL_KINDS)}; kinds: {', '.join(MODEL_KINDS)}"
        )
    MODEL_KINDS[kind].check(name, ops)
    length_changed_by = None
    pairs_made_by = None
    for i, op in enumerate(ops):
        if op.needs_boundaries and length_changed_by:
            raise DenoiseError(
                f"recipe {name!r}: op {op.name!r} needs sentence boundaries, which {length_changed_by!r} "
                f"removes; put {op.name!r} before {length_changed_by!r}"
            )
        if pairs_made_by and (op.reorders or op.pairs or not op.aligned):
            raise DenoiseError(
                f"recipe {name!r}: op {op.name!r} would move tokens across the segments {pairs_made_by!r} "
                f"made; after {pairs_made_by!r} only ops that keep every token in place (mask) may follow"
            )
        if op.sets_target:
            if i != len(ops) - 1:
                raise DenoiseError(
                    f"recipe {name!r}: op {op.name!r} defines the decoder target, so it must be the last step "
                    f"(found {ops[i + 1].name!r} after it)"
                )
            changed = next((earlier.name for earlier in ops[:i] if not earlier.reorders), None)
            if changed:
                raise DenoiseError(
                    f"recipe {name!r}: op {op.name!r} builds its target from the tokens it reads, which "
                    f"{changed!r} has corrupted; only ops that reorder tokens (permute, rotate, shuffle) may "
                    "come first"
                )
        if not op.aligned:
            length_changed_by = length_changed_by or op.name
        if op.pairs:
            pairs_made_by = pairs_made_by or op.name


# Ops kept built for this many sets of scheduled values (a step's training and evaluation values, and the next).
KEPT_BUILDS = 4


class Corrupter:
    """Applies a built recipe to batches; example ``i``'s output depends only on (seed, epoch, i), and for a
    recipe with schedules on the progress of the run it is drawn for."""

    def __init__(self, recipe: Recipe, kind: str, vocab: Vocab, corpus=None):
        self.recipe, self.kind, self.vocab, self.corpus = recipe, kind, vocab, corpus
        self._built: dict[tuple, list[Corruption]] = {}

    @property
    def ops(self) -> list[Corruption]:
        """The ops at the start of the run (a schedule changes their settings, never what they are)."""
        return self.ops_at(0.0)

    @property
    def aligned(self) -> bool:
        return all(op.aligned for op in self.ops)

    def ops_at(self, progress: float, evaluation: bool = False) -> list[Corruption]:
        """The ops with each schedule at its value for ``progress``, built once per set of values."""
        key = tuple(self.recipe.scheduled_values(progress, evaluation).values())
        if key not in self._built:
            if len(self._built) >= KEPT_BUILDS:
                del self._built[next(iter(self._built))]  # the oldest
            steps = self.recipe.at(progress, evaluation).steps
            self._built[key] = [build_op(step.op, step.params, self.vocab, self.corpus) for step in steps]
        return self._built[key]

    def __call__(
        self,
        sample: Sample,
        seed: int,
        epoch: int,
        indices: np.ndarray,
        progress: float = 0.0,
        evaluation: bool = False,
    ) -> Sample:
        """Corrupt ``sample`` (examples ``indices``) as the recipe stands at ``progress``, a fraction of the run
        (with evaluation's values when ``evaluation``)."""
        rng = KeyedRandom(seed, epoch, indices)
        for position, op in enumerate(self.ops_at(progress, evaluation)):
            sample = op(sample, rng.child(position))
        return sample
