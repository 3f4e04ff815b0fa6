"""Typed configs from plain data: dataclass defaults, then a mapping (from YAML), checked key by key.

``from_mapping(Config, {"rate": 0.3})`` builds ``Config(rate=0.3)``. An unknown key fails with its name and
the nearest valid one; a value of the wrong type fails with the key, the value and the type expected.
Nested dataclass fields take nested mappings.
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
