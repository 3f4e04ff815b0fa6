"""A grid's PNG plots: pre-training loss against tokens seen, downstream scores per cell, scores against
pre-training FLOPs with the Pareto front, and fine-tuning loss against steps."""

from __future__ import annotations

import statistics
from pathlib import Path

from denoise.compare.grid import Entry
from denoise.compare.report import ordered

LOSS_PNG = "pretraining_loss.png"
SCORES_PNG = "downstream.png"
FLOPS_PNG = "score_vs_flops.png"
FINETUNING_PNG = "finetuning_loss.png"
DPI = 100
LOSS_SIZE = (9.0, 5.0)  # inches: 900 x 500 pixels
TASK_WIDTH, TASK_HEIGHT = 4.5, 4.5  # inches per task panel


def pyplot():
    import matplotlib

    matplotlib.use("Agg")  # files only, no screen
    import matplotlib.pyplot as plt

    return plt


def task_panels(plt, count: int):
    """A figure with a row of ``count`` panels of the task size, and the row of panels."""
    figure, panels = plt.subplots(1, count, figsize=(TASK_WIDTH * count, TASK_HEIGHT), dpi=DPI, squeeze=False)
    return figure, panels[0]


def saved(plt, figure, path: Path) -> Path:
    figure.tight_layout()
    figure.savefig(path, dpi=DPI)
    plt.close(figure)
    return path


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
    return saved(plt, figure, out / LOSS_PNG)


def plot_scores(entries: list[Entry], out: Path) -> Path:
    """A panel per task, a bar per cell: the mean over seeds, with the standard deviation as an error bar."""
    plt = pyplot()
    entries = [e for e in entries if e.fraction in (1.0, None)]
    tasks = ordered(e.task for e in entries)
    cells = ordered(e.cell for e in entries if e.init != "baseline")
    baselines = {e.cell for e in entries if e.init == "scratch"}
    figure, panels = task_panels(plt, len(tasks))
    colours = plt.get_cmap("tab10")
    for panel, task in zip(panels, tasks):
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
        for baseline in (e for e in entries if e.task == task and e.init == "baseline"):
            panel.axhline(baseline.value, color="black", linestyle="--", linewidth=1, label=baseline.cell)
            panel.legend(loc="lower right", fontsize="small")
        panel.set_xticks(range(len(names)), names, rotation=45, ha="right")
        metric = next(e.metric for e in entries if e.task == task)
        panel.set_title(f"{task} ({metric})")
        panel.set_ylabel(metric)
        panel.grid(axis="y", alpha=0.3)
    return saved(plt, figure, out / SCORES_PNG)


def pareto_front(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """The points no other point beats with less or equal compute: (FLOPs, score), cheapest first."""
    front, best = [], float("-inf")
    for flops, score in sorted(points, key=lambda p: (p[0], -p[1])):
        if score > best:
            front.append((flops, score))
            best = score
    return front


def plot_score_against_flops(entries: list[Entry], out: Path) -> Path | None:
    """A panel per task: each cell's mean score at each scored point of its pre-training against the FLOPs
    spent so far (a line per cell), the Pareto front circled, and the scratch and no-pre-training baselines
    as horizontal lines. None when no entry knows its FLOPs."""
    points = [e for e in entries if e.init == "pre-trained" and e.flops]
    if not points:
        return None
    plt = pyplot()
    tasks = ordered(e.task for e in points)
    figure, panels = task_panels(plt, len(tasks))
    colours = plt.get_cmap("tab10")
    for panel, task in zip(panels, tasks):
        means = []
        for index, cell in enumerate(ordered(e.cell for e in points)):
            by_flops: dict[float, list[float]] = {}
            for e in points:
                if (e.cell, e.task) == (cell, task):
                    by_flops.setdefault(e.flops, []).append(e.value)
            if not by_flops:
                continue
            xs = sorted(by_flops)
            ys = [statistics.mean(by_flops[x]) for x in xs]
            panel.plot(xs, ys, marker="o", color=colours(index % 10), label=cell)
            means += list(zip(xs, ys))
        front = pareto_front(means)
        panel.plot(*zip(*front), linestyle=":", color="black", linewidth=1)
        panel.scatter(*zip(*front), s=160, facecolors="none", edgecolors="black", label="Pareto front")
        others = plt.get_cmap("Dark2")
        for label, style in (("scratch", "-."), ("baseline", "--")):
            values: dict[str, list[float]] = {}
            for e in entries:
                if e.task == task and e.init == label:
                    values.setdefault(e.cell, []).append(e.value)
            for index, (cell, found) in enumerate(values.items()):
                colour = others(index % 8) if label == "scratch" else "black"
                panel.axhline(statistics.mean(found), color=colour, linestyle=style, linewidth=1, label=cell)
        metric = next(e.metric for e in points if e.task == task)
        panel.set_xscale("log")
        panel.set_xlabel("pre-training model FLOPs")
        panel.set_ylabel(metric)
        panel.set_title(f"{task} ({metric})")
        panel.grid(alpha=0.3)
        panel.legend(fontsize="small")
    return saved(plt, figure, out / FLOPS_PNG)


def plot_finetuning_losses(curves: dict[tuple[str, str], list], scratch: set[str], out: Path) -> Path | None:
    """A panel per task: the training loss of each cell's first-seed fine-tuning against its steps, solid
    from pre-training, dashed from scratch. None when no run kept a curve."""
    tasks = ordered(task for (_, task), points in curves.items() if points)
    if not tasks:
        return None
    plt = pyplot()
    figure, panels = task_panels(plt, len(tasks))
    colours = plt.get_cmap("tab10")
    cells = ordered(cell for cell, _ in curves)
    for panel, task in zip(panels, tasks):
        for index, cell in enumerate(cells):
            points = curves.get((cell, task))
            if not points:
                continue
            steps, losses = zip(*points)
            style = "--" if cell in scratch else "-"
            marker = "o" if len(steps) < 3 else None  # a run of a step or two still shows
            panel.plot(steps, losses, linestyle=style, marker=marker, color=colours(index % 10), label=cell)
        panel.set_xlabel("fine-tuning step")
        panel.set_ylabel("training loss")
        panel.set_title(task)
        panel.grid(alpha=0.3)
        panel.legend(fontsize="small")
    return saved(plt, figure, out / FINETUNING_PNG)
