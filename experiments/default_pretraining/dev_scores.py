"""The dev-split scores of a comparison grid's fine-tuning runs, mean ± sd over seeds per cell and task, and
each cell's held-out masked-token accuracy at the end of pre-training: what the default was chosen by (the
test splits stay out of the choice).

    python experiments/default_pretraining/dev_scores.py runs/default_pretraining
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path


def dev_scores(out: Path) -> dict[tuple[str, str], list[float]]:
    """(cell, task) -> the dev headline of each seed's best checkpoint (percent)."""
    scores: dict[tuple[str, str], list[float]] = {}
    for path in sorted(out.glob("finetune/*/*/seed-*/eval.json")):
        cell, task = path.parts[-4], path.parts[-3]
        dev = json.loads(path.read_text())["dev"]
        scores.setdefault((cell, task), []).append(100 * float(dev["accuracy"]))
    return scores


def pretraining_evaluation(out: Path, cell: str) -> dict:
    """The last held-out evaluation of a cell's pre-training run, with its wall time."""
    folder = out / "pretrain" / cell
    if not (folder / "metrics.jsonl").is_file():
        return {}
    records = [json.loads(line) for line in (folder / "metrics.jsonl").read_text().splitlines()]
    last = [r for r in records if "eval_loss" in r][-1]
    summary = json.loads((folder / "summary.json").read_text()) if (folder / "summary.json").is_file() else {}
    return {**last, "seconds": summary.get("seconds")}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("out", type=Path)
    args = parser.parse_args()
    scores = dev_scores(args.out)
    tasks = sorted({task for _, task in scores})
    cells = sorted({cell for cell, _ in scores}, key=lambda c: (c.endswith("scratch"), c))
    print(
        "| cell | "
        + " | ".join(f"{t} dev" for t in tasks)
        + " | masked acc. (most frequent) | pre-training s |"
    )
    print("|---|" + "---:|" * (len(tasks) + 2))
    for cell in cells:
        row = []
        for task in tasks:
            values = scores.get((cell, task), [])
            sd = statistics.stdev(values) if len(values) > 1 else 0.0
            row.append(f"{statistics.mean(values):.1f} ± {sd:.1f}" if values else "-")
        evaluation = pretraining_evaluation(args.out, cell)
        masked = (
            f"{100 * evaluation['eval_accuracy']:.1f} ({100 * evaluation.get('eval_frequent_accuracy', 0):.1f})"
            if evaluation
            else "-"
        )
        seconds = f"{evaluation['seconds']:.0f}" if evaluation.get("seconds") else "-"
        print(f"| {cell} | " + " | ".join(row) + f" | {masked} | {seconds} |")


if __name__ == "__main__":
    main()
