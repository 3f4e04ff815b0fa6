"""Broken corpus files and tokenizer folders, made from real ones: every command path that reads them stops
with a DenoiseError naming the file and what is wrong with it, never a traceback of the library below."""

from __future__ import annotations

import bz2
import gzip
import json
import lzma
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from denoise.cli import main
from denoise.data.prepare import prepare_corpus
from denoise.data.sources import default_corpus_path, iter_documents
from denoise.errors import DenoiseError
from denoise.tokenizer import Tokenizer, cached_tokenizer

CORPUS_BYTES = 120_000
COMPRESSORS = {"gz": (gzip.compress, "gzip"), "bz2": (bz2.compress, "bzip2"), "xz": (lzma.compress, "xz")}


@pytest.fixture(scope="module")
def documents() -> list[str]:
    """The first real documents of the embedded corpus, about CORPUS_BYTES of text."""
    with gzip.open(default_corpus_path(), "rt", encoding="utf-8") as f:
        text = f.read(CORPUS_BYTES)
    return [d.strip() for d in text[: text.rfind("\n\n")].split("\n\n") if d.strip()]


def corpus_bytes(documents: list[str]) -> bytes:
    return ("\n\n".join(documents) + "\n").encode("utf-8")


def json_lines(documents: list[str]) -> list[str]:
    return [json.dumps({"id": i, "text": d}) for i, d in enumerate(documents)]


def halved(data: bytes) -> bytes:
    return data[: len(data) // 2]


def garbled(data: bytes) -> bytes:
    """``data`` with 64 bytes in the middle flipped."""
    middle = len(data) // 2
    return data[:middle] + bytes(b ^ 0xFF for b in data[middle : middle + 64]) + data[middle + 64 :]


def parquet_bytes(tmp_path: Path, column) -> bytes:
    pq.write_table(pa.table({"text": column}), tmp_path / "real.parquet")
    return (tmp_path / "real.parquet").read_bytes()


@dataclass(frozen=True)
class Broken:
    """A broken corpus file: its name, how to make its bytes from real documents, what the error says."""

    name: str
    make: Callable[[list[str], Path], bytes]
    message: str


def _compressed(suffix: str, damage: str) -> Broken:
    compress, name = COMPRESSORS[suffix]
    make = {
        "truncated": lambda docs, _: halved(compress(corpus_bytes(docs))),
        "garbled": lambda docs, _: garbled(compress(corpus_bytes(docs))),
        "not compressed": lambda docs, _: corpus_bytes(docs),
    }[damage]
    message = (
        rf"not {name} data \(it starts with b\"?'?ALL'S WELL.*rename it without \.{suffix}"
        if damage == "not compressed"
        else rf"truncated or corrupt {name} \(.+\).*re-download the file or re-compress it"
    )
    return Broken(f"corpus.txt.{suffix}", make, message)


COMPRESSED = {
    f"{damage} .{suffix}": _compressed(suffix, damage)
    for suffix in COMPRESSORS
    for damage in ("truncated", "garbled", "not compressed")
}
COMPRESSED["garbled stored .gz"] = Broken(  # the flipped bytes come out as text that is not UTF-8
    "corpus.txt.gz",
    lambda docs, _: garbled(gzip.compress(corpus_bytes(docs), compresslevel=0)),
    r"truncated or corrupt gzip \(CRC check failed",
)
COMPRESSED["latin-1 in a sound .gz"] = Broken(
    "corpus.txt.gz",
    lambda docs, _: gzip.compress(corpus_bytes(docs) + "caf\xe9\n".encode("latin-1")),
    r"corpus\.txt\.gz: line \d+ \(byte \d+\) is not UTF-8 \(b'\\xe9",
)
JSON_LINES = {
    "a line that is not JSON": Broken(
        "corpus.jsonl",
        lambda docs, _: "\n".join([*json_lines(docs[:3]), '{"text": "cut', *json_lines(docs[3:])]).encode(),
        r"corpus\.jsonl, line 4, column 10: not valid JSON \(Unterminated string",
    ),
    "a text that is a number": Broken(
        "corpus.jsonl",
        lambda docs, _: "\n".join([*json_lines(docs[:5]), '{"text": 17}', *json_lines(docs[5:])]).encode(),
        r"corpus\.jsonl, line 6: column 'text' holds a number \(17\), expected a string",
    ),
    "a text that is a list": Broken(
        "corpus.jsonl",
        lambda docs, _: "\n".join([*json_lines(docs[:1]), json.dumps({"text": docs[1:3]})]).encode(),
        r"corpus\.jsonl, line 2: column 'text' holds a list \(\[.*\), expected a string",
    ),
    "a text that is null": Broken(
        "corpus.jsonl",
        lambda docs, _: "\n".join([*json_lines(docs[:2]), '{"text": null}']).encode(),
        r"corpus\.jsonl, line 3: column 'text' holds null, expected a string",
    ),
    "a line that is a list": Broken(
        "corpus.json",
        lambda docs, _: json.dumps([{"text": d} for d in docs[:3]]).encode(),
        r"corpus\.json, line 1: expected a JSON object, found a list.*not a JSON array",
    ),
    "a truncated .jsonl.gz": Broken(
        "corpus.jsonl.gz",
        lambda docs, _: gzip.compress("\n".join(json_lines(docs)).encode())[:2000],
        r"corpus\.jsonl\.gz: truncated or corrupt gzip",
    ),
}
PARQUET = {
    "text renamed .parquet": Broken(
        "corpus.parquet",
        lambda docs, _: corpus_bytes(docs),
        r"corpus\.parquet: not a readable Parquet file \(Parquet magic bytes not found",
    ),
    "a truncated parquet": Broken(
        "corpus.parquet",
        lambda docs, tmp: halved(parquet_bytes(tmp, docs)),
        r"corpus\.parquet: not a readable Parquet file",
    ),
    "a garbled parquet": Broken(
        "corpus.parquet",
        lambda docs, tmp: garbled(parquet_bytes(tmp, docs)),
        r"corpus\.parquet: not a readable Parquet file",
    ),
    "a parquet of numbers": Broken(
        "corpus.parquet",
        lambda docs, tmp: parquet_bytes(tmp, list(range(len(docs)))),
        r"corpus\.parquet: column 'text' holds int64 values, expected strings",
    ),
}
BROKEN = {**COMPRESSED, **JSON_LINES, **PARQUET}
# the cases every command path is run on: one of each kind of damage
ON_EVERY_PATH = [
    "truncated .gz",
    "not compressed .gz",
    "garbled .xz",
    "a line that is not JSON",
    "a text that is a number",
    "text renamed .parquet",
    "a garbled parquet",
    "a parquet of numbers",
]


def make(case: Broken, documents: list[str], tmp_path: Path) -> Path:
    path = tmp_path / case.name
    path.write_bytes(case.make(documents, tmp_path))
    return path


@pytest.mark.parametrize("name", BROKEN)
def test_reading_a_broken_corpus_file_names_it_and_why(name, documents, tmp_path):
    path = make(BROKEN[name], documents, tmp_path)
    with pytest.raises(DenoiseError, match=BROKEN[name].message) as raised:
        list(iter_documents([path]))
    assert str(path) in str(raised.value)


def run_path(how: str, path: Path, tokenizer: Tokenizer, tmp_path: Path) -> None:
    if how == "train":
        Tokenizer.train([path], 1000, tmp_path / "tok")
    elif how == "train after the splitter":  # the reader fails inside SentencePiece's sentence iterator
        Tokenizer.train([path], 1000, tmp_path / "tok", splitter=tokenizer.splitter)
    else:
        prepare_corpus([path], tokenizer, tmp_path / "out", block_size=64, streaming=how == "streaming")


@pytest.mark.parametrize("how", ["parallel", "streaming", "train", "train after the splitter"])
@pytest.mark.parametrize("name", ON_EVERY_PATH)
def test_every_command_path_raises_the_readers_error(name, how, documents, tokenizer, tmp_path):
    path = make(BROKEN[name], documents, tmp_path)
    with pytest.raises(DenoiseError, match=BROKEN[name].message) as raised:
        run_path(how, path, tokenizer, tmp_path)
    assert str(path) in str(raised.value)
    assert not (tmp_path / "out").exists() and not (tmp_path / "tok").exists()


def test_a_worker_process_error_comes_out_with_its_message(documents, tokenizer, tmp_path):
    good = tmp_path / "good.txt.gz"
    good.write_bytes(gzip.compress(corpus_bytes(documents[:20])))
    broken = make(BROKEN["truncated .gz"], documents, tmp_path)
    with pytest.raises(DenoiseError, match=re.escape(str(broken)) + ".*truncated or corrupt gzip"):
        prepare_corpus([good, broken], tokenizer, tmp_path / "out", block_size=64, num_proc=2)


def test_cli_prints_one_line_naming_the_broken_file(documents, tokenizer, tmp_path, capsys):
    tokenizer.save(tmp_path / "tok")
    broken = make(BROKEN["truncated .gz"], documents, tmp_path)
    with pytest.raises(SystemExit) as exited:
        main(
            [
                "prepare",
                "--input",
                str(broken),
                "--tokenizer",
                str(tmp_path / "tok"),
                "--out",
                str(tmp_path / "o"),
            ]
        )
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    last = err.strip().splitlines()[-1]  # after datasets' progress bars
    assert re.fullmatch(rf"denoise: error: {re.escape(str(broken))}: truncated or corrupt gzip .*", last), err


@pytest.mark.parametrize("streaming", [False, True], ids=["parallel", "streaming"])
def test_blank_lines_in_json_lines_are_skipped(documents, tokenizer, tmp_path, streaming):
    rows = json_lines(documents[:6])
    plain = tmp_path / "plain.jsonl"
    plain.write_text("\n".join(rows) + "\n")
    spaced = tmp_path / "spaced.jsonl"
    spaced.write_text("\n\n".join(rows[:3]) + "\n  \n\t\n" + "\n".join(rows[3:]) + "\n\n")
    assert list(iter_documents([spaced])) == list(iter_documents([plain])) == documents[:6]
    stats = [
        prepare_corpus([path], tokenizer, tmp_path / path.stem, block_size=64, streaming=streaming)
        for path in (plain, spaced)
    ]
    assert stats[0].documents == stats[1].documents == 6
    assert stats[0].tokens == stats[1].tokens


def test_json_lines_text_column_is_read_in_both_paths(documents, tokenizer, tmp_path):
    path = tmp_path / "rows.jsonl"
    path.write_text("".join(json.dumps({"body": d}) + "\n" for d in documents[:4]))
    assert list(iter_documents([path], text_column="body")) == documents[:4]
    for streaming in (False, True):
        out = tmp_path / f"out-{streaming}"
        stats = prepare_corpus([path], tokenizer, out, block_size=64, text_column="body", streaming=streaming)
        assert stats.documents == 4


LATIN1 = "The caf\xe9 is open, and the na\xefve guests arrive early."


@pytest.fixture
def latin1_corpus(documents, tmp_path) -> Path:
    path = tmp_path / "latin1.txt"
    path.write_bytes(corpus_bytes(documents) + f"\n{LATIN1}\n".encode("latin-1"))
    return path


def test_train_with_encoding_errors_replace_substitutes_bad_bytes(latin1_corpus, tmp_path):
    with pytest.raises(DenoiseError, match=r"latin1\.txt: line \d+ \(byte \d+\) is not UTF-8"):
        Tokenizer.train([latin1_corpus], 1000, tmp_path / "strict")
    tokenizer = Tokenizer.train([latin1_corpus], 1000, tmp_path / "replace", encoding_errors="replace")
    assert tokenizer.vocab_size == 1000


def test_cached_tokenizer_passes_encoding_errors_down(latin1_corpus):
    with pytest.raises(DenoiseError, match="is not UTF-8"):
        cached_tokenizer([str(latin1_corpus)], 1000)
    tokenizer = cached_tokenizer([str(latin1_corpus)], 1000, encoding_errors="replace")
    assert cached_tokenizer([str(latin1_corpus)], 1000, encoding_errors="replace").model_proto == (
        tokenizer.model_proto
    )


# Tokenizer folders


def _write(path: Path, data: bytes | str) -> None:
    path.write_bytes(data if isinstance(data, bytes) else data.encode())


def _model_folder(folder: Path) -> Path:
    model = folder / "model"
    model.mkdir()
    _write(model / "model.json", '{"family": "bert"}')
    _write(model / "model.safetensors", b"\0" * 16)
    return model


def _run_folder(folder: Path) -> Path:
    """A pretraining run's layout: its tokenizer in run/tokenizer, beside run/model."""
    run = folder / "run"
    run.mkdir()
    (folder / "tok").rename(run / "tokenizer")
    _model_folder(run)
    return run


# name -> (how to break a saved tokenizer folder, returning the folder to load if not that one; the message)
TOKENIZER_FOLDERS = {
    "no spm.model": (
        lambda tok: (tok / "spm.model").unlink(),
        r"tok is not a tokenizer folder: it lacks spm\.model \(it holds punkt\.json, tokenizer\.json\); "
        r"a tokenizer folder holds spm\.model and tokenizer\.json.*denoise tokenizer train",
    ),
    "no tokenizer.json": (
        lambda tok: (tok / "tokenizer.json").unlink(),
        r"tok is not a tokenizer folder: it lacks tokenizer\.json",
    ),
    "a truncated spm.model": (
        lambda tok: _write(tok / "spm.model", (tok / "spm.model").read_bytes()[:5000]),
        r"spm\.model is not a SentencePiece model: its 5000 bytes do not parse",
    ),
    "a garbled spm.model": (
        lambda tok: _write(tok / "spm.model", garbled((tok / "spm.model").read_bytes())),
        r"spm\.model is not a SentencePiece model",
    ),
    "an empty spm.model": (
        lambda tok: _write(tok / "spm.model", b""),
        r"spm\.model is empty",
    ),
    "a garbled tokenizer.json": (
        lambda tok: _write(tok / "tokenizer.json", (tok / "tokenizer.json").read_text()[:20]),
        r"tokenizer\.json, line \d+, column \d+: not valid JSON",
    ),
    "a transformers tokenizer.json": (
        lambda tok: _write(tok / "tokenizer.json", '{"version": "1.0", "model": {"type": "Unigram"}}'),
        r"tokenizer\.json does not hold a denoise tokenizer's settings.*\['model', 'version'\]",
    ),
    "settings of another tokenizer": (
        lambda tok: _write(tok / "tokenizer.json", '{"num_sentinels": 100, "vocab_size": 8000}'),
        r"spm\.model has 2000 pieces but .*tokenizer\.json says 8000",
    ),
    "the wrong number of sentinels": (
        lambda tok: _write(tok / "tokenizer.json", '{"num_sentinels": 30, "vocab_size": 2000}'),
        r"spm\.model: this SentencePiece model does not have denoise's special ids with 30 sentinels",
    ),
    "a garbled punkt.json": (
        lambda tok: _write(tok / "punkt.json", b"\xff\xfe{"),
        r"punkt\.json is not a saved sentence splitter",
    ),
    "a model folder": (
        lambda tok: _model_folder(tok.parent),
        r"model is not a tokenizer folder but a denoise model folder: it lacks spm\.model and tokenizer\.json "
        r"\(it holds model\.json, model\.safetensors\)",
    ),
    "a run folder": (
        lambda tok: _run_folder(tok.parent),
        r"run is not a tokenizer folder \(it lacks spm\.model and tokenizer\.json\), but .*run/tokenizer is",
    ),
    "the model folder of a run": (
        lambda tok: _run_folder(tok.parent) / "model",
        r"run/model is not a tokenizer folder .*, but .*run/tokenizer is: give that",
    ),
    "the model file": (lambda tok: tok / "spm.model", r"spm\.model is a file, not a tokenizer folder"),
}


@pytest.mark.parametrize("name", TOKENIZER_FOLDERS)
def test_loading_a_broken_tokenizer_folder_names_it_and_why(name, tokenizer, tmp_path):
    tokenizer.save(tmp_path / "tok")
    breaks, message = TOKENIZER_FOLDERS[name]
    folder = breaks(tmp_path / "tok") or tmp_path / "tok"
    with pytest.raises(DenoiseError, match=message) as raised:
        Tokenizer.load(folder)
    assert str(tmp_path) in str(raised.value)


def test_loading_a_missing_tokenizer_folder_names_it(tmp_path):
    with pytest.raises(
        FileNotFoundError, match=re.escape(str(tmp_path / "none")) + ": the folder does not exist"
    ):
        Tokenizer.load(tmp_path / "none")


def test_cli_prints_one_line_naming_the_broken_tokenizer(tokenizer, tmp_path, capsys):
    tokenizer.save(tmp_path / "tok")
    _write(tmp_path / "tok" / "spm.model", b"not a model")
    with pytest.raises(SystemExit) as exited:
        main(["prepare", "--tokenizer", str(tmp_path / "tok"), "--out", str(tmp_path / "out")])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    last = err.strip().splitlines()[-1]
    assert re.fullmatch(r"denoise: error: .*tok/spm\.model is not a SentencePiece model.*", last), err
