"""Extractive questions on WordNet definitions, in the SQuAD v2.0 format.

A context is a paragraph of five dictionary entries written as sentences ("A ferry (also called ferryboat)
is a boat that transports people or vehicles across a body of water and operates on a regular schedule.
Example: ..."), consecutive in a depth-first walk of the hypernym taxonomy, so that the entries read alike.
Each context gets two questions about entries in it ("What is a ferry?"), whose answer is the definition
as it stands in the context, and one question about a word without an entry there (an entry of a
neighbouring context, or a hypernym such as "boat"), marked impossible: a third of the questions have no
answer.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from data_scripts.tasks_splits import SPLITS, Splits, remove_leaks, split_of
from data_scripts.tasks_wordnet import Synset, read_synsets
from denoise.tasks.qa.data import Answer, QAExample, write_squad

ENTRIES_PER_CONTEXT = 5
ANSWERABLE_PER_CONTEXT = 2
SYNONYMS_SHOWN = 2
NOUN_QUESTIONS = (
    "What is {art}{word}?",
    "What does {word} mean?",
    "What is meant by {art}{word}?",
    "How is {art}{word} defined?",
)
VERB_QUESTIONS = (
    "What does it mean to {word}?",
    "What does the verb {word} mean?",
    "What is meant by the verb {word}?",
    "How is the verb {word} defined?",
)


@dataclass(frozen=True)
class Entry:
    synset: Synset
    sentence: str
    definition_start: int  # offset of the definition in the sentence
    shown: tuple[str, ...]  # the words the sentence names


@dataclass(frozen=True)
class Question:
    id: str
    title: str
    sentences: tuple[str, ...]  # the entries of the context, in order
    question: str
    answer: str | None  # None: not answerable from the context
    answer_start: int = -1

    @property
    def context(self) -> str:
        return " ".join(self.sentences)

    def example(self) -> QAExample:
        """The question as denoise's QA example (no answers: unanswerable)."""
        answers = () if self.answer is None else (Answer(self.answer, self.answer_start),)
        return QAExample(self.id, self.question, self.context, answers)


def eligible(synset: Synset) -> bool:
    """Common nouns and verbs with a definition: no named instances or proper names."""
    return bool(synset.definition) and not synset.is_instance and synset.lemmas[0][:1].islower()


def article(synset: Synset, word: str) -> str:
    """ "a " or "an " when the definition reads as a countable noun ("a boat that ..."), else ""."""
    if synset.pos != "n" or synset.definition.split()[0].lower() not in ("a", "an", "one"):
        return ""
    return "an " if word[0] in "aeiou" else "a "


def make_entry(synset: Synset) -> Entry:
    shown = tuple(lemma for lemma in synset.lemmas if lemma[:1].islower())[: 1 + SYNONYMS_SHOWN]
    also = f" (also called {' or '.join(shown[1:])})" if len(shown) > 1 else ""
    if synset.pos == "n":
        head = f"{article(synset, shown[0])}{shown[0]}{also} is "
    else:
        head = f"to {shown[0]}{also} is to "
    head = head[0].upper() + head[1:]
    sentence = f"{head}{synset.definition}."
    if synset.example:
        sentence += f' Example: "{synset.example}".'
    return Entry(synset, sentence, len(head), shown)


def question_text(synset: Synset, word: str, rng: random.Random) -> str:
    templates = NOUN_QUESTIONS if synset.pos == "n" else VERB_QUESTIONS
    return rng.choice(templates).format(art=article(synset, word), word=word)


def chunk(entries: list[Entry]) -> list[list[Entry]]:
    """Consecutive groups of ENTRIES_PER_CONTEXT; a short last group joins the one before."""
    groups = [entries[i : i + ENTRIES_PER_CONTEXT] for i in range(0, len(entries), ENTRIES_PER_CONTEXT)]
    if len(groups) > 1 and len(groups[-1]) < 3:
        groups[-2].extend(groups.pop())
    return groups


def lemma_set(synset: Synset) -> set[str]:
    return {lemma.lower() for lemma in synset.lemmas}


def context_questions(
    group: list[Entry], outsiders: Sequence[Synset], title: str, seed: int
) -> list[Question]:
    """Answerable questions on entries of ``group``, then one on an outsider without an entry in it."""
    key = group[0].synset.key
    rng = random.Random(f"{seed}:qa:{key}")
    sentences = tuple(entry.sentence for entry in group)
    starts = [sum(len(s) + 1 for s in sentences[:i]) for i in range(len(group))]
    lemma_sets = [lemma_set(entry.synset) for entry in group]
    # A word can be asked about only if no other entry of the context has it: the answer must be unique.
    words = [
        [
            w
            for w in entry.shown
            if not any(w.lower() in other for j, other in enumerate(lemma_sets) if j != i)
        ]
        for i, entry in enumerate(group)
    ]
    askable = [i for i, entry_words in enumerate(words) if entry_words]
    questions = []
    for number, i in enumerate(sorted(rng.sample(askable, min(ANSWERABLE_PER_CONTEXT, len(askable)))), 1):
        synset = group[i].synset
        word = words[i][0] if len(words[i]) == 1 or rng.random() < 2 / 3 else rng.choice(words[i][1:])
        question = question_text(synset, word, rng)
        start = starts[i] + group[i].definition_start
        questions.append(Question(f"{key}-{number}", title, sentences, question, synset.definition, start))
    in_context = set().union(*lemma_sets)
    candidates = [s for s in outsiders if eligible(s) and not in_context & lemma_set(s)]
    if candidates:
        outsider = rng.choice(candidates)
        question = question_text(outsider, outsider.lemmas[0], rng)
        questions.append(Question(f"{key}-x", title, sentences, question, None))
    return questions


def split_questions(entries: list[Entry], by_offset: dict[str, Synset], seed: int) -> list[Question]:
    """Questions on the contexts made of ``entries`` (one split of one part of speech, in taxonomy order).

    The outsiders of a context are the entries of the contexts just before and after it and the
    hypernyms of its own entries: words close to the context that it does not define.
    """
    groups = chunk(entries)
    questions = []
    for index, group in enumerate(groups):
        neighbours = [e.synset for g in groups[max(0, index - 1) : index + 2] if g is not group for e in g]
        hypernyms = [by_offset[h] for e in group for h in e.synset.hypernyms if h in by_offset]
        title = hypernyms[0].lemmas[0] if hypernyms else group[0].synset.lemmas[0]
        questions.extend(context_questions(group, [*neighbours, *hypernyms], title, seed))
    return questions


def family(synset: Synset) -> str:
    """Synsets sharing a first hypernym form a family; families are what the splits divide."""
    return f"{synset.pos}{synset.hypernyms[0] if synset.hypernyms else synset.offset}"


def taxonomy_paths(by_offset: dict[str, Synset]) -> dict[str, tuple[str, ...]]:
    """For each synset, the offsets from its root down to it along first hypernyms.

    Sorted, the paths put the taxonomy in depth-first order: a synset after its hypernym, near its cousins.
    """
    paths: dict[str, tuple[str, ...]] = {}
    for offset in by_offset:
        chain: list[str] = []
        current: str | None = offset
        while current is not None and current not in paths and current not in chain:
            chain.append(current)
            synset = by_offset.get(current)
            current = synset.hypernyms[0] if synset and synset.hypernyms else None
        path = paths.get(current, ()) if current is not None else ()
        for link in reversed(chain):
            path = (*path, link)
            paths[link] = path
    return paths


def build_from_synsets(synsets: list[Synset], seed: int) -> Splits[Question]:
    """Questions on contexts of each split and part of speech, in depth-first order of the taxonomy."""
    splits: Splits[Question] = {name: [] for name in SPLITS}
    for pos in ("n", "v"):
        by_offset = {s.offset: s for s in synsets if s.pos == pos}  # offsets are per data file
        paths = taxonomy_paths(by_offset)
        chosen = sorted((s for s in by_offset.values() if eligible(s)), key=lambda s: paths[s.offset])
        entries: Splits[Entry] = {name: [] for name in SPLITS}
        for synset in chosen:
            entries[split_of(family(synset), seed)].append(make_entry(synset))
        for name in SPLITS:
            splits[name].extend(split_questions(entries[name], by_offset, seed))
    return remove_leaks(splits, lambda q: [*q.sentences, q.question])


def build(sources: Path, seed: int) -> Splits[Question]:
    return build_from_synsets([*read_synsets(sources, "n"), *read_synsets(sources, "v")], seed)


def build_answerable(sources: Path, seed: int) -> Splits[Question]:
    """The same questions less the unanswerable ones (SQuAD v1.1, where every question has an answer)."""
    return {
        split: [q for q in questions if q.answer is not None]
        for split, questions in build(sources, seed).items()
    }


def write(examples: list[Question], folder: Path, split: str) -> None:
    """SQuAD JSON, an article per run of titles: v2.0, or v1.1 when every question has an answer."""
    write_squad([q.example() for q in examples], folder / f"{split}.json", titles=[q.title for q in examples])


def summary(examples: list[Question]) -> str:
    unanswerable = sum(q.answer is None for q in examples)
    contexts = len({q.context for q in examples})
    return f"{contexts} contexts, {len(examples) - unanswerable} answerable, {unanswerable} unanswerable"
