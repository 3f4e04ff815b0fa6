"""``denoise compare``: pre-train a grid of corruption recipes and model families on an equal budget, fine-tune
each (and each family from scratch) on a downstream suite, and write results.csv, results.md and PNG plots."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from denoise.compare.config import GridConfig, load_grid
from denoise.compare.grid import Grid, pretraining_curve, say
from denoise.compare.plots import plot_losses, plot_scores
from denoise.compare.report import write_csv, write_markdown

__all__ = ["GridConfig", "compare", "load_grid"]


def compare(config: GridConfig, out: str | Path, log: Callable[[str], None] = say) -> dict[str, Path]:
    """Run (or finish) the grid in ``out``; returns the paths of the files it wrote."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    grid = Grid(config, out, log)
    entries = grid.run()
    curves = {name: pretraining_curve(run) for name, run in grid.pretrained_runs.items()}
    return {
        "csv": write_csv(entries, out),
        "markdown": write_markdown(entries, grid.pretrained_runs, out),
        "losses": plot_losses(curves, out),
        "scores": plot_scores(entries, out),
    }
