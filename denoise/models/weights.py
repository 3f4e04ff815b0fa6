"""Weight files checked before they are read: a file cut short or of another kind stops with its name and
what is wrong, instead of a reader's traceback."""

from __future__ import annotations

import json
from pathlib import Path

import torch

from denoise.errors import DenoiseError


def weights_problem(path: str | Path) -> str | None:
    """What is wrong with the safetensors file ``path`` (missing, cut short, not safetensors), or None. Reads
    only its header: the file must be exactly as long as the header says."""
    path = Path(path)
    if not path.is_file():
        return f"{path} is missing"
    size = path.stat().st_size
    with open(path, "rb") as handle:
        start = handle.read(8)
        length = int.from_bytes(start, "little") if len(start) == 8 else -1
        if length < 2 or length > size - 8:
            return f"{path} is not a safetensors file ({size} bytes, no readable header)"
        try:
            header = json.loads(handle.read(length))
            end = max((t["data_offsets"][1] for k, t in header.items() if k != "__metadata__"), default=0)
        except (ValueError, KeyError, TypeError, AttributeError):
            return f"{path} is not a safetensors file (its header is not safetensors JSON)"
    if 8 + length + end != size:
        return f"{path} is cut short or damaged: {size} bytes where its header describes {8 + length + end}"
    return None


def check_weights(path: str | Path) -> None:
    """Stop with the reason when ``path`` is not a complete safetensors file."""
    reason = weights_problem(path)
    if reason:
        raise DenoiseError(f"{reason}; save or download the model again")


def read_safetensors(path: str | Path) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    check_weights(path)
    return load_file(str(path))


def read_torch_weights(path: str | Path) -> dict[str, torch.Tensor]:
    """A ``pytorch_model.bin`` state dict (tensors only)."""
    try:
        return torch.load(str(path), map_location="cpu", weights_only=True)
    except (RuntimeError, EOFError, OSError) as err:
        raise DenoiseError(
            f"{path} is cut short or not a torch weights file ({err}); download it again"
        ) from None


def check_checkpoint_weights(directory: str | Path) -> None:
    """Stop with the reason when a transformers checkpoint's safetensors files (or shards) are incomplete."""
    directory = Path(directory)
    index = directory / "model.safetensors.index.json"
    if index.is_file():
        names = sorted(set(json.loads(index.read_text())["weight_map"].values()))
    else:
        names = ["model.safetensors"]
    for name in names:
        if (directory / name).is_file():
            check_weights(directory / name)
