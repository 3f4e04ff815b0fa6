"""A grid's results as ``results.csv`` (one row per fine-tuning run) and ``results.md``: a table of means, the
differences that the seeds can tell apart, the scores along pre-training, and the plots, readable alone."""

from __future__ import annotations

import csv
import dataclasses
import json
import statistics
from pathlib import Path

from denoise.compare.config import GridConfig
from denoise.compare.differences import in_words, shown, task_differences
from denoise.compare.grid import SUMMARY, Entry, pretraining_curve

RESULTS_CSV = "results.csv"
RESULTS_MD = "results.md"


def write_csv(entries: list[Entry], out: Path) -> Path:
    path = out / RESULTS_CSV
    names = [f.name for f in dataclasses.fields(Entry)]
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=names)
        writer.writeheader()
        for entry in entries:
            writer.writerow(dataclasses.asdict(entry))
    return path


def mean_and_spread(values: list[float]) -> str:
    if not values:
        return "-"
    if len(values) == 1:
        return f"{values[0]:.1f}"
    return f"{statistics.mean(values):.1f} ± {statistics.stdev(values):.1f}"


def ordered(items) -> list:
    return list(dict.fromkeys(items))


def short_count(number: float) -> str:
    for size, suffix in ((1e18, "E"), (1e15, "P"), (1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if number >= size:
            return f"{number / size:.1f}{suffix}"
    return str(int(number))


def pretraining_columns(run: Path, flops: float | None) -> list[str]:
    """Tokens seen, model FLOPs, wall-clock minutes and the last logged training loss of a pre-training run."""
    curve = pretraining_curve(run)
    if not curve:
        return ["-", "-", "-", "-"]
    tokens, loss = curve[-1]
    summary = run / SUMMARY  # written by the grid; absent for runs pre-trained elsewhere
    minutes = f"{json.loads(summary.read_text())['seconds'] / 60:.1f}" if summary.exists() else "-"
    return [short_count(tokens), short_count(flops) if flops else "-", minutes, f"{loss:.2f}"]


def final(entries: list[Entry]) -> list[Entry]:
    """The entries scored at the end of pre-training (or with none), leaving out the curve's snapshots."""
    return [e for e in entries if e.fraction in (1.0, None)]


def markdown_table(entries: list[Entry], runs: dict[str, Path]) -> str:
    """One row per cell, then the scratch baselines, then the baselines that need no pre-training; one column
    per task: mean ± standard deviation over seeds."""
    entries = final(entries)
    tasks = ordered(e.task for e in entries)
    metric = {e.task: e.metric for e in entries}
    cells = [
        ordered(e.cell for e in entries if e.init == kind) for kind in ("pre-trained", "scratch", "baseline")
    ]
    header = ["cell", "family", "corruption", "pre-training tokens", "FLOPs", "minutes", "final loss"]
    header += [f"{task} ({metric[task]})" for task in tasks]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * 3 + "---:|" * (len(header) - 3)]
    for cell in [c for group in cells for c in group]:
        rows = [e for e in entries if e.cell == cell]
        first = rows[0]
        described = {
            "pre-trained": first.corruption,
            "scratch": "none (scratch)",
            "baseline": "no pre-training",
        }
        row = [cell, first.family, described[first.init]]
        row += pretraining_columns(runs[cell], first.flops) if first.init == "pre-trained" else ["-"] * 4
        row += [mean_and_spread([e.value for e in rows if e.task == task]) for task in tasks]
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines) + "\n"


def differences_section(entries: list[Entry], examples: dict | None = None) -> str:
    """Per task, each cell against its family from scratch and against the best cell, with what it means."""
    found = task_differences(entries, examples)
    if not found:
        return "Differences need at least two fine-tuning seeds per cell; this grid has fewer.\n"
    parts = []
    for task in found:
        lines = [f"**{task.task}** ({task.metric}; best: {task.best}; resampling {task.resampled})", ""]
        lines += ["| cell | minus its family from scratch | minus the best cell |", "|---|---:|---:|"]
        for cell in ordered([*task.against_scratch, *task.against_best]):
            scratch = task.against_scratch.get(cell)
            best = task.against_best.get(cell)
            lines.append(
                f"| {cell} | {shown(scratch) if scratch else '-'} | {shown(best) if best else '-'} |"
            )
        lines += ["", *in_words(task), *against_baselines(entries, task.task), ""]
        parts.append("\n".join(lines))
    return "\n".join(parts)


def against_baselines(entries: list[Entry], task: str) -> list[str]:
    """Which cells' mean scores beat the task's baseline that needs no pre-training, in a sentence."""
    lines = []
    for baseline in (e for e in entries if e.task == task and e.init == "baseline"):
        scores: dict[str, list[float]] = {}
        for e in final(entries):
            if e.task == task and e.init != "baseline":
                scores.setdefault(e.cell, []).append(e.value)
        above = [cell for cell, values in scores.items() if statistics.mean(values) > baseline.value]
        lines.append(
            f"Above the {baseline.cell} baseline ({baseline.value:.1f}) on average: {', '.join(above) or 'none'}."
        )
    return lines


def curve_section(entries: list[Entry]) -> str:
    """Each cell's mean score at each scored point of its pre-training, by task."""
    # a snapshot's fraction is its step over the run's steps: 252 of 503 is the 50% point
    points = [
        dataclasses.replace(e, fraction=round(e.fraction, 2))
        for e in entries
        if e.init == "pre-trained" and e.fraction is not None
    ]
    if not any(e.fraction < 1 for e in points):
        return ""
    tasks = ordered(e.task for e in points)
    fractions = sorted({e.fraction for e in points})
    header = ["cell", "task", *(f"{f:.0%}" for f in fractions)]
    lines = ["| " + " | ".join(header) + " |", "|---|---|" + "---:|" * len(fractions)]
    for cell in ordered(e.cell for e in points):
        for task in tasks:
            row = [cell, task]
            for fraction in fractions:
                values = [e.value for e in points if (e.cell, e.task, e.fraction) == (cell, task, fraction)]
                row.append(mean_and_spread(values))
            lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines) + "\n"


def setup_lines(config: GridConfig) -> list[str]:
    """What every cell got, in words: the budget, the fine-tuning, the seeds."""
    units = {
        "tokens": "block tokens",
        "seconds": "seconds of training on this machine",
        "flops": "model FLOPs",
    }
    kinds = config.budget.kinds
    budget = (
        f"{getattr(config.budget, kinds[0]):,.4g} {units[kinds[0]]} per cell"
        if kinds
        else "none set: every cell is a finished run, trained as its own recipe says"
    )
    downstream = config.downstream
    lines = [
        f"- Pre-training budget: {budget}.",
        f"- Downstream: {'a probe (the head alone on frozen states)' if downstream.mode == 'probe' else 'fine-tuning'}"
        f" with {', '.join(downstream.settings) or 'each task recipe as it is'}; {len(config.seeds)} seeds"
        f" ({', '.join(map(str, config.seeds))}).",
    ]
    if downstream.curve:
        lines.append(
            f"- Also scored at {', '.join(f'{f:.0%}' for f in downstream.curve)} of each cell's pre-training."
        )
    return lines


CAPTIONS = {  # plot -> (title, caption)
    "scores": (
        "Downstream scores",
        "Downstream score per cell at the end of pre-training: the mean over seeds, the standard deviation as "
        "error bars, scratch baselines in grey, the baseline that needs no pre-training dashed",
    ),
    "flops": (
        "Score against pre-training FLOPs",
        "Downstream score against the model FLOPs of pre-training so far, a line per cell through its scored "
        "points; circled: the Pareto front (no point scores higher for less compute); horizontal: the scratch "
        "baselines (dash-dot) and the baseline that needs no pre-training (dashed)",
    ),
    "finetuning": (
        "Fine-tuning loss",
        "Fine-tuning training loss against steps (first seed), from pre-training (solid) and from scratch "
        "(dashed); runs end where early stopping ended them",
    ),
    "losses": (
        "Pre-training loss",
        "Pre-training loss against tokens seen; objectives predict different tokens, so compare shapes "
        "within an objective, not levels across them",
    ),
}


def markdown_report(
    entries: list[Entry], runs: dict[str, Path], config: GridConfig, plots: dict[str, Path], examples=None
) -> str:
    splits = ordered(e.split for e in final(entries))
    parts = [f"# {config.name}", "", *setup_lines(config), ""]
    parts += ["## Scores", "", markdown_table(entries, runs)]
    parts.append(
        f"Mean ± standard deviation over fine-tuning seeds, on each task's {' / '.join(splits)} split. "
        "FLOPs: model FLOPs of pre-training (forward and backward); minutes: its wall clock (of its last call, "
        "for a resumed cell); final loss: the last logged training loss, which is not comparable across "
        "objectives. Baselines that need no pre-training are fitted on the same training examples.\n"
    )
    parts += ["## Which differences the seeds can tell apart", ""]
    parts.append(
        "Mean paired difference (paired by seed, in points of the task's metric) with its 95% bootstrap "
        "interval; bold where the interval excludes 0. Where the metric is a mean or a ratio of sums over test "
        "examples (accuracy, word accuracy, entity F1, a question's F1) the bootstrap resamples the examples "
        "(a tagged sentence whole) along with the seeds; elsewhere it "
        "resamples the seeds alone, and with 3 seeds that interval spans the seeds' differences, so a bold "
        "entry there means every seed agreed.\n"
    )
    parts.append(differences_section(entries, examples))
    curve = curve_section(entries)
    if curve:
        parts += ["## Along pre-training", "", curve]
    parts += ["## Plots", ""]
    for key, path in plots.items():
        title, caption = CAPTIONS[key]
        parts.append(f"![{title}]({path.name})\n\n*{caption}.*\n")
    return "\n".join(parts)


def write_markdown(
    entries: list[Entry], runs: dict[str, Path], config: GridConfig, plots: dict, out: Path, examples=None
) -> Path:
    """``results.md``; ``examples``: each final run's per-example scores, (cell, task, seed) -> list."""
    path = out / RESULTS_MD
    path.write_text(markdown_report(entries, runs, config, plots, examples))
    return path
