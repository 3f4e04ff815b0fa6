"""Corruption recipes: named compositions of registry ops, written in YAML.

A recipe file looks like::

    name: bart
    description: sentence permutation, then text infilling of 30% of tokens
    steps:
      - op: permute
      - op: infill
        rate: 0.3

``Recipe.load("bart")`` reads a recipe shipped with denoise (``denoise/corruption/recipes/``);
``Recipe.load("my.yaml")`` reads a file. ``recipe.build(vocab, kind)`` checks the recipe against the kind of
model it feeds (``encoder``: predictions at the input's positions; ``encoder_decoder``: a target sequence to
write; a family's record names its kind) before any data is touched and returns a :class:`Corrupter`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from denoise.config import nearest
from denoise.corruption.base import Corruption, Vocab
from denoise.corruption.random import KeyedRandom
from denoise.corruption.registry import build_op, op_settings
from denoise.corruption.sample import Sample
from denoise.errors import DenoiseError

RECIPE_KEYS = ("name", "description", "steps")


def recipes_dir() -> Path:
    return Path(str(resources.files("denoise.corruption") / "recipes"))


def available_recipes() -> list[str]:
    return sorted(p.stem for p in recipes_dir().glob("*.yaml"))


@dataclass(frozen=True)
class Step:
    op: str
    params: dict[str, Any] = field(default_factory=dict)


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
        parsed = []
        for i, step in enumerate(steps):
            if not isinstance(step, Mapping) or "op" not in step:
                raise DenoiseError(f"step {i} of {where} must be a mapping with an 'op' key, got {step!r}")
            parsed.append(Step(step["op"], {k: v for k, v in step.items() if k != "op"}))
        return cls(str(data.get("name", default_name)), tuple(parsed), str(data.get("description", "")))

    def to_mapping(self) -> dict:
        return {
            "name": self.name,
            "description": self.description,
            "steps": [{"op": s.op, **s.params} for s in self.steps],
        }

    def check_settings(self) -> None:
        """Every step's settings checked, before anything is built (or a corpus prepared) for them."""
        for i, step in enumerate(self.steps):
            op_settings(step.op, step.params, where=f"corruption {self.name!r} steps[{i}] (op {step.op!r})")

    def build(self, vocab: Vocab, kind: str, block_size: int | None = None, corpus=None) -> Corrupter:
        """Ops for a model of ``kind`` (see :data:`MODEL_KINDS`), checked against it and ``block_size``."""
        ops = [build_op(step.op, step.params, vocab, corpus) for step in self.steps]
        check_composition(self.name, ops, kind)
        if block_size is not None:
            for op in ops:
                op.check(block_size)
        return Corrupter(self, ops, kind)


def check_encoder_ops(name: str, ops: Sequence[Corruption]) -> None:
    for op in ops:
        if not op.aligned:
            raise DenoiseError(
                f"recipe {name!r}: op {op.name!r} changes the sequence length, so an encoder-only model "
                f"cannot predict at aligned positions; use an encoder-decoder model or drop {op.name!r}"
            )
    if not any(op.name == "mask" for op in ops):
        raise DenoiseError(f"recipe {name!r} gives an encoder-only model nothing to predict; add a mask step")


def check_encoder_decoder_ops(name: str, ops: Sequence[Corruption]) -> None:
    for op in ops:
        if op.pairs:
            raise DenoiseError(
                f"recipe {name!r}: op {op.name!r} builds sentence pairs for encoder-only pre-training; "
                "an encoder-decoder model cannot take it"
            )


@dataclass(frozen=True)
class ModelKind:
    """What a kind of model does with a corrupted block."""

    aligned_targets: bool  # predicts labels at the input's own positions (else writes a target sequence)
    check: Callable[[str, Sequence[Corruption]], None]  # refuses ops it cannot take, naming them


# The kinds of model, each with the ops it takes; a family's record names its kind.
MODEL_KINDS = {
    "encoder": ModelKind(aligned_targets=True, check=check_encoder_ops),
    "encoder_decoder": ModelKind(aligned_targets=False, check=check_encoder_decoder_ops),
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
                    f"{changed!r} has corrupted; only ops that reorder tokens (permute, rotate) may come first"
                )
        if not op.aligned:
            length_changed_by = length_changed_by or op.name
        if op.pairs:
            pairs_made_by = pairs_made_by or op.name


class Corrupter:
    """Applies a built recipe to batches; example ``i``'s output depends only on (seed, epoch, i)."""

    def __init__(self, recipe: Recipe, ops: Sequence[Corruption], kind: str):
        self.recipe, self.ops, self.kind = recipe, list(ops), kind

    @property
    def aligned(self) -> bool:
        return all(op.aligned for op in self.ops)

    def __call__(self, sample: Sample, seed: int, epoch: int, indices: np.ndarray) -> Sample:
        rng = KeyedRandom(seed, epoch, indices)
        for position, op in enumerate(self.ops):
            sample = op(sample, rng.child(position))
        return sample
