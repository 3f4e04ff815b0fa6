"""Typed configs from plain data: dataclass defaults, then a YAML file, then ``key=value`` overrides.

``from_mapping(Config, {"rate": 0.3})`` builds ``Config(rate=0.3)``. An unknown key fails with its name and
the nearest valid one; a value of the wrong type fails with the key, the value and the type expected.
Nested dataclass fields take nested mappings. A dataclass may list keys that moved elsewhere in a
``MOVED_KEYS`` class attribute (old key -> new dotted key): such a key fails naming its new place.
:func:`load_settings` is what every command reads its recipe with.
"""

from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from denoise.errors import DenoiseError


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
    """An instance of dataclass ``cls`` with ``values`` over its defaults."""
    values = dict(values or {})
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    unknown = [k for k in values if k not in fields]
    if unknown:
        key = unknown[0]
        moved = getattr(cls, "MOVED_KEYS", {})
        if key in moved:
            raise DenoiseError(
                f"key {key!r} in {where} has moved to {moved[key]!r}; write {moved[key]}={values[key]!r} "
                "instead"
            )
        raise DenoiseError(
            f"unknown key {key!r} in {where}{nearest(key, fields)}; valid keys: {', '.join(sorted(fields))}"
        )
    hints = typing.get_type_hints(cls)
    kwargs = {k: coerce(v, hints[k], f"{where}.{k}") for k, v in values.items()}
    try:
        return cls(**kwargs)
    except TypeError as err:
        raise DenoiseError(f"{where}: {err}") from None


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
    where = str(recipe) if recipe is not None else "defaults"
    return from_mapping(cls, apply_overrides(data, overrides or []), where=where)
