"""Typed configs from plain data: dataclass defaults, then a YAML file, then ``key=value`` overrides.

``from_mapping(Config, {"rate": 0.3})`` builds ``Config(rate=0.3)``. An unknown key fails with its name and
the nearest valid one; a value of the wrong type fails with the key, the value and the type expected.
Nested dataclass fields take nested mappings. A dataclass may list keys that moved elsewhere in a
``MOVED_KEYS`` class attribute (old key -> new dotted key): such a key fails naming its new place.
:func:`load_settings` is what every command reads its recipe with.

A dataclass bounds its numbers in a ``RANGES`` class attribute (field name -> range), checked for every given
value before the dataclass is built (so its ``__post_init__`` sees numbers in range), with a message naming
the dotted key, the value and the range. A range is written one of two ways:

- a comparison: ``"> 0"``, ``">= 1"``, ``"< 1"``, ``"<= 100"``;
- an interval, square brackets for an inclusive end and round ones for an exclusive end: ``"[0, 1]"``,
  ``"[0, 1)"``, ``"(0, 1]"``, ``"(0, 1)"``; ``inf`` and ``-inf`` may end one (``"[1, inf)"`` is ``">= 1"``).

Values must also be finite (never ``nan`` or ``inf``), and bools are not numbers. Each item of a list or tuple
field is checked; ``null`` passes where the field's type allows it.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from denoise.errors import DenoiseError


@dataclasses.dataclass(frozen=True)
class Range:
    """The numbers between ``low`` and ``high``, each end included when ``*_closed``; see the notation above."""

    low: float = -math.inf
    high: float = math.inf
    low_closed: bool = False
    high_closed: bool = False

    @classmethod
    def parse(cls, text: str) -> Range:
        """``">= 0"``, ``"(0, 1]"``... as a Range (a ValueError for anything else: RANGES are code)."""
        written = text.strip()
        try:
            for sign in (">=", "<=", ">", "<"):
                end, closed = written[len(sign) :], sign.endswith("=")
                if written.startswith(sign) and math.isfinite(float(end)):
                    if sign[0] == ">":
                        return cls(low=float(end), low_closed=closed)
                    return cls(high=float(end), high_closed=closed)
            if written[:1] in "[(" and written[-1:] in "])" and written.count(",") == 1:
                low, high = (float(end) for end in written[1:-1].split(","))
                if low < high:
                    return cls(low, high, written[0] == "[", written[-1] == "]")
        except ValueError:
            pass
        raise ValueError(f"range {text!r} is not '> 0', '>= 1', '[0, 1)' or the like (see denoise.config)")

    def contains(self, value: Any) -> bool:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            return False
        above = value >= self.low if self.low_closed else value > self.low
        below = value <= self.high if self.high_closed else value < self.high
        return above and below

    def describe(self) -> str:
        """The range in the notation above: ``">= 1"``, ``"[0, 1)"``..."""
        if self.high == math.inf and self.low > -math.inf:
            return f">{'=' * self.low_closed} {self.low:g}"
        if self.low == -math.inf and self.high < math.inf:
            return f"<{'=' * self.high_closed} {self.high:g}"
        return (
            f"{'[' if self.low_closed else '('}{self.low:g}, {self.high:g}{']' if self.high_closed else ')'}"
        )


def ranges(cls: type) -> dict[str, Range]:
    """``cls.RANGES`` parsed: field name -> Range."""
    return {name: Range.parse(text) for name, text in getattr(cls, "RANGES", {}).items()}


def check_ranges(cls: type, values: Mapping[str, Any], where: str) -> None:
    """Each of ``values`` (field name -> value, as typed) that ``cls.RANGES`` bounds, checked against its range;
    every item of a list or tuple, and null passes (the type was checked before)."""
    hints = typing.get_type_hints(cls)
    for name, bound in ranges(cls).items():
        if name not in values:
            continue
        value, key = values[name], dotted(where, name)
        items = enumerate(value) if isinstance(value, (list, tuple)) else [(None, value)]
        for i, item in items:
            if item is None or bound.contains(item):
                continue
            finite = "a finite number " if isinstance(item, float) and not math.isfinite(item) else ""
            written = bound.describe()
            within = f"in {written}" if written[0] in "[(" else written
            null = " (or null)" if type(None) in typing.get_args(hints[name]) else ""
            raise DenoiseError(
                f"{key}{'' if i is None else f'[{i}]'} must be {finite}{within}{null}, got {shown(item)}"
            )


def dotted(where: str, name: str) -> str:
    """The dotted key of ``name`` inside ``where`` (the top level when ``where`` is empty)."""
    return f"{where}.{name}" if where else name


def shown(value: Any) -> str:
    """``value`` as an error message shows it: ``-1`` for -1.0."""
    whole = isinstance(value, float) and value.is_integer() and abs(value) < 1e15
    return repr(int(value) if whole else value)


def read_recipe(path: str | Path, what: str) -> dict:
    """The settings of a YAML recipe file, with its file name as the default ``name``."""
    import yaml

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{what} {path} does not exist")
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as err:
        raise DenoiseError(f"{path} is not valid YAML: {err}") from None
    if not isinstance(data, dict):
        raise DenoiseError(f"{path} must hold a mapping of settings, got {type(data).__name__}")
    data.setdefault("name", path.stem)
    return data


def nearest(name: str, choices) -> str:
    """`` (did you mean 'x'?)`` for the closest of ``choices``, or an empty string."""
    match = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.5)
    return f" (did you mean {match[0]!r}?)" if match else ""


def from_mapping(cls: type, values: Mapping[str, Any] | None, where: str = "config"):
    """An instance of dataclass ``cls`` with ``values`` over its defaults, each typed and range-checked;
    ``where`` is the dotted key of ``cls``'s values in errors (empty: the top level)."""
    values = dict(values or {})
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    unknown = [k for k in values if k not in fields]
    place = f"in {where}" if where else "at the top level"
    if unknown:
        key = unknown[0]
        moved = getattr(cls, "MOVED_KEYS", {})
        if key in moved:
            raise DenoiseError(
                f"key {key!r} {place} has moved to {moved[key]!r}; write {moved[key]}={values[key]!r} instead"
            )
        raise DenoiseError(
            f"unknown key {key!r} {place}{nearest(key, fields)}; valid keys: {', '.join(sorted(fields))}"
        )
    hints = typing.get_type_hints(cls)
    kwargs = {k: coerce(v, hints[k], dotted(where, k)) for k, v in values.items()}
    check_ranges(cls, kwargs, where)
    try:
        return cls(**kwargs)
    except TypeError as err:
        raise DenoiseError(f"{where or cls.__name__}: {err}") from None


def coerce(value: Any, annotation: Any, where: str) -> Any:
    """``value`` checked against ``annotation`` (ints are accepted where floats are expected)."""
    origin = typing.get_origin(annotation)
    if dataclasses.is_dataclass(annotation):
        if isinstance(value, annotation):
            return value
        if not isinstance(value, Mapping):
            raise DenoiseError(f"{where} must be a mapping of {annotation.__name__} settings, got {value!r}")
        return from_mapping(annotation, value, where)
    if origin in (typing.Union, types.UnionType):
        options = typing.get_args(annotation)
        if value is None and type(None) in options:
            return None
        errors = []
        for option in options:
            if option is type(None):
                continue
            try:
                return coerce(value, option, where)
            except DenoiseError as err:
                errors.append(str(err))
        raise DenoiseError(errors[0] if errors else f"{where}: unexpected value {value!r}")
    if origin in (list, tuple):
        if not isinstance(value, (list, tuple)):
            raise DenoiseError(f"{where} must be a list, got {value!r}")
        args = typing.get_args(annotation)
        item = args[0] if args else Any
        items = [coerce(v, item, f"{where}[{i}]") for i, v in enumerate(value)]
        return tuple(items) if origin is tuple else items
    if origin in (dict, Mapping):
        if not isinstance(value, Mapping):
            raise DenoiseError(f"{where} must be a mapping, got {value!r}")
        return dict(value)
    if annotation is Any:
        return value
    if annotation is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if annotation is float and isinstance(value, str):
        try:
            return float(value)  # YAML 1.1 reads 1e-4 (no dot) as a string
        except ValueError:
            pass
    if annotation in (int, float, str, bool) and not (
        isinstance(value, annotation) and not (annotation is not bool and isinstance(value, bool))
    ):
        raise DenoiseError(f"{where} must be {annotation.__name__}, got {value!r}")
    return value


def move_keys(cls: type, values: Mapping[str, Any]) -> dict:
    """``values`` (a mapping of ``cls`` settings saved before some keys moved) with each key of
    ``cls.MOVED_KEYS`` carried to its new place, for reading files written by earlier versions."""
    values = dict(values)
    for old, new in getattr(cls, "MOVED_KEYS", {}).items():
        if old in values:
            value = values.pop(old)
            node = values
            *parents, last = new.split(".")
            for part in parents:
                node[part] = dict(node.get(part) or {})
                node = node[part]
            node.setdefault(last, value)
    return values


def check_choice(key: str, value: str, choices) -> None:
    if value not in choices:
        raise DenoiseError(f"{key} {value!r} is not one of {', '.join(choices)}{nearest(value, choices)}")


def parse_override(text: str) -> tuple[list[str], Any]:
    """``"training.max_steps=10"`` -> (["training", "max_steps"], 10); the value is read as YAML."""
    import yaml

    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise DenoiseError(f"override {text!r} must look like key=value, e.g. training.max_steps=100")
    try:
        parsed = yaml.safe_load(value) if value.strip() else None
    except yaml.YAMLError as err:
        raise DenoiseError(f"override {text!r}: the value is not valid YAML ({err})") from None
    return key.strip().split("."), parsed


def apply_overrides(data: dict, overrides: list[str]) -> dict:
    """``data`` with each ``a.b=value`` set (nested mappings are created as needed)."""
    data = dict(data)
    for text in overrides:
        path, value = parse_override(text)
        node = data
        for part in path[:-1]:
            child = node.get(part)
            node[part] = dict(child) if isinstance(child, dict) else {}
            node = node[part]
        node[path[-1]] = value
    return data


def load_settings(cls: type, recipe: str | Path | None, overrides: list[str] | None, what: str):
    """``cls``'s defaults, then the YAML ``recipe`` (when given; ``what`` names it in errors), then
    ``key=value`` ``overrides``."""
    data = read_recipe(recipe, what) if recipe is not None else {}
    try:
        return from_mapping(cls, apply_overrides(data, overrides or []), where="")
    except DenoiseError as err:
        if recipe is None:
            raise
        raise DenoiseError(f"{recipe}: {err}") from None
