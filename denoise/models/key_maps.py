"""Weight names of denoise and of transformers, mapped by one table that export and import both use.

A family's table maps a denoise weight name to the transformers name of the same tensor; ``{}`` stands for
a layer index in both (``"encoder.layers.{}.attention.query.weight": "encoder.layer.{}.attention.self.query
.weight"``). :func:`theirs` gives each of a model's weights its transformers name: export writes the weight
under it, import reads the weight from it, so the two can never disagree about a name.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache

KeyMap = Mapping[str, str]


@lru_cache(maxsize=64)
def _patterns(pairs: tuple[tuple[str, str], ...]) -> tuple[tuple[re.Pattern, str], ...]:
    return tuple(
        (re.compile(re.escape(source).replace(r"\{\}", r"(\d+)") + "$"), target) for source, target in pairs
    )


def theirs(name: str, table: KeyMap) -> str | None:
    """The transformers name of denoise weight ``name``; None when the table has no such weight."""
    for pattern, target in _patterns(tuple(table.items())):
        match = pattern.match(name)
        if match:
            return target.format(*match.groups())
    return None


def prefixed(table: KeyMap, ours_prefix: str = "", theirs_prefix: str = "") -> dict[str, str]:
    """``table`` with a prefix before every name on either side."""
    return {ours_prefix + source: theirs_prefix + target for source, target in table.items()}


def weight_and_bias(ours_name: str, theirs_name: str, bias: bool = True) -> dict[str, str]:
    """The entries of a layer with a weight and (when ``bias``) a bias."""
    entries = {f"{ours_name}.weight": f"{theirs_name}.weight"}
    if bias:
        entries[f"{ours_name}.bias"] = f"{theirs_name}.bias"
    return entries


def attention(ours_name: str, theirs_name: str, projections: Mapping[str, str], bias: bool) -> dict[str, str]:
    """The entries of an attention block: each of denoise's ``query``, ``key``, ``value`` and ``output``
    projections under its transformers name in ``projections``."""
    entries: dict[str, str] = {}
    for our_projection, their_projection in projections.items():
        entries.update(
            weight_and_bias(f"{ours_name}.{our_projection}", f"{theirs_name}.{their_projection}", bias)
        )
    return entries
