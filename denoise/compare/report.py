"""A grid's results as ``results.csv`` (one row per fine-tuning run) and a Markdown table of means."""

from __future__ import annotations

import csv
import dataclasses
import json
import statistics
from pathlib import Path

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
    spread = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):.1f} ± {spread:.1f}"


def ordered(items) -> list:
    return list(dict.fromkeys(items))


def short_count(number: float) -> str:
    for size, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if number >= size:
            return f"{number / size:.1f}{suffix}"
    return str(int(number))


def pretraining_columns(run: Path) -> list[str]:
    """Tokens seen, wall-clock minutes and the last logged training loss of a pre-training run."""
    curve = pretraining_curve(run)
    if not curve:
        return ["-", "-", "-"]
    tokens, loss = curve[-1]
    summary = run / SUMMARY  # written by the grid; absent for runs pre-trained elsewhere
    minutes = f"{json.loads(summary.read_text())['seconds'] / 60:.1f}" if summary.exists() else "-"
    return [short_count(tokens), minutes, f"{loss:.2f}"]


def markdown_table(entries: list[Entry], runs: dict[str, Path]) -> str:
    """One row per cell (scratch baselines last), one column per task: mean ± standard deviation over seeds."""
    tasks = ordered(e.task for e in entries)
    metric = {e.task: e.metric for e in entries}
    cells = ordered(e.cell for e in entries if e.init == "pre-trained") + ordered(
        e.cell for e in entries if e.init == "scratch"
    )
    seeds = len(ordered(e.seed for e in entries))
    header = ["cell", "family", "corruption", "pre-training tokens", "minutes", "final loss"]
    header += [f"{task} ({metric[task]})" for task in tasks]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * 3 + "---:|" * (len(header) - 3)]
    for cell in cells:
        rows = [e for e in entries if e.cell == cell]
        first = rows[0]
        row = [cell, first.family, first.corruption if first.init == "pre-trained" else "none (scratch)"]
        row += pretraining_columns(runs[cell]) if first.init == "pre-trained" else ["-", "-", "-"]
        row += [mean_and_spread([e.value for e in rows if e.task == task]) for task in tasks]
        lines.append("| " + " | ".join(row) + " |")
    dev_only = ordered(e.task for e in entries if e.split == "dev")
    note = f"\nMean ± standard deviation over {seeds} fine-tuning seed{'s' if seeds > 1 else ''}, on each task's test split"
    note += f" (the dev split where there is none: {', '.join(dev_only)})." if dev_only else "."
    note += (
        " Minutes: wall clock of pre-training (of its last call, for a resumed cell); final loss: the last"
    )
    note += " logged training loss."
    return "\n".join(lines) + "\n" + note + "\n"


def write_markdown(entries: list[Entry], runs: dict[str, Path], out: Path) -> Path:
    path = out / RESULTS_MD
    path.write_text(markdown_table(entries, runs))
    return path
