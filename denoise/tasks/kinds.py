"""The registry of task kinds: a plain dict from ``task.kind`` to its :class:`~denoise.tasks.kind.Kind`.

A new kind is a folder, ``denoise/tasks/<kind>/``, one line here, and (when it has settings of its own)
one field of ``FinetuneConfig`` (``docs/adding_a_task_kind.md``).
"""

from __future__ import annotations

from denoise.config import nearest
from denoise.errors import DenoiseError
from denoise.tasks.classification.kind import Classification, Regression
from denoise.tasks.generation.kind import Generation
from denoise.tasks.kind import Kind
from denoise.tasks.qa.kind import SpanQA
from denoise.tasks.tagging.kind import Tagging

KINDS: dict[str, type[Kind]] = {
    kind.name: kind for kind in (Classification, Regression, Tagging, SpanQA, Generation)
}


def kind_named(name: str) -> type[Kind]:
    if name not in KINDS:
        raise DenoiseError(f"task.kind {name!r} is not one of {', '.join(KINDS)}{nearest(name, KINDS)}")
    return KINDS[name]
