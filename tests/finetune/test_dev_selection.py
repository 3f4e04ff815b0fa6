"""Fine-tuning chooses by the dev split: early stopping, the best weights kept, learning-rate sweeps, probes."""

import random

import pytest
import torch
from safetensors.torch import load_file

from denoise.errors import DenoiseError
from denoise.finetune.config import load_finetune_config
from denoise.finetune.evaluate import evaluate_saved
from denoise.finetune.loop import LossCurve, finetune
from denoise.finetune.rates import default_lr, rates_to_try
from denoise.finetune.selection import DevSelection
from tests.paths import SAMPLES

WORDS = "river stone light winter garden song bread window morning letter".split()


@pytest.fixture(scope="module")
def topic_task(tmp_path_factory):
    """Sentences whose label is whether they hold 'good' or 'bad': learnable in a few steps, not at once."""
    folder = tmp_path_factory.mktemp("topic")
    chooser = random.Random(0)
    for split, size in (("train", 48), ("dev", 24), ("test", 24)):
        rows = ["text\tlabel"]
        for _ in range(size):
            label = chooser.choice(["good", "bad"])
            words = chooser.sample(WORDS, 5)
            words.insert(chooser.randrange(6), label)
            rows.append(f"{' '.join(words)}\t{label}")
        (folder / f"{split}.tsv").write_text("\n".join(rows) + "\n")
    return folder


@pytest.fixture(scope="module")
def tokenizer_dir(tmp_path_factory, tokenizer):
    folder = tmp_path_factory.mktemp("tok") / "tokenizer"
    tokenizer.save(folder)
    return folder


def settings(task, tokenizer_dir, *extra):
    return [
        "task.kind=classification",
        *(f"task.{split}={task}/{split}.tsv" for split in ("train", "dev", "test")),
        "init=scratch",
        f"tokenizer={tokenizer_dir}",
        "model.family=bert",
        "model.size=tiny",
        "batch_size=8",
        "threads=1",
        *extra,
    ]


def headline(record):
    return 100 * record["dev"]["accuracy"]


def test_the_best_dev_weights_are_kept_and_say_which_step_they_come_from(topic_task, tokenizer_dir, tmp_path):
    config = load_finetune_config(
        None,
        settings(
            topic_task, tokenizer_dir, "epochs=6", "eval_interval=2", "patience=100", "optimizer.lr=3e-3"
        ),
    )
    results = finetune(config, tmp_path / "run")
    scores = {r["step"]: headline(r) for r in results["history"]}
    assert len(scores) == 18  # 6 steps an epoch, scored every 2
    assert len(set(scores.values())) > 2  # the dev score moves, so the choice means something
    best_step = max(scores, key=lambda step: (scores[step], -step))  # the first of equal scores
    assert results["best_step"] == best_step
    assert 100 * results["dev"]["accuracy"] == pytest.approx(scores[best_step])
    assert evaluate_saved(tmp_path / "run", "dev")["accuracy"] == pytest.approx(results["dev"]["accuracy"])


def test_keep_last_keeps_the_last_weights(topic_task, tokenizer_dir, tmp_path):
    extra = ("epochs=3", "patience=null", "keep=last", "optimizer.lr=3e-3")
    results = finetune(
        load_finetune_config(None, settings(topic_task, tokenizer_dir, *extra)), tmp_path / "r"
    )
    assert results["best_step"] is None
    assert [r["step"] for r in results["history"]] == [6, 12, 18]
    assert "dev" not in results["history"][-1]  # nothing needed dev scores while training


def test_training_stops_after_patience_scores_without_a_better_one(topic_task, tokenizer_dir, tmp_path):
    extra = ("epochs=50", "eval_interval=1", "patience=2", "optimizer.lr=0")  # lr 0: no score ever improves
    results = finetune(
        load_finetune_config(None, settings(topic_task, tokenizer_dir, *extra)), tmp_path / "r"
    )
    assert [r["step"] for r in results["history"]] == [1, 2, 3]
    assert results["best_step"] == 1


def test_a_sweep_trains_every_rate_from_the_same_start_and_keeps_the_best(
    topic_task, tokenizer_dir, tmp_path
):
    extra = ("epochs=4", "optimizer.lr=[0,3e-3,3e-3]", "seed=3")
    results = finetune(
        load_finetune_config(None, settings(topic_task, tokenizer_dir, *extra)), tmp_path / "r"
    )
    sweep = results["sweep"]
    assert [trial["lr"] for trial in sweep] == [0, 3e-3, 3e-3]
    assert sweep[1] == sweep[2]  # the same start, head and order: the same run
    best = max(sweep, key=lambda trial: trial["dev"])
    assert results["lr"] == best["lr"] and results["best_step"] == best["best_step"]
    assert 100 * results["dev"]["accuracy"] == pytest.approx(best["dev"])
    assert best["dev"] > sweep[0]["dev"]  # training beats the untrained head


def test_a_sweep_needs_a_dev_split(topic_task, tokenizer_dir, tmp_path):
    args = [s for s in settings(topic_task, tokenizer_dir, "optimizer.lr=[1e-4,1e-3]") if "task.dev" not in s]
    with pytest.raises(DenoiseError, match=r"optimizer\.lr=\[0\.0001, 0\.001\] is a sweep.*task\.dev"):
        finetune(load_finetune_config(None, args), tmp_path / "r")


def test_a_probe_trains_the_head_alone_and_scores_as_the_saved_model_does(
    topic_task, tokenizer_dir, tmp_path
):
    first = finetune(
        load_finetune_config(None, settings(topic_task, tokenizer_dir, "epochs=1", "optimizer.lr=0")),
        tmp_path / "start",
    )
    assert first["head"] == "new"
    extra = ("init=" + str(tmp_path / "start"), "epochs=5", "probe=true")
    results = finetune(
        load_finetune_config(None, settings(topic_task, tokenizer_dir, *extra)), tmp_path / "p"
    )
    assert results["probe"] is True and results["lr"] == 1e-3  # a probe's default rate
    before = load_file(tmp_path / "start" / "final" / "model" / "model.safetensors")
    after = load_file(tmp_path / "p" / "final" / "model" / "model.safetensors")
    assert all(torch.equal(before[k], after[k]) for k in before)  # the backbone did not move
    head = load_file(tmp_path / "p" / "final" / "head.safetensors")
    assert sorted(head) == ["output.bias", "output.weight"]  # a linear head on the pooled state
    assert results["head"] == "new"  # the start's head had a dense layer: not a probe's
    again = evaluate_saved(tmp_path / "p", "test")  # the saved model reads the tokens, not cached states
    assert again["accuracy"] == pytest.approx(results["test"]["accuracy"])


def test_a_probe_of_a_task_without_a_head_is_refused(tokenizer_dir, tmp_path):
    args = [
        "task.kind=generation",
        f"task.train={SAMPLES}/parallel",
        "init=scratch",
        f"tokenizer={tokenizer_dir}",
        "model.family=bart",
        "model.size=tiny",
        "probe=true",
    ]
    with pytest.raises(DenoiseError, match="probe=true.*generation task has no head"):
        finetune(load_finetune_config(None, args), tmp_path / "r")


def test_rates_follow_the_width_unless_the_recipe_names_them():
    assert default_lr(128) == 1e-3 and default_lr(256) == 3e-4 and default_lr(384) == 1e-4
    assert default_lr(768) == 3e-5 and default_lr(768, probe=True) == 1e-3
    assert rates_to_try(None, 256) == [3e-4]
    assert rates_to_try(2e-5, 256) == [2e-5]
    assert rates_to_try([1e-4, 1e-3], 256) == [1e-4, 1e-3]


def test_dev_selection_keeps_the_first_of_equal_scores_and_counts_patience():
    model = torch.nn.Linear(2, 1)
    selection = DevSelection(patience=2, keep_best=True)
    for step, score in enumerate([50.0, 60.0, 60.0, 55.0], start=1):
        selection.offer(step, score, model)
    assert (selection.best, selection.best_step, selection.should_stop) == (60.0, 2, True)


def test_the_loss_curve_has_about_200_points_of_window_means():
    curve = LossCurve(1000)
    for step in range(1000):
        curve.add(float(step))
    curve.flush()
    assert len(curve.points) == 200 and curve.points[0] == [5, 2.0] and curve.points[-1][0] == 1000
