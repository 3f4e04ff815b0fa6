"""Build the offline downstream task sets from the sources fetched by data_scripts.fetch_sources.

Run from the repository root:

    python -m data_scripts.fetch_sources --out sources/
    python -m data_scripts.build_tasks --sources sources/ --out tasks/ [--tasks sentiment pos ...] [--seed 0]
    python -m data_scripts.build_tasks --out tasks/ --tasks cloze_qa --cloze-corpus corpus/my-corpus.txt.gz

Each task is written to ``OUT/<task>/`` as ``train.*``, ``dev.*`` and ``test.*``: TSV tables with a header
(``sentiment``, ``bible_pairs``), CoNLL ``word TAG`` lines (``pos``, ``ner``), SQuAD v2.0 JSON (``qa``),
SQuAD v1.1 JSON (``qa_v1``: the same questions less the unanswerable ones), line-aligned ``.en``/``.es``
text (``translation``), and SQuAD v2.0 JSON of cloze questions on unlabelled text (``cloze_qa``, from the
corpus shipped with denoise or ``--cloze-corpus``), a self-supervised phase before QA fine-tuning. A task
is written to a temporary folder and renamed into place, so a failed build leaves the previous one
untouched. denoise's own writers write the files, so denoise reads them back as written. The same sources
and seed give the same files.
See data_scripts/README.md for how each set is made.
"""

from __future__ import annotations

import argparse
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any

from data_scripts import tasks_cloze, tasks_pairs, tasks_qa, tasks_sentiment, tasks_tagging, tasks_translation
from data_scripts.tasks_splits import SPLITS, Splits
from denoise.errors import DenoiseError
from denoise.files import replace_folder


@dataclass(frozen=True)
class Task:
    build: Callable[[Path, int], Splits[Any]]  # (sources folder, seed) -> examples per split
    write: Callable[[list[Any], Path, str], None]  # (examples, task folder, split name)
    summary: Callable[[list[Any]], str]  # what a split holds, beyond its number of examples


TASKS = {
    "sentiment": Task(tasks_sentiment.build, tasks_sentiment.write, tasks_sentiment.summary),
    "bible_pairs": Task(tasks_pairs.build, tasks_pairs.write, tasks_pairs.summary),
    "pos": Task(tasks_tagging.build_pos, tasks_tagging.write, tasks_tagging.pos_summary),
    "ner": Task(tasks_tagging.build_ner, tasks_tagging.write, tasks_tagging.ner_summary),
    "translation": Task(tasks_translation.build, tasks_translation.write, tasks_translation.summary),
    "qa": Task(tasks_qa.build, tasks_qa.write, tasks_qa.summary),
    "qa_v1": Task(tasks_qa.build_answerable, tasks_qa.write, tasks_qa.summary),
    "cloze_qa": Task(tasks_cloze.build_default, tasks_qa.write, tasks_qa.summary),
}


def tasks_with(cloze_corpus: Path | None) -> dict[str, Task]:
    """The tasks, with cloze_qa made from ``cloze_corpus`` when one is given."""
    if cloze_corpus is None:
        return TASKS
    return {
        **TASKS,
        "cloze_qa": replace(TASKS["cloze_qa"], build=partial(tasks_cloze.build_corpus, cloze_corpus)),
    }


@dataclass(frozen=True)
class SplitReport:
    task: str
    split: str
    examples: int
    bytes: int
    summary: str

    def __str__(self) -> str:
        return (
            f"{self.task}/{self.split}: {self.examples} examples ({self.summary}), {self.bytes / 1e3:,.0f} kB"
        )


def build_task(
    name: str, sources: Path, out: Path, seed: int, tasks: dict[str, Task] = TASKS
) -> list[SplitReport]:
    """Build task ``name`` into ``out/name``, replacing what was there only once every split is written."""
    task = tasks[name]
    splits = task.build(sources, seed)
    empty = [split for split in SPLITS if not splits[split]]
    if empty:
        raise DenoiseError(f"{name}: the {', '.join(empty)} split is empty; check the sources in {sources}")
    partial = out / f".{name}.partial-{os.getpid()}"
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    try:
        for split in SPLITS:
            task.write(splits[split], partial, split)
        final = replace_folder(partial, out / name)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return [
        SplitReport(
            name,
            split,
            len(examples),
            sum(f.stat().st_size for f in final.glob(f"{split}.*")),
            task.summary(examples),
        )
        for split, examples in splits.items()
    ]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--sources", type=Path, default=Path("sources"), help="folder written by data_scripts.fetch_sources"
    )
    parser.add_argument("--out", type=Path, required=True, help="folder to write one folder per task into")
    parser.add_argument("--tasks", nargs="+", choices=list(TASKS), default=list(TASKS))
    parser.add_argument("--seed", type=int, default=0, help="seed of the splits and of every random choice")
    parser.add_argument(
        "--cloze-corpus",
        type=Path,
        help="corpus in denoise's text format to make cloze_qa from (default: the one shipped with denoise)",
    )
    args = parser.parse_args()
    tasks = tasks_with(args.cloze_corpus)
    try:
        for name in args.tasks:
            for report in build_task(name, args.sources, args.out, args.seed, tasks):
                print(report, flush=True)
    except DenoiseError as err:
        parser.exit(2, f"{parser.prog}: error: {err}\n")


if __name__ == "__main__":
    main()
