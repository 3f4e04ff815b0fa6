import gzip

import pytest

from denoise.data.sources import default_corpus_path
from denoise.tokenizer import Tokenizer


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path, monkeypatch):
    """Keep every test's denoise cache in its own temporary folder."""
    monkeypatch.setenv("DENOISE_CACHE", str(tmp_path / "denoise-cache"))


@pytest.fixture(scope="session")
def corpus_documents() -> list[str]:
    """Documents of the embedded corpus: Shakespeare first, then the King James Bible."""
    with gzip.open(default_corpus_path(), "rt", encoding="utf-8") as f:
        return [d.strip() for d in f.read().split("\n\n") if d.strip()]


@pytest.fixture(scope="session")
def training_text(corpus_documents) -> str:
    """About 1 MB of Shakespeare, in the corpus text format."""
    return "\n\n".join(corpus_documents[:250]) + "\n"


@pytest.fixture(scope="session")
def held_out_documents(corpus_documents) -> list[str]:
    """Bible chapters from the end of the corpus, never seen by the session tokenizer."""
    return corpus_documents[-40:]


@pytest.fixture(scope="session")
def tokenizer(tmp_path_factory, training_text) -> Tokenizer:
    folder = tmp_path_factory.mktemp("tokenizer")
    corpus = folder / "train.txt"
    corpus.write_text(training_text, encoding="utf-8")
    return Tokenizer.train([corpus], vocab_size=2000, out_dir=folder / "model")


@pytest.fixture(scope="session")
def prepared_corpus(tmp_path_factory, tokenizer, corpus_documents) -> str:
    """Shakespeare and Bible documents packed into 64-token blocks with the session tokenizer, for training."""
    from denoise.data.prepare import prepare_corpus

    folder = tmp_path_factory.mktemp("prepared")
    text = folder / "corpus.txt"
    text.write_text("\n\n".join(corpus_documents[:60] + corpus_documents[-60:]) + "\n", encoding="utf-8")
    prepare_corpus([str(text)], tokenizer, folder / "blocks", block_size=64)
    return str(folder / "blocks")
