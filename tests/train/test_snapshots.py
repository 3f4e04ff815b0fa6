"""Snapshots keep the model at chosen fractions of a run, with what it had cost, and survive a resume."""

import shutil

import pytest

from denoise.finetune.config import load_finetune_config
from denoise.finetune.loop import finetune
from denoise.train.config import load_config
from denoise.train.loop import pretrain
from denoise.train.metrics import read_metrics
from denoise.train.snapshots import snapshot_steps, snapshots_of
from tests.paths import SAMPLES
from tests.train_helpers import tiny


def run(prepared, out, *extra, resume=False):
    settings = tiny(
        prepared, "training.checkpoint_interval=2", "training.keep_checkpoints=3", *extra, steps=4
    )
    return pretrain(load_config(None, settings), out, resume=resume, progress=False)


def test_snapshots_hold_the_model_at_their_steps_with_tokens_and_flops(prepared_corpus, tmp_path):
    summary = run(prepared_corpus, tmp_path / "run", "training.snapshots=[0.5,1.0]")
    found = snapshots_of(tmp_path / "run")
    assert [record["step"] for _, record in found] == [2, 4]
    assert [record["tokens"] for _, record in found] == [2 * 8 * 64, 4 * 8 * 64]
    half, whole = (record["flops"] for _, record in found)
    assert 0 < half < whole == pytest.approx(summary["flops"])
    logged = [r["flops"] for r in read_metrics(tmp_path / "run") if "loss" in r]
    assert logged[1] == pytest.approx(half) and logged[-1] == pytest.approx(whole)
    final = (tmp_path / "run" / "model" / "model.safetensors").read_bytes()
    assert (found[1][0] / "model" / "model.safetensors").read_bytes() == final
    args = ["task.kind=classification", f"task.train={SAMPLES}/sentiment.tsv", "task.text_column=sentence"]
    results = finetune(
        load_finetune_config(None, [*args, f"init={found[0][0]}", "epochs=1"]), tmp_path / "ft"
    )
    assert results["head"] == "new"  # a snapshot is a run folder fine-tuning starts from


def test_a_resumed_run_writes_the_same_snapshots(prepared_corpus, tmp_path):
    out = tmp_path / "run"
    run(prepared_corpus, out, "training.snapshots=[0.75]")
    ((folder, record),) = snapshots_of(out)
    weights = (folder / "model" / "model.safetensors").read_bytes()
    shutil.rmtree(out / "snapshots")
    newest = out / "checkpoints" / "step-00000004" / "model" / "model.safetensors"
    newest.write_bytes(newest.read_bytes()[:100])  # resume falls back to step 2, before the snapshot
    run(prepared_corpus, out, "training.snapshots=[0.75]", resume=True)
    ((again, again_record),) = snapshots_of(out)
    assert again_record["step"] == 3 and again_record["flops"] == pytest.approx(record["flops"])
    assert (again / "model" / "model.safetensors").read_bytes() == weights


def test_snapshot_steps_fall_at_their_fractions():
    assert snapshot_steps([0.25, 0.5, 1.0], 10) == {2, 5, 10}
    assert snapshot_steps([0.01], 10) == {1}
