"""A denoise model as a folder transformers loads (weights, tokenizer files, model card), and that folder on
the Hugging Face Hub.

``write_hf_folder`` is what ``denoise convert --to-hf`` writes; ``publish`` writes it to a temporary folder and
uploads it with ``huggingface_hub`` (``denoise publish``). A fine-tuned model is written as transformers' class
for its task, with its head and label names, where its family has one (``Transformers.save_task``), and is
refused by name otherwise; ``backbone_only`` writes its backbone alone.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from denoise.errors import DenoiseError


def fine_tuned_folder(source: Path) -> Path | None:
    """The fine-tuned model folder (``final/``) that ``source`` (its run, itself, or its backbone) names."""
    from denoise.models.init import TASK_FILE, fine_tuned_model_dir

    return fine_tuned_model_dir(source) or (source.parent if (source.parent / TASK_FILE).is_file() else None)


def model_to_export(source: Path, backbone_only: bool = False) -> Path:
    """The folder to export: a pre-training run's model, a model folder, or a fine-tuned model's ``final/``
    (its backbone, ``final/model``, with ``backbone_only``)."""
    source = Path(source)
    fine_tuned = fine_tuned_folder(source)
    if fine_tuned is not None:
        return fine_tuned / "model" if backbone_only else fine_tuned
    if (source / "model" / "model.json").is_file():
        return source / "model"  # a pre-training run
    return source


def write_task_model(fine_tuned: Path, folder: Path):
    """A fine-tuned model as transformers' class for its task (its family's ``save_task``); returns the
    backbone and what the fine-tuning recorded (kind, labels, test metrics), for the model card."""
    from denoise.finetune.loop import EVAL_FILE
    from denoise.finetune.store import load_task_model
    from denoise.models.families import family_of

    config, kind, _, task_model = load_task_model(fine_tuned)
    model, head = task_model.backbone.model, task_model.head
    family = family_of(model)
    save_task = family.transformers.save_task if family.transformers else None
    if save_task is None or head is None:
        raise DenoiseError(
            f"{fine_tuned} holds a {family.name} model fine-tuned for {config.task.kind}, whose head does not "
            "export to transformers; pass --backbone-only to export the backbone without it"
        )
    labels = {"qa": ["start", "end"], "regression": ["score"]}.get(config.task.kind)
    state = kind.state()  # what the training split defined
    labels = labels or state.get("labels") or state.get("tags") or []
    save_task(model, config.task.kind, task_model.backbone.mode, head.eval(), labels, folder)
    scores = fine_tuned.parent / EVAL_FILE  # the fine-tuning run's, beside its final/
    test = json.loads(scores.read_text()).get("test") if scores.is_file() else None
    return model, {"kind": config.task.kind, "labels": labels, "test": test}


def write_hf_folder(model_dir: Path, folder: Path) -> list[str]:
    """Write the model of ``model_dir`` (a model folder, or a fine-tuned ``final/``) into ``folder`` as a
    transformers checkpoint, with its model card and its tokenizer files (denoise's tokenizer from
    ``model_dir/tokenizer`` or beside it, converted; a model converted from transformers keeps its
    checkpoint's files); returns the tokenizer files written."""
    from denoise.hf_tokenizer import save_hf_tokenizer
    from denoise.model_card import write_model_card
    from denoise.models.checkpoint import load_model
    from denoise.models.families import family_of
    from denoise.models.hf import copy_tokenizer_files, to_hf
    from denoise.tokenizer import is_tokenizer_dir

    model_dir = Path(model_dir)
    if (model_dir / "model" / "model.json").is_file():  # a fine-tuned model, with its head
        model, task = write_task_model(model_dir, folder)
        write_model_card(model, model_dir / "model", folder, task)
    else:
        model = load_model(model_dir)
        to_hf(model, folder)
        write_model_card(model, model_dir, folder)
    beside = next(
        (d for d in (model_dir / "tokenizer", model_dir.parent / "tokenizer") if is_tokenizer_dir(d)), None
    )
    if beside is not None:
        return save_hf_tokenizer(beside, folder, family_of(model).starts_with_cls)
    own = model_dir / "tokenizer"  # a fine-tuned model from a transformers checkpoint keeps its files there
    return copy_tokenizer_files(own if own.is_dir() else model_dir, folder)


def publish(
    source: Path,
    repo_id: str,
    private: bool = False,
    token: str | None = None,
    backbone_only: bool = False,
    api=None,
) -> str:
    """Export ``source`` (a run or a model folder) and upload it to the Hub repository ``repo_id`` (created
    when it does not exist); returns the commit's URL. ``api``: a ``huggingface_hub.HfApi``, by default one
    with ``token`` (else the one ``huggingface-cli login`` saved)."""
    if api is None:
        try:
            from huggingface_hub import HfApi
        except ImportError:
            raise DenoiseError("publishing needs huggingface_hub: pip install huggingface_hub") from None
        api = HfApi(token=token)
    model_dir = model_to_export(source, backbone_only)
    with tempfile.TemporaryDirectory(prefix="denoise-publish-") as staging:
        folder = Path(staging) / "model"
        write_hf_folder(model_dir, folder)
        api.create_repo(repo_id, private=private, exist_ok=True)
        info = api.upload_folder(
            repo_id=repo_id, folder_path=str(folder), commit_message=f"denoise: {Path(source).resolve().name}"
        )
    return getattr(info, "commit_url", None) or str(info)
