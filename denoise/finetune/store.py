"""A fine-tuned model on disk: ``model/`` (the backbone, a denoise model directory), ``head.safetensors``,
``tokenizer/`` and ``task.json`` (the recipe and what the training split defined, such as label names)."""

from __future__ import annotations

import json
from pathlib import Path

from denoise.errors import DenoiseError
from denoise.files import staged_folder
from denoise.models.checkpoint import load_model, save_model
from denoise.models.families import family_of
from denoise.models.init import FINE_TUNED_DIR, TASK_FILE, Init
from denoise.models.weights import read_safetensors
from denoise.tasks.text import HFTaskTokenizer, SentencePieceTaskTokenizer, TaskTokenizer
from denoise.tokenizer import Tokenizer, is_tokenizer_dir

HEAD_FILE = "head.safetensors"


def save_task_model(
    task_model, tok: TaskTokenizer, config_mapping: dict, kind_state: dict, out: Path
) -> None:
    """Write everything to a temporary folder, then rename it to ``out/final``."""
    from safetensors.torch import save_file

    with staged_folder(Path(out) / FINE_TUNED_DIR) as staging:
        save_model(task_model.backbone.model, staging / "model")
        if task_model.head is not None:
            save_file(
                {k: v.contiguous() for k, v in task_model.head.state_dict().items()}, staging / HEAD_FILE
            )
        if isinstance(tok, SentencePieceTaskTokenizer):
            tok.tokenizer.save(staging / "tokenizer")
        else:
            tok.tokenizer.save_pretrained(staging / "tokenizer")
        (staging / TASK_FILE).write_text(
            json.dumps({"config": config_mapping, "state": kind_state}, indent=2)
        )


def read_task(directory: Path) -> dict:
    path = Path(directory) / TASK_FILE
    if not path.exists():
        raise FileNotFoundError(
            f"no fine-tuned model in {directory} (needs {TASK_FILE}); run `denoise finetune`"
        )
    return json.loads(path.read_text())


def load_parts(directory: Path):
    """The backbone model, the tokenizer and the head weights saved in ``directory``."""
    directory = Path(directory)
    model = load_model(directory / "model")
    if is_tokenizer_dir(directory / "tokenizer"):
        tok: TaskTokenizer = SentencePieceTaskTokenizer(
            Tokenizer.load(directory / "tokenizer"), with_cls=family_of(model).starts_with_cls
        )
    else:
        tok = HFTaskTokenizer.load(directory / "tokenizer")
    head = read_safetensors(directory / HEAD_FILE) if (directory / HEAD_FILE).exists() else None
    return model, tok, head


def inherit_head(init: Init, kind_name: str, mode: str, kind_state: dict, head) -> bool:
    """Load into ``head`` the head of the fine-tuned run ``init`` names, when it was fine-tuned on a task of
    the same kind, in the same mode, with the same label or tag names (``kind_state``) and a head of the
    same shapes: a QA run before another QA task, a sentiment classifier before another with its labels.
    True when it did."""
    directory = init.fine_tuned_dir if head is not None and not init.fresh else None
    if directory is None or not (directory / HEAD_FILE).is_file():
        return False
    saved = read_task(directory)
    config, state = saved["config"], saved["state"]
    if config["task"]["kind"] != kind_name or config.get("mode", "encoder") != mode:
        return False
    if any(state.get(key) != kind_state.get(key) for key in ("labels", "tags")):
        return False
    weights = read_safetensors(directory / HEAD_FILE)
    own = head.state_dict()
    if set(weights) != set(own) or any(weights[k].shape != own[k].shape for k in own):
        return False
    head.load_state_dict(weights)
    return True


def load_task_model(directory: Path):
    """The fine-tuned model saved in ``directory`` as it was trained: its recipe (a ``FinetuneConfig``), its
    task kind with what the training split defined, the tokenizer and the backbone with its head."""
    from denoise.finetune.config import saved_finetune_config
    from denoise.finetune.task_model import build_task_model
    from denoise.tasks.kinds import kind_named

    saved = read_task(directory)
    config = saved_finetune_config(saved["config"], where=str(Path(directory) / TASK_FILE))
    kind = kind_named(config.task.kind)(config)
    kind.load_state(saved["state"])
    model, tok, head_state = load_parts(directory)
    task_model = build_task_model(config, kind, model, head_state)
    if task_model.head is not None and head_state is None:
        raise DenoiseError(f"{directory} lacks its head ({HEAD_FILE}); fine-tune again")
    return config, kind, tok, task_model
