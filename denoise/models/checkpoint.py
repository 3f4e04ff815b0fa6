"""denoise model directories: ``model.safetensors`` (weights) and ``model.json`` (family and configuration).

Written to a temporary folder and renamed into place, so an interrupted save never leaves a half-written
model where a good one was.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from torch import nn

from denoise.config import from_mapping
from denoise.errors import DenoiseError
from denoise.files import staged_folder

WEIGHTS_FILE = "model.safetensors"
CONFIG_FILE = "model.json"


def _families() -> dict[str, tuple[type, type]]:
    from denoise.models.bert import Bert, BertConfig
    from denoise.models.encoder_decoder import EncoderDecoder, EncoderDecoderConfig

    return {"bert": (Bert, BertConfig), "encoder_decoder": (EncoderDecoder, EncoderDecoderConfig)}


def family_of(model: nn.Module) -> str:
    for family, (cls, _) in _families().items():
        if isinstance(model, cls):
            return family
    raise DenoiseError(f"cannot save a {type(model).__name__}: only Bert and EncoderDecoder models")


def save_model(model: nn.Module, out_dir: str | Path) -> Path:
    """Write ``model`` to ``out_dir`` (replacing what is there only once the new files are complete)."""
    from safetensors.torch import save_model as save_weights

    out = Path(out_dir)
    family = family_of(model)
    with staged_folder(out) as staging:
        config = {"family": family, "config": dataclasses.asdict(model.config)}
        (staging / CONFIG_FILE).write_text(json.dumps(config, indent=2) + "\n")
        save_weights(model, str(staging / WEIGHTS_FILE))
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
    saved = json.loads((directory / CONFIG_FILE).read_text())
    families = _families()
    if saved.get("family") not in families:
        raise DenoiseError(
            f"{directory}: unknown model family {saved.get('family')!r}; expected {sorted(families)}"
        )
    cls, config_cls = families[saved["family"]]
    model = cls(from_mapping(config_cls, saved["config"], where=str(directory / CONFIG_FILE)))
    try:
        load_weights(model, str(directory / WEIGHTS_FILE), strict=True)
    except RuntimeError as err:
        raise DenoiseError(f"{directory / WEIGHTS_FILE} does not fit its {CONFIG_FILE}: {err}") from None
    return model


def locate_model(root: str | Path) -> tuple[Path, Path | None] | None:
    """The model directory of a `denoise pretrain` run (``model/``) or of a denoise model directory, and the
    denoise tokenizer that goes with it (``tokenizer/`` inside or beside it; None when there is none); None
    when ``root`` holds neither."""
    from denoise.tokenizer import is_tokenizer_dir

    root = Path(root)
    if (root / "model" / CONFIG_FILE).is_file():
        model_dir, candidates = root / "model", [root / "tokenizer"]
    elif (root / CONFIG_FILE).is_file():
        model_dir, candidates = root, [root / "tokenizer", root.parent / "tokenizer"]
    else:
        return None
    return model_dir, next((c for c in candidates if is_tokenizer_dir(c)), None)
