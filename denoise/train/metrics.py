"""What a run reports: ``OUT/metrics.jsonl`` (one JSON object per logged step or evaluation), accelerate's
trackers (TensorBoard), and the model FLOPs behind the utilisation figure."""

from __future__ import annotations

import json
from pathlib import Path

from torch import nn

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


def matmul_parameters(module: nn.Module | None) -> int:
    """Weights that multiply every token (linear layers), which dominate a transformer's FLOPs."""
    if module is None:
        return 0
    return sum(m.weight.numel() for m in module.modules() if isinstance(m, nn.Linear))


def training_flops(model, batch_size: int, source_length: int, target_length: int, predicted: int) -> float:
    """Approximate FLOPs of one forward and backward: 6 per weight per token, attention scores and values,
    and the vocabulary projection at the predicted positions."""
    encoder = model.encoder
    d_model = encoder.config.d_model
    vocab_size = encoder.config.vocab_size
    inner = encoder.config.num_heads * encoder.config.head_size
    flops = 6 * matmul_parameters(encoder) * batch_size * source_length
    flops += 12 * encoder.config.num_layers * batch_size * source_length**2 * inner
    decoder = getattr(model, "decoder", None)
    if decoder is not None:
        flops += 6 * matmul_parameters(decoder) * batch_size * target_length
        layers = decoder.config.num_layers
        flops += 12 * layers * batch_size * (target_length**2 / 2 + target_length * source_length) * inner
    else:
        flops += 6 * matmul_parameters(getattr(model, "mlm", None)) * predicted
    return float(flops + 6 * predicted * d_model * vocab_size)


def peak_flops(device_name: str | None, precision: str, configured_tflops: float | None) -> float | None:
    if configured_tflops:
        return configured_tflops * 1e12
    if device_name is None or precision == "fp32":
        return None
    for key, tflops in PEAK_TFLOPS.items():
        if key in device_name:
            return tflops * 1e12
    return None
