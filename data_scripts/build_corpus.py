"""Build a pre-training corpus in denoise's text format from the public-domain sources.

Run from the repository root:

    python -m data_scripts.fetch_sources --out sources/
    python -m data_scripts.build_corpus --sources sources/ --parts shakespeare kjv \
        --out denoise/data/corpus/default.txt.gz
    python -m data_scripts.build_corpus --sources sources/ --out corpus/offline-en.txt.gz   # general English
    python -m data_scripts.build_corpus --sources sources/ --parts shakespeare kjv web wordnet sparv \
        --out corpus/offline-en-es.txt.gz   # and the Spanish Bible, for a model fine-tuned to translate
    python -m data_scripts.build_corpus --sources sources/ --parts reviews \
        --out corpus/reviews.txt.gz   # movie reviews

The format is the one ``denoise prepare`` reads: one paragraph per line, a blank line between documents.
Documents are scenes of Shakespeare's plays (or numbered poems), Bible chapters, and groups of WordNet glosses.
The Spanish part (Reina-Valera 1909) leaves out the books the translation task holds out for dev and test,
so a model pre-trained on it has not read the references it is scored against. The movie reviews
(``corpus_reviews.py``) adapt a pre-trained model to the sentiment task's domain.
The embedded default corpus of denoise is the first command's output (Shakespeare and the King James Bible).
The gzip header carries no time stamp, so a rebuild gives the same bytes.
"""

from __future__ import annotations

import argparse
import gzip
import re
from collections.abc import Iterable, Iterator
from itertools import groupby
from pathlib import Path

from data_scripts.corpus_reviews import review_documents
from data_scripts.tasks_io import fetch_command
from data_scripts.tasks_translation import DEV_BOOKS, TEST_BOOKS
from denoise.data.sword import read_verses
from denoise.errors import DenoiseError

Document = list[str]  # paragraphs

_SECTION = re.compile(r"^(ACT [IVXL]+\b|(Scene|SCENE) ([IVXL]+|\d+)\.|[IVXLC]+\.?$)", re.IGNORECASE)
_ACT = re.compile(r"^ACT [IVXL]+\.?$", re.IGNORECASE)
_SPACES = re.compile(r"\s+")


def shakespeare_documents(root: Path) -> Iterator[Document]:
    """Scenes of the plays and numbered sections of the poems, modern-spelling texts only."""
    files = sorted(root.rglob("shksprdata/texts/*_gut.txt"))
    if not files:
        raise DenoiseError(
            f"no shksprdata/texts/*_gut.txt under {root}; run {fetch_command(root.parent, root.name)}"
        )
    for path in files:
        document: Document = []
        for block in re.split(r"\n\s*\n", path.read_text(encoding="utf-8", errors="replace")):
            paragraph = _SPACES.sub(" ", block).strip()
            if not paragraph:
                continue
            if _SECTION.match(paragraph) and document and not _ACT.match(document[-1]):
                yield document
                document = []
            document.append(paragraph)
        if document:
            yield document


def bible_documents(root: Path, skip_books: Iterable[str] = ()) -> Iterator[Document]:
    """One document per chapter, its verses joined into one paragraph; ``skip_books`` (OSIS ids) left out."""
    skipped = set(skip_books)
    for (book, _), verses in groupby(read_verses(root), key=lambda v: (v.book, v.chapter)):
        if book not in skipped:
            yield [" ".join(v.text for v in verses)]


def wordnet_documents(root: Path, synsets_per_document: int = 50) -> Iterator[Document]:
    """Glosses and usage examples of WordNet 3.0, one paragraph per synset."""
    files = sorted(root.rglob("wordnet/data.*"))
    if not files:
        raise DenoiseError(
            f"no wordnet/data.* files under {root}; run {fetch_command(root.parent, root.name)}"
        )
    for path in files:
        document: Document = []
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("  ") or " | " not in line:
                continue  # licence header
            fields, gloss = line.split(" | ", 1)
            parts = fields.split()
            word_count = int(parts[3], 16)
            words = [parts[4 + 2 * i].replace("_", " ") for i in range(word_count)]
            document.append(f"{', '.join(words)}: {gloss.strip()}")
            if len(document) == synsets_per_document:
                yield document
                document = []
        if document:
            yield document


PARTS = {
    "shakespeare": lambda sources: shakespeare_documents(sources / "shakespeare"),
    "kjv": lambda sources: bible_documents(sources / "kjv"),
    "web": lambda sources: bible_documents(sources / "web"),
    "wordnet": lambda sources: wordnet_documents(sources / "wordnet"),
    "sparv": lambda sources: bible_documents(sources / "sparv", skip_books=DEV_BOOKS + TEST_BOOKS),
    "reviews": review_documents,
}
DEFAULT_PARTS = ["shakespeare", "kjv", "web", "wordnet"]  # the general English corpus


def write_corpus(documents: Iterable[Document], out: Path) -> tuple[int, int]:
    out.parent.mkdir(parents=True, exist_ok=True)
    count = size = 0
    with open(out, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, compresslevel=9) as gz:
        for document in documents:
            text = "\n".join(document) + "\n\n"
            gz.write(text.encode("utf-8"))
            count += 1
            size += len(text)
    return count, size


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--sources", type=Path, default=Path("sources"), help="folder written by data_scripts.fetch_sources"
    )
    parser.add_argument("--parts", nargs="+", choices=list(PARTS), default=DEFAULT_PARTS)
    parser.add_argument("--out", type=Path, required=True, help="output .txt.gz")
    args = parser.parse_args()
    documents = (doc for part in args.parts for doc in PARTS[part](args.sources))
    try:
        count, size = write_corpus(documents, args.out)
    except DenoiseError as err:
        parser.exit(2, f"{parser.prog}: error: {err}\n")
    print(
        f"{args.out}: {count} documents, {size / 1e6:.1f} MB of text, {args.out.stat().st_size / 1e6:.1f} MB on disk"
    )


if __name__ == "__main__":
    main()
