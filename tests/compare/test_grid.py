"""`denoise compare`: a tiny grid end to end, its files, its plots, and a killed grid that resumes."""

import csv
import json
import signal
import struct
import time
from pathlib import Path

import pytest
import yaml

from benchmarks.flops import counted_flops
from denoise.compare import compare, load_grid
from denoise.compare.budget import Budgeting, first_steps_flops_per_token
from denoise.compare.grid import Grid
from denoise.compare.plots import DPI, LOSS_SIZE, TASK_HEIGHT, TASK_WIDTH
from denoise.errors import DenoiseError
from denoise.train.data import StepSampler, make_loader
from denoise.train.loop import Pretraining
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


def write_grid(folder: Path, prepared: str, steps: int = 3, seeds=(0, 1), curve=(), **extra) -> Path:
    """Two tiny cells (BERT masking, MASS) on shared blocks, two sample tasks (also scored at the ``curve``'s
    fractions of pre-training)."""
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
            "curve": list(curve),
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
    grid = write_grid(tmp_path, prepared_corpus, steps=4, curve=[0.5])
    written = compare(load_grid(grid), out, log=lambda _: None)

    with written["csv"].open() as handle:
        rows = list(csv.DictReader(handle))
    # 2 pre-trained cells scored at 50% and at the end, 2 scratch baselines (one per family), 2 tasks,
    # 2 seeds; and one baseline without pre-training per task
    assert len(rows) == (2 * 2 + 2) * 2 * 2 + 2
    baselines = {r["cell"] for r in rows if r["init"] == "baseline"}
    assert {r["cell"] for r in rows} - baselines == {"bert-mask", "mass", "bert-scratch", "bart-scratch"}
    assert len(baselines) == 2
    halfway = [r for r in rows if r["fraction"] == "0.5"]
    assert len(halfway) == 2 * 2 * 2 and all(0 < float(r["flops"]) for r in halfway)
    for cell in ("bert-mask", "mass"):
        ends = {float(r["flops"]) for r in rows if r["cell"] == cell and r["fraction"] == "1.0"}
        halves = {float(r["flops"]) for r in halfway if r["cell"] == cell}
        assert len(ends) == len(halves) == 1 and 0 < halves.pop() < ends.pop()
    assert {(r["task"], r["split"], r["metric"]) for r in rows} == {
        ("sentiment", "test", "accuracy"),
        ("pos", "dev", "accuracy"),
    }
    assert all(0 <= float(r["value"]) <= 100 for r in rows)
    assert {r["corruption"] for r in rows if r["init"] == "pre-trained"} == {"bert", "mass"}

    table = written["markdown"].read_text()
    assert "| bert-mask | bert | bert | 2.0k |" in table  # 4 steps of 8 blocks of 64 tokens
    assert "| bart-scratch | bart | none (scratch) |" in table
    assert "sentiment (accuracy)" in table and "pos (accuracy)" in table
    assert "no pre-training" in table
    assert (
        "## Which differences the seeds can tell apart" in table and "minus its family from scratch" in table
    )
    assert "## Along pre-training" in table and "| 50% | 100% |" in table
    for key in ("scores", "flops", "finetuning", "losses"):
        assert f"]({written[key].name})" in table

    assert png_size(written["losses"]) == (LOSS_SIZE[0] * DPI, LOSS_SIZE[1] * DPI)
    for key in ("scores", "flops", "finetuning"):
        assert png_size(written[key]) == (2 * TASK_WIDTH * DPI, TASK_HEIGHT * DPI)
    for path in written.values():
        assert path.parent == out


def test_a_grid_of_finished_runs_needs_no_budget_and_says_so(prepared_corpus, tmp_path):
    from denoise.train.config import load_config
    from denoise.train.loop import pretrain

    pretrain(
        load_config(RECIPES / "tiny_roberta.yaml", tiny(prepared_corpus)), tmp_path / "run", progress=False
    )
    path = write_grid(tmp_path, prepared_corpus, seeds=(0,), baseline=False)
    grid = yaml.safe_load(path.read_text())
    grid.update(budget={}, cells=[{"name": "done", "run": str(tmp_path / "run")}])
    grid["downstream"]["tasks"] = ["tasks/sentiment.yaml"]
    path.write_text(yaml.safe_dump(grid))
    written = compare(load_grid(path), tmp_path / "out", log=lambda _: None)
    assert "Pre-training budget: none set: every cell is a finished run" in written["markdown"].read_text()


def test_cells_may_pack_the_grid_s_text_into_blocks_of_their_own_size(tokenizer, corpus_documents, tmp_path):
    text = tmp_path / "corpus.txt"
    text.write_text("\n\n".join(corpus_documents[:40]) + "\n", encoding="utf-8")
    tokenizer.save(tmp_path / "tokenizer")
    path = write_grid(tmp_path, "unused", seeds=(0,), baseline=False)
    grid = yaml.safe_load(path.read_text())
    grid["data"] = [
        f"data.corpus=[{text}]",
        f"data.tokenizer={tmp_path / 'tokenizer'}",
        "data.validation_blocks=8",
    ]
    shrink = grid["cells"][0]["settings"]
    grid["cells"] = [
        {
            "name": "b64",
            "recipe": str(RECIPES / "tiny_roberta.yaml"),
            "settings": [*shrink, "data.block_size=64"],
        },
        {
            "name": "b32",
            "recipe": str(RECIPES / "tiny_roberta.yaml"),
            "settings": [*shrink, "data.block_size=32"],
        },
    ]
    grid["downstream"]["tasks"] = ["tasks/sentiment.yaml"]
    path.write_text(yaml.safe_dump(grid))
    compare(load_grid(path), tmp_path / "out", log=lambda _: None)
    for cell, size in (("b64", 64), ("b32", 32)):
        config = yaml.safe_load((tmp_path / "out" / "pretrain" / cell / "config.yaml").read_text())
        assert config["data"]["block_size"] == size


def test_a_killed_grid_finishes_without_redoing_finished_cells(prepared_corpus, tmp_path):
    grid = write_grid(tmp_path, prepared_corpus, steps=6, seeds=(0,), curve=[0.5])
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
        if path.name in ("summary.json", "eval.json", "snapshot.json") or path.parent.name == "baselines"
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
        assert len(list(csv.DictReader(handle))) == (2 * 2 + 2) * 2 + 2  # with the halfway points, baselines


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


def flops_grid(folder: Path, prepared: str, flops: float) -> Grid:
    """The two tiny cells with a FLOPs budget, counted on the batches of two steps."""
    path = write_grid(folder, prepared, seeds=(0,), budget={"flops": flops, "calibration_steps": 2})
    return Grid(load_grid(path), folder / "out", log=lambda _: None)


def test_a_flops_budget_gives_each_cell_the_tokens_its_own_count_affords(prepared_corpus, tmp_path):
    grid = flops_grid(tmp_path, prepared_corpus, flops=1e9)
    lines = []
    grid.log = lines.append
    step = 8 * 64
    rates = {}
    for cell in grid.config.cells:
        config = grid.budgeting.calibrated(cell, grid.cell_config(cell, Path(prepared_corpus)))
        record = json.loads((tmp_path / "out" / "budget" / f"{cell.name}.json").read_text())
        tokens, rates[cell.name] = record["tokens"], record["flops_per_token"]
        assert record["flops"] == 1e9
        assert (config.training.max_tokens, config.training.max_steps) == (tokens, None)
        assert tokens % step == 0  # whole steps, as many as fit in the budget
        assert tokens * rates[cell.name] <= 1e9 < (tokens + step) * rates[cell.name]
        assert (
            f"{cell.name}: {rates[cell.name]:.4g} FLOPs per token, so 1e+09 FLOPs is {tokens:,} tokens"
            in lines
        )
    assert rates["bert-mask"] != rates["mass"]  # each cell's own count, not one figure for all


def test_a_flops_budget_is_counted_once_and_reread(prepared_corpus, tmp_path, monkeypatch):
    grid = flops_grid(tmp_path, prepared_corpus, flops=1e9)
    cell = grid.config.cells[0]
    first = grid.budgeting.calibrated(cell, grid.cell_config(cell, Path(prepared_corpus))).training.max_tokens

    def counted_again(self, config):
        raise AssertionError("the recorded FLOPs per token were counted again")

    monkeypatch.setattr(Budgeting, "flops_per_token", counted_again)
    again = grid.budgeting.calibrated(cell, grid.cell_config(cell, Path(prepared_corpus))).training.max_tokens
    assert again == first
    doubled = flops_grid(tmp_path, prepared_corpus, flops=2e9)
    more = doubled.budgeting.calibrated(
        cell, doubled.cell_config(cell, Path(prepared_corpus))
    ).training.max_tokens
    assert 2 * first - 8 * 64 <= more <= 2 * first + 8 * 64


def test_a_flops_budget_counts_what_torch_counts_on_the_trainer_s_batches(prepared_corpus, tmp_path):
    grid = flops_grid(tmp_path, prepared_corpus, flops=1e9)
    for cell in grid.config.cells:
        run = Pretraining(
            grid.budgeting.calibration(grid.cell_config(cell, Path(prepared_corpus))), tmp_path / cell.name
        )
        seed = run.config.training.seed
        (batch,) = make_loader(
            run.blocks, StepSampler(run.split.train, run.layout, 0, seed, 0, 1), run.collator, 0, seed
        )
        counted = counted_flops(run.unwrapped, batch, run.objective.name)
        assert first_steps_flops_per_token(run, 1) * len(batch) * 64 == pytest.approx(counted, rel=0.05), (
            cell.name
        )


def test_a_flops_budget_pretrains_the_cell_on_its_tokens(prepared_corpus, tmp_path):
    grid = flops_grid(tmp_path, prepared_corpus, flops=3e8)  # 3 steps of the tiny BERT
    cell = grid.config.cells[0]
    folder = grid.pretrained(cell, Path(prepared_corpus))
    record = json.loads((tmp_path / "out" / "budget" / f"{cell.name}.json").read_text())
    assert json.loads((folder / "summary.json").read_text())["tokens"] == record["tokens"]


@pytest.mark.parametrize(
    "change, message",
    [
        ({"cells": []}, "has no cells"),
        ({"cells": [{"name": "a b", "recipe": "x.yaml"}]}, "'a b' must be letters"),
        ({"cells": [{"name": "a", "recipe": "x.yaml"}, {"name": "a", "recipe": "y.yaml"}]}, "repeated: a"),
        ({"cells": [{"name": "a"}]}, "exactly one of recipe"),
        ({"budget": {}}, "set budget.tokens, budget.seconds or budget.flops"),
        ({"budget": {"tokens": 10, "seconds": 1}}, "not tokens and seconds"),
        ({"budget": {"tokens": 10, "flops": 1e12}}, "not tokens and flops; set the others to null"),
        ({"budget": {"seconds": 1, "flops": 1e12}}, "not seconds and flops"),
        ({"budget": {"flops": 0}}, r"budget.flops must be > 0"),
        ({"budget": {"flops": "lots"}}, "budget.flops"),
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
