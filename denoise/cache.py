"""Where denoise keeps what it can rebuild: tokenizers trained for a corpus and prepared corpora.

The root is ``$DENOISE_CACHE`` if set, else ``~/.cache/denoise``. Entries are keyed by what they depend on,
so a changed input file or setting gets a new entry instead of a stale one.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from pathlib import Path

from denoise.data.sources import describe_inputs
from denoise.files import staged_folder
from denoise.tokenizer import Tokenizer

DEFAULT_VOCAB_SIZE = 8000


def cache_root() -> Path:
    return Path(os.environ.get("DENOISE_CACHE") or Path.home() / ".cache" / "denoise")


def datasets_cache_dir() -> str:
    """Where ``datasets`` keeps the Arrow files of intermediate steps (documents, tokenized documents)."""
    return str(cache_root() / "datasets")


def cached_tokenizer(
    inputs: Sequence[str], vocab_size: int = DEFAULT_VOCAB_SIZE, model_type: str = "unigram", **train_options
) -> Tokenizer:
    """The tokenizer trained on ``inputs`` with these settings, trained now if the cache lacks it."""
    key = json.dumps([describe_inputs(inputs), vocab_size, model_type, sorted(train_options.items())])
    directory = cache_root() / "tokenizers" / hashlib.sha256(key.encode()).hexdigest()[:16]
    if (directory / "tokenizer.json").exists():
        return Tokenizer.load(directory)
    with staged_folder(directory) as staging:
        Tokenizer.train(list(inputs), vocab_size, staging, model_type=model_type, **train_options)
    return Tokenizer.load(directory)


def default_corpus_dir(inputs: Sequence[str], block_size: int) -> Path:
    """Where ``denoise prepare`` puts blocks when no --out is given."""
    name = "default" if not inputs else Path(str(inputs[0]).removeprefix("hub:")).name.split(".")[0]
    return cache_root() / "corpora" / f"{name}-b{block_size}"
