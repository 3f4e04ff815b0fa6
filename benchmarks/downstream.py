"""Fine-tuning from denoise pre-trained models against the same architectures trained from scratch.

    python benchmarks/downstream.py --bert runs/tiny_bert --bart runs/tiny_bart --tasks-dir tasks/ \
        --seeds 0 1 2 --out runs/downstream

For each offline task recipe in ``recipes/tasks`` and each family, fine-tunes the pre-trained run
(``init=RUN``) and a freshly initialised copy of its architecture and tokenizer (``init=scratch:RUN``) with
the same budget and seeds, then writes ``results.json`` and a Markdown table of means and standard
deviations. ``--max-train`` and ``--max-eval`` cap the examples so the whole grid fits on a CPU.
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

from denoise.finetune.config import load_finetune_config
from denoise.finetune.loop import finetune

RECIPES = Path(__file__).resolve().parent.parent / "recipes" / "tasks"
# task -> (main metric, families it applies to)
TASKS = {
    "sentiment": ("accuracy", ("bert", "bart")),
    "bible_pairs": ("accuracy", ("bert", "bart")),
    "pos": ("accuracy", ("bert", "bart")),
    "ner": ("entity_f1", ("bert", "bart")),
    "qa": ("f1", ("bert", "bart")),
    "translation": ("bleu", ("bart",)),
}


def run_cell(task: str, init: str, seed: int, args, out: Path) -> dict:
    done = out / "eval.json"
    if done.exists():  # finished earlier: the grid resumes
        return json.loads(done.read_text())
    recipe = RECIPES / f"{task}.yaml"
    base = load_finetune_config(recipe)
    overrides = [
        f"init={init}",
        f"seed={seed}",
        f"max_train_examples={args.max_train}",
        f"max_eval_examples={args.max_eval}",
        f"epochs={args.epochs}",
        f"threads={args.threads}",
        "dev_each_epoch=false",
    ]
    for split in ("train", "dev", "test"):
        path = getattr(base.task, split)
        overrides.append(f"task.{split}={Path(args.tasks_dir) / Path(path).relative_to('tasks')}")
    if task == "translation":  # greedy decoding of fewer sentences keeps the CPU grid short
        overrides += ["num_beams=1", "max_target_length=96", f"max_eval_examples={min(args.max_eval, 200)}"]
    return finetune(load_finetune_config(recipe, overrides), out)


def summarise(values: list[float]) -> str:
    if not values:
        return "-"
    spread = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):.1f} ± {spread:.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bert", help="a tiny BERT pre-training run")
    parser.add_argument("--bart", help="a tiny BART pre-training run")
    parser.add_argument("--tasks-dir", default="tasks", help="output of data_scripts/build_tasks.py")
    parser.add_argument("--tasks", nargs="*", default=list(TASKS))
    parser.add_argument("--seeds", type=int, nargs="*", default=[0, 1, 2])
    parser.add_argument("--max-train", type=int, default=4000)
    parser.add_argument("--max-eval", type=int, default=500)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path("runs/downstream"))
    args = parser.parse_args()

    runs = {"bert": args.bert, "bart": args.bart}
    scores: dict[tuple[str, str, str], list[float]] = {}
    for task in args.tasks:
        metric, families = TASKS[task]
        for family in [f for f in families if runs[f]]:
            for start in ("pre-trained", "scratch"):
                init = runs[family] if start == "pre-trained" else f"scratch:{runs[family]}"
                for seed in args.seeds:
                    cell = args.out / task / family / start / f"seed{seed}"
                    results = run_cell(task, init, seed, args, cell)
                    value = results["test"][metric]
                    value = value * 100 if metric in ("accuracy", "entity_f1") else value
                    scores.setdefault((task, family, start), []).append(value)
                    print(f"{task} {family} {start} seed {seed}: {metric} {value:.2f}", flush=True)
    header = "| task | metric | BERT pre-trained | BERT scratch | BART pre-trained | BART scratch |"
    lines = [header, "|---|---|---:|---:|---:|---:|"]
    for task in args.tasks:
        metric = TASKS[task][0]
        cells = [summarise(scores.get((task, f, s), [])) for f in ("bert", "bart") for s in ("pre-trained", "scratch")]
        lines.append(f"| {task} | {metric} | " + " | ".join(cells) + " |")
    table = "\n".join(lines)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(json.dumps({" ".join(k): v for k, v in scores.items()}, indent=2))
    (args.out / "table.md").write_text(table + "\n")
    print(table)


if __name__ == "__main__":
    main()
