"""Torch's global random generators, which fresh weights and dropout draw from, kept inside a run.

A run seeds and uses the global generators inside :func:`isolated`; when it ends, the caller's generators
are as they were, so no library call leaves process-wide random state behind. :func:`state` and
:func:`restore` carry a run's generators across a checkpoint.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch


def _devices() -> list[int]:
    return [torch.cuda.current_device()] if torch.cuda.is_available() else []


@contextmanager
def isolated(seed: int | None = None) -> Iterator[None]:
    """Run the block on torch's global generators (seeded with ``seed`` when given), restoring the caller's
    generators afterwards."""
    with torch.random.fork_rng(devices=_devices()):
        if seed is not None:
            torch.manual_seed(seed)
        yield


def state() -> dict:
    """The global generators' state: the CPU's and every CUDA device's."""
    saved = {"cpu": torch.get_rng_state()}
    if torch.cuda.is_available():
        saved["cuda"] = torch.cuda.get_rng_state_all()
    return saved


def restore(saved: dict) -> None:
    torch.set_rng_state(saved["cpu"])
    if "cuda" in saved and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(saved["cuda"])
