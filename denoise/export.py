"""A denoise model as a folder transformers loads (weights, tokenizer files, model card), and that folder on
the Hugging Face Hub.

``write_hf_folder`` is what ``denoise convert --to-hf`` writes; ``publish`` writes it to a temporary folder and
uploads it with ``huggingface_hub`` (``denoise publish``). A fine-tuned model is refused unless its backbone
alone is asked for: its task head does not export yet.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from denoise.errors import DenoiseError


def model_to_export(source: Path, backbone_only: bool = False) -> Path:
    """The model folder to export. A fine-tuned model (its run, its ``final/`` or the backbone in it) is
    refused unless ``backbone_only``: its task head does not export, and the backbone alone would drop what
    the head learnt."""
    from denoise.models.init import TASK_FILE, fine_tuned_model_dir

    source = Path(source)
    if (source / "model" / "model.json").is_file() and not (source / TASK_FILE).is_file():
        source = source / "model"  # a pre-training run
    fine_tuned = fine_tuned_model_dir(source) or (
        source.parent if (source.parent / TASK_FILE).is_file() else None
    )
    if fine_tuned is None:
        return source
    if not backbone_only:
        kind = json.loads((fine_tuned / TASK_FILE).read_text())["config"]["task"]["kind"]
        raise DenoiseError(
            f"{source} holds a model fine-tuned for {kind}; its task head does not export to transformers "
            "yet, and the backbone alone would lose what the head learnt. Pass --backbone-only to export the "
            "backbone without its head (nothing was written)"
        )
    return fine_tuned / "model"


def write_hf_folder(model_dir: Path, folder: Path) -> list[str]:
    """Write the model of ``model_dir`` into ``folder`` as a transformers checkpoint, with its model card and
    its tokenizer files (denoise's tokenizer from ``model_dir/tokenizer`` or beside it, converted; a model
    converted from transformers keeps its checkpoint's files); returns the tokenizer files written."""
    from denoise.hf_tokenizer import save_hf_tokenizer
    from denoise.model_card import write_model_card
    from denoise.models.checkpoint import load_model
    from denoise.models.families import family_of
    from denoise.models.hf import copy_tokenizer_files, to_hf
    from denoise.tokenizer import is_tokenizer_dir

    model_dir = Path(model_dir)
    model = load_model(model_dir)
    to_hf(model, folder)
    write_model_card(model, model_dir, folder)
    beside = next(
        (d for d in (model_dir / "tokenizer", model_dir.parent / "tokenizer") if is_tokenizer_dir(d)), None
    )
    if beside is not None:
        return save_hf_tokenizer(beside, folder, family_of(model).starts_with_cls)
    return copy_tokenizer_files(model_dir, folder)


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
