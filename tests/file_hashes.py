"""What a folder holds, to show that a refused or failed command left it as it was."""

import hashlib
from pathlib import Path


def hashes(folder) -> dict[str, str]:
    """Every file under ``folder`` (or ``folder`` itself, a file) by relative path -> sha256."""
    folder = Path(folder)
    if folder.is_file():
        return {folder.name: hashlib.sha256(folder.read_bytes()).hexdigest()}
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }
