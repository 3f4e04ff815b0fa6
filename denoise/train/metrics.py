"""What a run reports: ``OUT/metrics.jsonl`` (one JSON object per logged step or evaluation), accelerate's
trackers (TensorBoard), and the device peak behind the utilisation figure (the model FLOPs of a batch are
its family's count, ``Family.flops``)."""

from __future__ import annotations

import json
from pathlib import Path

import torch

from denoise.files import write_text

METRICS_FILE = "metrics.jsonl"
# Dense bf16/fp16 peak TFLOP/s of common accelerators, by a substring of torch.cuda.get_device_name().
PEAK_TFLOPS = {
    "H200": 989.0,
    "H100": 989.0,
    "A100": 312.0,
    "L40S": 362.0,
    "A10G": 125.0,
    "L4": 121.0,
    "V100": 125.0,
}


class MetricsLog:
    """Appends records to ``metrics.jsonl`` (flushed each time, so a killed run keeps what it logged)."""

    def __init__(self, out: Path, resume_step: int | None = None):
        self.path = Path(out) / METRICS_FILE
        if resume_step is not None:
            self.truncate_after(resume_step)
        elif self.path.exists():
            self.path.unlink()

    def truncate_after(self, step: int) -> None:
        """Drop records past ``step`` (the resumed run logs them again), atomically."""
        if not self.path.exists():
            return
        kept = [
            line
            for line in self.path.read_text().splitlines()
            if line.strip() and json.loads(line).get("step", 0) <= step
        ]
        write_text(self.path, "".join(line + "\n" for line in kept))

    def write(self, record: dict) -> None:
        with self.path.open("a") as f:
            f.write(json.dumps(record) + "\n")


def read_metrics(out: str | Path) -> list[dict]:
    path = Path(out) / METRICS_FILE
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def available_trackers(names: list[str]) -> list[str]:
    """The requested accelerate trackers whose packages are installed (TensorBoard needs tensorboard or
    tensorboardX)."""
    from accelerate.utils import is_tensorboard_available, is_wandb_available

    checks = {"tensorboard": is_tensorboard_available, "wandb": is_wandb_available}
    return [name for name in names if checks.get(name, lambda: True)()]


def peak_flops(device_name: str | None, precision: str, configured_tflops: float | None) -> float | None:
    if configured_tflops:
        return configured_tflops * 1e12
    if device_name is None or precision == "fp32":
        return None
    for key, tflops in PEAK_TFLOPS.items():
        if key in device_name:
            return tflops * 1e12
    return None


class TrainingFlops:
    """The model FLOPs trained so far over every process: counted locally each step, summed across processes
    only when asked (at log lines, checkpoints and snapshots, which every process reaches together)."""

    def __init__(self, accelerator):
        self.accelerator, self.done, self.pending = accelerator, 0.0, 0.0

    def add(self, flops: float) -> None:
        self.pending += flops

    def total(self) -> float:
        pending = self.pending
        if self.accelerator.num_processes > 1:
            summed = self.accelerator.reduce(torch.tensor(pending, device=self.accelerator.device), "sum")
            pending = float(summed)
        self.done, self.pending = self.done + pending, 0.0
        return self.done
