"""``denoise compare``: pre-train a grid of corruption recipes and model families on an equal budget, fine-tune
each (and each family from scratch) on a downstream suite, and write results.csv, results.md and PNG plots."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from denoise.compare.config import GridConfig, load_grid
from denoise.compare.grid import Grid, pretraining_curve, say
from denoise.compare.plots import plot_finetuning_losses, plot_losses, plot_score_against_flops, plot_scores
from denoise.compare.report import write_csv, write_markdown
from denoise.outputs import Marker, check_output, write_marker

__all__ = ["GridConfig", "compare", "load_grid"]

COMMAND = "compare"


def legacy_grid(folder: Path) -> Marker | None:
    """A grid's folder written before output folders were marked."""
    return Marker(COMMAND) if (folder / "pretrain").is_dir() or (folder / "finetune").is_dir() else None


def compare(config: GridConfig, out: str | Path, log: Callable[[str], None] = say) -> dict[str, Path]:
    """Run (or finish) the grid in ``out`` (a new folder or one a grid ran in before); returns the paths of
    the files it wrote."""
    out = Path(out)
    check_output(out, COMMAND, legacy=legacy_grid)
    out.mkdir(parents=True, exist_ok=True)
    write_marker(out, COMMAND, config.name)
    grid = Grid(config, out, log)
    entries = grid.run()
    curves = {name: pretraining_curve(run) for name, run in grid.pretrained_runs.items()}
    scratch = {e.cell for e in entries if e.init == "scratch"}
    plots = {
        "scores": plot_scores(entries, out),
        "flops": plot_score_against_flops(entries, out),
        "finetuning": plot_finetuning_losses(grid.train_curves, scratch, out),
        "losses": plot_losses(curves, out),
    }
    plots = {key: path for key, path in plots.items() if path is not None}
    return {
        "csv": write_csv(entries, out),
        "markdown": write_markdown(entries, grid.pretrained_runs, config, plots, out, grid.example_scores),
        **plots,
    }
