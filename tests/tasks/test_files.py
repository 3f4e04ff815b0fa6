"""Task file readers on the sample files, their errors, and the writers' round trips."""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from denoise.errors import DenoiseError
from denoise.tasks.classification.data import (
    PAIR_COLUMN,
    ClassificationExample,
    check_labels,
    label_set,
    read_classification,
    write_classification_tsv,
)
from denoise.tasks.generation.data import TranslationExample, read_parallel, write_parallel
from denoise.tasks.qa.data import Answer, QAExample, read_squad, write_squad
from denoise.tasks.tagging.data import TaggingExample, read_conll, write_conll
from tests.paths import SAMPLES


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


# Classification


def test_tsv_keeps_quotes_as_text():
    examples = read_classification(SAMPLES / "sentiment.tsv", text_column="sentence")
    assert len(examples) == 4
    assert examples[0] == ClassificationExample(
        "a gripping , beautifully acted story about two brothers .", "positive"
    )
    assert examples[2].text == 'it\'s a "charming" little film that never overstays its welcome .'
    assert label_set(examples) == ["negative", "positive"]


def test_csv_unquotes_fields():
    examples = read_classification(SAMPLES / "sentiment.csv")
    assert [e.label for e in examples] == ["positive", "negative", "positive"]
    assert examples[0].text == "The service was quick, and the soup was excellent."
    assert examples[2].text == 'She said the staff were "wonderful", and they were.'


def test_jsonl_skips_blank_lines():
    examples = read_classification(SAMPLES / "sentiment.jsonl")
    assert [e.text for e in examples][1:] == [
        "The battery died after two days.",
        "Works exactly as described.",
    ]


def test_pair_tsv():
    examples = read_classification(
        SAMPLES / "entailment.tsv", text_column="premise", pair_column="hypothesis"
    )
    assert examples[1] == ClassificationExample(
        "Two children are running along the beach.", "contradiction", "The children are asleep indoors."
    )
    assert label_set(examples) == ["contradiction", "entailment", "neutral"]


def test_regression_labels_are_floats(tmp_path):
    path = write(tmp_path / "sts.tsv", "text\ttext_pair\tlabel\nA dog runs.\tA dog is running.\t4.75\n")
    examples = read_classification(path, pair_column=PAIR_COLUMN, regression=True)
    assert examples == [ClassificationExample("A dog runs.", 4.75, "A dog is running.")]


def test_jsonl_integer_labels_become_names(tmp_path):
    path = write(tmp_path / "ints.jsonl", '{"text": "Fine.", "label": 1}\n')
    assert read_classification(path)[0].label == "1"


@pytest.mark.parametrize(
    ("name", "text", "kwargs", "message"),
    [
        ("a.tsv", "sentence\tlabel\nGood.\tpositive\n", {}, r"no column 'text'.*\['sentence', 'label'\]"),
        (
            "a.csv",
            "text,label\nGood.,positive\n",
            {"pair_column": "hypothesis"},
            r"line 1.*no column 'hypothesis'",
        ),
        ("a.jsonl", '{"text": "Good."}\n', {}, r"a\.jsonl, line 1: no column 'label'.*\['text'\]"),
        ("a.tsv", "text\tlabel\nGood.\tpositive\nBad.\t\n", {}, r"line 3: column 'label' is empty"),
        ("a.tsv", "text\tlabel\nGood.\tpositive\n  \tnegative\n", {}, r"line 3: column 'text' is empty"),
        ("a.csv", "text,label\nGood.,positive\n,negative\n", {}, r"a\.csv, line 3: column 'text' is empty"),
        ("a.tsv", "text\tlabel\nGood.\tpositive\tx\n", {}, r"line 2: 3 fields where the header has 2"),
        (
            "a.jsonl",
            '{"text": "Good.", "label": "1"}\n{"text": oops}\n',
            {},
            r"line 2, column 10: not valid JSON",
        ),
        ("a.jsonl", '{"text": "Good.", "label": null}\n', {}, r"line 1: column 'label' holds null"),
        (
            "a.tsv",
            "text\tlabel\nGood.\thigh\n",
            {"regression": True},
            r"line 2: column 'label' holds 'high', expected a number",
        ),
        (
            "a.tsv",
            "text\tlabel\nGood.\tnan\n",
            {"regression": True},
            r"line 2: column 'label' holds 'nan', which is not a finite",
        ),
        ("a.txt", "text\tlabel\n", {}, r"unsupported file type '\.txt'"),
        (
            "a.jsonl",
            '{"text": "Good.", "label": "positive"}\n{"text": "Bad.", "label": ["negative"]}\n',
            {},
            r"a\.jsonl, line 2: column 'label' holds a list \(\[\"negative\"\]\), expected a class name",
        ),
        (
            "a.jsonl",
            '{"text": "Good.", "label": "positive"}\n\n{"text": 7, "label": "negative"}\n',
            {},
            r"a\.jsonl, line 3: column 'text' holds a number \(7\), expected a string",
        ),
        (
            "a.jsonl",
            '{"text": "Good.", "label": true}\n',
            {},
            r"line 1: column 'label' holds true, expected a class",
        ),
        (
            "a.jsonl",
            '{"text": "Good.", "label": 0.5}\n',
            {},
            r"line 1: column 'label' holds 0\.5.*regression=True",
        ),
        (
            "a.jsonl",
            '{"text": "Good.", "label": {"score": 1}}\n',
            {"regression": True},
            r"line 1: column 'label' holds an object \(\{\"score\": 1\}\), expected a number",
        ),
        ("a.jsonl", '["Good.", "positive"]\n', {}, r"a\.jsonl, line 1: expected a JSON object, found a list"),
        (
            "a.conll",
            "Good JJ\n",
            {},
            r"a\.conll: a \.conll file; classification reads a table.*task\.kind=tagging",
        ),
        (
            "a.json",
            '{"data": []}',
            {},
            r"a\.json: a \.json file; classification reads a table.*task\.kind=qa",
        ),
    ],
)
def test_classification_errors(tmp_path, name, text, kwargs, message):
    with pytest.raises(DenoiseError, match=message):
        read_classification(write(tmp_path / name, text), **kwargs)


@pytest.mark.parametrize(
    ("name", "text"), [("empty.tsv", ""), ("header.tsv", "text\tlabel\n"), ("e.jsonl", "\n")]
)
def test_classification_empty_split(tmp_path, name, text):
    with pytest.raises(DenoiseError, match=rf"no examples in .*{name}"):
        read_classification(write(tmp_path / name, text))


def test_not_utf8(tmp_path):
    path = tmp_path / "latin1.tsv"
    path.write_bytes("text\tlabel\ncaf\xe9\tpositive\n".encode("latin-1"))
    with pytest.raises(DenoiseError, match=r"latin1\.tsv: byte 14 is not UTF-8"):
        read_classification(path)


def test_check_labels_names_unknown_label():
    train = read_classification(SAMPLES / "sentiment.csv")
    validation = [*train, ClassificationExample("Meh.", "neutral")]
    check_labels(train, label_set(train), "train.csv")
    with pytest.raises(
        DenoiseError, match=r"dev\.csv: example 4 has label 'neutral'.*'negative', 'positive'"
    ):
        check_labels(validation, label_set(train), "dev.csv")


def test_label_set_refuses_regression():
    with pytest.raises(DenoiseError, match="regression"):
        label_set([ClassificationExample("A.", 1.5)])


# CoNLL


def test_conll_pos():
    examples = read_conll(SAMPLES / "pos.conll")
    assert examples == [
        TaggingExample(["The", "old", "ship", "sailed", "home", "."], ["DT", "JJ", "NN", "VBD", "NN", "."]),
        TaggingExample(["Birds", "sing", "at", "dawn", "."], ["NNS", "VBP", "IN", "NN", "."]),
    ]


def test_conll_ner_skips_docstart_and_picks_columns():
    examples = read_conll(SAMPLES / "ner.conll")
    assert len(examples) == 2
    assert examples[0].words[:2] == ("Maria", "Lopez")
    assert examples[0].tags == ("B-PER", "I-PER", "O", "O", "B-ORG", "I-ORG", "I-ORG", "O", "B-LOC", "O")
    chunks = read_conll(SAMPLES / "ner.conll", tag_column=2)
    assert chunks[1].tags == ("B-NP", "B-VP", "B-PP", "B-NP", "O")


def test_conll_missing_tag(tmp_path):
    path = write(tmp_path / "bad.conll", "The DT\ncat\nsat VBD\n")
    with pytest.raises(DenoiseError, match=r"bad\.conll, line 2: 'cat' has one column"):
        read_conll(path)


def test_conll_column_out_of_range(tmp_path):
    path = write(tmp_path / "short.conll", "The DT\n")
    with pytest.raises(DenoiseError, match=r"line 1: 'The DT' has 2 columns"):
        read_conll(path, tag_column=3)


def test_conll_empty(tmp_path):
    with pytest.raises(DenoiseError, match=r"no examples in .*empty\.conll"):
        read_conll(write(tmp_path / "empty.conll", "-DOCSTART- O\n\n"))


@pytest.mark.parametrize("sample", ["sentiment.tsv", "sentiment.csv", "sentiment.jsonl"])
def test_conll_refuses_a_table(sample):
    with pytest.raises(
        DenoiseError,
        match=rf"{sample}: a \.{sample.split('.')[1]} table; tagging reads CoNLL: one token and its tag per "
        r"line.* — for a classification table set task\.kind=classification",
    ):
        read_conll(SAMPLES / sample)


def test_conll_refuses_squad_json_and_parquet(tmp_path):
    with pytest.raises(
        DenoiseError, match=r"squad_v2\.json: a \.json file; tagging reads CoNLL.*task\.kind=qa"
    ):
        read_conll(SAMPLES / "squad_v2.json")
    pq.write_table(pa.table({"text": ["Good."], "label": ["positive"]}), tmp_path / "t.parquet")
    with pytest.raises(DenoiseError, match=r"t\.parquet: a \.parquet table; .*no task kind reads Parquet"):
        read_conll(tmp_path / "t.parquet")


def test_conll_named_tsv_is_told_to_rename(tmp_path):
    path = write(tmp_path / "ner.tsv", (SAMPLES / "ner.conll").read_text(encoding="utf-8"))
    with pytest.raises(DenoiseError, match=r"ner\.tsv: a \.tsv table;.*rename it to \.conll"):
        read_conll(path)


def test_conll_refuses_a_table_by_its_lines(tmp_path):
    path = write(tmp_path / "sentiment.txt", (SAMPLES / "sentiment.tsv").read_text(encoding="utf-8"))
    with pytest.raises(
        DenoiseError,
        match=r"sentiment\.txt, line 1: 'sentence\\tlabel' looks like the header of a tab-separated table "
        r"\(every line has 2 tab-separated fields.*task\.kind=classification",
    ):
        read_conll(path)


@pytest.mark.parametrize("sample", ["ner.conll", "pos.conll"])
def test_conll_with_tabs_is_not_taken_for_a_table(tmp_path, sample):
    lines = (SAMPLES / sample).read_text(encoding="utf-8").splitlines()
    tabbed = write(tmp_path / "tabbed.txt", "".join("\t".join(line.split()) + "\n" for line in lines))
    assert read_conll(tabbed) == read_conll(SAMPLES / sample)
    one_sentence = [line for line in lines if line.strip() and not line.startswith("-DOCSTART-")][:5]
    single = write(tmp_path / "single.bio", "".join("\t".join(line.split()) + "\n" for line in one_sentence))
    assert len(read_conll(single)) == 1


def test_compressed_task_file_is_named_as_such(tmp_path):
    path = tmp_path / "ner.conll.gz"
    path.write_bytes(gzip.compress((SAMPLES / "ner.conll").read_bytes()))
    with pytest.raises(DenoiseError, match=r"ner\.conll\.gz is gzip data, not text; decompress"):
        read_conll(path)


# SQuAD


def test_squad_v2():
    examples = read_squad(SAMPLES / "squad_v2.json")
    assert [e.id for e in examples] == ["q1", "q2", "q3", "q4"]
    assert examples[0].answers == (Answer("1852", 49),)
    assert [a.text for a in examples[1].answers] == ["20 miles", "20 miles away"]
    assert not examples[2].answerable and examples[2].answers == ()
    assert examples[3].context == "Keepers lived in a small cottage beside the tower."


def squad_file(tmp_path: Path, qa: str) -> Path:
    context = "Rivers flow to the sea."
    return write(
        tmp_path / "squad.json",
        f'{{"data": [{{"paragraphs": [{{"context": "{context}", "qas": [{qa}]}}]}}]}}',
    )


def test_squad_answer_off_its_offset(tmp_path):
    path = squad_file(
        tmp_path, '{"id": "r1", "question": "Where?", "answers": [{"text": "the sea", "answer_start": 12}]}'
    )
    with pytest.raises(
        DenoiseError, match=r"question 'r1': the answer 'the sea' is not in its context.*\(12\).*at offset 15"
    ):
        read_squad(path)


@pytest.mark.parametrize(
    ("qa", "message"),
    [
        ('{"id": "r2", "question": "Who?", "answers": []}', r"question 'r2': no answers.*is_impossible"),
        ('{"id": "r3", "answers": []}', r"question 'r3': no key 'question'"),
        (
            '{"id": "r4", "question": "Who?", "answers": [{"text": "", "answer_start": 0}]}',
            r"'r4': an answer is empty",
        ),
        (
            '{"id": "r5", "question": "Q?", "answers": []}, {"id": "r5", "question": "Q?", "is_impossible": true}',
            r"'r5'.*no answers",
        ),
    ],
)
def test_squad_errors(tmp_path, qa, message):
    with pytest.raises(DenoiseError, match=message):
        read_squad(squad_file(tmp_path, qa))


def test_squad_duplicate_id(tmp_path):
    qa = '{"id": "r6", "question": "Q?", "is_impossible": true}'
    with pytest.raises(DenoiseError, match=r"question id 'r6' appears twice"):
        read_squad(squad_file(tmp_path, f"{qa}, {qa}"))


def test_squad_no_questions(tmp_path):
    with pytest.raises(DenoiseError, match=r"no examples in .*squad\.json"):
        read_squad(squad_file(tmp_path, ""))


@pytest.mark.parametrize(
    ("sample", "message"),
    [
        ("sentiment.jsonl", r"a \.jsonl table; qa reads a SQuAD JSON file.*task\.kind=classification"),
        ("sentiment.tsv", r"a \.tsv table; qa reads a SQuAD JSON file.*task\.kind=classification"),
        ("ner.conll", r"a \.conll file; qa reads a SQuAD JSON file.*task\.kind=tagging"),
    ],
)
def test_squad_refuses_files_of_other_kinds(sample, message):
    with pytest.raises(DenoiseError, match=rf"{re.escape(sample)}: {message}"):
        read_squad(SAMPLES / sample)


def test_squad_json_lines_named_json(tmp_path):
    lines = write(tmp_path / "lines.json", '{"data": []}\n{"data": []}\n')
    with pytest.raises(
        DenoiseError, match=r"lines\.json, line 2, column 1: not valid JSON \(Extra data\).*JSON lines"
    ):
        read_squad(lines)


@pytest.mark.parametrize(
    ("paragraph", "message"),
    [
        ('{"context": 5, "qas": []}', r"paragraph 1: 'context' holds a number \(5\), expected a string"),
        ('{"context": "C.", "qas": {}}', r"paragraph 1: 'qas' holds an object \(\{\}\), expected a list"),
        (
            '{"context": "C.", "qas": [{"id": ["q"], "question": "Q?"}]}',
            r"'id' holds a list \(\[\"q\"\]\), expected a string or an integer",
        ),
        ('"C."', r"paragraph 1: expected a JSON object with 'context', found a string \(\"C\.\"\)"),
    ],
)
def test_squad_wrong_types(tmp_path, paragraph, message):
    path = write(tmp_path / "squad.json", f'{{"data": [{{"paragraphs": [{paragraph}]}}]}}')
    with pytest.raises(DenoiseError, match=message):
        read_squad(path)


def test_squad_bad_json(tmp_path):
    with pytest.raises(DenoiseError, match=r"bad\.json, line 2, column 2: not valid JSON"):
        read_squad(write(tmp_path / "bad.json", '{"data":\n ]'))


# Parallel text


def test_parallel():
    examples = read_parallel(SAMPLES / "parallel.en", SAMPLES / "parallel.es")
    assert examples[0] == TranslationExample("The cat sleeps on the sofa.", "El gato duerme en el sofá.")
    assert len(examples) == 3


def test_parallel_line_counts_differ(tmp_path):
    source = write(tmp_path / "a.en", "One.\nTwo.\nThree.\n")
    target = write(tmp_path / "a.es", "Uno.\nDos.\n")
    with pytest.raises(DenoiseError, match=r"a\.en has 3 lines but .*a\.es has 2"):
        read_parallel(source, target)


def test_parallel_empty_line(tmp_path):
    source = write(tmp_path / "b.en", "One.\nTwo.\n")
    target = write(tmp_path / "b.es", "Uno.\n \n")
    with pytest.raises(DenoiseError, match=r"b\.es, line 2: empty line"):
        read_parallel(source, target)


def test_parallel_empty_files(tmp_path):
    with pytest.raises(DenoiseError, match="no examples"):
        read_parallel(write(tmp_path / "c.en", ""), write(tmp_path / "c.es", ""))


# Writers


def test_classification_round_trip(tmp_path):
    singles = read_classification(SAMPLES / "sentiment.csv")
    write_classification_tsv(singles, tmp_path / "singles.tsv")
    assert read_classification(tmp_path / "singles.tsv") == singles

    pairs = [
        ClassificationExample("A dog runs.", 0.1 + 0.2, "A dog is running."),
        ClassificationExample("X.", 3.0, "Y."),
    ]
    write_classification_tsv(pairs, tmp_path / "pairs.tsv")
    assert read_classification(tmp_path / "pairs.tsv", pair_column=PAIR_COLUMN, regression=True) == pairs


def test_classification_writer_refuses_what_tsv_cannot_hold(tmp_path):
    with pytest.raises(DenoiseError, match=r"example 2: 'a\\tb' is empty or holds a line break or a tab"):
        write_classification_tsv(
            [ClassificationExample("ok", "x"), ClassificationExample("a\tb", "x")], tmp_path / "t.tsv"
        )
    mixed = [ClassificationExample("a", "x"), ClassificationExample("b", "x", "c")]
    with pytest.raises(DenoiseError, match="some examples have a text pair"):
        write_classification_tsv(mixed, tmp_path / "t.tsv")
    with pytest.raises(DenoiseError, match="no examples to write"):
        write_classification_tsv([], tmp_path / "t.tsv")
    assert not (tmp_path / "t.tsv").exists()


def test_classification_extra_columns_read_back_as_labels(tmp_path):
    examples = [ClassificationExample("Good.", "positive"), ClassificationExample("Bad.", "negative")]
    path = tmp_path / "scored.tsv"
    write_classification_tsv(examples, path, extra_columns={"score": [0.1 + 0.2, -3.0], "rater": ["a", "b"]})
    assert path.read_text(encoding="utf-8").splitlines()[:2] == [
        "text\tlabel\tscore\trater",
        "Good.\tpositive\t0.30000000000000004\ta",
    ]
    assert read_classification(path) == examples
    scores = read_classification(path, label_column="score", regression=True)
    assert [e.label for e in scores] == [0.1 + 0.2, -3.0] and [e.text for e in scores] == ["Good.", "Bad."]
    assert [e.label for e in read_classification(path, label_column="rater")] == ["a", "b"]
    pairs = [ClassificationExample("A.", "same", "B.")]
    write_classification_tsv(pairs, tmp_path / "pairs.tsv", extra_columns={"score": [1.5]})
    assert read_classification(tmp_path / "pairs.tsv", pair_column=PAIR_COLUMN) == pairs


@pytest.mark.parametrize(
    ("extra_columns", "message"),
    [
        ({"score": [1.0]}, r"the extra column 'score' has 1 values for 2 examples"),
        ({"label": [1.0, 2.0]}, r"the extra column 'label' is already in the header"),
        ({"a\tb": [1.0, 2.0]}, r"an extra column name: 'a\\tb' is empty or holds a line break or a tab"),
        ({"note": ["fine", "two\nlines"]}, r"example 2: 'two\\nlines' is empty or holds a line break"),
    ],
)
def test_classification_extra_columns_refused(tmp_path, extra_columns, message):
    examples = [ClassificationExample("Good.", "positive"), ClassificationExample("Bad.", "negative")]
    with pytest.raises(DenoiseError, match=message):
        write_classification_tsv(examples, tmp_path / "t.tsv", extra_columns=extra_columns)
    assert not (tmp_path / "t.tsv").exists()


def test_conll_round_trip(tmp_path):
    examples = read_conll(SAMPLES / "ner.conll")
    write_conll(examples, tmp_path / "out" / "ner.conll")
    assert read_conll(tmp_path / "out" / "ner.conll") == examples
    with pytest.raises(DenoiseError, match=r"sentence 1: 'New York' is empty or holds whitespace"):
        write_conll([TaggingExample(["New York"], ["B-LOC"])], tmp_path / "bad.conll")


def test_squad_round_trip(tmp_path):
    examples = read_squad(SAMPLES / "squad_v2.json")
    write_squad(examples, tmp_path / "squad.json")
    assert read_squad(tmp_path / "squad.json") == examples
    wrong = QAExample("w1", "Q?", "Some context.", (Answer("context", 0),))
    with pytest.raises(DenoiseError, match=r"'w1': the answer 'context' is not in its context"):
        write_squad([wrong], tmp_path / "wrong.json")


def test_squad_titles_name_the_articles(tmp_path):
    examples = read_squad(SAMPLES / "squad_v2.json")
    titles = ["Lighthouses", "Lighthouses", "Lighthouses", "Keepers"]
    path = tmp_path / "titled.json"
    write_squad(examples, path, titles=titles)
    document = json.loads(path.read_text(encoding="utf-8"))
    assert [article["title"] for article in document["data"]] == ["Lighthouses", "Keepers"]
    assert read_squad(path) == examples
    write_squad(examples, tmp_path / "untitled.json")
    assert [a["title"] for a in json.loads((tmp_path / "untitled.json").read_text())["data"]] == ["untitled"]
    with pytest.raises(DenoiseError, match=r"1 titles for 4 questions; give one title per question"):
        write_squad(examples, tmp_path / "bad.json", titles=["One"])


def test_parallel_round_trip(tmp_path):
    examples = read_parallel(SAMPLES / "parallel.en", SAMPLES / "parallel.es")
    write_parallel(examples, tmp_path / "p.en", tmp_path / "p.es")
    assert read_parallel(tmp_path / "p.en", tmp_path / "p.es") == examples
    with pytest.raises(DenoiseError, match=r"example 1: 'two\\nlines'"):
        write_parallel([TranslationExample("two\nlines", "dos")], tmp_path / "q.en", tmp_path / "q.es")
