"""Run a comparison grid: pre-train each cell, fine-tune it (and each family from scratch) on every task.

Everything lands under one folder, and a step whose result is already there is skipped, so a killed grid
finishes on the next call without redoing finished cells:

    OUT/pretrain/CELL/                 a `denoise pretrain` run; summary.json once it has finished
    OUT/finetune/CELL/TASK/seed-N/     a `denoise finetune` output; eval.json once it has finished
"""

from __future__ import annotations

import json
import math
import statistics
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from denoise.compare.config import Cell, GridConfig
from denoise.errors import DenoiseError
from denoise.finetune.config import FinetuneConfig, load_finetune_config
from denoise.finetune.loop import finetune
from denoise.models.checkpoint import CONFIG_FILE, saved_family
from denoise.models.families import family_named
from denoise.tasks.kinds import kind_named
from denoise.train.config import PretrainConfig, load_config
from denoise.train.data import prepare_data
from denoise.train.loop import pretrain
from denoise.train.metrics import read_metrics

SUMMARY = "summary.json"
EVAL = "eval.json"


@dataclass(frozen=True)
class Entry:
    """One row of the results: a cell (or a family's scratch baseline) on a task with a seed."""

    cell: str
    family: str
    corruption: str
    init: str  # pre-trained | scratch
    task: str
    split: str  # test, or dev for a task without a test split
    metric: str
    seed: int
    value: float


def say(message: str) -> None:
    """Progress lines, shown at once even when the output goes to a file."""
    print(message, flush=True)


class Grid:
    def __init__(self, config: GridConfig, out: str | Path, log: Callable[[str], None] = say):
        self.config, self.out, self.log = config, Path(out), log
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
        base = load_config(self.config.path(cell.recipe), settings)
        if self.config.budget.tokens is not None:
            return self.with_tokens(base, self.config.budget.tokens)
        return base

    @staticmethod
    def with_tokens(config: PretrainConfig, tokens: int) -> PretrainConfig:
        training = replace(config.training, max_steps=None, max_tokens=int(tokens))
        return replace(config, training=training)

    def prepared_data(self) -> Path:
        """The corpus of the first cell to pre-train, prepared once (and cached); every cell reads these blocks."""
        first = next(cell for cell in self.config.cells if cell.recipe)
        config = load_config(self.config.path(first.recipe), [*self.config.data, *first.settings])
        return prepare_data(config.data)[1]

    def calibrated(self, cell: Cell, config: PretrainConfig) -> PretrainConfig:
        """A seconds budget turned into this cell's tokens, from a short timed run (kept in budget/CELL.json,
        beside the cell's run, which holds only what pre-training writes)."""
        record = self.out / "budget" / f"{cell.name}.json"
        if record.exists():
            return self.with_tokens(config, json.loads(record.read_text())["tokens"])
        steps = self.config.budget.calibration_steps
        training = replace(
            config.training,
            max_steps=steps,
            max_tokens=None,
            log_interval=1,
            eval_batches=0,
            reconstructions=0,
            checkpoint_interval=steps,
            trackers=[],
        )
        with tempfile.TemporaryDirectory() as scratch:
            pretrain(replace(config, training=training), scratch, progress=False)
            rates = [r["tokens_per_s"] for r in read_metrics(scratch) if "tokens_per_s" in r]
        rate = statistics.median(rates[len(rates) // 4 :])  # the first steps warm up
        tokens = int(rate * self.config.budget.seconds)
        block = config.training.global_batch * config.data.block_size
        tokens = max(block, tokens - tokens % block)
        record.parent.mkdir(parents=True, exist_ok=True)
        record.write_text(
            json.dumps({"tokens_per_s": rate, "seconds": self.config.budget.seconds, "tokens": tokens})
        )
        self.log(
            f"{cell.name}: {rate:,.0f} tokens/s, so {self.config.budget.seconds:g} s is {tokens:,} tokens"
        )
        return self.with_tokens(config, tokens)

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
        if self.config.budget.seconds is not None:
            config = self.calibrated(cell, config)
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
        if self.config.threads:
            settings.append(f"threads={self.config.threads}")
        tasks_dir = self.config.path(self.config.downstream.tasks_dir)
        for split in ("train", "dev", "test"):
            path = getattr(base.task, split)
            if path and not Path(path).is_absolute() and Path(path).parts[0] == "tasks":
                settings.append(f"task.{split}={tasks_dir.joinpath(*Path(path).parts[1:])}")
        return load_finetune_config(recipe, settings)

    def finetuned(self, label: str, init: str, task: str, seed: int) -> dict:
        folder = self.out / "finetune" / label / task / f"seed-{seed}"
        if (folder / EVAL).exists():
            return json.loads((folder / EVAL).read_text())
        self.log(f"{label}: fine-tuning on {task}, seed {seed}")
        return finetune(self.task_config(task, init, seed), folder)

    # -- the whole grid -------------------------------------------------------------------------------------

    def runs(self) -> list[tuple[Cell, Path]]:
        """Every cell's finished pre-training run, training those not yet finished."""
        needs_data = any(cell.recipe for cell in self.config.cells)
        prepared = self.prepared_data() if needs_data else None
        return [(cell, self.pretrained(cell, prepared)) for cell in self.config.cells]

    def run(self) -> list[Entry]:
        runs = self.runs()
        self.pretrained_runs = {cell.name: run for cell, run in runs}
        starts = [(cell.name, run, "pre-trained") for cell, run in runs]
        if self.config.baseline:
            first_of_family: dict[str, tuple[Cell, Path]] = {}
            for cell, run in runs:
                first_of_family.setdefault(run_family(run), (cell, run))
            starts += [(f"{family}-scratch", run, "scratch") for family, (_, run) in first_of_family.items()]
        entries = []
        for label, run, start in starts:
            family, corruption = run_family(run), run_corruption(run) if start == "pre-trained" else "-"
            for task in self.tasks:
                if not self.fits(task, family):
                    continue
                for seed in self.config.seeds:
                    init = str(run) if start == "pre-trained" else f"scratch:{run}"
                    results = self.finetuned(label, init, task, seed)
                    split = scored_split(results, self.tasks[task])
                    metric, value = self.kinds[task].headline(results[split])
                    entries.append(Entry(label, family, corruption, start, task, split, metric, seed, value))
        return entries

    def fits(self, task: str, family: str) -> bool:
        """Generation needs a model that writes text: cells of other families skip generation tasks."""
        return family_named(family).generates or not self.kinds[task].writes_text


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
