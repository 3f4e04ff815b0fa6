"""The registry: a plain dict from op name to op class. Recipes name ops by these keys."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from denoise.config import from_mapping, nearest
from denoise.corruption.base import Corruption, Vocab
from denoise.corruption.mask import Mask
from denoise.errors import DenoiseError

OPS: dict[str, type[Corruption]] = {op.name: op for op in (Mask,)}


def build_op(name: str, params: Mapping[str, Any] | None, vocab: Vocab, corpus=None) -> Corruption:
    """The op ``name`` with ``params`` over its defaults (unknown names and keys fail clearly)."""
    if name not in OPS:
        raise DenoiseError(f"unknown corruption op {name!r}{nearest(name, OPS)}; ops: {', '.join(sorted(OPS))}")
    op = OPS[name]
    config = from_mapping(op.Config, params, where=f"op {name!r}")
    if op.pairs:
        return op(config, vocab, corpus=corpus)
    return op(config, vocab)
