"""A comparison grid: pre-training cells on shared data and an equal budget, then a downstream suite.

Paths in a grid file (pre-training recipes, task recipes, ``tasks_dir``) are read relative to the file, so a
grid in ``recipes/`` names ``tiny_bert.yaml`` and ``tasks/sentiment.yaml``. ``load_grid(path, ["seeds=[0]"])``
applies ``key=value`` settings as the other commands do.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from denoise.config import apply_overrides, check_choice, from_mapping, read_recipe
from denoise.errors import DenoiseError

CELL_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")


@dataclass(frozen=True)
class Budget:
    """What every cell gets for pre-training, one of: a number of block tokens, seconds of training on this
    machine, or training FLOPs (each cell's tokens from its own count of FLOPs per token)."""

    tokens: int | None = None  # block tokens each cell pre-trains on
    seconds: float | None = None  # or seconds on this machine, timed once per cell, turned into tokens
    flops: float | None = None  # or training FLOPs (forward and backward), turned into tokens for each cell
    calibration_steps: int = 20  # seconds or flops budget: the steps timed, or whose batches are counted

    RANGES: ClassVar[dict[str, str]] = {
        "tokens": ">= 1",
        "seconds": "> 0",
        "flops": "> 0",
        "calibration_steps": ">= 1",
    }

    @property
    def kinds(self) -> list[str]:
        """The kinds of budget set (a grid sets exactly one)."""
        return [kind for kind in ("tokens", "seconds", "flops") if getattr(self, kind) is not None]


@dataclass(frozen=True)
class Cell:
    name: str  # a label, also the folder name
    recipe: str | None = None  # a pre-training recipe (its family, corruption and size)
    settings: list[str] = field(default_factory=list)  # key=value over the recipe (e.g. model.size=small)
    run: str | None = None  # an existing `denoise pretrain` run instead of pre-training here


DOWNSTREAM_MODES = ("finetune", "probe")


@dataclass(frozen=True)
class Downstream:
    tasks: list[str] = field(default_factory=list)  # task recipes (paths relative to the grid file)
    tasks_dir: str = "../tasks"  # where `python -m data_scripts.build_tasks` wrote the task files
    settings: list[str] = field(default_factory=list)  # key=value for every fine-tuning run
    task_settings: dict = field(default_factory=dict)  # task name -> extra key=value for that task
    mode: str = "finetune"  # finetune: train the whole model; probe: a head on its frozen states (minutes)
    # fractions of each cell's pre-training at which it is also scored (snapshots), for score against
    # pre-training FLOPs; the end of pre-training is always scored
    curve: list[float] = field(default_factory=list)
    baselines: bool = True  # score each task's baseline that needs no pre-training (bag of words...)

    RANGES: ClassVar[dict[str, str]] = {"curve": "(0, 1)"}

    def __post_init__(self):
        check_choice("downstream.mode", self.mode, DOWNSTREAM_MODES)


@dataclass(frozen=True)
class GridConfig:
    name: str = "compare"  # the grid's name (the default --out is runs/NAME)
    data: list[str] = field(default_factory=list)  # key=value data settings shared by every cell
    budget: Budget = field(default_factory=Budget)
    cells: list[Cell] = field(default_factory=list)  # {name, recipe, settings} to pre-train, or {name, run}
    baseline: bool = True  # also fine-tune from scratch the architecture of each family's first cell
    downstream: Downstream = field(default_factory=Downstream)
    seeds: list[int] = field(default_factory=lambda: [0, 1, 2])  # fine-tuning seeds of every cell and task
    threads: int | None = None  # torch threads, set by `denoise compare`; None: torch's default
    root: str = "."  # the folder relative paths start from (the grid file's)

    RANGES: ClassVar[dict[str, str]] = {"seeds": ">= 0", "threads": ">= 1"}

    def __post_init__(self):
        if not self.cells:
            raise DenoiseError(f"grid {self.name!r} has no cells; list pre-training recipes under cells:")
        names = [cell.name for cell in self.cells]
        for cell in self.cells:
            if not CELL_NAME.match(cell.name):
                raise DenoiseError(
                    f"cell name {cell.name!r} must be letters, digits, '.', '_' or '-' (it names a folder)"
                )
            if (cell.recipe is None) == (cell.run is None):
                raise DenoiseError(f"cell {cell.name!r}: give exactly one of recipe (to pre-train) or run")
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise DenoiseError(f"cell names must differ; repeated: {', '.join(duplicates)}")
        given = self.budget.kinds
        if not given and any(c.recipe for c in self.cells):
            raise DenoiseError(
                "set budget.tokens, budget.seconds or budget.flops: every cell gets the same pre-training budget"
            )
        if len(given) > 1:
            raise DenoiseError(
                f"set one of budget.tokens, budget.seconds and budget.flops, not {' and '.join(given)}; set "
                "the others to null"
            )
        if not self.seeds:
            raise DenoiseError("seeds is empty; give at least one fine-tuning seed")

    def path(self, value: str) -> Path:
        """``value`` read relative to the grid file."""
        path = Path(value).expanduser()
        return path if path.is_absolute() else Path(self.root) / path


def load_grid(path: str | Path, overrides: list[str] | None = None) -> GridConfig:
    data = read_recipe(path, "comparison grid")
    data = apply_overrides(data, overrides or [])
    data.setdefault("root", str(Path(path).resolve().parent))
    return from_mapping(GridConfig, data, where=str(path))
