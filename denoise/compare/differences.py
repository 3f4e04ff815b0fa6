"""Which cells of a grid differ on a task: each cell against its family's scratch baseline and against the
best cell, as mean paired differences (paired by fine-tuning seed) with 95% bootstrap intervals
(:mod:`denoise.compare.statistics`). Where every run's per-example scores are known (a headline that is a
mean or a ratio of sums over examples: accuracy, word accuracy, entity F1, a question's F1), the bootstrap
resamples test examples as well as seeds."""

from __future__ import annotations

import statistics
from dataclasses import dataclass

from denoise.compare.grid import Entry
from denoise.compare.statistics import Difference, paired_difference, paired_example_difference
from denoise.tasks.example_scores import ExampleScores


@dataclass(frozen=True)
class TaskDifferences:
    task: str
    metric: str
    best: str  # the cell (pre-trained or scratch) with the highest mean
    against_scratch: dict[str, Difference]  # pre-trained cell -> cell minus its family's scratch baseline
    against_best: dict[str, Difference]  # every other cell -> cell minus the best
    resampled: str  # what the bootstrap drew: "seeds" or "seeds and test examples"


def final_scores(entries: list[Entry], task: str) -> dict[str, dict[int, float]]:
    """cell -> seed -> score on ``task``, at the end of pre-training (snapshots and baselines left out)."""
    found: dict[str, dict[int, float]] = {}
    for e in entries:
        if e.task == task and e.init != "baseline" and e.fraction in (1.0, None):
            found.setdefault(e.cell, {})[e.seed] = e.value
    return found


RunExamples = dict[tuple[str, str, int], ExampleScores]  # (cell, task, seed) -> each test example's part


def paired(scores: dict, a: str, b: str, task: str, examples: RunExamples) -> Difference | None:
    """Cell ``a`` minus cell ``b`` on ``task`` over their shared seeds, resampling examples too where their
    scores are known; None with nothing to resample (one seed and no example scores)."""
    seeds = sorted(set(scores[a]) & set(scores[b]))
    rows = [[examples.get((cell, task, seed)) for seed in seeds] for cell in (a, b)]
    if seeds and all(row is not None for cell_rows in rows for row in cell_rows):
        (a_rows, b_rows) = rows
        return paired_example_difference(
            [row.parts for row in a_rows],
            [row.parts for row in b_rows],
            a_totals=[_totals(row) for row in a_rows],
            b_totals=[_totals(row) for row in b_rows],
        )
    if len(seeds) < 2:
        return None
    return paired_difference([scores[a][s] for s in seeds], [scores[b][s] for s in seeds])


def _totals(row: ExampleScores) -> list[float]:
    return [1.0] * len(row.parts) if row.totals is None else row.totals


def task_differences(entries: list[Entry], examples: RunExamples | None = None) -> list[TaskDifferences]:
    """Per task (in the order the entries name them), the differences of every cell that has something to
    resample."""
    examples = examples or {}
    tasks = list(dict.fromkeys(e.task for e in entries))
    found = []
    for task in tasks:
        scores = final_scores(entries, task)
        if not scores:
            continue
        metric = next(e.metric for e in entries if e.task == task)
        family = {e.cell: e.family for e in entries if e.task == task}
        scratch = {e.family: e.cell for e in entries if e.task == task and e.init == "scratch"}
        pretrained = list(
            dict.fromkeys(e.cell for e in entries if e.task == task and e.init == "pre-trained")
        )
        best = max(scores, key=lambda cell: statistics.mean(scores[cell].values()))
        against_scratch = {}
        for cell in pretrained:
            baseline = scratch.get(family[cell])
            difference = paired(scores, cell, baseline, task, examples) if baseline else None
            if difference is not None:
                against_scratch[cell] = difference
        against_best = {}
        for cell in scores:
            difference = paired(scores, cell, best, task, examples) if cell != best else None
            if difference is not None:
                against_best[cell] = difference
        by_examples = all((cell, task, seed) in examples for cell in scores for seed in scores[cell])
        resampled = "seeds and test examples" if by_examples else "seeds"
        found.append(TaskDifferences(task, metric, best, against_scratch, against_best, resampled))
    return found


def shown(difference: Difference) -> str:
    """``+1.2 [-0.4, +2.8]``, in bold where the interval excludes 0."""
    text = f"{difference.mean:+.1f} [{difference.low:+.1f}, {difference.high:+.1f}]"
    return f"**{text}**" if difference.excludes_zero else text


def in_words(found: TaskDifferences) -> list[str]:
    """What the intervals say, in sentences."""
    lines = []
    tied = sorted(cell for cell, d in found.against_best.items() if not d.excludes_zero)
    behind = sorted(cell for cell, d in found.against_best.items() if d.excludes_zero)
    if tied:
        lines.append(f"Indistinguishable from the best cell, {found.best}, at 95%: {', '.join(tied)}.")
    if behind:
        lines.append(f"Behind {found.best} at 95%: {', '.join(behind)}.")
    above = sorted(c for c, d in found.against_scratch.items() if d.excludes_zero and d.mean > 0)
    below = sorted(c for c, d in found.against_scratch.items() if d.excludes_zero and d.mean < 0)
    level = sorted(c for c, d in found.against_scratch.items() if not d.excludes_zero)
    if above:
        lines.append(f"Better than their family trained from scratch: {', '.join(above)}.")
    if below:
        lines.append(f"Worse than their family trained from scratch: {', '.join(below)}.")
    if level:
        lines.append(f"Not distinguishable from their family trained from scratch: {', '.join(level)}.")
    return lines
