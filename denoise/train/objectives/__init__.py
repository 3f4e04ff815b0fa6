"""Pre-training objectives: what the trainer optimises on a corrupted batch, in a plain dict by name.

``denoising`` (the default) trains the family's model to predict what the corruption recipe hid. ``electra``
trains a generator beside the model and keeps the model as a replaced-token discriminator. A recipe names
one with ``objective: NAME`` or ``objective: {name: NAME, ...settings}``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from denoise.config import from_mapping, nearest
from denoise.errors import DenoiseError
from denoise.train.objectives.base import Objective
from denoise.train.objectives.denoising import Denoising
from denoise.train.objectives.electra import ReplacedTokenDetection

OBJECTIVES: dict[str, type[Objective]] = {
    objective.name: objective for objective in (Denoising, ReplacedTokenDetection)
}


def objective_mapping(value) -> dict:
    """The objective a recipe names, written out in full: ``{name, ...every setting}``, so that a name and
    a mapping with the same meaning compare equal."""
    objective = build_objective(value)
    return {"name": objective.name, **dataclasses.asdict(objective.config)}


def build_objective(value) -> Objective:
    """The objective a recipe's ``objective`` names (a name, or a mapping with ``name`` and its settings),
    its settings checked."""
    if isinstance(value, str):
        name, settings = value, {}
    elif isinstance(value, Mapping) and isinstance(value.get("name"), str):
        name, settings = value["name"], {k: v for k, v in value.items() if k != "name"}
    else:
        raise DenoiseError(
            f"objective must be a name ({', '.join(OBJECTIVES)}) or a mapping with a name and its settings, "
            f"got {value!r}"
        )
    if name not in OBJECTIVES:
        raise DenoiseError(
            f"unknown objective {name!r}{nearest(name, OBJECTIVES)}; objectives: {', '.join(OBJECTIVES)}"
        )
    objective = OBJECTIVES[name]
    return objective(from_mapping(objective.Config, settings, where=f"objective {name!r}"))
