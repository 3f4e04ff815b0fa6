"""Fully sharded training (``training.sharding=fsdp``) on two processes under torch.distributed (gloo): the
losses of data parallelism, whole models in its folders, and checkpoints that resume exactly, on any number of
processes."""

import os
import subprocess
import sys

import numpy as np
import pytest

from denoise.models.checkpoint import load_model
from denoise.train.metrics import read_metrics
from tests.train_helpers import tiny

pytestmark = pytest.mark.slow

ENV = {"OMP_NUM_THREADS": "1", "PYTHONPATH": os.getcwd()}


def losses(out) -> dict[int, float]:
    return {r["step"]: r["loss"] for r in read_metrics(out) if "loss" in r}


def run(*args: str, processes: int = 1, port: int = 29531) -> str:
    launch = ["-m", "torch.distributed.run", f"--nproc_per_node={processes}", f"--master_port={port}"]
    command = [
        sys.executable,
        *(launch if processes > 1 else []),
        "-m",
        "denoise.cli",
        *args,
        "--no-progress",
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, env=dict(os.environ, **ENV))
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout + done.stderr


def settings(prepared_corpus, *extra, steps=4):
    return tiny(
        prepared_corpus,
        "model.family=bart",
        "corruption=bart",
        "model.dropout=0.0",
        "model.attention_dropout=0.0",
        "training.global_batch=8",
        "training.micro_batch=2",  # two micro-batches a step on each of two processes
        "data.validation_blocks=6",  # three held-out micro-batches: one more for one process than the other
        *extra,
        steps=steps,
    )


def test_a_sharded_run_trains_as_one_process_does_and_keeps_whole_models(prepared_corpus, tmp_path):
    """The losses of one process, with activations kept or recomputed; the same models in every folder."""
    one = settings(prepared_corpus, "training.snapshots=[0.5]")
    run("pretrain", *one, "--out", str(tmp_path / "one"))
    output = run("pretrain", *one, "training.sharding=fsdp", "--out", str(tmp_path / "fsdp"), processes=2)
    assert "not sharded" not in output
    ones, sharded = losses(tmp_path / "one"), losses(tmp_path / "fsdp")
    assert sorted(sharded) == [1, 2, 3, 4]
    assert np.allclose([ones[s] for s in ones], [sharded[s] for s in ones], rtol=1e-5, atol=1e-6)
    sharded_settings = [*one, "training.sharding=fsdp", "training.activation_checkpointing=true"]
    run("pretrain", *sharded_settings, "--out", str(tmp_path / "recomputed"), processes=2)
    recomputed = losses(tmp_path / "recomputed")
    assert np.allclose([ones[s] for s in ones], [recomputed[s] for s in ones], rtol=1e-5, atol=1e-6)
    evals = [r for r in read_metrics(tmp_path / "fsdp") if "eval_loss" in r]
    assert "examples" in evals[-1] and "reconstruction_bleu" in evals[-1]  # generation across the shards
    for folder in ("model", "snapshots/step-00000002/model", "checkpoints/step-00000004/model"):
        whole, sharded_model = load_model(tmp_path / "one" / folder), load_model(tmp_path / "fsdp" / folder)
        for name, value in whole.state_dict().items():
            np.testing.assert_allclose(sharded_model.state_dict()[name], value, rtol=1e-4, atol=1e-5)


def test_a_sharded_run_resumes_exactly_on_any_number_of_processes(prepared_corpus, tmp_path):
    whole = settings(prepared_corpus, "training.sharding=fsdp", "training.checkpoint_interval=2")
    run("pretrain", *whole, "--out", str(tmp_path / "whole"), processes=2)
    half = settings(prepared_corpus, "training.sharding=fsdp", steps=2)
    run("pretrain", *half, "--out", str(tmp_path / "resumed"), processes=2)
    run("pretrain", *whole, "--out", str(tmp_path / "resumed"), "--resume", processes=2)
    expected, resumed = losses(tmp_path / "whole"), losses(tmp_path / "resumed")
    assert [resumed[s] for s in range(1, 5)] == [expected[s] for s in range(1, 5)]

    run("pretrain", *half, "--out", str(tmp_path / "one"), processes=2)
    output = run("pretrain", *whole, "--out", str(tmp_path / "one"), "--resume")  # on one process
    assert "not sharded" in output
    on_one = losses(tmp_path / "one")
    assert np.allclose([on_one[s] for s in (3, 4)], [expected[s] for s in (3, 4)], rtol=1e-5, atol=1e-6)


def test_hybrid_sharding_replicates_groups_of_shards(prepared_corpus, tmp_path):
    """Two groups of one process each (the shape of one node each): each holds a whole copy, the groups
    average their gradients; the losses of one process."""
    one = settings(prepared_corpus)
    run("pretrain", *one, "--out", str(tmp_path / "one"))
    hybrid = [*one, "training.sharding=fsdp", "training.shard_processes=1"]
    run("pretrain", *hybrid, "--out", str(tmp_path / "hybrid"), processes=2)
    ones, hybrids = losses(tmp_path / "one"), losses(tmp_path / "hybrid")
    assert np.allclose([ones[s] for s in ones], [hybrids[s] for s in ones], rtol=1e-5, atol=1e-6)
    whole, copied = load_model(tmp_path / "one" / "model"), load_model(tmp_path / "hybrid" / "model")
    for name, value in whole.state_dict().items():
        np.testing.assert_allclose(copied.state_dict()[name], value, rtol=1e-4, atol=1e-5)


def test_electra_shards_its_generator_and_discriminator_as_data_parallelism_trains_them(
    prepared_corpus, tmp_path
):
    """ELECTRA's generator shares the discriminator's embeddings; sharded, both train as under data
    parallelism on as many processes (whose generators sample alike), and both are kept whole."""
    electra = tiny(
        prepared_corpus,
        "objective=electra",
        "corruption=electra",
        "model.dropout=0.0",
        "model.attention_dropout=0.0",
        "training.global_batch=8",
        steps=3,
    )
    run("pretrain", *electra, "--out", str(tmp_path / "ddp"), processes=2)
    run("pretrain", *electra, "training.sharding=fsdp", "--out", str(tmp_path / "fsdp"), processes=2)
    ddp, sharded = losses(tmp_path / "ddp"), losses(tmp_path / "fsdp")
    assert np.allclose([ddp[s] for s in ddp], [sharded[s] for s in ddp], rtol=1e-5, atol=1e-6)
    for folder in ("model", "generator", "checkpoints/step-00000003/generator"):
        whole, copied = load_model(tmp_path / "ddp" / folder), load_model(tmp_path / "fsdp" / folder)
        for name, value in whole.state_dict().items():
            np.testing.assert_allclose(copied.state_dict()[name], value, rtol=1e-4, atol=1e-5)


def test_sharded_checkpoints_resume_exactly_on_any_number_of_processes(prepared_corpus, tmp_path):
    """Each process writes its own shards (no whole model in the checkpoint); a run resumes from them with the
    same losses, on two processes or on one; the run still ends with its whole model."""
    sharded = ["training.sharding=fsdp", "training.sharded_checkpoints=true"]
    whole = settings(prepared_corpus, *sharded, "training.checkpoint_interval=2")
    run("pretrain", *whole, "--out", str(tmp_path / "whole"), processes=2)
    checkpoint = tmp_path / "whole" / "checkpoints" / "step-00000002"
    assert list((checkpoint / "shards").glob("*.distcp")) and not (checkpoint / "model").exists()
    assert load_model(tmp_path / "whole" / "model").config.encoder.d_model == 32

    half = settings(prepared_corpus, *sharded, steps=2)
    run("pretrain", *half, "--out", str(tmp_path / "resumed"), processes=2)
    run("pretrain", *whole, "--out", str(tmp_path / "resumed"), "--resume", processes=2)
    expected, resumed = losses(tmp_path / "whole"), losses(tmp_path / "resumed")
    assert [resumed[s] for s in range(1, 5)] == [expected[s] for s in range(1, 5)]

    run("pretrain", *half, "--out", str(tmp_path / "one"), processes=2)
    run("pretrain", *whole, "--out", str(tmp_path / "one"), "--resume")  # on one process
    on_one = losses(tmp_path / "one")
    assert np.allclose([on_one[s] for s in (3, 4)], [expected[s] for s in (3, 4)], rtol=1e-5, atol=1e-6)


def test_a_sharded_bf16_run_gathers_bf16_weights_and_trains_as_one_process_does(prepared_corpus, tmp_path):
    """Under bf16 the weights travel and compute in bf16 (fp32 shards, gradients averaged in fp32): losses
    within bf16's precision of one process's bf16 run, and the kept model in fp32."""
    import torch

    bf16 = settings(prepared_corpus, "training.precision=bf16")
    run("pretrain", *bf16, "--out", str(tmp_path / "one"))
    run("pretrain", *bf16, "training.sharding=fsdp", "--out", str(tmp_path / "fsdp"), processes=2)
    ones, sharded = losses(tmp_path / "one"), losses(tmp_path / "fsdp")
    assert np.allclose([ones[s] for s in ones], [sharded[s] for s in ones], rtol=2e-3)
    model = load_model(tmp_path / "fsdp" / "model")
    assert all(value.dtype == torch.float32 for value in model.state_dict().values())
