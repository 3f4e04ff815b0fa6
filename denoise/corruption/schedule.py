"""Schedules: a numeric setting of a recipe step that changes with the progress of the run.

Any numeric key of a step may be a schedule instead of a number::

    steps:
      - op: mask
        rate: {schedule: linear, points: [[0.0, 0.3], [1.0, 0.15]], eval: 0.15}
      - op: infill
        rate: {schedule: step, points: [[0.0, 0.3], [0.6, 0.15], [0.9, 0.05]]}

``points`` are ``[fraction, value]`` pairs, fractions of the run's steps in [0, 1], strictly increasing.
``linear`` interpolates between neighbouring points, ``step`` holds each value until the next point; before
the first point its value holds, after the last point the last value. ``eval`` (optional) is the value
held-out evaluation uses; without it evaluation uses the value at the current progress.

The progress of step ``s`` (counted from 0) of a run of ``T`` steps is ``s / T``: a pure function of the step,
so every micro-batch of a step, every process, every DataLoader worker and a resumed run see the same value.
"""

from __future__ import annotations

import bisect
import math
import types
import typing
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, fields
from typing import Any

from denoise.config import nearest
from denoise.errors import DenoiseError

KINDS = {
    "linear": "interpolates between points",
    "step": "holds each value until the next point",
}
KEYS = ("schedule", "points", "eval")
EXAMPLE = "{schedule: linear, points: [[0.0, 0.3], [1.0, 0.15]], eval: 0.15}"


@dataclass(frozen=True)
class Schedule:
    """A value over the run: ``points`` of (fraction of the steps, value), read as ``kind`` says."""

    kind: str
    points: tuple[tuple[float, Any], ...]
    eval: Any = None

    def at(self, progress: float) -> Any:
        """The value at ``progress``, a fraction of the run."""
        fractions = [fraction for fraction, _ in self.points]
        after = bisect.bisect_right(fractions, progress)  # the first point beyond progress
        if after == 0:
            return self.points[0][1]
        if after == len(self.points) or self.kind == "step":
            return self.points[after - 1][1]
        (f0, v0), (f1, v1) = self.points[after - 1], self.points[after]
        return v0 + (v1 - v0) * (progress - f0) / (f1 - f0)

    def value(self, progress: float, evaluation: bool = False) -> Any:
        """The value training uses at ``progress``, or evaluation's (``eval`` when given)."""
        if evaluation and self.eval is not None:
            return self.eval
        return self.at(progress)

    def to_mapping(self) -> dict:
        eval_value = {} if self.eval is None else {"eval": self.eval}
        return {"schedule": self.kind, "points": [list(p) for p in self.points], **eval_value}

    def __str__(self) -> str:
        points = " ".join(f"{fraction:g}:{value:g}" for fraction, value in self.points)
        return f"{self.kind}({points}{'' if self.eval is None else f' eval={self.eval:g}'})"


def progress(step: int | None, total_steps: int | None) -> float:
    """The fraction of a run of ``total_steps`` done before ``step``; 0 when either is unknown."""
    return step / total_steps if step is not None and total_steps else 0.0


def is_schedule(value: Any) -> bool:
    """Whether a step's value is written as a schedule (a mapping with ``schedule`` or ``points``)."""
    return isinstance(value, Mapping) and ("schedule" in value or "points" in value)


def parse_schedule(value: Mapping, where: str) -> Schedule:
    """The schedule written at ``where`` (a step's dotted key), its shape checked; its values are the op's to
    check."""
    for key in value:
        if key not in KEYS:
            raise DenoiseError(
                f"unknown key {key!r} in the schedule of {where}{nearest(str(key), KEYS)}; a schedule has "
                f"{', '.join(KEYS)}, e.g. {EXAMPLE}"
            )
    kind = value.get("schedule")
    if kind not in KINDS:
        known = "; ".join(f"{name} {what}" for name, what in KINDS.items())
        raise DenoiseError(
            f"{where}: unknown schedule {kind!r}{nearest(str(kind), KINDS)}; write schedule: linear or step "
            f"({known})"
        )
    points = value.get("points")
    if not isinstance(points, (list, tuple)) or not points:
        raise DenoiseError(
            f"{where}: a schedule needs a non-empty list of [fraction, value] points, got {points!r}; "
            f"e.g. {EXAMPLE}"
        )
    parsed = tuple(_point(point, f"{where}.points[{i}]") for i, point in enumerate(points))
    for (before, _), (fraction, _) in zip(parsed, parsed[1:]):
        if fraction <= before:
            raise DenoiseError(
                f"{where}: the fractions of a schedule's points must increase, got {fraction:g} after "
                f"{before:g}; list the points in the order of the run"
            )
    eval_value = value.get("eval")
    if eval_value is not None:
        eval_value = _number(eval_value, f"{where}.eval")
    return Schedule(kind, parsed, eval_value)


def _point(point: Any, where: str) -> tuple[float, Any]:
    if not isinstance(point, (list, tuple)) or len(point) != 2:
        raise DenoiseError(f"{where} must be a [fraction, value] pair, got {point!r}")
    fraction, value = _number(point[0], f"{where} fraction"), _number(point[1], f"{where} value")
    if not 0 <= fraction <= 1:
        raise DenoiseError(
            f"{where}: the fraction {fraction:g} is outside [0, 1]; fractions count the run's steps, 0 its "
            "start and 1 its end"
        )
    return float(fraction), value


def _number(value: Any, where: str) -> int | float:
    if isinstance(value, str):  # YAML 1.1 reads 3e-1 (no dot) as a string
        try:
            value = float(value)
        except ValueError:
            pass
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise DenoiseError(f"{where} must be a finite number, got {value!r}")
    return value


def parse_params(params: Mapping[str, Any], where: str) -> dict[str, Any]:
    """A step's ``params`` with each schedule parsed into a :class:`Schedule`; a schedule nested deeper (in a
    mixture's denoisers) is refused."""
    parsed = {}
    for key, value in params.items():
        if is_schedule(value):
            parsed[key] = parse_schedule(value, f"{where}.{key}")
        elif any(is_schedule(inner) for inner in _nested(value)):
            raise DenoiseError(
                f"{where}.{key} holds a schedule inside it; only a step's own numeric keys take a schedule, "
                "so give a number there"
            )
        else:
            parsed[key] = value
    return parsed


def _nested(value: Any) -> Iterator[Any]:
    """Every mapping and list value inside ``value``, at any depth."""
    children = value.values() if isinstance(value, Mapping) else value if isinstance(value, list) else ()
    for child in children:
        yield child
        yield from _nested(child)


def check_numeric(schedules: Mapping[str, Schedule], config: type, where: str) -> None:
    """Refuse a schedule on a key of the op's ``config`` that is not a number, or a linear one on a whole
    number (an unknown key is left for the op's settings to name)."""
    kinds = typing.get_type_hints(config)
    known = {f.name for f in fields(config)}
    for key, schedule in schedules.items():
        if key not in known:
            continue
        number = _number_type(kinds[key])
        if number is None:
            written = getattr(kinds[key], "__name__", str(kinds[key]))
            raise DenoiseError(
                f"{where}.{key} is a {written}, not a number, so it cannot follow a schedule; give it one value"
            )
        if number is int and schedule.kind == "linear":
            raise DenoiseError(
                f"{where}.{key} takes whole numbers, which a linear schedule would interpolate between; "
                "use schedule: step"
            )


def _number_type(annotation: Any) -> type | None:
    """``int`` or ``float`` when ``annotation`` is that number (or that or None), else None."""
    options = (
        typing.get_args(annotation)
        if typing.get_origin(annotation) in (typing.Union, types.UnionType)
        else (annotation,)
    )
    numbers = [option for option in options if option is not type(None)]
    return numbers[0] if len(numbers) == 1 and numbers[0] in (int, float) else None
