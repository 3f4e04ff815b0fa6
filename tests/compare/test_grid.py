"""`denoise compare`: a tiny grid end to end, its files, its plots, and a killed grid that resumes."""

import csv
import signal
import struct
import time
from pathlib import Path

import pytest
import yaml

from denoise.compare import compare, load_grid
from denoise.compare.grid import Grid
from denoise.compare.plots import DPI, LOSS_SIZE, TASK_HEIGHT, TASK_WIDTH
from denoise.errors import DenoiseError
from tests.paths import RECIPES, SAMPLES
from tests.train_helpers import cli, tiny

TASKS = {
    "sentiment": {
        "task": {
            "kind": "classification",
            "train": str(SAMPLES / "sentiment.tsv"),
            "test": str(SAMPLES / "sentiment.tsv"),
            "text_column": "sentence",
        },
        "max_length": 32,
    },
    "pos": {
        "task": {"kind": "tagging", "train": str(SAMPLES / "pos.conll"), "dev": str(SAMPLES / "pos.conll")},
        "max_length": 32,
    },
}


def write_grid(folder: Path, prepared: str, steps: int = 3, seeds=(0, 1), **extra) -> Path:
    """Two tiny cells (BERT masking, MASS) on shared blocks, two sample tasks."""
    (folder / "tasks").mkdir(parents=True, exist_ok=True)
    for name, recipe in TASKS.items():
        (folder / "tasks" / f"{name}.yaml").write_text(yaml.safe_dump({"name": name, "epochs": 1, **recipe}))
    data = [s for s in tiny(prepared, steps=steps) if s.startswith("data.")]
    shrink = [s for s in tiny(prepared, steps=steps) if not s.startswith(("data.", "training.max_steps"))]
    grid = {
        "name": "tiny",
        "data": data,
        "budget": {"tokens": steps * 8 * 64},
        "cells": [
            {"name": "bert-mask", "recipe": str(RECIPES / "tiny_bert.yaml"), "settings": shrink},
            {"name": "mass", "recipe": str(RECIPES / "tiny_mass.yaml"), "settings": shrink},
        ],
        "downstream": {
            "tasks": ["tasks/sentiment.yaml", "tasks/pos.yaml"],
            "settings": ["batch_size=4", "dropout=0.0"],
        },
        "seeds": list(seeds),
        "threads": 1,
        **extra,
    }
    path = folder / "grid.yaml"
    path.write_text(yaml.safe_dump(grid))
    return path


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


@pytest.mark.slow
def test_a_tiny_grid_writes_results_table_and_plots(prepared_corpus, tmp_path):
    out = tmp_path / "out"
    written = compare(load_grid(write_grid(tmp_path, prepared_corpus)), out, log=lambda _: None)

    with written["csv"].open() as handle:
        rows = list(csv.DictReader(handle))
    # 2 pre-trained cells and 2 scratch baselines (one per family), 2 tasks, 2 seeds
    assert len(rows) == 4 * 2 * 2
    assert {r["cell"] for r in rows} == {"bert-mask", "mass", "bert-scratch", "bart-scratch"}
    assert {(r["task"], r["split"], r["metric"]) for r in rows} == {
        ("sentiment", "test", "accuracy"),
        ("pos", "dev", "accuracy"),
    }
    assert all(0 <= float(r["value"]) <= 100 for r in rows)
    assert {r["corruption"] for r in rows if r["init"] == "pre-trained"} == {"bert", "mass"}

    table = written["markdown"].read_text()
    assert "| bert-mask | bert | bert | 1.5k |" in table  # 3 steps of 8 blocks of 64 tokens
    assert "| bart-scratch | bart | none (scratch) |" in table
    assert "sentiment (accuracy)" in table and "pos (accuracy)" in table

    assert png_size(written["losses"]) == (LOSS_SIZE[0] * DPI, LOSS_SIZE[1] * DPI)
    assert png_size(written["scores"]) == (2 * TASK_WIDTH * DPI, TASK_HEIGHT * DPI)
    for path in written.values():
        assert path.parent == out


def test_a_killed_grid_finishes_without_redoing_finished_cells(prepared_corpus, tmp_path):
    grid = write_grid(tmp_path, prepared_corpus, steps=6, seeds=(0,))
    out = tmp_path / "out"
    first_cell = out / "pretrain" / "bert-mask" / "summary.json"
    process = cli("compare", str(grid), "--out", str(out))
    deadline = time.time() + 300
    while not first_cell.exists() and process.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    assert first_cell.exists(), process.communicate()[0]
    process.send_signal(signal.SIGKILL)
    process.wait()
    finished = {
        path: path.stat().st_mtime_ns
        for path in out.rglob("*.json")
        if path.name in ("summary.json", "eval.json")
    }
    assert not (out / "results.csv").exists()

    rerun = cli("compare", str(grid), "--out", str(out))
    output = rerun.communicate(timeout=600)[0]
    assert rerun.returncode == 0, output
    assert "bert-mask: pre-trained earlier, skipped" in output
    assert "bert-mask: pre-training" not in output
    for path, mtime in finished.items():
        assert path.stat().st_mtime_ns == mtime, f"{path} was redone"
    with (out / "results.csv").open() as handle:
        assert len(list(csv.DictReader(handle))) == 4 * 2


def test_a_seconds_budget_is_turned_into_tokens_once(prepared_corpus, tmp_path):
    path = write_grid(tmp_path, prepared_corpus, seeds=(0,), budget={"seconds": 2, "calibration_steps": 4})
    data = yaml.safe_load(path.read_text())
    data["cells"] = data["cells"][:1]
    data["downstream"]["tasks"] = ["tasks/sentiment.yaml"]
    path.write_text(yaml.safe_dump(data))
    out = tmp_path / "out"
    compare(load_grid(path), out, log=lambda _: None)
    record = yaml.safe_load((out / "budget" / "bert-mask.json").read_text())
    assert record["seconds"] == 2 and record["tokens"] > 0 and record["tokens"] % (8 * 64) == 0
    summary = yaml.safe_load((out / "pretrain" / "bert-mask" / "summary.json").read_text())
    assert summary["tokens"] == record["tokens"]


@pytest.mark.parametrize(
    "change, message",
    [
        ({"cells": []}, "has no cells"),
        ({"cells": [{"name": "a b", "recipe": "x.yaml"}]}, "'a b' must be letters"),
        ({"cells": [{"name": "a", "recipe": "x.yaml"}, {"name": "a", "recipe": "y.yaml"}]}, "repeated: a"),
        ({"cells": [{"name": "a"}]}, "exactly one of recipe"),
        ({"budget": {}}, "set budget.tokens or budget.seconds"),
        ({"budget": {"tokens": 10, "seconds": 1}}, "not both"),
        ({"seeds": []}, "seeds is empty"),
        ({"cels": []}, "did you mean 'cells'"),
    ],
)
def test_bad_grids_say_what_to_fix(tmp_path, change, message):
    path = tmp_path / "grid.yaml"
    grid = {"cells": [{"name": "a", "recipe": "x.yaml"}], "budget": {"tokens": 100}, **change}
    path.write_text(yaml.safe_dump(grid))
    with pytest.raises(DenoiseError, match=message):
        load_grid(path)


def test_a_missing_task_recipe_is_named(prepared_corpus, tmp_path):
    path = write_grid(tmp_path, prepared_corpus)
    (tmp_path / "tasks" / "pos.yaml").unlink()
    with pytest.raises(FileNotFoundError, match="pos.yaml"):
        compare(load_grid(path), tmp_path / "out", log=lambda _: None)


def test_a_bad_recipe_stops_the_grid_before_any_pre_training(prepared_corpus, tmp_path):
    path = write_grid(tmp_path, prepared_corpus)
    (tmp_path / "tasks" / "pos.yaml").write_text("task: {kind: tagging}\nepochz: 1\n")
    with pytest.raises(DenoiseError, match="did you mean 'epochs'"):
        compare(load_grid(path), tmp_path / "out", log=lambda _: None)
    assert not (tmp_path / "out" / "pretrain").exists()
    data = yaml.safe_load(path.read_text())
    data["cells"][1]["settings"] = ["model.familly=bart"]
    (tmp_path / "tasks" / "pos.yaml").unlink()
    data["downstream"]["tasks"] = ["tasks/sentiment.yaml"]
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(DenoiseError, match="familly"):
        compare(load_grid(path), tmp_path / "out", log=lambda _: None)
    assert not (tmp_path / "out" / "pretrain").exists()


def test_shipped_grids_load(tmp_path):
    paths = sorted(RECIPES.glob("compare_*.yaml"))
    assert len(paths) >= 2
    for path in paths:
        config = load_grid(path)
        for cell in config.cells:
            assert Grid(config, tmp_path).cell_config(cell, tmp_path).data.prepared == str(tmp_path)
        for task in config.downstream.tasks:
            assert config.path(task).is_file(), f"{path}: {task}"
