"""Run a comparison grid: pre-train each cell, fine-tune it (and each family from scratch) on every task.

Everything lands under one folder, and a step whose result is already there is skipped, so a killed grid
finishes on the next call without redoing finished cells:

    OUT/budget/CELL.json               a seconds or FLOPs budget's rate for the cell, measured once
    OUT/pretrain/CELL/                 a `denoise pretrain` run; summary.json once it has finished
    OUT/finetune/CELL/TASK/seed-N/     a `denoise finetune` output; eval.json once it has finished
    OUT/curve/CELL/step-S/TASK/seed-N/ the same from the cell's snapshot at step S (downstream.curve)
    OUT/baselines/TASK.json            the task's baseline that needs no pre-training
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from denoise.compare.budget import Budgeting, with_tokens
from denoise.compare.config import Cell, GridConfig
from denoise.errors import DenoiseError
from denoise.files import write_json
from denoise.finetune.config import FinetuneConfig, load_finetune_config
from denoise.finetune.loop import finetune, read_splits
from denoise.models.checkpoint import CONFIG_FILE, saved_family
from denoise.models.families import family_named
from denoise.tasks.example_scores import ExampleScores
from denoise.tasks.kinds import kind_named
from denoise.train.config import PretrainConfig, load_config
from denoise.train.data import prepare_data
from denoise.train.loop import pretrain
from denoise.train.metrics import read_metrics
from denoise.train.snapshots import snapshots_of

SUMMARY = "summary.json"
EVAL = "eval.json"


@dataclass(frozen=True)
class Entry:
    """One row of the results: a cell (or a family's scratch baseline, or a task's baseline that needs no
    pre-training) on a task with a seed."""

    cell: str
    family: str
    corruption: str
    init: str  # pre-trained | scratch
    task: str
    split: str  # test, or dev for a task without a test split
    metric: str
    seed: int
    value: float
    fraction: float | None = None  # of the cell's pre-training at the scored point (1: its end)
    flops: float | None = None  # model FLOPs of pre-training up to that point


def say(message: str) -> None:
    """Progress lines, shown at once even when the output goes to a file."""
    print(message, flush=True)


class Grid:
    def __init__(self, config: GridConfig, out: str | Path, log: Callable[[str], None] = say):
        self.config, self.out, self.log = config, Path(out), log
        self.read_tasks: dict[str, tuple] = {}
        self.prepared: dict[str, Path] = {}  # data settings -> their prepared corpus
        self.budgeting = Budgeting(config.budget, self.out, lambda message: self.log(message))
        self.tasks = {self.task_name(task): config.path(task) for task in config.downstream.tasks}
        for name, recipe in self.tasks.items():
            if not recipe.is_file():
                raise FileNotFoundError(f"task recipe {recipe} (task {name!r} of the grid) does not exist")
        # Read every recipe now, so that a mistake in one stops the grid before hours of pre-training.
        self.kinds = {
            name: kind_named(load_finetune_config(recipe).task.kind) for name, recipe in self.tasks.items()
        }
        for cell in config.cells:
            if cell.recipe:
                load_config(config.path(cell.recipe), [*config.data, *cell.settings])

    @staticmethod
    def task_name(task: str) -> str:
        return Path(task).stem

    # -- pre-training ---------------------------------------------------------------------------------------

    def cell_config(self, cell: Cell, prepared: Path) -> PretrainConfig:
        settings = [*self.config.data, *cell.settings, f"data.prepared={prepared}", f"name={cell.name}"]
        if self.config.threads:
            settings.append(f"training.threads={self.config.threads}")
        if self.config.downstream.curve:
            settings.append(f"training.snapshots={list(self.config.downstream.curve)}")
        base = load_config(self.config.path(cell.recipe), settings)
        if self.config.budget.tokens is not None:
            return with_tokens(base, self.config.budget.tokens)
        return base

    def prepared_data(self, cell: Cell) -> Path:
        """The corpus as ``cell`` reads it, prepared once for each distinct data setting (and cached): every
        cell reads the grid's text with the tokenizer trained on it, and a cell may pack it into blocks of its
        own size."""
        config = load_config(self.config.path(cell.recipe), [*self.config.data, *cell.settings])
        key = repr(config.data)
        if key not in self.prepared:
            self.prepared[key] = prepare_data(config.data)[1]
        return self.prepared[key]

    def pretrained(self, cell: Cell, prepared: Path | None) -> Path:
        """The finished pre-training run of ``cell``: given, found from an earlier call, or trained now."""
        if cell.run:
            run = self.config.path(cell.run)
            if not (run / "model").is_dir():
                raise DenoiseError(
                    f"cell {cell.name!r}: {run} is not a finished pre-training run (no model/)"
                )
            return run
        folder = self.out / "pretrain" / cell.name
        if (folder / SUMMARY).exists():
            self.log(f"{cell.name}: pre-trained earlier, skipped")
            return folder
        config = self.cell_config(cell, prepared)
        if self.config.budget.seconds is not None or self.config.budget.flops is not None:
            config = self.budgeting.calibrated(cell, config)
        resume = (folder / "checkpoints").is_dir() and any((folder / "checkpoints").glob("step-*"))
        self.log(
            f"{cell.name}: pre-training {config.model.family} with {config.corruption!r}"
            + (" (resuming)" if resume else "")
        )
        summary = pretrain(config, folder, resume=resume, progress=False)
        (folder / SUMMARY).write_text(json.dumps(summary, indent=2, default=str))
        return folder

    # -- fine-tuning ----------------------------------------------------------------------------------------

    def task_config(self, task: str, init: str, seed: int) -> FinetuneConfig:
        recipe = self.tasks[task]
        base = load_finetune_config(recipe)
        settings = [f"init={init}", f"seed={seed}", *self.config.downstream.settings]
        settings += list(self.config.downstream.task_settings.get(task, []))
        if self.config.downstream.mode == "probe":
            settings.append("probe=true")
        if self.config.threads:
            settings.append(f"threads={self.config.threads}")
        tasks_dir = self.config.path(self.config.downstream.tasks_dir)
        for split in ("train", "dev", "test"):
            path = getattr(base.task, split)
            if path and not Path(path).is_absolute() and Path(path).parts[0] == "tasks":
                settings.append(f"task.{split}={tasks_dir.joinpath(*Path(path).parts[1:])}")
        return load_finetune_config(recipe, settings)

    def finetuned(self, folder: Path, label: str, init: str, task: str, seed: int) -> dict:
        if (folder / EVAL).exists():
            return json.loads((folder / EVAL).read_text())
        self.log(f"{label}: fine-tuning on {task}, seed {seed}")
        return finetune(self.task_config(task, init, seed), folder)

    # -- the whole grid -------------------------------------------------------------------------------------

    def runs(self) -> list[tuple[Cell, Path]]:
        """Every cell's finished pre-training run, training those not yet finished."""
        return [
            (cell, self.pretrained(cell, self.prepared_data(cell) if cell.recipe else None))
            for cell in self.config.cells
        ]

    def run(self) -> list[Entry]:
        runs = self.runs()
        self.pretrained_runs = {cell.name: run for cell, run in runs}
        self.train_curves: dict[tuple[str, str], list] = {}  # (cell, task) -> the first seed's loss curve
        self.example_scores: dict[
            tuple[str, str, int], ExampleScores
        ] = {}  # (cell, task, seed) -> per example
        entries = []
        for cell, run in runs:
            points = [(run, 1.0, run_flops(run), self.out / "finetune" / cell.name)]
            points += [
                (folder, record["fraction"], record["flops"], self.out / "curve" / cell.name / folder.name)
                for folder, record in snapshots_of(run)
                if record["fraction"] < 1
            ]
            for init, fraction, flops, folder in points:
                start = Start(cell.name, run_family(run), run_corruption(run), "pre-trained", str(init))
                entries += self.scored(start, folder, fraction, flops)
        if self.config.baseline:
            first_of_family: dict[str, Path] = {}
            for _, run in runs:
                first_of_family.setdefault(run_family(run), run)
            for family, run in first_of_family.items():
                start = Start(f"{family}-scratch", family, "-", "scratch", f"scratch:{run}")
                entries += self.scored(start, self.out / "finetune" / start.label, None, None)
        if self.config.downstream.baselines:
            for task in self.tasks:
                entries += self.baseline(task)
        return entries

    def task_splits(self, task: str):
        """The task's kind, fitted on its training split, and its splits as every cell's fine-tuning reads them
        (read once)."""
        if task not in self.read_tasks:
            config = self.task_config(task, "scratch", self.config.seeds[0])
            kind = kind_named(config.task.kind)(config)
            self.read_tasks[task] = kind, read_splits(config, kind)
        return self.read_tasks[task]

    def example_scores_of(self, task: str, split: str, run: Path) -> ExampleScores | None:
        """Each scored example's part of the headline in a fine-tuning run (from its predictions), where the
        kind's headline is a mean or a ratio of sums over examples."""
        kind, splits = self.task_splits(task)
        path = run / f"predictions-{split}.jsonl"
        if not path.exists():
            return None
        predictions = [json.loads(line) for line in path.read_text().splitlines() if line]
        return kind.example_scores(splits[split], predictions)

    def baseline(self, task: str) -> list[Entry]:
        """The task's baseline that needs no pre-training (the kind's, fitted in seconds on the same training
        examples as the cells; kept in ``OUT/baselines/TASK.json``), or nothing for a kind without one."""
        path = self.out / "baselines" / f"{task}.json"
        if path.exists():
            saved = json.loads(path.read_text())
        else:
            kind, splits = self.task_splits(task)
            split = "test" if splits["test"] else "dev"
            found = kind.baseline(splits["train"], splits[split])
            saved = (
                {"name": None} if found is None else {"name": found[0], "split": split, "metrics": found[1]}
            )
            write_json(path, saved)
        if saved["name"] is None:
            return []
        metric, value = self.kinds[task].headline(saved["metrics"])
        return [Entry(saved["name"], "-", "-", "baseline", task, saved["split"], metric, 0, value)]

    def scored(self, start: Start, folder: Path, fraction: float | None, flops: float | None) -> list[Entry]:
        """Fine-tune ``start`` on every task it fits with every seed (or read the results kept in
        ``folder``)."""
        entries = []
        for task in self.tasks:
            if not self.fits(task, start.family):
                continue
            for seed in self.config.seeds:
                results = self.finetuned(folder / task / f"seed-{seed}", start.label, start.init, task, seed)
                split = scored_split(results, self.tasks[task])
                if fraction in (1.0, None):
                    self.train_curves.setdefault((start.label, task), results.get("train_curve", []))
                    found = self.example_scores_of(task, split, folder / task / f"seed-{seed}")
                    if found is not None:
                        self.example_scores[(start.label, task, seed)] = found
                metric, value = self.kinds[task].headline(results[split])
                entries.append(
                    Entry(
                        start.label,
                        start.family,
                        start.corruption,
                        start.init_kind,
                        task,
                        split,
                        metric,
                        seed,
                        value,
                        fraction,
                        flops,
                    )
                )
        return entries

    def fits(self, task: str, family: str) -> bool:
        """Generation needs a model that writes text: cells of other families skip generation tasks."""
        return family_named(family).generates or not self.kinds[task].writes_text


@dataclass(frozen=True)
class Start:
    """What a row of results fine-tunes from."""

    label: str  # the cell, or FAMILY-scratch
    family: str
    corruption: str  # the cell's recipe, - for scratch
    init_kind: str  # pre-trained | scratch
    init: str  # the fine-tuning's init=


def run_flops(run: Path) -> float | None:
    """The model FLOPs of a run's whole pre-training, as it last logged them (None before they were logged)."""
    logged = [r["flops"] for r in read_metrics(run) if "flops" in r]
    return logged[-1] if logged else None


def scored_split(results: dict, recipe: Path) -> str:
    for split in ("test", "dev"):
        if split in results:
            return split
    raise DenoiseError(f"task {recipe} has neither a test nor a dev split to score; add one to the recipe")


def run_config(run: Path) -> dict:
    import yaml

    path = run / "config.yaml"
    return yaml.safe_load(path.read_text()) if path.exists() else {}


def run_family(run: Path) -> str:
    config = run_config(run)
    if config:
        return config["model"]["family"]
    return saved_family(json.loads((run / "model" / CONFIG_FILE).read_text()))


def run_corruption(run: Path) -> str:
    corruption = run_config(run).get("corruption", "?")
    return corruption if isinstance(corruption, str) else corruption.get("name", "custom")


def pretraining_curve(run: Path) -> list[tuple[int, float]]:
    """(tokens seen, training loss) at each logged step of a run."""
    return [
        (r["tokens"], r["loss"])
        for r in read_metrics(run)
        if "loss" in r and "tokens" in r and math.isfinite(r["loss"])
    ]
