"""The configuration reference (``docs/configuration.md``), written from the config dataclasses themselves:
every key of every recipe, its type, its range, its default and the comment beside it in the code.

    python -m denoise.reference > docs/configuration.md

A test fails when the committed page is not what this writes.
"""

from __future__ import annotations

import dataclasses
import inspect
import io
import textwrap
import tokenize
import types
import typing

from denoise.config import ranges

PAGE_INTRO = """# Configuration reference

Every key a recipe can set, with its type, its range, its default and what it does. Keys nest as the tables
do: `data:` of a pre-training recipe holds the keys of the `data` table, and `key.sub=value` on the command
line sets one (`training.max_steps=100`). An unknown key stops with its name and the nearest valid one; a key
that moved says where to; a number out of its range stops with the key, the value and the range (`>= 1`,
`[0, 1)`: square brackets include an end, round ones exclude it; `each` bounds every item of a list; `null`
passes where the type allows it).

This page is written from the code: `python -m denoise.reference > docs/configuration.md`.
"""


def field_comments(cls: type) -> dict[str, str]:
    """Each field's comment in the class body: the comment lines just above it and the one on its line."""
    source = textwrap.dedent(inspect.getsource(cls))
    comments: dict[str, str] = {}
    pending: list[str] = []
    field, line_comments, depth, start_of_line = None, [], 0, True
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        kind, text = token.type, token.string
        if kind == tokenize.COMMENT:
            note = text.lstrip("#").strip()
            (line_comments if field else pending).append(note)
        elif kind == tokenize.NAME and start_of_line and token.start[1] == 4 and depth == 0:
            field, line_comments = text, []
        elif kind == tokenize.OP and text in "([{":
            depth += 1
        elif kind == tokenize.OP and text in ")]}":
            depth -= 1
        elif kind == tokenize.NEWLINE:
            if field is not None:
                comments[field] = " ".join(pending + line_comments)
            field, pending, line_comments = None, [], []
        start_of_line = kind in (tokenize.NEWLINE, tokenize.NL, tokenize.INDENT, tokenize.DEDENT)
    return comments


def default_of(field: dataclasses.Field) -> str:
    if field.default is not dataclasses.MISSING:
        value = field.default
    elif field.default_factory is not dataclasses.MISSING:
        value = field.default_factory()
    else:
        return "(required)"
    if dataclasses.is_dataclass(value):
        return "(a block)"
    if isinstance(value, tuple) and value and dataclasses.is_dataclass(value[0]):
        return f"({len(value)} entries)"
    return f"`{value!r}`" if value is not None else "`null`"


def range_of(cls: type, name: str) -> str:
    """The field's range as its dataclass's RANGES declares it (``each`` for the items of a list), or ''."""
    bound = ranges(cls).get(name)
    if bound is None:
        return ""
    kind = typing.get_type_hints(cls)[name]
    options = typing.get_args(kind) if typing.get_origin(kind) in (typing.Union, types.UnionType) else (kind,)
    each = any(typing.get_origin(option) in (list, tuple) for option in options)
    return f"{'each ' * each}`{bound.describe()}`"


def table(cls: type) -> list[str]:
    comments = field_comments(cls)
    rows = ["| key | type | range | default | what it sets |", "|---|---|---|---|---|"]
    for field in dataclasses.fields(cls):
        kind = str(field.type).replace("|", "\\|")
        note = comments.get(field.name, "").replace("|", "\\|")
        if not note and default_of(field) == "(a block)":
            note = f"the keys of `{field.name}`, below"
        rows.append(
            f"| `{field.name}` | `{kind}` | {range_of(cls, field.name)} | {default_of(field)} | {note} |"
        )
    moved = getattr(cls, "MOVED_KEYS", {})
    if moved:
        rows += ["", "Moved: " + ", ".join(f"`{old}` -> `{new}`" for old, new in moved.items()) + "."]
    return rows


def blocks(cls: type, prefix: str = "") -> list[tuple[str, type]]:
    """``cls`` and every dataclass block nested in it, with their dotted key prefixes."""
    found = [(prefix, cls)]
    hints = inspect.get_annotations(cls, eval_str=True)
    for field in dataclasses.fields(cls):
        kind = hints.get(field.name)
        if dataclasses.is_dataclass(kind):
            found += blocks(kind, f"{prefix}{field.name}.")
    return found


def section(title: str, cls: type, intro: str) -> list[str]:
    lines = [f"## {title}", "", intro, ""]
    for prefix, block in blocks(cls):
        lines += [f"### {prefix.rstrip('.') or 'top level'}", ""]
        lines += table(block) + [""]
    return lines


def page() -> str:
    from denoise.compare.config import GridConfig
    from denoise.corruption.registry import OPS
    from denoise.finetune.config import FinetuneConfig
    from denoise.train.config import PretrainConfig
    from denoise.train.objectives import OBJECTIVES

    lines = [PAGE_INTRO]
    lines += section(
        "Pre-training recipe (`denoise pretrain`)",
        PretrainConfig,
        "Defaults, then `RECIPE.yaml`, then `key=value` settings; the defaults are the main job that "
        "`denoise pretrain` runs with no argument (`recipes/tiny_mlm.yaml`).",
    )
    lines += section(
        "Fine-tuning recipe (`denoise finetune`)",
        FinetuneConfig,
        "Defaults, then `TASK.yaml`, then `key=value` settings. The `classification`, `qa` and "
        "`generation` blocks are read by their kind of task only.",
    )
    lines += section(
        "Comparison grid (`denoise compare`)",
        GridConfig,
        "Paths in a grid file are read relative to the file.",
    )
    lines += ["## Corruption ops (`steps:` of a corruption recipe)", ""]
    lines += ["Each step is `{op: NAME, ...}` with these keys; `denoise corrupt --list` shows them too.", ""]
    lines += [
        "A `float` key (an `int` key with `schedule: step`) may instead follow a schedule over the run: "
        "`{schedule: linear, points: [[0.0, 0.3], [1.0, 0.15]], eval: 0.15}`, points of (fraction of the run's "
        "steps, value) that `linear` interpolates and `step` holds until the next point, and an optional "
        "value for held-out evaluation; each point is checked against the key's range.",
        "",
    ]
    for name, op in sorted(OPS.items()):
        lines += [f"### `{name}`", "", first_paragraph(op), ""]
        lines += table(op.Config) + [""]
    lines += ["## Objectives (`objective:` of a pre-training recipe)", ""]
    lines += ["`objective: NAME`, or `{name: NAME, ...}` with these keys.", ""]
    for name, objective in OBJECTIVES.items():
        lines += [f"### `{name}`", "", first_paragraph(objective), ""]
        if dataclasses.fields(objective.Config):
            lines += table(objective.Config) + [""]
    return "\n".join(lines).rstrip() + "\n"


def first_paragraph(cls: type) -> str:
    """The first paragraph of the docstring of ``cls``'s module, on one line."""
    return (inspect.getmodule(cls).__doc__ or "").strip().split("\n\n")[0].replace("\n", " ")


def main() -> None:
    print(page(), end="")


if __name__ == "__main__":
    main()
