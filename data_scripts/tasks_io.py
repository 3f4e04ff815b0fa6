"""Finding files in the fetched sources, and cleaning their text for the task files."""

from __future__ import annotations

from pathlib import Path

from denoise.errors import DenoiseError


def fetch_command(sources: Path, package: str) -> str:
    """The command that fetches ``package`` into ``sources``."""
    return f"python -m data_scripts.fetch_sources --out {sources} --only {package}"


def find_source(sources: Path, package: str, name: str) -> Path:
    """The file ``name`` inside the unpacked ``package`` folder of ``sources`` (first match in path order)."""
    found = sorted((sources / package).rglob(name))
    if not found:
        raise DenoiseError(f"no {name} under {sources / package}; run {fetch_command(sources, package)}")
    return found[0]


def clean_text(text: str) -> str:
    """``text`` on one line: every run of whitespace (tabs and line breaks too) becomes one space."""
    return " ".join(text.split())


def clean_word(word: str) -> str:
    """A token without whitespace inside, so that a CoNLL line keeps two columns."""
    return "".join(word.split())
