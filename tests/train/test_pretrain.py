import errno
import json
import math
import shutil

import numpy as np
import pytest
import torch

from denoise.errors import DenoiseError
from denoise.models.checkpoint import load_model
from denoise.models.families import family_of
from denoise.optim.schedules import lr_factor
from denoise.train.checkpoints import complete_checkpoints
from denoise.train.config import PretrainConfig, load_config
from denoise.train.data import Layout, StepSampler
from denoise.train.loop import Pretraining, pretrain
from denoise.train.metrics import read_metrics
from tests.file_hashes import hashes
from tests.paths import RECIPES
from tests.train_helpers import tiny

# every pre-training recipe but those continuing another run (init:), which tests/train/test_continued.py runs
PRETRAINING = sorted(
    p for p in RECIPES.glob("*.yaml") if not p.stem.startswith("compare_") and load_config(p).init is None
)


def run(prepared, out, *extra, recipe=None, steps=3, resume=False, overwrite=False):
    config = load_config(recipe, tiny(prepared, *extra, steps=steps))
    return pretrain(config, out, resume=resume, progress=False, overwrite=overwrite)


@pytest.mark.parametrize("recipe", PRETRAINING, ids=lambda p: p.stem)
def test_every_recipe_runs_three_steps_at_a_tiny_size(recipe, prepared_corpus, tmp_path):
    summary = run(prepared_corpus, tmp_path / "run", recipe=recipe)
    assert summary["steps"] == 3 and math.isfinite(summary["final_loss"])
    records = read_metrics(tmp_path / "run")
    assert [r["step"] for r in records if "loss" in r] == [1, 2, 3]
    evaluation = [r for r in records if "eval_loss" in r][-1]
    assert evaluation["eval_tokens"] > 0
    family = family_of(load_model(tmp_path / "run" / "model"))
    assert family.name == load_config(recipe).model.family
    if family.generates:  # greedy reconstructions of held-out blocks
        assert "reconstruction_bleu" in evaluation and len(evaluation["examples"]) == 2
    assert (tmp_path / "run" / "tokenizer" / "tokenizer.json").exists()


def test_defaults_are_the_main_job_s_recipe():
    recipe = load_config(RECIPES / "tiny_mlm.yaml")
    assert recipe == PretrainConfig()


def test_loss_falls(prepared_corpus, tmp_path):
    summary = run(
        prepared_corpus, tmp_path / "run", "optimizer.lr=3e-3", "training.global_batch=16", steps=40
    )
    losses = [r["loss"] for r in read_metrics(tmp_path / "run") if "loss" in r]
    assert np.mean(losses[-5:]) < np.mean(losses[:5]) - 0.5, losses
    assert summary["eval_accuracy"] > 0.0


def test_accumulation_gives_the_loss_of_the_whole_batch(prepared_corpus, tmp_path):
    common = ("model.dropout=0.0", "model.attention_dropout=0.0", "corruption=bart", "model.family=bart")
    whole = run(prepared_corpus, tmp_path / "whole", *common)
    split = run(prepared_corpus, tmp_path / "split", *common, "training.micro_batch=2")
    a = [r["loss"] for r in read_metrics(tmp_path / "whole") if "loss" in r]
    b = [r["loss"] for r in read_metrics(tmp_path / "split") if "loss" in r]
    assert np.allclose(a, b, rtol=1e-5), (a, b)
    assert whole["final_loss"] == pytest.approx(split["final_loss"], rel=1e-5)


def test_data_loader_workers_change_nothing(prepared_corpus, tmp_path):
    common = ("model.dropout=0.0", "model.attention_dropout=0.0")
    run(prepared_corpus, tmp_path / "main", *common)
    run(prepared_corpus, tmp_path / "workers", *common, "data.num_workers=2")
    a = [r["loss"] for r in read_metrics(tmp_path / "main") if "loss" in r]
    assert a == [r["loss"] for r in read_metrics(tmp_path / "workers") if "loss" in r]


@pytest.mark.slow
def test_compiled_training_saves_the_plain_model(prepared_corpus, tmp_path):
    summary = run(
        prepared_corpus, tmp_path / "run", "training.compile=true", "training.eval_batches=0", steps=2
    )
    assert math.isfinite(summary["final_loss"])
    assert type(load_model(tmp_path / "run" / "model")).__name__ == "Bert"
    assert complete_checkpoints(tmp_path / "run")


def test_keeps_only_the_newest_checkpoints(prepared_corpus, tmp_path):
    run(
        prepared_corpus,
        tmp_path / "run",
        "training.checkpoint_interval=1",
        "training.keep_checkpoints=2",
        steps=4,
    )
    assert [p.name for p in complete_checkpoints(tmp_path / "run")] == ["step-00000003", "step-00000004"]
    state = json.loads((tmp_path / "run" / "checkpoints" / "step-00000004" / "trainer.json").read_text())
    assert state["step"] == 4 and state["tokens"] == 4 * 8 * 64


def test_tensorboard_logs_through_accelerate(prepared_corpus, tmp_path):
    pytest.importorskip("tensorboardX")
    run(prepared_corpus, tmp_path / "run", "training.trackers=[tensorboard]")
    assert list((tmp_path / "run" / "logs").rglob("events.out.tfevents*"))


def test_non_finite_loss_stops_and_keeps_the_last_checkpoint(prepared_corpus, tmp_path):
    out = tmp_path / "run"
    with pytest.raises(DenoiseError, match=r"loss is (nan|inf) at step \d+.*step-00000001.*intact"):
        run(
            prepared_corpus,
            out,
            "optimizer.lr=1e30",
            "optimizer.clip_norm=null",
            "optimizer.warmup_steps=0",
            "training.checkpoint_interval=1",
            steps=20,
        )
    first = complete_checkpoints(out)[0]
    assert first.name == "step-00000001"
    assert load_model(first / "model") is not None


def test_refuses_to_overwrite_a_run_and_to_resume_with_other_settings(prepared_corpus, tmp_path):
    out = tmp_path / "run"
    run(prepared_corpus, out)
    before = sorted(p.name for p in complete_checkpoints(out))
    with pytest.raises(DenoiseError, match="already holds a finished run.*--resume.*--overwrite"):
        run(prepared_corpus, out)
    with pytest.raises(DenoiseError, match=r"model.d_model=32 .* 48"):
        run(prepared_corpus, out, "model.d_model=48", resume=True)
    assert sorted(p.name for p in complete_checkpoints(out)) == before
    with pytest.raises(DenoiseError, match="no finished checkpoint"):
        run(prepared_corpus, tmp_path / "empty", resume=True)


def test_a_finished_run_without_checkpoints_is_still_refused(prepared_corpus, tmp_path):
    out = tmp_path / "run"
    run(prepared_corpus, out)
    shutil.rmtree(out / "checkpoints")
    before = hashes(out)
    with pytest.raises(DenoiseError, match="already holds a finished run"):
        run(prepared_corpus, out)
    assert hashes(out) == before


def test_overwrite_replaces_a_run_only_once_the_new_one_is_complete(prepared_corpus, tmp_path, monkeypatch):
    out = tmp_path / "run"
    run(prepared_corpus, out)
    before = hashes(out)

    def full_disk(self):
        raise OSError(errno.ENOSPC, "No space left on device")

    with monkeypatch.context() as patched:
        patched.setattr(Pretraining, "_export", full_disk)
        with pytest.raises(OSError):
            run(prepared_corpus, out, "training.seed=1", overwrite=True)
    assert hashes(out) == before
    with pytest.raises(DenoiseError, match="pass one of them"):
        run(prepared_corpus, out, resume=True, overwrite=True)
    summary = run(prepared_corpus, out, "training.seed=1", overwrite=True)
    assert summary["out"] == str(out) and summary["steps"] == 3
    assert hashes(out / "model") != {k[6:]: v for k, v in before.items() if k.startswith("model/")}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]  # nothing left beside it


def test_resume_falls_back_over_a_broken_newest_checkpoint(prepared_corpus, tmp_path, capsys):
    out = tmp_path / "run"
    interval = ("training.checkpoint_interval=2", "training.keep_checkpoints=3")
    run(prepared_corpus, out, *interval, steps=4)
    losses = [r["loss"] for r in read_metrics(out) if "loss" in r]
    weights = (out / "model" / "model.safetensors").read_bytes()
    newest = out / "checkpoints" / "step-00000004" / "model" / "model.safetensors"
    newest.write_bytes(newest.read_bytes()[: newest.stat().st_size // 2])
    capsys.readouterr()
    run(prepared_corpus, out, *interval, steps=4, resume=True)
    said = capsys.readouterr().out
    assert "step-00000004" in said and "cut short" in said and "resuming from step-00000002" in said
    assert [r["loss"] for r in read_metrics(out) if "loss" in r] == losses
    assert (out / "model" / "model.safetensors").read_bytes() == weights


# The masking rate rises from 10% to 50% over the run and evaluation masks 15%: a step that read another step's
# value would mask another number of tokens, and change its loss.
RISING = (
    "corruption={name: rising, steps: [{op: mask, "
    "rate: {schedule: linear, points: [[0, 0.1], [1, 0.5]], eval: 0.15}}]}"
)


def test_a_resumed_run_reads_the_corruption_schedule_at_its_own_steps(prepared_corpus, tmp_path):
    out = tmp_path / "run"
    interval = ("training.checkpoint_interval=2", "training.keep_checkpoints=3", RISING)
    run(prepared_corpus, out, *interval, steps=4)
    records = [r for r in read_metrics(out) if "loss" in r]
    assert [r["corruption.mask.rate"] for r in records] == pytest.approx([0.1, 0.2, 0.3, 0.4])
    weights = (out / "model" / "model.safetensors").read_bytes()
    newest = out / "checkpoints" / "step-00000004" / "model" / "model.safetensors"
    newest.write_bytes(newest.read_bytes()[: newest.stat().st_size // 2])  # resumes from step 2
    run(prepared_corpus, out, *interval, steps=4, resume=True)
    resumed = [r for r in read_metrics(out) if "loss" in r]
    assert [(r["loss"], r["corruption.mask.rate"]) for r in resumed] == [
        (r["loss"], r["corruption.mask.rate"]) for r in records
    ]
    assert (out / "model" / "model.safetensors").read_bytes() == weights


def test_scheduled_micro_batches_in_workers_give_the_losses_of_whole_batches(prepared_corpus, tmp_path):
    common = ("model.dropout=0.0", "model.attention_dropout=0.0", RISING)
    run(prepared_corpus, tmp_path / "whole", *common)
    run(prepared_corpus, tmp_path / "split", *common, "training.micro_batch=2", "data.num_workers=2")
    a = [r["loss"] for r in read_metrics(tmp_path / "whole") if "loss" in r]
    b = [r["loss"] for r in read_metrics(tmp_path / "split") if "loss" in r]
    assert np.allclose(a, b, rtol=1e-5), (a, b)


def test_each_step_trains_with_its_scheduled_value(prepared_corpus, tmp_path):
    run(prepared_corpus, tmp_path / "rising", RISING)  # 10%, then 23% and 37% of the tokens
    run(prepared_corpus, tmp_path / "plain", "corruption={steps: [{op: mask, rate: 0.1}]}")
    rising, plain = (
        [r["loss"] for r in read_metrics(tmp_path / name) if "loss" in r] for name in ("rising", "plain")
    )
    assert rising[0] == plain[0] and rising[1] != plain[1] and rising[2] != plain[2]


def test_evaluation_masks_at_the_schedule_s_eval_value(prepared_corpus, tmp_path):
    run(prepared_corpus, tmp_path / "rising", RISING, steps=1)
    run(prepared_corpus, tmp_path / "plain", "corruption={steps: [{op: mask, rate: 0.15}]}", steps=1)
    rising, plain = (
        [r for r in read_metrics(tmp_path / name) if "eval_tokens" in r] for name in ("rising", "plain")
    )
    assert rising[-1]["eval_tokens"] == plain[-1]["eval_tokens"]
    assert not any(key.startswith("corruption.") for r in read_metrics(tmp_path / "plain") for key in r)


def test_resume_refuses_a_corpus_prepared_again_from_other_text(tokenizer, corpus_documents, tmp_path):
    from denoise.data.prepare import prepare_corpus

    text, blocks, out = tmp_path / "corpus.txt", tmp_path / "blocks", tmp_path / "run"
    text.write_text("\n\n".join(corpus_documents[:40]) + "\n", encoding="utf-8")
    prepare_corpus([str(text)], tokenizer, blocks, block_size=64)
    run(str(blocks), out)
    text.write_text("\n\n".join(corpus_documents[-40:]) + "\n", encoding="utf-8")
    prepare_corpus([str(text)], tokenizer, blocks, block_size=64, overwrite=True)
    before = hashes(out)
    with pytest.raises(DenoiseError, match="prepared again from other text"):
        run(str(blocks), out, steps=5, resume=True)
    assert hashes(out) == before


def test_resume_extends_a_finished_run(prepared_corpus, tmp_path):
    out = tmp_path / "run"
    run(prepared_corpus, out, steps=3)
    summary = run(prepared_corpus, out, "training.checkpoint_interval=3", steps=5, resume=True)
    assert summary["steps"] == 5
    assert [r["step"] for r in read_metrics(out) if "loss" in r] == [1, 2, 3, 4, 5]


@pytest.mark.parametrize(
    "override, message",
    [
        ("training.max_stepz=3", "did you mean 'max_steps'"),
        ("model.family=gtp", "model.family 'gtp' is not one of .*did you mean 'gpt'"),
        # a decoder-only model reads the masked block and then writes it: twice the block and two tokens
        ("model.family=gpt", "framed sequences reach 130 tokens but the model has 80 positions"),
        ("training.precision=fp8", "training.precision"),
        ("data.block_size=32", "holds blocks of 64 tokens but data.block_size is 32"),
        ("training.global_batch=6", "does not split into micro-batches"),
        ("corruption=bart", "changes the sequence length"),
        ("model.max_positions=40", "framed sequences reach 66 tokens but the model has 40 positions"),
        ("corruption=nsp_only", "unknown corruption recipe 'nsp_only'"),
    ],
)
def test_bad_settings_fail_with_the_value_and_what_to_do(override, message, prepared_corpus, tmp_path):
    extra = [override, "training.micro_batch=4"] if "global_batch" in override else [override]
    with pytest.raises(DenoiseError, match=message):
        run(prepared_corpus, tmp_path / "run", *extra)
    assert not (tmp_path / "run" / "checkpoints").exists()


def test_too_small_a_corpus_for_the_batch(prepared_corpus, tmp_path):
    with pytest.raises(DenoiseError, match="fewer than one global batch"):
        run(prepared_corpus, tmp_path / "run", "training.global_batch=4096", "training.micro_batch=8")


def test_step_sampler_splits_each_global_batch_over_processes_and_accumulation():
    train = np.arange(100, 200)
    layout = Layout.of(global_batch=12, micro_batch=3, processes=2)
    assert layout.accumulation == 2
    one = StepSampler(train, Layout.of(12, None, 1), rank=0, seed=5, start=0, stop=4)
    ranks = [list(StepSampler(train, layout, rank=r, seed=5, start=0, stop=4)) for r in range(2)]
    for step, whole in enumerate(one):
        parts = ranks[0][2 * step : 2 * step + 2] + ranks[1][2 * step : 2 * step + 2]
        assert sorted(k for part in parts for k in part) == sorted(whole)
    resumed = list(StepSampler(train, Layout.of(12, None, 1), rank=0, seed=5, start=2, stop=4))
    assert resumed == list(one)[2:]
    keys = [key for micro in StepSampler(train, Layout.of(12, None, 1), 0, 5, 0, 20) for key in micro]
    assert {epoch for epoch, _, _ in keys} == {0, 1, 2}  # 8 steps per epoch
    assert [step for _, _, step in ranks[1][6]] == [3] * 3  # each key names its optimizer step


@pytest.mark.parametrize(
    "schedule, step, expected",
    [
        ("linear", 0, 0.1),
        ("linear", 9, 1.0),
        ("linear", 55, 0.5),
        ("linear", 100, 0.0),
        ("cosine", 55, 0.5),
        ("constant", 80, 1.0),
        ("inverse_sqrt", 39, 0.5),
    ],
)
def test_learning_rate_schedules(schedule, step, expected):
    assert lr_factor(step, schedule, warmup_steps=10, total_steps=100) == pytest.approx(expected, abs=1e-9)


def test_cosine_decays_to_the_floor():
    assert lr_factor(100, "cosine", 10, 100, min_ratio=0.1) == pytest.approx(0.1)


def test_cli_runs_a_recipe_with_settings_and_reports(prepared_corpus, tmp_path, capsys):
    from denoise.cli import main

    out = tmp_path / "run"
    recipe = str(RECIPES / "tiny_t5.yaml")
    main(["pretrain", recipe, *tiny(prepared_corpus), "--out", str(out), "--no-progress"])
    printed = capsys.readouterr().out
    assert "3 steps" in printed and "eval loss" in printed and str(out / "model") in printed
    main(["pretrain", recipe, *tiny(prepared_corpus), "--out", str(out), "--resume", "--no-progress"])
    assert "already at step 3" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["pretrain", recipe, "recipes/other.yaml", "--out", str(tmp_path / "x")])
    assert "one recipe at most" in capsys.readouterr().err


def test_a_run_leaves_no_process_wide_state_behind(prepared_corpus, tmp_path):
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    threads = torch.get_num_threads()
    run(prepared_corpus, tmp_path / "run", "training.threads=1")
    assert torch.get_num_threads() == threads  # the command sets threads, not the library
    assert torch.equal(torch.rand(3), expected)  # the run drew from its own generators
