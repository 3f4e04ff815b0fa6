import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from denoise.data.prepare import load_blocks, prepare_corpus, stream_blocks, tokenize_documents
from denoise.tokenizer import Tokenizer


@pytest.fixture
def small_corpus(tmp_path, corpus_documents):
    """Twenty real documents (scenes and chapters of very different lengths) in the text format."""
    documents = corpus_documents[300:310] + corpus_documents[-10:]
    path = tmp_path / "small.txt"
    path.write_text("\n\n\n".join(documents) + "\n", encoding="utf-8")
    return path, documents


def _rows(out_dir):
    return load_blocks(out_dir).to_list()


def test_sentence_and_document_boundaries_survive_packing(tmp_path, tokenizer, small_corpus):
    path, documents = small_corpus
    stats = prepare_corpus([path], tokenizer, tmp_path / "out", block_size=64)
    blocks = _rows(tmp_path / "out")
    assert stats.blocks == len(blocks) and stats.documents == len(documents)

    expected = tokenize_documents(documents, tokenizer, tokenizer.splitter)
    stream = np.concatenate([b["input_ids"][: b["length"]] for b in blocks])
    doc_starts = [i * 64 + p for i, b in enumerate(blocks) for p in b["document_starts"]]
    sentence_starts = [i * 64 + p for i, b in enumerate(blocks) for p in b["sentence_starts"]]
    doc_ends = doc_starts[1:] + [len(stream)]
    for start, end, ids in zip(doc_starts, doc_ends, expected["input_ids"]):
        assert stream[start:end].tolist() == ids
    all_sentences = [n for lengths in expected["sentence_lengths"] for n in lengths]
    assert np.diff(sentence_starts + [len(stream)]).tolist() == all_sentences
    first_sentences = [tokenizer.splitter.split(d)[0] for d in documents]
    for start, sentence in zip(doc_starts, first_sentences):
        encoded = tokenizer.encode(sentence)
        assert stream[start : start + len(encoded)].tolist() == encoded


def test_default_corpus_fills_512_blocks_and_second_run_is_cached(tmp_path, tokenizer):
    first = prepare_corpus([], tokenizer, tmp_path / "default", block_size=512)
    assert first.fill_ratio >= 0.995 and first.blocks > 2000 and not first.cached
    second = prepare_corpus([], tokenizer, tmp_path / "default", block_size=512)
    assert second.cached and (second.blocks, second.tokens) == (first.blocks, first.tokens)
    assert second.seconds < first.seconds
    manifest = json.loads((tmp_path / "default" / "manifest.json").read_text())
    assert manifest["stats"]["blocks"] == first.blocks
    assert Tokenizer.load(tmp_path / "default" / "tokenizer").encode("x y") == tokenizer.encode("x y")


def test_streaming_and_parallel_runs_give_identical_blocks(tmp_path, tokenizer, small_corpus):
    path, _ = small_corpus
    prepare_corpus([path], tokenizer, tmp_path / "one", block_size=128)
    prepare_corpus([path, path], tokenizer, tmp_path / "two", block_size=128, num_proc=2)
    prepare_corpus([path], tokenizer, tmp_path / "stream", block_size=128, streaming=True)
    one = _rows(tmp_path / "one")
    assert _rows(tmp_path / "stream") == one
    assert list(stream_blocks([path], tokenizer, block_size=128)) == one
    two = _rows(tmp_path / "two")
    assert sum(b["length"] for b in two) == 2 * sum(b["length"] for b in one)
    assert two[0] == one[0]


def test_jsonl_and_parquet_inputs_match_text_input(tmp_path, tokenizer, small_corpus):
    path, documents = small_corpus
    jsonl = tmp_path / "docs.jsonl"
    jsonl.write_text("".join(json.dumps({"id": i, "body": d}) + "\n" for i, d in enumerate(documents)))
    parquet = tmp_path / "docs.parquet"
    pq.write_table(pa.table({"body": documents}), parquet)
    prepare_corpus([path], tokenizer, tmp_path / "txt", block_size=96)
    prepare_corpus([jsonl], tokenizer, tmp_path / "jsonl", block_size=96, text_column="body")
    prepare_corpus([parquet], tokenizer, tmp_path / "parquet", block_size=96, text_column="body")
    reference = _rows(tmp_path / "txt")
    assert _rows(tmp_path / "jsonl") == reference
    assert _rows(tmp_path / "parquet") == reference


def test_changed_input_is_prepared_again_not_served_stale(tmp_path, tokenizer, small_corpus):
    path, documents = small_corpus
    prepare_corpus([path], tokenizer, tmp_path / "out", block_size=64)
    path.write_text(documents[0] + "\n", encoding="utf-8")
    stats = prepare_corpus([path], tokenizer, tmp_path / "out", block_size=64, overwrite=True)
    assert not stats.cached and stats.documents == 1
