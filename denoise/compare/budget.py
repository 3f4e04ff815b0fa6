"""A budget in seconds or FLOPs turned into each cell's tokens, through a rate measured once per cell and kept
in ``OUT/budget/CELL.json`` (beside the cell's run, which holds only what pre-training writes)."""

from __future__ import annotations

import json
import statistics
import tempfile
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from denoise.compare.config import Budget, Cell
from denoise.train.config import PretrainConfig
from denoise.train.data import StepSampler, make_loader
from denoise.train.loop import Pretraining, pretrain
from denoise.train.metrics import read_metrics
from denoise.train.objectives.base import Counts

RATES = {"seconds": "tokens_per_s", "flops": "flops_per_token"}  # a budget's kind -> the rate budget/ keeps


class Budgeting:
    def __init__(self, budget: Budget, out: Path, log: Callable[[str], None]):
        self.budget, self.out, self.log = budget, Path(out), log

    def calibrated(self, cell: Cell, config: PretrainConfig) -> PretrainConfig:
        """A seconds or FLOPs budget turned into this cell's tokens through a rate measured once per cell:
        its tokens per second in a short timed run, or its training FLOPs per token on its first batches
        (kept in budget/CELL.json, beside the cell's run, which holds only what pre-training writes)."""
        budget = self.budget
        kind = "seconds" if budget.seconds is not None else "flops"
        record = self.out / "budget" / f"{cell.name}.json"
        saved = json.loads(record.read_text()) if record.exists() else {}
        rate = saved.get(RATES[kind])
        if rate is None:
            rate = self.tokens_per_second(config) if kind == "seconds" else self.flops_per_token(config)
        amount = getattr(budget, kind)
        tokens = whole_steps(rate * amount if kind == "seconds" else amount / rate, config)
        record.parent.mkdir(parents=True, exist_ok=True)
        record.write_text(json.dumps({RATES[kind]: rate, kind: amount, "tokens": tokens}))
        if kind == "seconds":
            self.log(f"{cell.name}: {rate:,.0f} tokens/s, so {amount:g} s is {tokens:,} tokens")
        else:
            self.log(f"{cell.name}: {rate:.4g} FLOPs per token, so {amount:.4g} FLOPs is {tokens:,} tokens")
        return with_tokens(config, tokens)

    def calibration(self, config: PretrainConfig) -> PretrainConfig:
        """``config`` cut to the calibration steps: each step logged; no evaluation, reconstructions or trackers."""
        steps = self.budget.calibration_steps
        training = replace(
            config.training,
            max_steps=steps,
            max_tokens=None,
            log_interval=1,
            eval_batches=0,
            reconstructions=0,
            checkpoint_interval=steps,
            trackers=[],
        )
        return replace(config, training=training)

    def tokens_per_second(self, config: PretrainConfig) -> float:
        """Block tokens per second of the cell on this machine, from a short timed run."""
        with tempfile.TemporaryDirectory() as scratch:
            pretrain(self.calibration(config), scratch, progress=False)
            rates = [r["tokens_per_s"] for r in read_metrics(scratch) if "tokens_per_s" in r]
        return statistics.median(rates[len(rates) // 4 :])  # the first steps warm up

    def flops_per_token(self, config: PretrainConfig) -> float:
        """Training FLOPs per block token of the cell: its family's count (``Family.flops``) on the batches of
        its first steps, built by its own trainer (nothing is trained)."""
        with tempfile.TemporaryDirectory() as scratch:
            run = Pretraining(self.calibration(config), Path(scratch) / "run", progress=False)
            return first_steps_flops_per_token(run, self.budget.calibration_steps)


def with_tokens(config: PretrainConfig, tokens: int) -> PretrainConfig:
    training = replace(config.training, max_steps=None, max_tokens=int(tokens))
    return replace(config, training=training)


def whole_steps(tokens: float, config: PretrainConfig) -> int:
    """``tokens`` rounded down to whole global batches of blocks, at least one."""
    step = config.training.global_batch * config.data.block_size
    return max(step, int(tokens) - int(tokens) % step)


def first_steps_flops_per_token(run: Pretraining, steps: int) -> float:
    """FLOPs per block token of ``run``'s first ``steps`` steps (its first process's micro-batches, from the
    loader its training would read), by its objective's count (its family's, plus any model in the loop)."""
    t = run.config.training
    sampler = StepSampler(run.split.train, run.layout, 0, t.seed, 0, steps)
    flops = tokens = 0
    for batch in make_loader(run.blocks, sampler, run.collator, 0, t.seed):
        flops += run.objective.flops(run.family, run.unwrapped, batch, Counts.of(batch).tokens)
        tokens += len(batch) * run.config.data.block_size
    return flops / tokens
