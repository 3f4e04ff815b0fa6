"""Choosing by the dev split: the best dev score seen so far, the weights that gave it, and when to stop."""

from __future__ import annotations

from torch import nn


class DevSelection:
    """Offered a dev score after each evaluation; remembers the best (the first of equal scores) and, with
    ``keep_best``, a copy of the weights that scored it (on the CPU)."""

    def __init__(self, patience: int | None, keep_best: bool):
        self.patience, self.keep_best = patience, keep_best
        self.best: float | None = None
        self.best_step: int | None = None
        self.best_state: dict | None = None
        self.since_best = 0

    def offer(self, step: int, score: float, model: nn.Module) -> None:
        if self.best is None or score > self.best:
            self.best, self.best_step, self.since_best = score, step, 0
            if self.keep_best:
                self.best_state = {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}
        else:
            self.since_best += 1

    @property
    def should_stop(self) -> bool:
        return self.patience is not None and self.since_best >= self.patience

    def restore_best(self, model: nn.Module) -> None:
        """Load the best weights back into ``model`` (nothing without them)."""
        if self.best_state is not None:
            model.load_state_dict(self.best_state)
