"""Writing files and folders so that nobody ever reads half of one.

Everything is written beside its destination under a temporary name and renamed into place in one step; a
failure on the way (an error, a full disk) removes the temporary copy and leaves the destination as it was.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def write_text(path: str | Path, text: str) -> Path:
    """``text`` (UTF-8, line endings as given) to ``path``, replacing it only once complete."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(
        "w", encoding="utf-8", newline="", dir=path.parent, prefix=f".{path.name}.", delete=False
    ) as handle:
        temporary = Path(handle.name)
        try:
            handle.write(text)
        except BaseException:
            handle.close()
            temporary.unlink()
            raise
    os.replace(temporary, path)
    return path


def write_json(path: str | Path, data) -> Path:
    """``data`` as indented JSON, written as :func:`write_text` writes."""
    return write_text(path, json.dumps(data, indent=2) + "\n")


def replace_folder(complete: Path, out: Path) -> Path:
    """Put the finished folder ``complete`` at ``out``; what ``out`` held is removed only once the new folder
    stands in its place."""
    complete, out = Path(complete), Path(out)
    if not out.exists():
        complete.rename(out)
        return out
    old = out.with_name(f"{out.name}.old-{os.getpid()}")
    shutil.rmtree(old, ignore_errors=True)
    out.rename(old)
    complete.rename(out)
    shutil.rmtree(old, ignore_errors=True)
    return out


@contextmanager
def staged_folder(out: str | Path) -> Iterator[Path]:
    """A new empty folder beside ``out`` to write into; when the block ends without an error it replaces
    ``out`` (:func:`replace_folder`), otherwise it is removed and ``out`` is untouched."""
    out = Path(out)
    staging = out.with_name(f"{out.name}.tmp-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        yield staging
        replace_folder(staging, out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
