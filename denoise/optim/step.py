"""One optimizer step, as pre-training and fine-tuning both take it.

:class:`Precision` gives the autocast context of a run (bf16 or fp16 on the device, nothing for fp32) and,
for fp16, the gradient scaler; :class:`Stepper` scales each micro-batch's loss into its backward pass, then
steps: unscale, clip to ``clip_norm``, optimizer step (skipped by the scaler on an fp16 overflow), scaler and
schedule updates, gradients cleared. Precision is handled here rather than by accelerate, whose process-wide
state would pin the first run's precision for every later run in the process.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import torch

PRECISIONS = ("fp32", "bf16", "fp16")
DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


class Precision:
    def __init__(self, precision: str, device_type: str):
        self.dtype = DTYPES.get(precision)
        self.device_type = device_type
        self.scaler = torch.amp.GradScaler(device_type, enabled=precision == "fp16")

    def autocast(self):
        return torch.autocast(self.device_type, dtype=self.dtype, enabled=self.dtype is not None)


class Stepper:
    """Backward passes and optimizer steps for ``optimizer`` (the torch optimizer itself, not a wrapper)."""

    def __init__(
        self,
        optimizer: torch.optim.Optimizer,
        scheduler,
        precision: Precision,
        clip_norm: float | None,
        parameters: Callable[[], Iterable[torch.Tensor]],
        clip: Callable = torch.nn.utils.clip_grad_norm_,
    ):
        """``parameters()`` gives the weights to clip; ``clip(parameters, max_norm)`` clips them (accelerate's
        own under several processes)."""
        self.optimizer, self.scheduler, self.precision = optimizer, scheduler, precision
        self.clip_norm, self.parameters, self.clip = clip_norm, parameters, clip

    def backward(self, loss: torch.Tensor) -> None:
        self.precision.scaler.scale(loss).backward()

    def step(self) -> torch.Tensor | None:
        """Clip, step and clear; returns the gradient norm before clipping (None without clipping)."""
        scaler = self.precision.scaler
        norm = None
        if self.clip_norm:
            scaler.unscale_(self.optimizer)
            norm = self.clip(self.parameters(), self.clip_norm)
        scaler.step(self.optimizer)
        scaler.update()
        self.scheduler.step()
        self.optimizer.zero_grad(set_to_none=True)
        return norm

    def state(self) -> dict:
        """What a checkpoint keeps of the step: optimizer, schedule and (fp16) scaler states."""
        states = {"optimizer": self.optimizer, "scheduler": self.scheduler}
        if self.precision.scaler.is_enabled():
            states["scaler"] = self.precision.scaler
        return states
