"""What ``init=`` names, resolved in one place for every command that starts from a model.

``init`` takes:

- a `denoise pretrain` run: ``RUN/model/`` and ``RUN/tokenizer/``;
- a denoise model folder (``model.json``), with a denoise tokenizer in ``tokenizer/`` inside or beside it,
  or, for a folder written by ``denoise convert --from-hf``, the checkpoint's own tokenizer files in it;
- a `denoise finetune` run (its output folder or its ``final/``): the fine-tuned backbone and tokenizer;
- a transformers checkpoint folder (``config.json``), converted on load, with its own tokenizer files;
- ``scratch:FOLDER``: FOLDER's architecture and tokenizer with fresh weights (the baseline of a comparison);
- ``scratch``: a model built from settings (``model:``) with a given tokenizer, which the caller builds.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from torch import nn

from denoise import rng
from denoise.errors import DenoiseError
from denoise.models.checkpoint import CONFIG_FILE, load_model
from denoise.models.families import fresh_copy
from denoise.models.transformers_io import is_checkpoint_dir
from denoise.tokenizer import is_tokenizer_dir

SCRATCH = "scratch"
FINE_TUNED_DIR = "final"  # where a `denoise finetune` run keeps its model
TASK_FILE = "task.json"  # what marks a fine-tuned model folder


@dataclass(frozen=True)
class Init:
    value: str  # as it was given
    model_dir: Path | None = None  # a denoise model folder
    transformers_dir: Path | None = None  # a transformers checkpoint, converted on load
    tokenizer_dir: Path | None = None  # a denoise tokenizer, or a folder of transformers tokenizer files
    fresh: bool = False  # the architecture only: fresh weights (scratch:FOLDER)
    fine_tuned_dir: Path | None = None  # the `denoise finetune` model folder it came from, if any

    @property
    def scratch(self) -> bool:
        """``scratch``: nothing to load; the model comes from settings."""
        return self.model_dir is None and self.transformers_dir is None

    @property
    def denoise_tokenizer(self) -> bool:
        """The tokenizer is denoise's (SentencePiece), not a transformers checkpoint's files."""
        return self.tokenizer_dir is not None and is_tokenizer_dir(self.tokenizer_dir)

    def load_model(self, seed: int = 0) -> nn.Module:
        """The model; for ``scratch:`` a fresh copy of its architecture, drawn from ``seed``."""
        if self.scratch:
            raise DenoiseError("init=scratch loads no model; it is built from the model settings")
        if self.model_dir is not None:
            model = load_model(self.model_dir)
        else:
            from denoise.models.hf import from_hf

            model = from_hf(self.transformers_dir)
        if not self.fresh:
            return model
        with rng.isolated(seed):
            return fresh_copy(model)


def fine_tuned_model_dir(root: Path) -> Path | None:
    """The saved model of a `denoise finetune` run given as its output folder or its ``final/``."""
    for directory in (root, root / FINE_TUNED_DIR):
        if (directory / TASK_FILE).is_file():
            return directory
    return None


def resolve_init(value: str | Path) -> Init:
    """What ``value`` names; a clear error naming what was looked for when it names nothing usable."""
    text = str(value)
    if text == SCRATCH:
        return Init(text)
    if text.startswith(f"{SCRATCH}:"):
        return replace(resolve_init(text.removeprefix(f"{SCRATCH}:")), value=text, fresh=True)
    root = Path(text)
    if not root.is_dir():
        raise FileNotFoundError(
            f"init {root} is not a folder; give a pre-training run, a model folder, a fine-tuned run, a "
            "transformers checkpoint, scratch:RUN or scratch"
        )
    fine_tuned = fine_tuned_model_dir(root)
    if fine_tuned is not None:
        root = fine_tuned
    if (root / "model" / CONFIG_FILE).is_file():  # a pre-training run, or a fine-tuned model folder
        return Init(
            text, model_dir=root / "model", tokenizer_dir=root / "tokenizer", fine_tuned_dir=fine_tuned
        )
    if (root / CONFIG_FILE).is_file():  # a model folder
        beside = next(
            (d for d in (root / "tokenizer", root.parent / "tokenizer") if is_tokenizer_dir(d)), None
        )
        # without a denoise tokenizer: converted from transformers, the checkpoint's tokenizer files in it
        return Init(text, model_dir=root, tokenizer_dir=beside or root)
    if is_checkpoint_dir(root):
        return Init(text, transformers_dir=root, tokenizer_dir=root)
    raise DenoiseError(
        f"init {root} holds no denoise model ({CONFIG_FILE}, or model/{CONFIG_FILE}) and no transformers "
        "checkpoint (config.json); give the output folder of `denoise pretrain` or `denoise finetune`"
    )
