"""Where documents come from: local files, the embedded default corpus, or a dataset on the Hugging Face hub.

Local formats:

- ``.txt`` (optionally ``.gz``, ``.bz2`` or ``.xz``): documents separated by blank lines, one paragraph per line;
- ``.jsonl`` / ``.json``: one JSON object per line with a text column (``text`` unless told otherwise);
- ``.parquet``: a table with a text column.

A folder stands for the supported files inside it. Documents that are empty or only whitespace are skipped.
"""

from __future__ import annotations

import bz2
import gzip
import lzma
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import IO

from denoise.errors import DenoiseError

TEXT_SUFFIXES = (".txt", ".txt.gz", ".txt.bz2", ".txt.xz")
JSON_SUFFIXES = (".jsonl", ".json", ".jsonl.gz", ".json.gz")
PARQUET_SUFFIXES = (".parquet",)
_OPENERS = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}

# Hub corpora users name most often: alias -> (dataset path, config). Needs network access.
HUB_CORPORA = {
    "wikipedia": ("wikimedia/wikipedia", "20231101.en"),
    "bookcorpus": ("bookcorpus/bookcorpus", None),
    "c4": ("allenai/c4", "en"),
}


def default_corpus_path() -> Path:
    """The public-domain English corpus shipped with denoise (Shakespeare and the King James Bible)."""
    return Path(str(resources.files("denoise.data") / "corpus" / "default.txt.gz"))


@dataclass(frozen=True)
class HubSource:
    """A dataset on the Hugging Face hub, e.g. ``hub:wikipedia`` or ``hub:allenai/c4:en``."""

    path: str
    config: str | None = None
    split: str = "train"

    @classmethod
    def parse(cls, spec: str) -> HubSource:
        name, _, config = spec.removeprefix("hub:").partition(":")
        if name in HUB_CORPORA:
            path, default_config = HUB_CORPORA[name]
            return cls(path, config or default_config)
        return cls(name, config or None)


def file_format(path: Path) -> str:
    name = path.name.lower()
    for fmt, suffixes in (("txt", TEXT_SUFFIXES), ("json", JSON_SUFFIXES), ("parquet", PARQUET_SUFFIXES)):
        if name.endswith(suffixes):
            return fmt
    raise DenoiseError(
        f"{path}: unsupported file type; use one of {TEXT_SUFFIXES + JSON_SUFFIXES + PARQUET_SUFFIXES}"
    )


def resolve_files(inputs: Sequence[str | Path]) -> list[Path]:
    """Expand folders, check that every file exists, is supported and is not empty; one format only."""
    if not inputs:
        return [default_corpus_path()]
    files: list[Path] = []
    for item in inputs:
        path = Path(item).expanduser()
        if not path.exists():
            raise FileNotFoundError(f"input {path} does not exist")
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.is_file() and _supported(p))
            if not found:
                raise DenoiseError(f"folder {path} holds no .txt, .jsonl or .parquet files")
            files.extend(found)
        else:
            files.append(path)
    formats = {file_format(f) for f in files}
    if len(formats) > 1:
        raise DenoiseError(f"inputs mix formats {sorted(formats)}; prepare each format separately")
    for f in files:
        if f.stat().st_size == 0:
            raise DenoiseError(f"input {f} is empty; remove it from the inputs or add text to it")
    return files


def describe_inputs(inputs: Sequence[str | Path]) -> list:
    """A stable description of inputs for cache keys: hub names as given; files by path, size and mtime."""
    if is_hub(inputs):
        return [str(inputs[0])]
    return [(str(f.resolve()), f.stat().st_size, f.stat().st_mtime_ns) for f in resolve_files(inputs)]


def is_hub(inputs: Sequence[str | Path]) -> bool:
    return len(inputs) == 1 and str(inputs[0]).startswith("hub:")


def _supported(path: Path) -> bool:
    try:
        file_format(path)
        return True
    except DenoiseError:
        return False


def _open_binary(path: Path) -> IO[bytes]:
    opener = _OPENERS.get(path.suffix.lower(), open)
    return opener(path, "rb")


def iter_text_file(path: Path, encoding_errors: str = "strict") -> Iterator[str]:
    """Documents of one blank-line-separated text file, stripped, non-empty."""
    lines: list[str] = []
    offset = 0
    with _open_binary(path) as f:
        for number, raw in enumerate(f, start=1):
            try:
                line = raw.decode("utf-8", errors=encoding_errors)
            except UnicodeDecodeError as err:
                raise DenoiseError(
                    f"{path}: line {number} (byte {offset + err.start}) is not UTF-8 ({raw[err.start : err.start + 4]!r}); "
                    "re-encode the file as UTF-8 (e.g. `iconv -f latin1 -t utf-8`) or pass "
                    "--encoding-errors replace to substitute bad bytes"
                ) from None
            offset += len(raw)
            if line.strip():
                lines.append(line.strip())
            elif lines:
                yield "\n".join(lines)
                lines = []
    if lines:
        yield "\n".join(lines)


def iter_documents(
    inputs: Sequence[str | Path], text_column: str = "text", encoding_errors: str = "strict"
) -> Iterator[str]:
    """Every non-empty document of ``inputs`` (the default corpus when empty; a hub dataset is streamed),
    in order, in this process."""
    if is_hub(inputs):
        for row in load_hub(HubSource.parse(str(inputs[0])), text_column, streaming=True):
            if row[text_column] and row[text_column].strip():
                yield row[text_column].strip()
        return
    files = resolve_files(inputs)
    if file_format(files[0]) == "txt":
        for path in files:
            yield from iter_text_file(path, encoding_errors)
        return
    for batch in load_local_table(files, text_column).iter(batch_size=1000):
        for text in batch[text_column]:
            if text and text.strip():
                yield text.strip()


def load_local_table(files: Sequence[Path], text_column: str, cache_dir: str | None = None):
    """A ``datasets.Dataset`` of a jsonl or parquet corpus, checked to have ``text_column``."""
    import datasets

    builder = "json" if file_format(files[0]) == "json" else "parquet"
    table = datasets.load_dataset(
        builder, data_files=[str(f) for f in files], split="train", cache_dir=cache_dir
    )
    if text_column not in table.column_names:
        raise DenoiseError(
            f"{files[0]} has no column {text_column!r}; its columns are {table.column_names}: "
            "pass --text-column with one of them"
        )
    return table


def load_hub(source: HubSource, text_column: str, streaming: bool, cache_dir: str | None = None):
    """A hub corpus (network access needed), as a Dataset or, when ``streaming``, an IterableDataset."""
    import datasets

    table = datasets.load_dataset(
        source.path, source.config, split=source.split, streaming=streaming, cache_dir=cache_dir
    )
    columns = table.column_names or []
    if columns and text_column not in columns:
        raise DenoiseError(
            f"hub dataset {source.path} has no column {text_column!r}; its columns are {columns}"
        )
    return table
