"""A grid's PNG plots: pre-training loss against tokens seen, and downstream scores per cell."""

from __future__ import annotations

import statistics
from pathlib import Path

from denoise.compare.grid import Entry
from denoise.compare.report import ordered

LOSS_PNG = "pretraining_loss.png"
SCORES_PNG = "downstream.png"
DPI = 100
LOSS_SIZE = (9.0, 5.0)  # inches: 900 x 500 pixels
TASK_WIDTH, TASK_HEIGHT = 4.5, 4.5  # inches per task panel


def pyplot():
    import matplotlib

    matplotlib.use("Agg")  # files only, no screen
    import matplotlib.pyplot as plt

    return plt


def plot_losses(curves: dict[str, list[tuple[int, float]]], out: Path) -> Path:
    """One line per cell. Objectives differ (masked tokens only, or the whole text), so compare shapes within a family."""
    plt = pyplot()
    figure, axes = plt.subplots(figsize=LOSS_SIZE, dpi=DPI)
    for cell, points in curves.items():
        if points:
            tokens, losses = zip(*points)
            axes.plot([t / 1e6 for t in tokens], losses, label=cell)
    axes.set_xlabel("tokens seen (millions)")
    axes.set_ylabel("training loss")
    axes.set_title("Pre-training loss")
    axes.grid(alpha=0.3)
    axes.legend()
    figure.tight_layout()
    path = out / LOSS_PNG
    figure.savefig(path, dpi=DPI)
    plt.close(figure)
    return path


def plot_scores(entries: list[Entry], out: Path) -> Path:
    """A panel per task, a bar per cell: the mean over seeds, with the standard deviation as an error bar."""
    plt = pyplot()
    tasks = ordered(e.task for e in entries)
    cells = ordered(e.cell for e in entries)
    baselines = {e.cell for e in entries if e.init == "scratch"}
    figure, panels = plt.subplots(
        1, len(tasks), figsize=(TASK_WIDTH * len(tasks), TASK_HEIGHT), dpi=DPI, squeeze=False
    )
    colours = plt.get_cmap("tab10")
    for panel, task in zip(panels[0], tasks):
        names, means, spreads, colors = [], [], [], []
        for index, cell in enumerate(cells):
            values = [e.value for e in entries if e.task == task and e.cell == cell]
            if not values:
                continue
            names.append(cell)
            means.append(statistics.mean(values))
            spreads.append(statistics.stdev(values) if len(values) > 1 else 0.0)
            colors.append("lightgrey" if cell in baselines else colours(index % 10))
        panel.bar(range(len(names)), means, yerr=spreads, color=colors, capsize=3)
        panel.set_xticks(range(len(names)), names, rotation=45, ha="right")
        metric = next(e.metric for e in entries if e.task == task)
        panel.set_title(f"{task} ({metric})")
        panel.grid(axis="y", alpha=0.3)
    figure.tight_layout()
    path = out / SCORES_PNG
    figure.savefig(path, dpi=DPI)
    plt.close(figure)
    return path
