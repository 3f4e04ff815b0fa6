"""Score a saved fine-tuned model on a split again, or on another file of the same task (``denoise evaluate``)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from denoise.files import write_json
from denoise.finetune.loop import EVAL_FILE, device_for
from denoise.finetune.store import load_task_model
from denoise.models.init import FINE_TUNED_DIR, fine_tuned_model_dir
from denoise.optim.step import Precision


def evaluate_saved(run: str | Path, split: str = "test", data: str | None = None) -> dict:
    """Metrics of the model fine-tuned in ``run`` (a `denoise finetune` output) on ``split``, read from the
    recipe's file for it or from ``data``; merged into ``run/eval.json``."""
    run = Path(run)
    saved_dir = fine_tuned_model_dir(run) or run / FINE_TUNED_DIR
    config, kind, tok, task_model = load_task_model(saved_dir)
    if data is not None:  # the kind reads its splits from its config
        config = replace(config, task=replace(config.task, hub=None, **{split: data}))
        kind.config = config
    examples = kind.read(split)
    if not examples:
        raise FileNotFoundError(f"the recipe names no {split} split; pass --data FILE")
    kind.check(examples, split)
    device = device_for()
    task_model = task_model.to(device)
    features = kind.features(examples, tok)
    metrics, _ = kind.score(
        task_model, examples, features, tok, device, Precision(config.precision, device.type).autocast
    )
    results_path = saved_dir.parent / EVAL_FILE if saved_dir.name == FINE_TUNED_DIR else saved_dir / EVAL_FILE
    results = json.loads(results_path.read_text()) if results_path.exists() else {}
    results[split if data is None else f"{split}:{data}"] = metrics
    write_json(results_path, results)
    return metrics
