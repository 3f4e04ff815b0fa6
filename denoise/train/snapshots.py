"""Snapshots: a run's model and tokenizer kept at chosen fractions of its steps (``training.snapshots``), each
in ``RUN/snapshots/step-N/`` with ``snapshot.json`` (step, fraction, tokens and model FLOPs so far). A
snapshot folder is laid out as a run, so fine-tuning starts from it (``init=RUN/snapshots/step-N``).
"""

from __future__ import annotations

import json
from pathlib import Path

SNAPSHOTS = "snapshots"
SNAPSHOT_FILE = "snapshot.json"


def snapshot_dir(out: Path, step: int) -> Path:
    return Path(out) / SNAPSHOTS / f"step-{step:08d}"


def snapshot_steps(fractions: list[float], total: int) -> set[int]:
    """The steps at which ``fractions`` of a ``total``-step run fall (at least step 1)."""
    return {max(1, round(fraction * total)) for fraction in fractions}


def snapshots_of(run: str | Path) -> list[tuple[Path, dict]]:
    """The finished snapshots of ``run``, earliest first, with their records."""
    root = Path(run) / SNAPSHOTS
    found = sorted(root.glob("step-*/" + SNAPSHOT_FILE)) if root.is_dir() else []
    return [(path.parent, json.loads(path.read_text())) for path in found]
