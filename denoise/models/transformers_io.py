"""Reading and writing transformers checkpoints, whatever the family: the library itself (an optional
dependency, imported only when a conversion is asked for), configs, weight files and tokenizer files."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import torch

from denoise.errors import DenoiseError
from denoise.files import staged_folder
from denoise.models.weights import read_safetensors, read_torch_weights

TOKENIZER_FILES = (
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "vocab.txt",
    "vocab.json",
    "merges.txt",
    "spiece.model",
    "added_tokens.json",
)


def import_transformers():
    try:
        import transformers
    except ImportError:
        raise DenoiseError("converting checkpoints needs transformers: pip install transformers") from None
    return transformers


def is_checkpoint_dir(directory: str | Path) -> bool:
    return (Path(directory) / "config.json").is_file()


def load_hf_config(model_or_dir):
    """The transformers config of an instantiated model, or of the checkpoint saved in a directory."""
    if hasattr(model_or_dir, "config") and hasattr(model_or_dir, "state_dict"):
        return model_or_dir.config
    directory = Path(model_or_dir)
    if not is_checkpoint_dir(directory):
        raise FileNotFoundError(f"no transformers checkpoint in {directory} (config.json is missing)")
    return import_transformers().AutoConfig.from_pretrained(directory)


def model_type(model_or_dir) -> str:
    """The transformers ``model_type`` of a checkpoint directory or an instantiated model."""
    return load_hf_config(model_or_dir).model_type


def read_weights(directory: Path) -> dict[str, torch.Tensor]:
    """Every tensor of a checkpoint directory: ``model.safetensors``, ``pytorch_model.bin`` or their shards."""
    for index_name, loader in (
        ("model.safetensors.index.json", read_safetensors),
        ("pytorch_model.bin.index.json", read_torch_weights),
    ):
        if (directory / index_name).is_file():
            shards = sorted(set(json.loads((directory / index_name).read_text())["weight_map"].values()))
            weights = {}
            for shard in shards:
                weights.update(loader(str(directory / shard)))
            return weights
    if (directory / "model.safetensors").is_file():
        return read_safetensors(directory / "model.safetensors")
    if (directory / "pytorch_model.bin").is_file():
        return read_torch_weights(directory / "pytorch_model.bin")
    raise FileNotFoundError(f"no weights in {directory} (model.safetensors or pytorch_model.bin)")


def describe(names: list[str], limit: int = 8) -> str:
    """The first ``limit`` of ``names``, and how many more there are."""
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def copy_tokenizer_files(source: str | Path, out_dir: str | Path) -> list[str]:
    """Copy a transformers checkpoint's tokenizer files (the converted model keeps its own tokenizer)."""
    copied = []
    for name in TOKENIZER_FILES:
        if (Path(source) / name).is_file():
            shutil.copy2(Path(source) / name, Path(out_dir) / name)
            copied.append(name)
    return copied


def save_task_class(
    architecture: str, hf_config, state: dict, head, head_names: dict, kind: str, labels: list, out_dir
) -> Path:
    """Write transformers' ``architecture`` (a task class) from the base model's ``state`` under its names and
    the task ``head``'s weights under ``head_names`` (denoise layer -> transformers layer), with ``id2label``
    from ``labels``; the folder is replaced only once complete."""
    state = dict(state)
    head_state = head.state_dict()
    for ours, named in head_names.items():
        for part in ("weight", "bias"):
            state[f"{named}.{part}"] = head_state[f"{ours}.{part}"].detach().clone()
    hf_config.architectures = [architecture]
    hf_config.num_labels = len(labels)
    hf_config.id2label = {i: str(label) for i, label in enumerate(labels)}
    hf_config.label2id = {str(label): i for i, label in enumerate(labels)}
    if kind == "regression":
        hf_config.problem_type = "regression"
    hf_model = getattr(import_transformers(), architecture)(hf_config)
    hf_model.load_state_dict(state, strict=True)
    out = Path(out_dir)
    with staged_folder(out) as staging:
        hf_model.save_pretrained(staging)
    return out
