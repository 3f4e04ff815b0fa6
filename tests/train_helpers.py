"""Settings that shrink any pre-training recipe to seconds on a CPU, and a way to run the CLI in a process."""

import os
import subprocess
import sys

TINY_STACK = [
    "model.num_layers=1",
    "model.decoder_layers=1",
    "model.d_model=32",
    "model.num_heads=2",
    "model.d_ff=64",
    "model.d_kv=16",
    "model.max_positions=80",
]


def tiny(prepared: str, *extra: str, steps: int = 3) -> list[str]:
    return [
        f"data.prepared={prepared}",
        "data.block_size=64",
        "data.validation_blocks=8",
        "data.num_workers=0",
        *TINY_STACK,
        "training.global_batch=8",
        "training.micro_batch=null",
        f"training.max_steps={steps}",
        "training.log_interval=1",
        f"training.eval_interval={steps}",
        "training.eval_batches=1",
        "training.reconstructions=2",
        f"training.checkpoint_interval={steps}",
        "training.trackers=[]",
        "training.threads=1",
        "optimizer.warmup_steps=2",
        *extra,
    ]


def cli(*args: str, env_extra: dict | None = None) -> subprocess.Popen:
    env = dict(os.environ, **(env_extra or {}))
    return subprocess.Popen(
        [sys.executable, "-m", "denoise.cli", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
