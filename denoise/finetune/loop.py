"""The fine-tuning loop: read the splits, build the task model, train for some epochs scoring the dev split
after each, then score dev and test, save the model and write ``OUT/eval.json``.

    from denoise.finetune.config import load_finetune_config
    from denoise.finetune.loop import finetune
    finetune(load_finetune_config("recipes/tasks/sentiment.yaml", ["init=runs/tiny_bert"]), "runs/sentiment")
"""

from __future__ import annotations

import json
import math
import random
import time
from dataclasses import replace
from pathlib import Path

import torch

from denoise import rng
from denoise.errors import DenoiseError
from denoise.files import write_json
from denoise.finetune.backbone import check_fit, load_backbone_model
from denoise.finetune.store import inherit_head, save_task_model
from denoise.finetune.task_model import build_task_model
from denoise.models.init import FINE_TUNED_DIR, resolve_init
from denoise.optim.optimizers import make_optimizer, parameter_groups
from denoise.optim.schedules import make_scheduler
from denoise.optim.step import Precision, Stepper
from denoise.outputs import Marker, output_folder, run_id
from denoise.tasks.framing import collate
from denoise.tasks.kinds import kind_named

EVAL_FILE = "eval.json"


def device_for() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def read_splits(config, kind) -> dict[str, list]:
    splits = {}
    for split, limit in (
        ("train", config.max_train_examples),
        ("dev", config.max_eval_examples),
        ("test", config.max_eval_examples),
    ):
        splits[split] = subsample(kind.read(split), limit)
    if not splits["train"]:
        raise DenoiseError("the task has no training split: set task.train (or task.hub)")
    kind.fit(splits["train"])
    for split in ("dev", "test"):
        kind.check(splits[split], split)
    return splits


def subsample(examples: list, limit: int | None) -> list:
    """``limit`` examples drawn evenly at random (the same ones for every seed and run), in file order."""
    if not limit or len(examples) <= limit:
        return examples
    keep = sorted(random.Random(0).sample(range(len(examples)), limit))
    return [examples[i] for i in keep]


COMMAND = "finetune"


def finetune_inputs(config) -> list[str | None]:
    """The folders and files a fine-tuning run reads, none of which its output may hold."""
    task = config.task
    return [config.init.removeprefix("scratch:"), config.tokenizer, task.train, task.dev, task.test]


def legacy_run(folder: Path) -> Marker | None:
    """A fine-tuning output written before output folders were marked."""
    return Marker(COMMAND) if (folder / EVAL_FILE).is_file() or (folder / FINE_TUNED_DIR).is_dir() else None


def finetune(config, out: str | Path, progress: bool = False, overwrite: bool = False) -> dict:
    """Fine-tune as ``config`` (a ``FinetuneConfig``) says; returns and writes the dev/test metrics. The
    output is written beside ``out`` and takes its place once complete; ``out`` may hold an earlier run of
    the same recipe, or with ``overwrite`` another denoise output (see :mod:`denoise.outputs`)."""
    started = time.perf_counter()
    run = run_id(config.to_mapping())
    inputs = finetune_inputs(config)
    with output_folder(out, COMMAND, run, inputs=inputs, overwrite=overwrite, legacy=legacy_run) as folder:
        kind = kind_named(config.task.kind)(config)
        splits = read_splits(config, kind)
        model, tok = load_backbone_model(config)
        check_fit(model, tok)
        with rng.isolated(config.seed):  # the head's fresh weights and dropout draw from the run's generators
            results = train_and_score(config, kind, splits, model, tok, folder, progress)
        results["seconds"] = time.perf_counter() - started
        write_json(folder / EVAL_FILE, results)
    return results


def train_and_score(config, kind, splits: dict, model, tok, out: Path, progress: bool) -> dict:
    device = device_for()
    task_model = build_task_model(config, kind, model)
    config = replace(config, mode=task_model.backbone.mode)  # saved as chosen, the family's default resolved
    head_inherited = inherit_head(
        resolve_init(config.init), config.task.kind, config.mode, kind.state(), task_model.head
    )
    task_model = task_model.to(device)
    autocast = Precision(config.precision, device.type).autocast
    features = {split: kind.features(examples, tok) for split, examples in splits.items() if examples}
    history = train(config, kind, task_model, features, tok, device, autocast, splits, progress)
    if splits["dev"]:
        kind.tune(task_model, splits["dev"], features["dev"], tok, device, autocast)
    results = {"name": config.name, "init": config.init, "mode": config.mode, "history": history}
    results["head"] = "inherited from init" if head_inherited else "new"
    for split in ("dev", "test"):
        if splits[split]:
            metrics, predictions = kind.score(
                task_model, splits[split], features[split], tok, device, autocast
            )
            results[split] = metrics
            write_predictions(out / f"predictions-{split}.jsonl", predictions)
    save_task_model(task_model, tok, config.to_mapping(), kind.state(), out)
    return results


def train(config, kind, task_model, all_features, tok, device, autocast, splits, progress) -> list[dict]:
    features = all_features["train"]
    steps_per_epoch = math.ceil(len(features) / config.batch_size)
    total = config.max_steps or config.epochs * steps_per_epoch
    o = config.optimizer
    embedding_lr = o.lr * o.embedding_lr_scale if o.embedding_lr_scale != 1.0 else None
    optimizer = make_optimizer(parameter_groups(task_model, o.weight_decay, embedding_lr), o.name, o.lr)
    scheduler = make_scheduler(optimizer, "linear", int(o.warmup_ratio * total), total, 0.0)
    precision = Precision(config.precision, device.type)
    stepper = Stepper(optimizer, scheduler, precision, o.clip_norm, parameters=task_model.parameters)
    generator = torch.Generator().manual_seed(config.seed)
    history, step = [], 0
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=total, desc=config.name, unit="step")
    for epoch in range(math.ceil(total / steps_per_epoch)):
        task_model.train()
        order = torch.randperm(len(features), generator=generator).tolist()
        losses = []
        for start in range(0, len(order), config.batch_size):
            if step == total:
                break
            batch = collate([features[i] for i in order[start : start + config.batch_size]], tok.pad_id)
            batch = {k: v.to(device) for k, v in batch.items()}
            with autocast():
                loss = task_model.loss(task_model(**batch), kind.targets(batch))
            if not math.isfinite(loss.item()):
                raise DenoiseError(
                    f"fine-tuning loss is {loss.item()} at step {step + 1}; lower optimizer.lr"
                )
            stepper.backward(loss)
            stepper.step()
            losses.append(loss.item())
            step += 1
            if bar is not None:
                bar.update(1)
                bar.set_postfix(loss=f"{loss.item():.3f}")
        record = {"epoch": epoch + 1, "step": step, "train_loss": sum(losses) / max(len(losses), 1)}
        if splits["dev"] and config.dev_each_epoch:
            record["dev"] = kind.score(task_model, splits["dev"], all_features["dev"], tok, device, autocast)[
                0
            ]
        history.append(record)
    if bar is not None:
        bar.close()
    return history


def write_predictions(path: Path, predictions: list) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as f:
        for prediction in predictions:
            f.write(json.dumps(prediction) + "\n")
