"""Interop with transformers checkpoints: ``from_hf`` picks the converter by the checkpoint's model type.

transformers is optional: it is imported only here, when a conversion is asked for.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from torch import nn

from denoise.errors import DenoiseError

ENCODER_TYPES = ("bert", "roberta")
SEQ2SEQ_TYPES = ("bart", "t5")
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


def model_type(model_or_dir) -> str:
    """The transformers ``model_type`` of a checkpoint directory or an instantiated model."""
    if hasattr(model_or_dir, "config"):
        return model_or_dir.config.model_type
    directory = Path(model_or_dir)
    if not (directory / "config.json").is_file():
        raise FileNotFoundError(f"no transformers checkpoint in {directory} (config.json is missing)")
    return import_transformers().AutoConfig.from_pretrained(directory).model_type


def from_hf(model_or_dir) -> nn.Module:
    """A denoise Bert or EncoderDecoder with the weights of a local transformers checkpoint (or model)."""
    kind = model_type(model_or_dir)
    if kind in ENCODER_TYPES:
        from denoise.models.hf_bert import bert_from_hf

        return bert_from_hf(model_or_dir)
    if kind in SEQ2SEQ_TYPES:
        from denoise.models.hf_seq2seq import seq2seq_from_hf

        return seq2seq_from_hf(model_or_dir)
    raise DenoiseError(
        f"cannot convert a {kind!r} checkpoint; denoise converts {', '.join(ENCODER_TYPES + SEQ2SEQ_TYPES)}"
    )


def to_hf(model: nn.Module, out_dir: str | Path) -> Path:
    """Write ``model`` as a transformers checkpoint directory."""
    from denoise.models.bert import Bert

    if isinstance(model, Bert):
        from denoise.models.hf_bert import bert_to_hf

        bert_to_hf(model, out_dir)
    else:
        from denoise.models.hf_seq2seq import seq2seq_to_hf

        seq2seq_to_hf(model, out_dir)
    return Path(out_dir)


def copy_tokenizer_files(source: str | Path, out_dir: str | Path) -> list[str]:
    """Copy a transformers checkpoint's tokenizer files (the converted model keeps its own tokenizer)."""
    copied = []
    for name in TOKENIZER_FILES:
        if (Path(source) / name).is_file():
            shutil.copy2(Path(source) / name, Path(out_dir) / name)
            copied.append(name)
    return copied
