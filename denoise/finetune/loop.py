"""The fine-tuning loop: read the splits, build the task model, train up to the budget scoring the dev split
as it goes (stopping once it no longer improves), keep the best weights, then score dev and test, save the
model and write ``OUT/eval.json``. A list of learning rates is a sweep: each is trained from the same start
and the best on dev is kept.

    from denoise.finetune.config import load_finetune_config
    from denoise.finetune.loop import finetune
    finetune(load_finetune_config("recipes/tasks/sentiment.yaml", ["init=runs/tiny_bert"]), "runs/sentiment")
"""

from __future__ import annotations

import copy
import json
import math
import random
import time
from dataclasses import dataclass, replace
from pathlib import Path

import torch

from denoise import rng
from denoise.errors import DenoiseError
from denoise.files import write_json
from denoise.finetune.backbone import check_fit, load_backbone_model
from denoise.finetune.probe import ProbeModel, check_probe, with_states
from denoise.finetune.rates import rates_to_try
from denoise.finetune.selection import DevSelection
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
        if config.sweeps and not splits["dev"]:
            raise DenoiseError(
                f"optimizer.lr={config.optimizer.lr} is a sweep, chosen on the dev split, and the task has "
                "none: set task.dev, or give one rate"
            )
        model, tok = load_backbone_model(config)
        check_fit(model, tok)
        with rng.isolated(config.seed):  # the head's fresh weights and dropout draw from the run's generators
            results = choose_and_score(config, kind, splits, model, tok, folder, progress)
        results["seconds"] = time.perf_counter() - started
        write_json(folder / EVAL_FILE, results)
    return results


@dataclass
class Trial:
    """One learning rate trained: the model kept (the best or the last weights), how it trained, and its dev
    score."""

    config: object  # the FinetuneConfig with this trial's rate and resolved mode
    task_model: torch.nn.Module  # backbone and head, as saved
    scorer: torch.nn.Module  # what scores features: the task model, or a probe's head on cached states
    features: dict[str, list[dict]]  # per split, with the states a probe reads
    history: list[dict]
    curve: list[list[float]]  # [step, mean training loss] at even intervals
    best_step: int | None  # the step of the weights kept, when kept for their dev score
    dev: float | None  # the headline dev score of the weights kept
    head_inherited: bool

    def summary(self) -> dict:
        return {"lr": self.config.optimizer.lr, "dev": self.dev, "best_step": self.best_step}


def choose_and_score(config, kind, splits: dict, model, tok, out: Path, progress: bool) -> dict:
    """Train each learning rate in turn from the same start, keep the best on dev, then score and save it."""
    device = device_for()
    autocast = Precision(config.precision, device.type).autocast
    features = {split: kind.features(examples, tok) for split, examples in splits.items() if examples}
    rates = rates_to_try(config.optimizer.lr, model.d_model, config.probe)
    start = copy.deepcopy(model) if len(rates) > 1 else None
    chosen, sweep = None, []
    for index, lr in enumerate(rates):
        trial_config = replace(config, optimizer=replace(config.optimizer, lr=lr))
        trial_model = model if index == 0 else copy.deepcopy(start)
        with rng.isolated(config.seed):  # every rate starts from the same head and sees the same order
            trial = train_trial(
                trial_config, kind, splits, features, trial_model, tok, device, autocast, progress
            )
        sweep.append(trial.summary())
        if chosen is None or trial.dev > chosen.dev:
            chosen = trial
    config = chosen.config
    if splits["dev"]:
        kind.tune(chosen.scorer, splits["dev"], chosen.features["dev"], tok, device, autocast)
    results = {"name": config.name, "init": config.init, "mode": config.mode, "lr": config.optimizer.lr}
    results.update(history=chosen.history, train_curve=chosen.curve, best_step=chosen.best_step)
    results.update(probe=config.probe, head="inherited from init" if chosen.head_inherited else "new")
    if len(rates) > 1:
        results["sweep"] = sweep
    for split in ("dev", "test"):
        if splits[split]:
            metrics, predictions = kind.score(
                chosen.scorer, splits[split], chosen.features[split], tok, device, autocast
            )
            results[split] = metrics
            write_predictions(out / f"predictions-{split}.jsonl", predictions)
    save_task_model(chosen.task_model, tok, config.to_mapping(), kind.state(), out)
    return results


def train_trial(config, kind, splits, features, model, tok, device, autocast, progress) -> Trial:
    """The task model on ``model`` trained at ``config``'s one rate, with the weights to keep loaded."""
    task_model = build_task_model(config, kind, model)
    config = replace(config, mode=task_model.backbone.mode)  # saved as chosen, the family's default resolved
    inherited = inherit_head(
        resolve_init(config.init), config.task.kind, config.mode, kind.state(), task_model.head
    )
    task_model = task_model.to(device)
    scorer = task_model
    if config.probe:
        check_probe(kind, task_model.head)
        task_model.backbone.requires_grad_(False)
        pad = tok.pad_id
        features = {
            split: with_states(task_model.backbone, found, pad, config.eval_batch_size, device, autocast)
            for split, found in features.items()
        }
        scorer = ProbeModel(task_model.head)
    history, curve, selection, last_dev = train(config, kind, scorer, features, splits, tok, device, progress)
    kept_best = config.keep == "best" and selection.best_step is not None
    if kept_best:
        selection.restore_best(scorer)
    dev = selection.best if kept_best else last_dev
    best_step = selection.best_step if kept_best else None
    return Trial(config, task_model, scorer, features, history, curve, best_step, dev, inherited)


def train(config, kind, model, all_features, splits, tok, device, progress):
    """Train ``model`` (a task model, or a probe) on the training features up to the budget, scoring the dev
    split every ``eval_interval`` steps (or epoch) and stopping after ``patience`` scores without a better one.
    Returns the history (a record per evaluation), the loss curve, the dev selection and the last dev score."""
    features = all_features["train"]
    steps_per_epoch = math.ceil(len(features) / config.batch_size)
    total = config.max_steps or config.epochs * steps_per_epoch
    interval = config.eval_interval or steps_per_epoch
    o = config.optimizer
    embedding_lr = o.lr * o.embedding_lr_scale if o.embedding_lr_scale != 1.0 else None
    optimizer = make_optimizer(parameter_groups(model, o.weight_decay, embedding_lr), o.name, o.lr)
    scheduler = make_scheduler(optimizer, "linear", int(o.warmup_ratio * total), total, 0.0)
    precision = Precision(config.precision, device.type)
    stepper = Stepper(optimizer, scheduler, precision, o.clip_norm, parameters=model.parameters)
    generator = torch.Generator().manual_seed(config.seed)
    selection = DevSelection(config.patience, keep_best=config.keep == "best")
    scores_dev = bool(splits["dev"]) and (config.scores_dev_while_training or config.sweeps)
    curve = LossCurve(total)
    history, losses, step, last_dev = [], [], 0, None
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=total, desc=config.name, unit="step")
    while step < total and not selection.should_stop:
        model.train()
        order = torch.randperm(len(features), generator=generator).tolist()
        for begin in range(0, len(order), config.batch_size):
            batch = collate([features[i] for i in order[begin : begin + config.batch_size]], tok.pad_id)
            batch = {k: v.to(device) for k, v in batch.items()}
            with precision.autocast():
                loss = model.loss(model(**batch), kind.targets(batch))
            value = loss.item()  # one device sync a step
            if not math.isfinite(value):
                raise DenoiseError(
                    f"fine-tuning loss is {value} at step {step + 1} (optimizer.lr={o.lr}); lower "
                    "optimizer.lr"
                )
            stepper.backward(loss)
            stepper.step()
            losses.append(value)
            curve.add(value)
            step += 1
            if bar is not None:
                bar.update(1)
                bar.set_postfix(loss=f"{value:.3f}")
            if step % interval == 0 or step == total:
                record = {"epoch": epochs_done(step, steps_per_epoch), "step": step}
                record["train_loss"] = sum(losses) / len(losses)
                losses = []
                if scores_dev:
                    record["dev"] = kind.score(
                        model, splits["dev"], all_features["dev"], tok, device, precision.autocast
                    )[0]
                    last_dev = kind.headline(record["dev"])[1]
                    selection.offer(step, last_dev, model)
                    model.train()
                history.append(record)
            if step == total or selection.should_stop:
                break
    if bar is not None:
        bar.close()
    curve.flush()
    return history, curve.points, selection, last_dev


def epochs_done(step: int, steps_per_epoch: int) -> int | float:
    """Passes over the training split after ``step`` steps: whole when it ends one."""
    return step // steps_per_epoch if step % steps_per_epoch == 0 else round(step / steps_per_epoch, 3)


class LossCurve:
    """The training loss at about 200 even points of a run: the mean over each window of steps."""

    POINTS = 200

    def __init__(self, total_steps: int):
        self.window = max(1, math.ceil(total_steps / self.POINTS))
        self.points: list[list[float]] = []
        self.pending: list[float] = []
        self.step = 0

    def add(self, loss: float) -> None:
        self.step += 1
        self.pending.append(loss)
        if len(self.pending) == self.window:
            self.flush()

    def flush(self) -> None:
        if self.pending:
            self.points.append([self.step, round(sum(self.pending) / len(self.pending), 5)])
            self.pending = []


def write_predictions(path: Path, predictions: list) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as f:
        for prediction in predictions:
            f.write(json.dumps(prediction) + "\n")
