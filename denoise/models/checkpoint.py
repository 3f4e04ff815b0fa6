"""denoise model directories: ``model.safetensors`` (weights) and ``model.json`` (family and configuration).

Written to a temporary folder and renamed into place, so an interrupted save never leaves a half-written
model where a good one was. ``model.json`` names the family (``"bert"``, ``"bart"``, ``"t5"``); folders
written before families were named say ``"encoder_decoder"`` for both BART and T5, and are read as the one
whose positions they have (relative: T5, else BART), as they were exported then.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from torch import nn

from denoise.config import from_mapping
from denoise.errors import DenoiseError
from denoise.files import staged_folder
from denoise.models.families import family_named, family_of
from denoise.models.weights import check_weights

WEIGHTS_FILE = "model.safetensors"
CONFIG_FILE = "model.json"
LEGACY_ENCODER_DECODER = "encoder_decoder"


def save_model(model: nn.Module, out_dir: str | Path) -> Path:
    """Write ``model`` to ``out_dir`` (replacing what is there only once the new files are complete)."""
    from safetensors import SafetensorError
    from safetensors.torch import save_model as save_weights

    out = Path(out_dir)
    family = family_of(model).name
    with staged_folder(out) as staging:
        config = {"family": family, "config": dataclasses.asdict(model.config)}
        (staging / CONFIG_FILE).write_text(json.dumps(config, indent=2) + "\n")
        try:
            save_weights(model, str(staging / WEIGHTS_FILE))
        except SafetensorError as err:  # a failed write (a full disk) is reported this way
            raise OSError(f"could not write {out / WEIGHTS_FILE} ({err}); is the disk full?") from None
    return out


def load_model(directory: str | Path) -> nn.Module:
    """The model saved in ``directory``; a clear error for a missing file, another family or wrong weights."""
    from safetensors.torch import load_model as load_weights

    directory = Path(directory)
    if not (directory / CONFIG_FILE).is_file() or not (directory / WEIGHTS_FILE).is_file():
        raise FileNotFoundError(
            f"no denoise model in {directory} (needs {CONFIG_FILE} and {WEIGHTS_FILE}); "
            "for a transformers checkpoint use `denoise convert --from-hf`"
        )
    try:
        saved = json.loads((directory / CONFIG_FILE).read_text())
    except ValueError as err:
        raise DenoiseError(f"{directory / CONFIG_FILE} is not JSON ({err}); save the model again") from None
    check_weights(directory / WEIGHTS_FILE)
    family = family_named(saved_family(saved), where=f"{directory / CONFIG_FILE}: family")
    model = family.model(from_mapping(family.config, saved["config"], where=str(directory / CONFIG_FILE)))
    try:
        load_weights(model, str(directory / WEIGHTS_FILE), strict=True)
    except RuntimeError as err:
        raise DenoiseError(f"{directory / WEIGHTS_FILE} does not fit its {CONFIG_FILE}: {err}") from None
    return model


def saved_family(saved: dict) -> str:
    """The family a model.json names; for the encoder-decoders of folders written before families were
    named, the one their positions say."""
    family = saved.get("family")
    if family == LEGACY_ENCODER_DECODER:
        positions = saved.get("config", {}).get("decoder", {}).get("positions")
        return "t5" if positions == "relative" else "bart"
    return family
