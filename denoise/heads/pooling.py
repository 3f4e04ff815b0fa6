"""One vector per sequence from hidden states ``[B, L, d]`` and a mask of real tokens ``[B, L]``."""

from __future__ import annotations

import torch

from denoise.errors import DenoiseError

POOLINGS = ("first", "mean", "last")


def pool(hidden: torch.Tensor, mask: torch.Tensor, how: str) -> torch.Tensor:
    """``first``: the first token ([CLS]); ``mean``: the average of real tokens; ``last``: the last real token
    (the end-of-sequence token, whose decoder state BART classifies)."""
    if how == "first":
        return hidden[:, 0]
    mask = mask.to(hidden.dtype)
    if how == "mean":
        return (hidden * mask[..., None]).sum(1) / mask.sum(1, keepdim=True).clamp(min=1)
    if how == "last":
        last = (mask.sum(1).long() - 1).clamp(min=0)
        return hidden[torch.arange(hidden.shape[0], device=hidden.device), last]
    raise DenoiseError(f"pooling {how!r} is not one of {', '.join(POOLINGS)}")
