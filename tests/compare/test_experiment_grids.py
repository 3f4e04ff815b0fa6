"""The grid files of experiments/: each loads, reads its task recipes and settings, and is the one its
write-up runs."""

import re

import pytest

from denoise.compare import load_grid
from denoise.compare.grid import Grid
from tests.paths import ROOT

EXPERIMENTS = ROOT / "experiments"
GRIDS = sorted(EXPERIMENTS.rglob("*.yaml"))


def test_the_studies_have_grids():
    assert GRIDS


@pytest.mark.parametrize("path", GRIDS, ids=lambda path: str(path.relative_to(EXPERIMENTS)))
def test_a_grid_loads_and_every_fine_tuning_config_builds(path, tmp_path):
    config = load_grid(path)
    grid = Grid(config, tmp_path, log=lambda message: None)  # reads every task recipe
    assert grid.tasks
    for task in grid.tasks:
        for seed in config.seeds:
            assert grid.task_config(task, "scratch", seed).seed == seed
    # the runs and task files of the write-ups' commands, made from the repository root
    for cell in config.cells:
        if cell.run:
            assert config.path(cell.run).resolve().parent == ROOT / "runs"
        else:
            assert config.path(cell.recipe).is_file()
    assert config.path(config.downstream.tasks_dir).resolve() == ROOT / "tasks"


def test_every_compare_command_of_a_write_up_names_a_grid_file():
    commands = [
        (readme, grid)
        for readme in sorted(EXPERIMENTS.rglob("README.md"))
        for grid in re.findall(r"denoise compare (\S+\.yaml)", readme.read_text())
    ]
    assert commands
    missing = [
        f"{readme.relative_to(ROOT)}: {grid}" for readme, grid in commands if not (ROOT / grid).is_file()
    ]
    assert not missing
