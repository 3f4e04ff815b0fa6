"""The registry of model families: a plain dict from name to :class:`~denoise.models.family.Family` record.

A new family is a folder, ``denoise/models/<name>/``, and one line here (``docs/adding_a_family.md``).
"""

from __future__ import annotations

from torch import nn

from denoise.config import nearest
from denoise.errors import DenoiseError
from denoise.models.bart.family import FAMILY as BART
from denoise.models.bert.family import FAMILY as BERT
from denoise.models.family import Family
from denoise.models.gpt.family import FAMILY as GPT
from denoise.models.settings import Ids, ModelSettings
from denoise.models.t5.family import FAMILY as T5

FAMILIES: dict[str, Family] = {family.name: family for family in (BERT, BART, T5, GPT)}


def family_named(name: str, where: str = "model.family") -> Family:
    """The record of family ``name``; an unknown name fails with the nearest one."""
    if name not in FAMILIES:
        raise DenoiseError(f"{where} {name!r} is not one of {', '.join(FAMILIES)}{nearest(name, FAMILIES)}")
    return FAMILIES[name]


def family_of(model: nn.Module) -> Family:
    """The record of a model's family (its class names it)."""
    for family in FAMILIES.values():
        if isinstance(model, family.model):
            return family
    raise DenoiseError(
        f"{type(model).__name__} belongs to no registered family ({', '.join(FAMILIES)}); "
        "build models through a family (denoise.models.families.build_model)"
    )


def first_of_kind(kind: str) -> Family:
    """The first registered family of a kind, for framing a recipe's batches without choosing a model."""
    found = [family for family in FAMILIES.values() if family.kind == kind]
    if not found:
        raise DenoiseError(f"no registered family is of kind {kind!r}")
    return found[0]


def family_reading(model_type: str) -> Family:
    """The family that reads transformers checkpoints of ``model_type``."""
    for family in FAMILIES.values():
        if family.transformers is not None and model_type in family.transformers.model_types:
            return family
    readable = [t for f in FAMILIES.values() if f.transformers for t in f.transformers.model_types]
    raise DenoiseError(f"cannot convert a {model_type!r} checkpoint; denoise converts {', '.join(readable)}")


def build_model(settings: ModelSettings, ids: Ids) -> nn.Module:
    """A freshly initialised model as a recipe's ``model:`` section describes it, for a tokenizer's ``ids``."""
    family = family_named(settings.family)
    return family.model(family.from_settings(settings, ids))


def fresh_copy(model: nn.Module) -> nn.Module:
    """A model of the same family and configuration as ``model``, with fresh weights."""
    return family_of(model).model(model.config)


def learned_positions(model_or_config, family: Family) -> int | None:
    """The smallest learned position table among the stacks; None where every stack has relative or ALiBi
    positions."""
    config = getattr(model_or_config, "config", model_or_config)
    tables = [stack.max_positions for stack in family.stack_configs(config) if stack.positions == "learned"]
    return min(tables) if tables else None


def check_positions(model: nn.Module, longest: int) -> None:
    """A clear error when sequences of ``longest`` tokens (blocks plus framing) exceed a learned position
    table."""
    limit = learned_positions(model, family_of(model))
    if limit is not None and longest > limit:
        raise DenoiseError(
            f"framed sequences reach {longest} tokens but the model has {limit} positions; "
            f"lower data.block_size by {longest - limit} or set model.max_positions={longest}"
        )
