"""Where denoise keeps what it can rebuild: tokenizers trained for a corpus, prepared corpora, and the Arrow
files of ``datasets``. The root is ``$DENOISE_CACHE`` if set, else ``~/.cache/denoise``. Entries are keyed
by what they depend on, so a changed input file or setting gets a new entry instead of a stale one.
"""

from __future__ import annotations

import os
from pathlib import Path


def cache_root() -> Path:
    return Path(os.environ.get("DENOISE_CACHE") or Path.home() / ".cache" / "denoise")


def datasets_cache_dir() -> str:
    """Where ``datasets`` keeps the Arrow files of intermediate steps (documents, tokenized documents)."""
    return str(cache_root() / "datasets")
