"""Cloze questions on unlabelled text, in the SQuAD v2.0 format: a self-supervised QA phase.

A context is a run of consecutive sentences of one document, up to ``context_words`` words. A question is a
few words of one of its sentences with a short phrase replaced by "what" ("Let there be what: and there"),
and its answer is that phrase where it stands in the context. An unanswerable question is made the same way
from a sentence of the next context of the document (the previous one for the last), so it reads like the
text around it but matches no place in the context. Answering needs what extractive QA needs: find where
the question's words occur in the context and point at the span they leave out; telling the two kinds apart
needs to see that they occur nowhere. This is the cloze-question idea of unsupervised extractive QA (Lewis
et al., 2019), kept to exact fragments so that it needs no parser.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

from data_scripts.tasks_qa import Question
from data_scripts.tasks_splits import SPLITS, Splits, remove_leaks, split_of
from denoise.data.sources import default_corpus_path, iter_text_file
from denoise.errors import DenoiseError

ANSWERABLE_PER_CONTEXT = 2
MIN_SENTENCE_WORDS = 6
SIDE_WORDS = (2, 6)  # words kept on each side of the blank, drawn uniformly
MAX_ANSWER_WORDS = 3
BLANK = "what"  # the word that stands for the answer in a question
STOPWORDS = frozenset(
    """a about after all also an and any are as at be been but by can could did do does for from had has
    have he her him his how i if in into is it its may me might more most my no nor not now of on one only
    or our out over she shall should so some such than that the their them then there these they this
    those thou thee thy thine to unto up upon us was we were what when where which while who whom why will
    with would ye yet you your hath doth art shalt wilt""".split()
)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_EDGE_PUNCTUATION = "\"'’‘“”()[],.;:!?-"


def read_documents(path: Path) -> Iterator[list[str]]:
    """Documents of a corpus in denoise's text format (a paragraph per line, a blank line between
    documents; plain or compressed), each as its list of sentences."""
    for document in iter_text_file(path):
        yield [s for line in document.split("\n") for s in _SENTENCE_END.split(line) if s]


def contexts_of(sentences: list[str], context_words: int) -> list[tuple[str, ...]]:
    """Consecutive sentences packed up to ``context_words`` words; a sentence longer than that is left out
    and ends the context before it. Contexts of a single sentence are dropped (a question needs company)."""
    contexts, current, words = [], [], 0
    for sentence in sentences:
        length = len(sentence.split())
        if current and (length > context_words or words + length > context_words):
            contexts.append(tuple(current))
            current, words = [], 0
        if length > context_words:
            continue
        current.append(sentence)
        words += length
    if current:
        contexts.append(tuple(current))
    return [c for c in contexts if len(c) > 1]


def is_content(word: str) -> bool:
    core = word.strip(_EDGE_PUNCTUATION)
    return len(core) >= 4 and core.isalpha() and core.lower() not in STOPWORDS


def is_blank_word(word: str) -> bool:
    return word.strip(_EDGE_PUNCTUATION).lower() == BLANK


def cloze(sentence: str, rng: random.Random) -> tuple[str, str, int] | None:
    """(question, answer, offset of the answer in ``sentence``) or None when no phrase fits: the answer
    starts at a content word and runs up to MAX_ANSWER_WORDS words without crossing punctuation; the
    question keeps at least two words on one side of it."""
    words = sentence.split()
    if len(words) < MIN_SENTENCE_WORDS:
        return None
    starts = [i for i, w in enumerate(words) if is_content(w)]
    if not starts:
        return None
    first = rng.choice(starts)
    length = rng.randint(1, MAX_ANSWER_WORDS)
    last = first
    while (
        last + 1 < len(words)
        and last - first + 1 < length
        and words[last][-1] not in _EDGE_PUNCTUATION
        and words[last + 1].strip(_EDGE_PUNCTUATION)
    ):
        last += 1
    answer = " ".join(words[first : last + 1]).strip(_EDGE_PUNCTUATION)
    if not answer:
        return None
    before = words[max(0, first - rng.randint(*SIDE_WORDS)) : first]
    after = words[last + 1 : last + 1 + rng.randint(*SIDE_WORDS)]
    # The blank is the question's only "what": the sides stop short of the sentence's own.
    whats = [i for i, w in enumerate(before) if is_blank_word(w)]
    before = before[whats[-1] + 1 :] if whats else before
    after = after[: next((i for i, w in enumerate(after) if is_blank_word(w)), len(after))]
    if max(len(before), len(after)) < 2:
        return None
    trailing = words[last][len(words[last].rstrip(_EDGE_PUNCTUATION)) :]
    question = " ".join([*before, BLANK + trailing, *after]).rstrip(_EDGE_PUNCTUATION) + "?"
    prefix = " ".join(words[:first])
    offset = len(prefix) + (1 if prefix else 0)
    offset += len(words[first]) - len(words[first].lstrip(_EDGE_PUNCTUATION))
    return question, answer, offset


def sides_of(question: str) -> tuple[str, str]:
    """The words before and after the blank of a cloze question."""
    words = question.rstrip("?").split()
    blank = next(i for i, w in enumerate(words) if is_blank_word(w))
    trailing = words[blank][len(BLANK) :]
    return " ".join(words[:blank]), " ".join([trailing, *words[blank + 1 :]]).strip()


def fragments_absent(question: str, context: str) -> bool:
    """True when neither side of the blank, if it has two words or more, occurs in ``context``."""
    sides = sides_of(question)
    folded = " ".join(context.lower().split())
    return not any(len(side.split()) >= 2 and " ".join(side.lower().split()) in folded for side in sides)


def context_questions(
    contexts: list[tuple[str, ...]], index: int, title: str, key: str, seed: int
) -> list[Question]:
    """Answerable cloze questions on sentences of ``contexts[index]``, then one from a neighbouring context."""
    rng = random.Random(f"{seed}:cloze:{key}:{index}")
    sentences = contexts[index]
    context = " ".join(sentences)
    starts = [sum(len(s) + 1 for s in sentences[:i]) for i in range(len(sentences))]
    questions = []
    order = rng.sample(range(len(sentences)), len(sentences))
    for i in order:
        made = cloze(sentences[i], rng)
        if made is None:
            continue
        question, answer, offset = made
        number = len(questions) + 1
        questions.append(
            Question(f"{key}-{index}-{number}", title, sentences, question, answer, starts[i] + offset)
        )
        if len(questions) == ANSWERABLE_PER_CONTEXT:
            break
    neighbour = contexts[index + 1] if index + 1 < len(contexts) else contexts[index - 1] if index else ()
    for sentence in rng.sample(neighbour, len(neighbour)):
        made = cloze(sentence, rng)
        if made is not None and fragments_absent(made[0], context):
            questions.append(Question(f"{key}-{index}-x", title, sentences, made[0], None))
            break
    return questions


def build(documents: Iterable[list[str]], seed: int, context_words: int = 90) -> Splits[Question]:
    """Cloze questions on every context of every document; a document's questions share its split."""
    splits: Splits[Question] = {name: [] for name in SPLITS}
    for number, sentences in enumerate(documents):
        key = f"d{number}"
        split = split_of(f"{key}:{sentences[0]}", seed, dev=0.05, test=0.05)
        title = " ".join(sentences[0].split()[:6])
        contexts = contexts_of(sentences, context_words)
        for index in range(len(contexts)):
            splits[split].extend(context_questions(contexts, index, title, key, seed))
    return remove_leaks(splits, lambda q: [q.context, q.question])


def build_corpus(corpus: Path, sources: Path, seed: int) -> Splits[Question]:
    """Cloze questions on a corpus file (``sources`` is unused: the corpus is the source)."""
    if not corpus.is_file():
        raise DenoiseError(f"no corpus file {corpus}; give a text file in denoise's format (.txt or .txt.gz)")
    splits = build(read_documents(corpus), seed)
    if not any(splits.values()):
        raise DenoiseError(
            f"{corpus} gives no cloze question: it needs documents of two sentences or more "
            f"of {MIN_SENTENCE_WORDS} words or more (a paragraph per line, a blank line between documents)"
        )
    return splits


def build_default(sources: Path, seed: int) -> Splits[Question]:
    """Cloze questions on the corpus shipped with denoise (Shakespeare and the King James Bible)."""
    return build_corpus(default_corpus_path(), sources, seed)
