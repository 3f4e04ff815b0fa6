"""Where documents come from: local files, the embedded default corpus, or a dataset on the Hugging Face hub.

Local formats:

- ``.txt`` (optionally ``.gz``, ``.bz2`` or ``.xz``): documents separated by blank lines, one paragraph per line;
- ``.jsonl`` / ``.json`` (optionally ``.gz``): one JSON object per line with a string text column (``text``
  unless told otherwise); blank lines are skipped;
- ``.parquet``: a table with a string text column.

A folder stands for the supported files inside it. Documents that are empty or only whitespace are skipped.
A file that is not what its name says (a cut-off archive, a line that is not JSON, a text that is not a string,
a file that is not Parquet) stops the reading with a DenoiseError naming the file, where in it, and why.
"""

from __future__ import annotations

import bz2
import gzip
import lzma
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import IO

from denoise.data.json_lines import json_objects, string_value
from denoise.errors import DenoiseError

ENCODING_ERRORS = ("strict", "replace", "ignore")  # how bytes of .txt inputs that are not UTF-8 are read
TEXT_SUFFIXES = (".txt", ".txt.gz", ".txt.bz2", ".txt.xz")
JSON_SUFFIXES = (".jsonl", ".json", ".jsonl.gz", ".json.gz")
PARQUET_SUFFIXES = (".parquet",)
_OPENERS = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}
# suffix -> (magic bytes, format name, which is also the command that tests such an archive)
_MAGIC = {".gz": (b"\x1f\x8b", "gzip"), ".bz2": (b"BZh", "bzip2"), ".xz": (b"\xfd7zXZ\x00", "xz")}
_SIGNATURES = {**dict(_MAGIC.values()), b"PAR1": "Parquet", b"PK\x03\x04": "zip"}
# what reading a truncated or corrupt archive raises (gzip.BadGzipFile and bz2's errors are OSErrors)
_DECOMPRESSION_ERRORS = (EOFError, OSError, zlib.error, lzma.LZMAError)

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


def binary_format(head: bytes) -> str | None:
    """The compression or binary format whose magic bytes ``head`` starts with, if any."""
    return next((name for magic, name in _SIGNATURES.items() if head.startswith(magic)), None)


def _check_compression(path: Path) -> str | None:
    """The compression of ``path`` (by its suffix), checked against its first bytes; None if uncompressed."""
    if path.suffix.lower() not in _MAGIC:
        return None
    magic, name = _MAGIC[path.suffix.lower()]
    with open(path, "rb") as f:
        head = f.read(16)
    if not head.startswith(magic):
        found = binary_format(head)
        what = f"{found} data" if found else f"it starts with {head!r}"
        raise DenoiseError(
            f"{path}: not {name} data ({what}), though its name ends in {path.suffix}; "
            f"if it is plain text, rename it without {path.suffix}, else re-download it"
        )
    return name


def _corrupt(path: Path, compression: str, err: BaseException, lines: int) -> DenoiseError:
    reason = str(err) or type(err).__name__
    where = f"after line {lines} of its text" if lines else "before the first line of its text"
    return DenoiseError(
        f"{path}: truncated or corrupt {compression} ({reason}) {where}; "
        f"re-download the file or re-compress it (`{compression} -t {path}` checks it)"
    )


def _stream_problem(f: IO[bytes]) -> BaseException | None:
    """The error decompressing the rest of ``f`` raises, if any: a corrupt archive yields garbage first."""
    try:
        while f.read(1 << 20):
            pass
    except _DECOMPRESSION_ERRORS as err:
        return err
    return None


def _decoded_lines(path: Path, encoding_errors: str) -> Iterator[str]:
    """The lines of a text file, decompressed as its suffix says and decoded as UTF-8 (a byte order mark at
    the start is dropped). A byte that is not UTF-8 is named by line and offset, a broken archive as such."""
    compression = _check_compression(path)
    errors = _DECOMPRESSION_ERRORS if compression else ()  # a plain file's OSError is no archive's fault
    read = offset = 0
    with _open_binary(path) as f:
        try:
            for number, raw in enumerate(f, start=1):
                line = _decode(raw, path, number, offset, encoding_errors, f if compression else None)
                read, offset = number, offset + len(raw)
                yield line
        except errors as err:
            raise _corrupt(path, compression, err, read) from None


def _decode(
    raw: bytes, path: Path, number: int, offset: int, encoding_errors: str, stream: IO[bytes] | None
) -> str:
    """Line ``number`` of ``path`` as text. A byte that is not UTF-8 in a compressed file is blamed on the
    archive when the rest of its ``stream`` does not decompress."""
    try:
        line = raw.decode("utf-8", errors=encoding_errors)
    except UnicodeDecodeError as err:
        problem = _stream_problem(stream) if stream is not None else None
        if problem is not None:
            raise problem from None
        raise DenoiseError(
            f"{path}: line {number} (byte {offset + err.start}) is not UTF-8 ({raw[err.start : err.start + 4]!r}); "
            "re-encode the file as UTF-8 (e.g. `iconv -f latin1 -t utf-8`), or substitute bad bytes: pass "
            "--encoding-errors replace to a command, or set data.encoding_errors=replace for pre-training"
        ) from None
    return line.removeprefix("\ufeff") if number == 1 else line


def iter_text_file(path: Path, encoding_errors: str = "strict") -> Iterator[str]:
    """Documents of one blank-line-separated text file, stripped, non-empty."""
    lines: list[str] = []
    for line in _decoded_lines(path, encoding_errors):
        if line.strip():
            lines.append(line.strip())
        elif lines:
            yield "\n".join(lines)
            lines = []
    if lines:
        yield "\n".join(lines)


def iter_json_file(path: Path, text_column: str = "text", encoding_errors: str = "strict") -> Iterator[str]:
    """Documents of one JSON-lines file: the ``text_column`` string of every object, stripped, non-empty."""
    for number, row in json_objects(_decoded_lines(path, encoding_errors), path):
        if text_column not in row:
            raise DenoiseError(
                f"{path}, line {number}: no column {text_column!r}; its columns are {list(row)}: "
                "pass --text-column with one of them"
            )
        text = string_value(row[text_column], f"{path}, line {number}: column {text_column!r}").strip()
        if text:
            yield text


def iter_parquet_file(path: Path, text_column: str = "text") -> Iterator[str]:
    """Documents of one Parquet file: its ``text_column`` strings, stripped, non-empty (nulls skipped)."""
    import pyarrow as pa

    with check_parquet(path, text_column) as parquet:
        try:
            for batch in parquet.iter_batches(batch_size=1000, columns=[text_column]):
                for text in batch.column(0).to_pylist():
                    if text and text.strip():
                        yield text.strip()
        except (pa.ArrowException, OSError) as err:
            raise _unreadable_parquet(path, err) from None


def check_parquet(path: Path, text_column: str):
    """The ``pyarrow.parquet.ParquetFile`` of ``path``, checked to be Parquet with a string ``text_column``."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(path)
    except (pa.ArrowException, OSError) as err:
        raise _unreadable_parquet(path, err) from None
    schema = parquet.schema_arrow
    if text_column not in schema.names:
        raise DenoiseError(
            f"{path} has no column {text_column!r}; its columns are {schema.names}: "
            "pass --text-column with one of them"
        )
    kind = schema.field(text_column).type
    if str(kind) not in ("string", "large_string", "string_view"):  # the Arrow string types
        raise DenoiseError(
            f"{path}: column {text_column!r} holds {kind} values, expected strings; "
            "pass --text-column with a column of text"
        )
    return parquet


def _unreadable_parquet(path: Path, err: BaseException) -> DenoiseError:
    return DenoiseError(
        f"{path}: not a readable Parquet file ({err}); write it again (e.g. with pyarrow or pandas "
        "`to_parquet`) or copy it whole"
    )


def iter_file_documents(
    path: Path, text_column: str = "text", encoding_errors: str = "strict"
) -> Iterator[str]:
    """Documents of one local file of any supported format."""
    fmt = file_format(path)
    if fmt == "txt":
        return iter_text_file(path, encoding_errors)
    if fmt == "json":
        return iter_json_file(path, text_column, encoding_errors)
    return iter_parquet_file(path, text_column)


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
    for path in resolve_files(inputs):
        yield from iter_file_documents(path, text_column, encoding_errors)


def load_parquet_table(files: Sequence[Path], text_column: str, cache_dir: str | None = None):
    """A ``datasets.Dataset`` of a Parquet corpus, each file checked to be Parquet with a string ``text_column``."""
    import datasets

    for path in files:
        check_parquet(path, text_column).close()
    try:
        return datasets.load_dataset(
            "parquet", data_files=[str(f) for f in files], split="train", cache_dir=cache_dir
        )
    except datasets.exceptions.DatasetGenerationError:
        unreadable = _first_unreadable(files, text_column)
        if unreadable is None:
            raise
        raise unreadable from None


def _first_unreadable(files: Sequence[Path], text_column: str) -> DenoiseError | None:
    """The error reading the first Parquet file whose ``text_column`` cannot be read whole, if one can't."""
    for path in files:
        try:
            for _ in iter_parquet_file(path, text_column):
                pass
        except DenoiseError as err:
            return err
    return None


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
