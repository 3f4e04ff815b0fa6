"""Score a saved fine-tuned model on a split again, or on another file of the same task (``denoise evaluate``)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from denoise.errors import DenoiseError
from denoise.files import write_json
from denoise.finetune.config import saved_finetune_config
from denoise.finetune.loop import EVAL_FILE, device_for
from denoise.finetune.store import HEAD_FILE, load_parts, read_task
from denoise.finetune.task_model import build_task_model
from denoise.models.init import FINE_TUNED_DIR, TASK_FILE, fine_tuned_model_dir
from denoise.optim.step import Precision
from denoise.tasks.kinds import kind_named


def evaluate_saved(run: str | Path, split: str = "test", data: str | None = None) -> dict:
    """Metrics of the model fine-tuned in ``run`` (a `denoise finetune` output) on ``split``, read from the
    recipe's file for it or from ``data``; merged into ``run/eval.json``."""
    run = Path(run)
    saved_dir = fine_tuned_model_dir(run) or run / FINE_TUNED_DIR
    saved = read_task(saved_dir)
    config = saved_finetune_config(saved["config"], where=str(saved_dir / TASK_FILE))
    if data is not None:
        config = replace(config, task=replace(config.task, hub=None, **{split: data}))
    kind = kind_named(config.task.kind)(config)
    kind.load_state(saved["state"])
    examples = kind.read(split)
    if not examples:
        raise FileNotFoundError(f"the recipe names no {split} split; pass --data FILE")
    kind.check(examples, split)
    model, tok, head_state = load_parts(saved_dir)
    device = device_for()
    task_model = build_task_model(config, kind, model, head_state).to(device)
    if task_model.head is not None and head_state is None:
        raise DenoiseError(f"{saved_dir} lacks its head ({HEAD_FILE}); fine-tune again")
    features = kind.features(examples, tok)
    metrics, _ = kind.score(
        task_model, examples, features, tok, device, Precision(config.precision, device.type).autocast
    )
    results_path = saved_dir.parent / EVAL_FILE if saved_dir.name == FINE_TUNED_DIR else saved_dir / EVAL_FILE
    results = json.loads(results_path.read_text()) if results_path.exists() else {}
    results[split if data is None else f"{split}:{data}"] = metrics
    write_json(results_path, results)
    return metrics
