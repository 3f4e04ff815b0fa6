"""Looking at recipes before training with them: the catalogue, and corrupted blocks as text or JSON."""

from __future__ import annotations

import dataclasses
import shutil
import textwrap
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import islice

import numpy as np

from denoise.corruption.base import Vocab
from denoise.corruption.recipe import MODEL_KINDS, Recipe, available_recipes, check_composition
from denoise.corruption.registry import OPS, build_op
from denoise.errors import DenoiseError
from denoise.labels import IGNORE

BATCH = 64
CORPUS_BLOCKS = 1024  # blocks read beyond those shown, for NSP's random next sentences


@dataclass
class Corrupted:
    """One block before and after corruption; ``target`` holds the labels (-100 = nothing) when ``aligned``
    (recipes for encoder-only models), else the decoder target.

    For sentence pairs, ``first_length`` is the length of the segment shown first and ``pair_label`` the NSP or
    SOP label; ``mode_id`` is the mode token a mixture prepends to the source.
    """

    original: list[int]
    source: list[int]
    target: list[int]
    aligned: bool
    first_length: int | None = None
    pair_label: int | None = None
    mode_id: int | None = None

    def record(self) -> dict:
        """The JSON record of ``denoise corrupt --jsonl``."""
        extra = {
            k: getattr(self, k)
            for k in ("first_length", "pair_label", "mode_id")
            if getattr(self, k) is not None
        }
        return {"original": self.original, "source": self.source, "target": self.target, **extra}


def catalogue() -> str:
    """Every op with its parameters and defaults, then every shipped recipe."""
    lines = ["ops:"]
    for name, op in sorted(OPS.items()):
        params = ", ".join(f"{f.name}={_default(f)}" for f in dataclasses.fields(op.Config))
        kind = "aligned" if op.aligned else "changes length"
        lines.append(f"  {name:<10} {kind:<15} {params}")
    lines.append("recipes:")
    for name in available_recipes():
        recipe = Recipe.load(name)
        lines.append(f"  {name:<10} {recipe.description}")
        lines.append(f"  {'':<10} {' -> '.join(_format_step(s.op, s.params) for s in recipe.steps)}")
    return "\n".join(lines)


def _format_step(op: str, params: dict) -> str:
    """``op(key=value, ...)``; a list of sub-steps (a mixture's denoisers) one per line."""
    parts = []
    for key, value in params.items():
        if isinstance(value, list) and value and isinstance(value[0], dict) and "op" in value[0]:
            subs = [
                _format_step(v["op"], v.get("params", {})) + f" {v.get('mode') or ''} w={v.get('weight', 1)}"
                for v in value
            ]
            value = "[\n" + "".join(f"{'':<16}{sub}\n" for sub in subs) + f"{'':<13}]"
        parts.append(f"{key}={value}")
    return f"{op}({', '.join(parts)})" if parts else op


def _default(field: dataclasses.Field):
    if field.default is not dataclasses.MISSING:
        return field.default
    value = field.default_factory()
    return f"<{len(value)} entries>" if isinstance(value, (list, tuple)) and len(value) > 3 else value


def default_kind(recipe: Recipe, vocab: Vocab) -> str:
    """The first kind of model (encoder-only first) the recipe can feed."""
    ops = [build_op(s.op, s.params, vocab) for s in recipe.at(0.0).steps]
    for kind in MODEL_KINDS:
        try:
            check_composition(recipe.name, ops, kind)
            return kind
        except DenoiseError:
            continue
    return kind  # none takes it: building the recipe for the last kind says why


def corrupt_rows(
    recipe: Recipe,
    rows: Iterable[dict],
    vocab: Vocab,
    kind: str,
    block_size: int,
    seed: int = 0,
    epoch: int = 0,
    limit: int | None = None,
    progress: float = 0.0,
) -> Iterator[Corrupted]:
    """Apply ``recipe`` to the first ``limit`` block rows (as prepared by ``denoise.data``), a batch at a time,
    with its schedules at ``progress`` (a fraction of a run).

    Rows are read lazily, except for recipes that draw other blocks (NSP): those read up to
    ``CORPUS_BLOCKS`` blocks beyond the ones shown (all of them when there is no limit) to draw from.
    """
    from denoise.corruption.corpus import BlockCorpus, blocks_from_rows

    rows = iter(rows)
    corpus = None
    if any(OPS[step.op].needs_corpus for step in recipe.steps if step.op in OPS):
        corpus = list(islice(rows, None if limit is None else max(limit, CORPUS_BLOCKS)))
        rows = iter(corpus)
    corrupter = recipe.build(vocab, kind, block_size, corpus=BlockCorpus(corpus) if corpus else None)
    shown = islice(rows, limit)
    start = 0
    while chunk := list(islice(shown, BATCH)):
        sample = blocks_from_rows(chunk).sample(vocab.pad_id)
        out = corrupter(sample, seed, epoch, np.arange(start, start + len(chunk)), progress)
        start += len(chunk)
        target, target_lengths = out.targets()
        aligned = MODEL_KINDS[kind].aligned_targets
        pair = out.pair_labels is not None and out.segment_ids is not None
        for i in range(len(chunk)):
            n = out.lengths[i]
            yield Corrupted(
                sample.original[i, : sample.lengths[i]].tolist(),
                out.tokens[i, :n].tolist(),
                out.labels[i, :n].tolist() if aligned else target[i, : target_lengths[i]].tolist(),
                aligned,
                first_length=int((out.segment_ids[i, :n] == 0).sum()) if pair else None,
                pair_label=(int(out.pair_labels[i]) if out.pair_usable[i] else IGNORE) if pair else None,
                mode_id=int(out.mode_ids[i]) if out.mode_ids is not None and out.mode_ids[i] >= 0 else None,
            )


def show(item: Corrupted, tokenizer, width: int | None = None) -> str:
    """Source and target side by side, wrapped to the terminal."""
    width = width or shutil.get_terminal_size((120, 20)).columns
    column = max(20, (width - 3) // 2)
    source = tokenizer.decode(item.source)
    if item.first_length is not None:
        first, second = item.source[: item.first_length], item.source[item.first_length :]
        source = f"{tokenizer.decode(first)} <sep> {tokenizer.decode(second)} (pair label {item.pair_label})"
    if item.mode_id is not None:
        source = f"{tokenizer.id_to_piece(item.mode_id)} {source}"
    if item.aligned:
        target = " ".join(f"{i}:{tokenizer.id_to_piece(t)}" for i, t in enumerate(item.target) if t != IGNORE)
    else:
        target = tokenizer.decode(item.target)
    left = textwrap.wrap(source, column) or [""]
    right = textwrap.wrap(target, column) or [""]
    rows = [f"{'source':<{column}} | target", f"{'-' * column}-+-{'-' * column}"]
    for i in range(max(len(left), len(right))):
        rows.append(f"{left[i] if i < len(left) else '':<{column}} | {right[i] if i < len(right) else ''}")
    return "\n".join(rows)
