"""Fine-tuning from denoise pre-trained models against the same architectures trained from scratch.

    python benchmarks/downstream.py --bert runs/tiny_bert --bart runs/tiny_bart --tasks-dir tasks/ \
        --seeds 0 1 2 --out runs/downstream

A `denoise compare` grid of runs pre-trained elsewhere: each run (``init=RUN``) and a freshly initialised copy
of its architecture and tokenizer (``init=scratch:RUN``) are fine-tuned on every offline task recipe in
``recipes/tasks`` with the same budget and seeds (translation only for the encoder-decoder). It writes
``results.csv``, ``results.md`` and the plots of ``denoise compare``, and resumes where it stopped.
``--max-train`` and ``--max-eval`` cap the examples so the whole grid fits on a CPU.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from denoise.compare import compare
from denoise.compare.config import Cell, Downstream, GridConfig

RECIPES = Path(__file__).resolve().parent.parent / "recipes"
TASKS = ("sentiment", "bible_pairs", "pos", "ner", "qa", "qa_v1", "translation")


def grid(args) -> GridConfig:
    cells = [
        Cell(name, run=str(Path(run).resolve()))
        for name, run in (("bert", args.bert), ("bart", args.bart))
        if run
    ]
    settings = [
        f"max_train_examples={args.max_train}",
        f"max_eval_examples={args.max_eval}",
        "dev_each_epoch=false",
        *args.set,
    ]
    if args.epochs:
        settings.append(f"epochs={args.epochs}")
    # Greedy decoding of fewer sentences keeps the CPU grid short.
    task_settings = {
        "translation": [
            "generation.num_beams=1",
            "generation.max_target_length=96",
            f"max_eval_examples={min(args.max_eval, 200)}",
        ]
    }
    for item in args.set_task:
        task, _, setting = item.partition(":")
        if task not in TASKS or "=" not in setting:
            raise SystemExit(f"--set-task {item!r}: write TASK:KEY=VALUE with TASK one of {', '.join(TASKS)}")
        task_settings.setdefault(task, []).append(setting)
    return GridConfig(
        name="downstream",
        cells=cells,
        downstream=Downstream(
            tasks=[f"tasks/{task}.yaml" for task in args.tasks],
            tasks_dir=str(Path(args.tasks_dir).resolve()),
            settings=settings,
            task_settings=task_settings,
        ),
        seeds=args.seeds,
        threads=args.threads,
        root=str(RECIPES),
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--bert", help="a BERT pre-training run")
    parser.add_argument("--bart", help="a BART pre-training run")
    parser.add_argument("--tasks-dir", default="tasks", help="output of data_scripts/build_tasks.py")
    parser.add_argument("--tasks", nargs="*", default=list(TASKS), choices=TASKS)
    parser.add_argument("--seeds", type=int, nargs="*", default=[0, 1, 2])
    parser.add_argument("--max-train", type=int, default=4000)
    parser.add_argument("--max-eval", type=int, default=500)
    parser.add_argument("--epochs", type=int, help="instead of each task recipe's")
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", help="more fine-tuning settings")
    parser.add_argument(
        "--set-task",
        nargs="*",
        default=[],
        metavar="TASK:KEY=VALUE",
        help="a fine-tuning setting for one task (after --set), e.g. qa:max_train_examples=8000",
    )
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path("runs/downstream"))
    args = parser.parse_args()
    if not (args.bert or args.bart):
        parser.error("give --bert RUN, --bart RUN or both")
    compare(grid(args), args.out)
    print((args.out / "results.md").read_text())


if __name__ == "__main__":
    main()
