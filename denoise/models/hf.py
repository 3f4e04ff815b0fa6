"""Interop with transformers checkpoints, for every family that has a bridge (``Family.transformers``):
``from_hf`` picks the family by the checkpoint's ``model_type``, ``to_hf`` by the model's family.

transformers is optional: it is imported only when a conversion is asked for.
"""

from __future__ import annotations

from pathlib import Path

from torch import nn

from denoise.errors import DenoiseError
from denoise.models.families import family_of, family_reading
from denoise.models.transformers_io import copy_tokenizer_files, model_type

__all__ = ["copy_tokenizer_files", "from_hf", "to_hf"]


def from_hf(model_or_dir) -> nn.Module:
    """A denoise model with the weights of a local transformers checkpoint directory (or a model)."""
    return family_reading(model_type(model_or_dir)).transformers.load(model_or_dir)


def to_hf(model: nn.Module, out_dir: str | Path) -> Path:
    """Write ``model`` as a transformers checkpoint directory."""
    family = family_of(model)
    if family.transformers is None:
        raise DenoiseError(f"the {family.name} family has no transformers counterpart to export to")
    family.transformers.save(model, out_dir)
    return Path(out_dir)
