"""The score of a task's baseline that needs no pre-training (``denoise baseline TASK.yaml``): each kind's
simple model (:meth:`denoise.tasks.kind.Kind.baseline`), fitted on the recipe's training split and scored
on its dev and test splits, read exactly as ``denoise finetune`` reads them.

    from denoise.finetune.baseline import baseline_scores
    from denoise.finetune.config import load_finetune_config
    baseline_scores(load_finetune_config("recipes/tasks/sentiment.yaml"))
"""

from __future__ import annotations

from denoise.errors import DenoiseError
from denoise.finetune.loop import read_splits
from denoise.tasks.kind import Kind
from denoise.tasks.kinds import KINDS, kind_named


def baseline_scores(config) -> dict:
    """``{"name", "kind", "baseline", "dev", "test"}`` for ``config`` (a ``FinetuneConfig``): the baseline's
    name and its metrics on each split the recipe has (the keys ``denoise finetune`` reports)."""
    kind_class = kind_named(config.task.kind)
    if kind_class.baseline is Kind.baseline:
        raise no_baseline(config.task.kind)
    kind = kind_class(config)
    splits = read_splits(config, kind)
    results = {"name": config.name, "kind": config.task.kind}
    for split in ("dev", "test"):
        if splits[split]:
            scored = kind.baseline(splits["train"], splits[split])
            if scored is None:
                raise no_baseline(config.task.kind)
            results["baseline"], results[split] = scored
    if "baseline" not in results:
        raise DenoiseError("the task has neither a dev nor a test split to score; set task.dev or task.test")
    return results


def no_baseline(kind: str) -> DenoiseError:
    having = ", ".join(name for name, kind_class in KINDS.items() if kind_class.baseline is not Kind.baseline)
    return DenoiseError(f"task kind {kind!r} has no baseline; the kinds with one: {having}")
