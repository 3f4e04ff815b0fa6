"""benchmarks/downstream.py turns its options into a compare grid of given runs."""

import argparse
import importlib.util

import pytest

from tests.paths import ROOT

SCRIPT = ROOT / "benchmarks" / "downstream.py"


def load_script():
    spec = importlib.util.spec_from_file_location("benchmark_downstream", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def options(tmp_path, **changes):
    values = dict(
        bert=str(tmp_path / "bert"),
        bart=None,
        tasks_dir=str(tmp_path / "tasks"),
        tasks=["sentiment", "qa"],
        seeds=[0, 1, 2],
        max_train=2000,
        max_eval=500,
        epochs=None,
        set=["optimizer.lr=1e-3"],
        set_task=[],
        threads=1,
    )
    return argparse.Namespace(**{**values, **changes})


def test_the_grid_holds_the_given_runs_tasks_and_settings(tmp_path):
    config = load_script().grid(options(tmp_path, set_task=["qa:epochs=4", "qa:max_length=128"]))
    assert [cell.name for cell in config.cells] == ["bert"]
    assert config.cells[0].run == str((tmp_path / "bert").resolve())
    assert config.downstream.tasks == ["tasks/sentiment.yaml", "tasks/qa.yaml"]
    assert "max_train_examples=2000" in config.downstream.settings
    assert "optimizer.lr=1e-3" in config.downstream.settings
    assert config.downstream.task_settings["qa"] == ["epochs=4", "max_length=128"]
    assert "generation.num_beams=1" in config.downstream.task_settings["translation"]
    assert config.seeds == [0, 1, 2] and config.threads == 1


@pytest.mark.parametrize("item", ["parsing:epochs=4", "qa-epochs=4", "qa:epochs"])
def test_a_malformed_task_setting_names_the_form(tmp_path, item):
    with pytest.raises(SystemExit, match="TASK:KEY=VALUE"):
        load_script().grid(options(tmp_path, set_task=[item]))
