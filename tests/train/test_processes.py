"""Runs in other processes: a run killed with SIGKILL and resumed, and two processes under torch.distributed
(gloo, as ``accelerate launch`` or ``torchrun`` start them) against one."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from denoise.train.checkpoints import latest_checkpoint
from denoise.train.metrics import METRICS_FILE, read_metrics
from tests.train_helpers import cli, tiny

pytestmark = pytest.mark.slow


def losses(out) -> dict[int, float]:
    return {r["step"]: r["loss"] for r in read_metrics(out) if "loss" in r}


def logged_steps(out) -> int:
    path = out / METRICS_FILE
    if not path.exists():
        return 0
    steps = []
    for line in path.read_text().splitlines():
        try:
            steps.append(json.loads(line)["step"])
        except ValueError:  # a line being written
            pass
    return max(steps, default=0)


def finish(process: subprocess.Popen) -> str:
    output, _ = process.communicate(timeout=300)
    assert process.returncode == 0, output
    return output


@pytest.mark.parametrize("family, corruption", [("bert", "bert"), ("bart", "bart")])
def test_a_run_killed_between_checkpoints_resumes_with_the_same_losses(
    family, corruption, prepared_corpus, tmp_path
):
    settings = tiny(
        prepared_corpus,
        f"model.family={family}",
        "model.size=tiny",
        f"corruption={corruption}",
        "model.d_model=64",
        "training.global_batch=16",
        "training.checkpoint_interval=20",
        "training.eval_interval=15",
        steps=40,
    )
    finish(cli("pretrain", *settings, "--out", str(tmp_path / "whole"), "--no-progress"))

    killed = tmp_path / "killed"
    process = cli("pretrain", *settings, "--out", str(killed), "--no-progress")
    deadline = time.time() + 240
    while logged_steps(killed) < 23 and process.poll() is None and time.time() < deadline:
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.communicate()
    reached = logged_steps(killed)
    checkpoint = latest_checkpoint(killed)
    assert checkpoint is not None and checkpoint.name == "step-00000020", checkpoint
    assert 20 < reached < 40, f"the kill should land between checkpoints (logged up to step {reached})"
    assert not (killed / "model").exists()

    finish(cli("pretrain", *settings, "--out", str(killed), "--resume", "--no-progress"))
    whole, resumed = losses(tmp_path / "whole"), losses(killed)
    assert sorted(resumed) == list(range(1, 41))
    assert [resumed[s] for s in sorted(resumed)] == [whole[s] for s in sorted(whole)]
    evals = [r for r in read_metrics(killed) if "eval_loss" in r]
    assert [r["step"] for r in evals] == [15, 30, 40]


def test_two_processes_give_the_losses_of_one(prepared_corpus, tmp_path):
    settings = tiny(
        prepared_corpus,
        "model.dropout=0.0",
        "model.attention_dropout=0.0",
        "training.global_batch=8",
        steps=4,
    )
    env = {"OMP_NUM_THREADS": "1", "PYTHONPATH": os.getcwd()}
    finish(cli("pretrain", *settings, "--out", str(tmp_path / "one"), "--no-progress", env_extra=env))
    two = subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--nproc_per_node=2",
            "--master_port=29517",
            "-m",
            "denoise.cli",
            "pretrain",
            *settings,
            "--out",
            str(tmp_path / "two"),
            "--no-progress",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env=dict(os.environ, **env),
    )
    assert two.returncode == 0, two.stdout + two.stderr
    one_losses, two_losses = losses(tmp_path / "one"), losses(tmp_path / "two")
    assert sorted(two_losses) == [1, 2, 3, 4]
    assert np.allclose(
        [one_losses[s] for s in range(1, 5)], [two_losses[s] for s in range(1, 5)], rtol=1e-5, atol=1e-6
    ), (one_losses, two_losses)
    state = (tmp_path / "two" / "checkpoints" / "step-00000004" / "trainer.json").read_text()
    assert '"processes": 2' in state
    assert (tmp_path / "two" / "checkpoints" / "step-00000004" / "rng-rank1.pt").exists()
