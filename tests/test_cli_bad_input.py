import gzip
import json
import re

import pytest

from denoise import DenoiseError
from denoise.cli import main
from denoise.data.packing import BlockPacker
from denoise.data.prepare import BLOCKS_FILE, MANIFEST_FILE, prepare_corpus
from denoise.data.sources import default_corpus_path
from denoise.tokenizer import Tokenizer

TRAIN_CHARS = 300_000


@pytest.fixture(scope="module")
def corpus_text():
    with gzip.open(default_corpus_path(), "rt", encoding="utf-8") as f:
        text = f.read(TRAIN_CHARS)
    return text[: text.rfind("\n\n")]


@pytest.fixture(scope="module")
def tokenizer(tmp_path_factory, corpus_text):
    folder = tmp_path_factory.mktemp("tokenizer")
    (folder / "train.txt").write_text(corpus_text, encoding="utf-8")
    return Tokenizer.train([folder / "train.txt"], 1000, folder / "tok")


@pytest.fixture
def documents(corpus_text):
    """The first real documents of the corpus, stripped."""
    return [d.strip() for d in corpus_text.split("\n\n") if d.strip()][:5]


def write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def test_train_on_empty_file_names_it(tmp_path):
    empty = write(tmp_path / "empty.txt", "")
    with pytest.raises(DenoiseError, match=re.escape(str(empty))):
        Tokenizer.train([empty], 1000, tmp_path / "tok")


def test_prepare_empty_file_names_it(tmp_path, tokenizer):
    empty = write(tmp_path / "empty.txt", "")
    with pytest.raises(DenoiseError, match=re.escape(str(empty))):
        prepare_corpus([empty], tokenizer, tmp_path / "out", block_size=64)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("streaming", [False, True], ids=["parallel", "streaming"])
def test_prepare_whitespace_only_documents_says_no_text(tmp_path, tokenizer, streaming):
    blank = write(tmp_path / "blank.txt", "\n\n   \n\t\n")
    with pytest.raises(DenoiseError, match="no text") as raised:
        prepare_corpus([blank], tokenizer, tmp_path / "out", block_size=64, streaming=streaming)
    assert str(blank) in str(raised.value)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("streaming", [False, True], ids=["parallel", "streaming"])
def test_prepare_skips_whitespace_only_documents(tmp_path, tokenizer, documents, streaming):
    text = "\n\n   \n\n".join(documents[:2]) + "\n\n\t\n\n \n\n" + documents[2] + "\n\n   \n"
    mixed = write(tmp_path / "mixed.txt", text)
    stats = prepare_corpus([mixed], tokenizer, tmp_path / "out", block_size=64, streaming=streaming)
    assert stats.documents == 3
    expected_tokens = sum(
        len(ids) for ids in tokenizer.encode([s for d in documents[:3] for s in tokenizer.splitter.split(d)])
    )
    assert stats.tokens == expected_tokens


@pytest.mark.parametrize("streaming", [False, True], ids=["parallel", "streaming"])
def test_prepare_non_utf8_names_file_and_line(tmp_path, tokenizer, streaming):
    latin1 = tmp_path / "latin1.txt"
    latin1.write_bytes(b"A fine first line.\n\nSecond document.\nThe caf\xe9 is open.\n")
    with pytest.raises(DenoiseError, match=re.escape(str(latin1))) as raised:
        prepare_corpus([latin1], tokenizer, tmp_path / "out", block_size=64, streaming=streaming)
    assert "line 4" in str(raised.value)
    assert not (tmp_path / "out").exists()


def test_train_non_utf8_names_file_and_line(tmp_path):
    latin1 = tmp_path / "latin1.txt"
    latin1.write_bytes(b"caf\xe9\n")
    with pytest.raises(DenoiseError, match=re.escape(str(latin1)) + ".*line 1"):
        Tokenizer.train([latin1], 1000, tmp_path / "tok")


def test_prepare_non_utf8_with_replace_succeeds(tmp_path, tokenizer):
    latin1 = tmp_path / "latin1.txt"
    latin1.write_bytes(b"A fine first line.\n\nSecond document.\nThe caf\xe9 is open.\n")
    stats = prepare_corpus([latin1], tokenizer, tmp_path / "out", block_size=64, encoding_errors="replace")
    assert stats.documents == 2
    assert stats.sentences == 3
    assert (tmp_path / "out" / BLOCKS_FILE).is_file()


def test_prepare_single_10mb_line(tmp_path, tokenizer, corpus_text):
    words = [w for w in corpus_text.split() if not re.search(r"[.?!]", w)][:5000]
    phrase = " ".join(words)
    line = " ".join([phrase] * (10_000_000 // len(phrase) + 1))
    assert len(line) >= 10_000_000
    long = write(tmp_path / "long.txt", line + "\n")
    stats = prepare_corpus([long], tokenizer, tmp_path / "out", block_size=512)
    assert (stats.documents, stats.sentences) == (1, 1)
    assert stats.tokens == len(tokenizer.encode(line))
    assert stats.blocks == -(-stats.tokens // 512)


def test_train_missing_file_names_path(tmp_path):
    missing = tmp_path / "missing.txt"
    with pytest.raises(FileNotFoundError, match=re.escape(str(missing))):
        Tokenizer.train([missing], 1000, tmp_path / "tok")


def test_prepare_missing_file_names_path(tmp_path, tokenizer):
    missing = tmp_path / "missing.txt"
    with pytest.raises(FileNotFoundError, match=re.escape(str(missing))):
        prepare_corpus([missing], tokenizer, tmp_path / "out", block_size=64)


def test_load_missing_tokenizer_names_path(tmp_path):
    missing = tmp_path / "no-tokenizer"
    with pytest.raises(FileNotFoundError, match=re.escape(str(missing))):
        Tokenizer.load(missing)


def test_cli_prepare_missing_input_exits_2_naming_path(tmp_path, capsys):
    missing = tmp_path / "missing.txt"
    with pytest.raises(SystemExit) as exited:
        main(["prepare", "--input", str(missing), "--out", str(tmp_path / "out")])
    assert exited.value.code == 2
    assert str(missing) in capsys.readouterr().err


def test_vocab_larger_than_corpus_supports_names_both_sizes(tmp_path, corpus_text):
    small = write(tmp_path / "small.txt", corpus_text[:20_000])
    with pytest.raises(DenoiseError, match="50000") as raised:
        Tokenizer.train([small], 50000, tmp_path / "tok")
    maximum = re.search(r"largest it allows is (\d+)", str(raised.value))
    assert maximum is not None
    assert 0 < int(maximum.group(1)) < 50000


def test_vocab_too_small_for_special_ids(tmp_path, corpus_text):
    text = write(tmp_path / "text.txt", corpus_text[:20_000])
    with pytest.raises(DenoiseError, match=r"vocab_size 300\b.*\b365\b"):
        Tokenizer.train([text], 300, tmp_path / "tok", num_sentinels=100)
    assert not (tmp_path / "tok").exists()


def test_block_packer_rejects_tiny_block_size():
    with pytest.raises(DenoiseError, match=r"block size 4\b"):
        BlockPacker(4)


def test_prepare_rejects_tiny_block_size(tmp_path, tokenizer, documents):
    text = write(tmp_path / "text.txt", "\n\n".join(documents))
    with pytest.raises(DenoiseError, match=r"block size 4\b"):
        prepare_corpus([text], tokenizer, tmp_path / "out", block_size=4)
    assert not (tmp_path / "out").exists()


def test_unsupported_suffix_names_file(tmp_path, tokenizer):
    docx = tmp_path / "report.docx"
    docx.write_bytes(b"PK\x03\x04 not a text file")
    with pytest.raises(DenoiseError, match=re.escape(str(docx)) + ".*unsupported"):
        prepare_corpus([docx], tokenizer, tmp_path / "out", block_size=64)
    with pytest.raises(DenoiseError, match=re.escape(str(docx))):
        Tokenizer.train([docx], 1000, tmp_path / "tok")


def test_jsonl_without_text_column_names_column_and_lists_columns(tmp_path, tokenizer, documents):
    rows = tmp_path / "rows.jsonl"
    rows.write_text("".join(json.dumps({"id": i, "body": d}) + "\n" for i, d in enumerate(documents)))
    with pytest.raises(DenoiseError, match="'text'") as raised:
        prepare_corpus([rows], tokenizer, tmp_path / "out", block_size=64)
    assert "'body'" in str(raised.value) and "'id'" in str(raised.value)
    assert not (tmp_path / "out").exists()


def test_out_dir_from_other_inputs_needs_overwrite(tmp_path, tokenizer, documents):
    first = write(tmp_path / "first.txt", "\n\n".join(documents[:2]))
    second = write(tmp_path / "second.txt", "\n\n".join(documents[2:]))
    out = tmp_path / "out"
    prepare_corpus([first], tokenizer, out, block_size=64)
    original = (out / BLOCKS_FILE).read_bytes()

    with pytest.raises(DenoiseError, match=re.escape(str(out))):
        prepare_corpus([second], tokenizer, out, block_size=64)
    assert (out / BLOCKS_FILE).read_bytes() == original
    assert json.loads((out / MANIFEST_FILE).read_text())["inputs"] == [str(first)]

    stats = prepare_corpus([second], tokenizer, out, block_size=64, overwrite=True)
    assert not stats.cached
    assert stats.documents == len(documents) - 2
    assert (out / BLOCKS_FILE).read_bytes() != original
    assert json.loads((out / MANIFEST_FILE).read_text())["inputs"] == [str(second)]
