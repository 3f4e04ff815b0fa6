"""The corpus pipeline: documents -> sentences -> token ids -> packed blocks on disk.

``prepare_corpus`` reads local files (or a hub dataset), splits sentences and tokenizes in ``num_proc``
processes through ``datasets.map``, packs the documents into blocks (``denoise.data.packing``) and writes them
to ``OUT/blocks.arrow`` with ``OUT/manifest.json``. The manifest holds a fingerprint of the inputs (paths,
sizes, modification times), the tokenizer and the block size: a second run with the same fingerprint is served
from ``OUT`` without recomputing, and a run with a different one refuses to overwrite ``OUT`` unless asked.

``stream_blocks`` yields the same blocks one by one without writing anything, for corpora larger than memory
or disk (it runs in one process).
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from itertools import islice
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from denoise.cache import cache_root, datasets_cache_dir
from denoise.data.packing import BLOCK_SCHEMA, BlockPacker
from denoise.data.sentences import SentenceSplitter
from denoise.data.sources import (
    HubSource,
    describe_inputs,
    file_format,
    is_hub,
    iter_documents,
    iter_file_documents,
    load_hub,
    load_parquet_table,
    resolve_files,
)
from denoise.errors import DenoiseError
from denoise.files import staged_folder
from denoise.outputs import SAME, Marker, check_output, write_marker
from denoise.tokenizer import Tokenizer

BLOCKS_FILE = "blocks.arrow"
MANIFEST_FILE = "manifest.json"
TOKENIZER_DIR = "tokenizer"
FORMAT_VERSION = 1
COMMAND = "prepare"
CHUNK_DOCUMENTS = 1000
TOKENIZED_SCHEMA = pa.schema(
    [("input_ids", pa.list_(pa.int32())), ("sentence_lengths", pa.list_(pa.int32()))]
)


@dataclass
class PrepareStats:
    blocks: int
    tokens: int
    documents: int
    sentences: int
    block_size: int
    seconds: float
    cached: bool = False

    @property
    def fill_ratio(self) -> float:
        """Real tokens over all token slots (padding included)."""
        return self.tokens / max(1, self.blocks * self.block_size)

    def summary(self) -> str:
        source = "served from cache" if self.cached else "prepared"
        return (
            f"{self.blocks} blocks of {self.block_size} tokens ({self.tokens} tokens, {self.documents} documents, "
            f"{self.sentences} sentences), fill ratio {self.fill_ratio:.4f}; {source} in {self.seconds:.1f}s"
        )


# ------------------------------------------------------------------------------------------------ tokenizing


def tokenize_documents(texts: Sequence[str], tokenizer: Tokenizer, splitter: SentenceSplitter) -> dict:
    """Sentence-split and encode a batch of documents: flat ids plus token counts per sentence.

    Returns ``input_ids`` and ``sentence_lengths`` per document; documents without tokens are dropped.
    """
    sentences, owners = [], []
    for i, text in enumerate(texts):
        if text and not text.isspace():
            split = splitter.split(text)
            sentences.extend(split)
            owners.extend([i] * len(split))
    encoded = tokenizer.encode(sentences) if sentences else []
    ids: list[list[int]] = [[] for _ in texts]
    lengths: list[list[int]] = [[] for _ in texts]
    for owner, piece in zip(owners, encoded):
        if piece:
            ids[owner].extend(piece)
            lengths[owner].append(len(piece))
    kept = [i for i in range(len(texts)) if ids[i]]
    return {"input_ids": [ids[i] for i in kept], "sentence_lengths": [lengths[i] for i in kept]}


def _tokenize_batch(batch: dict, tokenizer: Tokenizer, splitter: SentenceSplitter, text_column: str) -> dict:
    return tokenize_documents(batch[text_column], tokenizer, splitter)


def pack_table(table: pa.Table, packer: BlockPacker) -> tuple[pa.RecordBatch, int]:
    """Feed one Arrow chunk of tokenized documents to ``packer``; returns completed blocks and sentence count."""
    ids = table.column("input_ids").combine_chunks()
    sentence_lengths = table.column("sentence_lengths").combine_chunks()
    document_lengths = np.diff(ids.offsets.to_numpy())
    flat_sentences = sentence_lengths.flatten().to_numpy()
    return packer.add(ids.flatten().to_numpy(), document_lengths, flat_sentences), len(flat_sentences)


# -------------------------------------------------------------------------------------------------- sources


def _splitter_for(tokenizer: Tokenizer, documents: Iterable[str]) -> SentenceSplitter:
    return tokenizer.splitter if tokenizer.splitter is not None else SentenceSplitter.train(documents)


def _file_documents(paths: list[str], text_column: str, encoding_errors: str) -> Iterator[dict]:
    for path in paths:
        for text in iter_file_documents(Path(path), text_column, encoding_errors):
            yield {text_column: text}


def load_documents(
    inputs: Sequence[str],
    text_column: str,
    encoding_errors: str,
    num_proc: int,
    fingerprint: str,
    cache_dir: str,
):
    """A ``datasets.Dataset`` of documents in a ``text_column`` column, from files or a hub dataset.

    Parquet files are read by ``datasets``; text and JSON-lines files by denoise's own readers (in ``num_proc``
    processes, a file to each), which name the file and line of anything they cannot read."""
    import datasets

    if is_hub(inputs):
        return load_hub(HubSource.parse(str(inputs[0])), text_column, streaming=False, cache_dir=cache_dir)
    files = resolve_files(inputs)
    if file_format(files[0]) == "parquet":
        return load_parquet_table(files, text_column, cache_dir=cache_dir)
    paths = [str(f) for f in files]
    documents = _file_documents(paths, text_column, encoding_errors)
    try:
        if next(documents, None) is None:
            raise DenoiseError(f"inputs {list(inputs)} hold no text: every document is empty or whitespace")
    finally:
        documents.close()
    try:
        return datasets.Dataset.from_generator(
            _file_documents,
            gen_kwargs={"paths": paths, "text_column": text_column, "encoding_errors": encoding_errors},
            features=datasets.Features({text_column: datasets.Value("string")}),
            num_proc=min(num_proc, len(files)) if num_proc > 1 and len(files) > 1 else None,
            fingerprint=fingerprint,
            cache_dir=cache_dir,
        )
    except datasets.exceptions.DatasetGenerationError as err:
        cause = _denoise_cause(err)
        if cause is None:
            raise
        raise cause from None


def _denoise_cause(err: BaseException | None) -> DenoiseError | None:
    """The DenoiseError a ``datasets`` worker raised, unwrapped from the DatasetGenerationError around it
    (from a worker process only its message survives, in the text of a remote traceback)."""
    while err is not None:
        if isinstance(err, DenoiseError):
            return err
        remote = re.search(r"denoise\.errors\.DenoiseError: (.+)", str(err))
        if remote:
            return DenoiseError(remote.group(1))
        err = err.__cause__ or err.__context__
    return None


def fingerprint_inputs(
    inputs: Sequence[str], tokenizer: Tokenizer, block_size: int, text_column: str, encoding_errors: str
) -> str:
    """A hash of everything the blocks depend on: input files (path, size, mtime), tokenizer, block size."""
    described = describe_inputs(inputs)
    splitter = tokenizer.splitter.state() if tokenizer.splitter else None
    digest = hashlib.sha256(tokenizer.model_proto)
    digest.update(
        json.dumps([described, splitter, block_size, text_column, encoding_errors, FORMAT_VERSION]).encode()
    )
    return digest.hexdigest()[:20]


# ------------------------------------------------------------------------------------------------- pipeline


def prepare_corpus(
    inputs: Sequence[str],
    tokenizer: Tokenizer,
    out_dir: str | Path,
    block_size: int = 512,
    num_proc: int = 1,
    text_column: str = "text",
    encoding_errors: str = "strict",
    streaming: bool = False,
    overwrite: bool = False,
) -> PrepareStats:
    """Prepare packed blocks in ``out_dir`` (see the module docstring); returns what was done."""
    start = time.perf_counter()
    BlockPacker(block_size)  # validates the block size before any work
    out = Path(out_dir)
    fingerprint = fingerprint_inputs(inputs, tokenizer, block_size, text_column, encoding_errors)
    state = check_output(out, COMMAND, fingerprint, inputs=inputs, overwrite=overwrite, legacy=legacy_corpus)
    cached = _read_manifest(out) if state == SAME else None
    if cached is not None and (out / BLOCKS_FILE).exists():
        stats = PrepareStats(**cached["stats"])
        stats.cached, stats.seconds = True, time.perf_counter() - start
        return stats

    with staged_folder(out) as tmp:
        if streaming:
            blocks = _blocks_streaming(inputs, tokenizer, block_size, text_column, encoding_errors)
        else:
            blocks = _blocks_parallel(
                inputs, tokenizer, block_size, text_column, encoding_errors, num_proc, fingerprint
            )
        stats = _write_blocks(blocks, tmp / BLOCKS_FILE, block_size)
        stats.seconds = time.perf_counter() - start
        if stats.tokens == 0:
            raise DenoiseError(f"inputs {list(inputs)} hold no text: every document is empty or whitespace")
        tokenizer.save(tmp / TOKENIZER_DIR)
        manifest = {
            "fingerprint": fingerprint,
            "format_version": FORMAT_VERSION,
            "inputs": [str(i) for i in inputs],
            "stats": asdict(stats),
        }
        (tmp / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2) + "\n")
        write_marker(tmp, COMMAND, fingerprint)
    return stats


def legacy_corpus(folder: Path) -> Marker | None:
    """A corpus prepared before output folders were marked: its manifest names its fingerprint."""
    try:
        manifest = json.loads((folder / MANIFEST_FILE).read_text())
    except (OSError, ValueError):
        return None
    same_format = isinstance(manifest, dict) and manifest.get("format_version") == FORMAT_VERSION
    return Marker(COMMAND, manifest.get("fingerprint") if same_format else None)


def _read_manifest(out: Path) -> dict | None:
    try:
        manifest = json.loads((out / MANIFEST_FILE).read_text())
    except (FileNotFoundError, ValueError):
        return None
    return manifest if manifest.get("format_version") == FORMAT_VERSION else None


def _blocks_parallel(inputs, tokenizer, block_size, text_column, encoding_errors, num_proc, fingerprint):
    """Tokenize with ``datasets.map`` in ``num_proc`` processes (cached as Arrow), then pack in order."""
    documents = load_documents(
        inputs, text_column, encoding_errors, num_proc, fingerprint, datasets_cache_dir()
    )
    head = documents.select(range(min(len(documents), CHUNK_DOCUMENTS * 10)))
    splitter = _splitter_for(tokenizer, head[text_column])
    tokenized = documents.map(
        _tokenize_batch,
        fn_kwargs={"tokenizer": tokenizer, "splitter": splitter, "text_column": text_column},
        batched=True,
        batch_size=CHUNK_DOCUMENTS,
        num_proc=num_proc if num_proc > 1 else None,
        remove_columns=documents.column_names,
        new_fingerprint=f"denoise-tokenized-{fingerprint}",
        desc="tokenizing",
    )
    packer = BlockPacker(block_size, tokenizer.pad_id)
    for table in tokenized.with_format("arrow").iter(batch_size=CHUNK_DOCUMENTS * 10):
        yield pack_table(table, packer)
    yield packer.finish(), 0


def stream_blocks(
    inputs: Sequence[str],
    tokenizer: Tokenizer,
    block_size: int = 512,
    text_column: str = "text",
    encoding_errors: str = "strict",
) -> Iterator[dict]:
    """Blocks one at a time as dicts, reading documents lazily (hub datasets are streamed)."""
    for batch, _ in _blocks_streaming(inputs, tokenizer, block_size, text_column, encoding_errors):
        yield from batch.to_pylist()


def _blocks_streaming(inputs, tokenizer, block_size, text_column, encoding_errors):
    splitter = tokenizer.splitter
    if splitter is None:
        head = islice(iter_documents(inputs, text_column, encoding_errors), CHUNK_DOCUMENTS * 10)
        splitter = SentenceSplitter.train(head)
    packer = BlockPacker(block_size, tokenizer.pad_id)
    chunk: list[str] = []
    for text in iter_documents(inputs, text_column, encoding_errors):
        chunk.append(text)
        if len(chunk) == CHUNK_DOCUMENTS:
            yield pack_table(
                pa.table(tokenize_documents(chunk, tokenizer, splitter), schema=TOKENIZED_SCHEMA), packer
            )
            chunk = []
    if chunk:
        yield pack_table(
            pa.table(tokenize_documents(chunk, tokenizer, splitter), schema=TOKENIZED_SCHEMA), packer
        )
    yield packer.finish(), 0


def _write_blocks(batches: Iterable[tuple[pa.RecordBatch, int]], path: Path, block_size: int) -> PrepareStats:
    blocks = tokens = documents = sentences = 0
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_stream(sink, BLOCK_SCHEMA) as writer:
        for batch, sentence_count in batches:
            if batch.num_rows:
                writer.write_batch(batch)
                blocks += batch.num_rows
                tokens += int(pc.sum(batch.column("length")).as_py() or 0)
                documents += len(batch.column("document_starts").flatten())
            sentences += sentence_count
    return PrepareStats(blocks, tokens, documents, sentences, block_size, 0.0)


def load_blocks(out_dir: str | Path):
    """The prepared blocks of ``out_dir`` as a memory-mapped ``datasets.Dataset``."""
    import datasets

    out = Path(out_dir)
    if _read_manifest(out) is None or not (out / BLOCKS_FILE).exists():
        raise FileNotFoundError(f"no prepared corpus in {out}; run `denoise prepare --out {out}` first")
    return datasets.Dataset.from_file(str(out / BLOCKS_FILE))


def default_corpus_dir(inputs: Sequence[str], block_size: int) -> Path:
    """Where ``denoise prepare`` puts blocks when no --out is given."""
    name = "default" if not inputs else Path(str(inputs[0]).removeprefix("hub:")).name.split(".")[0]
    return cache_root() / "corpora" / f"{name}-b{block_size}"
