"""The registry: a plain dict from op name to op class. Recipes name ops by these keys."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from denoise.config import from_mapping, nearest
from denoise.corruption.base import Corruption, Vocab
from denoise.corruption.clm import Clm
from denoise.corruption.delete import Delete
from denoise.corruption.iid_noise import IidNoise
from denoise.corruption.infill import Infill
from denoise.corruption.insert import Insert
from denoise.corruption.mask import Mask
from denoise.corruption.mass import Mass
from denoise.corruption.mixture import Mixture
from denoise.corruption.pairs import NextSentence, SentenceOrder
from denoise.corruption.permute import Permute
from denoise.corruption.prefix_lm import PrefixLM
from denoise.corruption.rotate import Rotate
from denoise.corruption.shuffle import Shuffle
from denoise.corruption.span import Span
from denoise.corruption.span_mask import SpanMask
from denoise.errors import DenoiseError

OPS: dict[str, type[Corruption]] = {
    op.name: op
    for op in (
        Mask,
        SpanMask,
        Delete,
        Infill,
        Insert,
        Permute,
        Rotate,
        Shuffle,
        Span,
        IidNoise,
        Mass,
        PrefixLM,
        Clm,
        Mixture,
        NextSentence,
        SentenceOrder,
    )
}


def op_settings(name: str, params: Mapping[str, Any] | None, where: str | None = None):
    """The settings of op ``name``: ``params`` over its defaults, checked (unknown names and keys, values out
    of range, a mixture's denoisers too), naming ``where`` (``op 'NAME'`` unless given)."""
    if name not in OPS:
        raise DenoiseError(
            f"unknown corruption op {name!r}{nearest(name, OPS)}; ops: {', '.join(sorted(OPS))}"
        )
    where = where or f"op {name!r}"
    config = from_mapping(OPS[name].Config, params, where=where)
    if OPS[name].composes:
        for i, d in enumerate(config.denoisers):
            op_settings(d.op, d.params, where=f"{where}.denoisers[{i}].params")
    return config


def build_op(
    name: str, params: Mapping[str, Any] | None, vocab: Vocab, corpus=None, where: str | None = None
) -> Corruption:
    """The op ``name`` with :func:`op_settings`, for ``vocab`` (and ``corpus``, for ops that draw from it)."""
    config = op_settings(name, params, where)
    op, where = OPS[name], where or f"op {name!r}"
    if op.composes:  # a mixture: its denoisers are ops too
        children = [
            build_op(d.op, d.params, vocab, corpus, where=f"{where}.denoisers[{i}].params")
            for i, d in enumerate(config.denoisers)
        ]
        return op(config, vocab, children=children)
    if op.needs_corpus:
        return op(config, vocab, corpus=corpus)
    return op(config, vocab)
