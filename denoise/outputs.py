"""Where a command may write: a new folder, or one that it wrote itself before.

Every output folder holds a marker, ``.denoise-output.json``, naming the command that wrote it and the run it
holds (the settings or inputs it is the output of). A command writes into

- a folder that does not exist, or an empty one;
- a folder whose marker names the same command and run (a rerun, or a run resumed);
- with ``overwrite``, a folder another command or run of denoise wrote: the new output is written beside it
  and takes its place only once complete (:func:`denoise.files.staged_folder`).

Anything else is refused before any work, naming the folder and the way out: a folder of files denoise did
not write is never replaced (not even with ``overwrite``), an output may never hold one of the command's own
inputs, and no output is written inside another one (a run's ``tokenizer/`` belongs to its model), except in
the folder of a command that gathers others' outputs (``denoise compare``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from denoise.errors import DenoiseError
from denoise.files import staged_folder, write_json

MARKER = ".denoise-output.json"
NEW, SAME, REPLACE = "new", "same", "replace"
GATHERING = ("compare",)  # commands whose folders hold the outputs of other commands


@dataclass(frozen=True)
class Marker:
    """What an output folder says about itself: the command that wrote it and the run (None: unknown)."""

    command: str
    run: str | None = None

    def describe(self) -> str:
        return f"the output of `denoise {self.command}`" + (f" ({self.run})" if self.run else "")


# A command's way of recognising what it wrote before folders carried a marker.
Legacy = Callable[[Path], "Marker | None"]


def read_marker(folder: Path, legacy: Legacy | None = None) -> Marker | None:
    path = Path(folder) / MARKER
    if path.is_file():
        try:
            saved = json.loads(path.read_text())
            return Marker(str(saved["command"]), saved.get("run"))
        except (ValueError, KeyError, TypeError):
            raise DenoiseError(
                f"{path} is not a denoise output marker (unreadable JSON); remove the folder yourself or "
                "choose another output folder"
            ) from None
    return legacy(Path(folder)) if legacy else None


def write_marker(folder: Path, command: str, run: str | None) -> None:
    from denoise import __version__

    write_json(Path(folder) / MARKER, {"command": command, "run": run, "denoise": __version__})


def run_id(*parts) -> str:
    """A short stable name for a run made from ``parts`` (plain data: settings, inputs)."""
    text = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def holds(folder: Path, path: Path) -> bool:
    """Whether ``path`` is ``folder`` or lies inside it."""
    folder, path = Path(folder).resolve(), Path(path).resolve()
    return path == folder or folder in path.parents


def check_output(
    out: str | Path,
    command: str,
    run: str | None = None,
    *,
    inputs: Iterable[str | Path | None] = (),
    overwrite: bool = False,
    legacy: Legacy | None = None,
    flag: str = "--out",
) -> str:
    """``NEW``, ``SAME`` or ``REPLACE`` for writing the output of ``denoise COMMAND`` into ``out``, or a
    ``DenoiseError`` saying why not and what to do. ``run`` None counts every run of ``command`` as the
    same (the command then checks the rest itself)."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise DenoiseError(
            f"{flag} {out} is a file; name a folder (a new one, or one `denoise {command}` wrote)"
        )
    blocking = next((parent for parent in out.parents if parent.exists() and not parent.is_dir()), None)
    if blocking is not None:
        raise DenoiseError(
            f"{flag} {out} lies under {blocking}, which is a file; name a folder outside it (nothing was changed)"
        )
    for item in inputs:
        if item is not None and Path(item).exists() and holds(out, Path(item)):
            raise DenoiseError(
                f"{flag} {out} holds the input {item}; writing there would replace what is read: choose another "
                f"{flag} (nothing was changed)"
            )
    for parent in out.resolve().parents:
        outer = read_marker(parent) if (parent / MARKER).is_file() else None
        if outer is not None and outer.command not in GATHERING:
            raise DenoiseError(
                f"{flag} {out} lies inside {parent}, {outer.describe()}, whose files belong together; "
                f"choose a {flag} outside it (nothing was changed)"
            )
    if not out.exists() or not any(out.iterdir()):
        return NEW
    marker = read_marker(out, legacy)
    if marker is None:
        raise DenoiseError(
            f"{flag} {out} holds files that denoise did not write, and denoise replaces only its own outputs; "
            f"choose a new {flag}, or empty the folder yourself (nothing was changed)"
        )
    if marker.command == command and (run is None or marker.run == run):
        return SAME
    if overwrite:
        return REPLACE
    raise DenoiseError(
        f"{flag} {out} already holds {marker.describe()}; choose another {flag}, or pass --overwrite to replace "
        "it (the old one stays until the new one is complete; nothing was changed)"
    )


@contextmanager
def output_folder(
    out: str | Path,
    command: str,
    run: str | None,
    *,
    inputs: Iterable[str | Path | None] = (),
    overwrite: bool = False,
    legacy: Legacy | None = None,
    flag: str = "--out",
) -> Iterator[Path]:
    """A new folder beside ``out`` to write the whole output into, once :func:`check_output` allows it; when
    the block ends without an error it is marked and takes the place of ``out``, otherwise it is removed and
    ``out`` is left as it was."""
    check_output(out, command, run, inputs=inputs, overwrite=overwrite, legacy=legacy, flag=flag)
    with staged_folder(out) as staging:
        yield staging
        write_marker(staging, command, run)
