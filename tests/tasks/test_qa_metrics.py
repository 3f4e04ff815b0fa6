"""SQuAD scores equal to the official v1.1 and v2.0 evaluation scripts': the reference functions below
restate each script's formulas independently, and thousands of random answers (articles, punctuation,
empty strings, several golds) must score exactly alike."""

from __future__ import annotations

import random
import re
import string
from collections import Counter

import pytest

from denoise.errors import DenoiseError
from denoise.tasks.qa.data import Answer, QAExample
from denoise.tasks.qa.kind import SpanQA
from denoise.tasks.qa.metrics import exact_match, squad_scores, token_f1

# -- the official formulas, restated ------------------------------------------------------------------------


def reference_normalize(text: str) -> str:
    """Lowercase; strip ASCII punctuation; blank the whole words a, an, the; single spaces."""
    lowered = text.lower()
    unpunctuated = "".join(ch for ch in lowered if ch not in set(string.punctuation))
    no_articles = re.sub(r"\b(a|an|the)\b", " ", unpunctuated)
    return " ".join(no_articles.split())


def reference_overlap_f1(predicted: list[str], gold: list[str]) -> float:
    same = sum((Counter(predicted) & Counter(gold)).values())
    if same == 0:
        return 0
    precision = 1.0 * same / len(predicted)
    recall = 1.0 * same / len(gold)
    return (2 * precision * recall) / (precision + recall)


def v1_question(prediction: str, golds: list[str]) -> tuple[float, float]:
    """v1.1: the best exact match and F1 over every gold answer; no shared token gives F1 0."""
    exact = max(reference_normalize(prediction) == reference_normalize(g) for g in golds)
    f1 = max(
        reference_overlap_f1(reference_normalize(prediction).split(), reference_normalize(g).split())
        for g in golds
    )
    return exact, f1


def v2_tokens(text: str) -> list[str]:
    return reference_normalize(text).split() if text else []


def v2_question(prediction: str, golds: list[str]) -> tuple[float, float]:
    """v2.0: golds that normalize to nothing are dropped (none left: the empty answer only); an F1 where
    either side has no tokens is whether both have none."""
    kept = [g for g in golds if reference_normalize(g)] or [""]
    exact = max(int(reference_normalize(g) == reference_normalize(prediction)) for g in kept)
    f1s = []
    for gold in kept:
        gold_tokens, predicted_tokens = v2_tokens(gold), v2_tokens(prediction)
        if not gold_tokens or not predicted_tokens:
            f1s.append(int(gold_tokens == predicted_tokens))
        else:
            f1s.append(reference_overlap_f1(predicted_tokens, gold_tokens))
    return exact, max(f1s)


def reference_scores(predictions: dict, examples: list[QAExample], version: str) -> dict:
    """The scripts' totals: 100 times the sum over questions over their number, with the v2.0 breakdown."""
    question = v1_question if version == "1.1" else v2_question
    rows = {e.id: question(predictions[e.id], [a.text for a in e.answers]) for e in examples}

    def totals(ids: list[str]) -> dict:
        return {
            "exact_match": 100.0 * sum(rows[i][0] for i in ids) / len(ids),
            "f1": 100.0 * sum(rows[i][1] for i in ids) / len(ids),
            "total": len(ids),
        }

    scores = totals([e.id for e in examples])
    if version == "2.0" and any(not e.answers for e in examples):
        for prefix, answerable in (("has_answer", True), ("no_answer", False)):
            ids = [e.id for e in examples if bool(e.answers) == answerable]
            if ids:
                scores.update({f"{prefix}_{k}": v for k, v in totals(ids).items()})
    return scores


# -- random answers -----------------------------------------------------------------------------------------

WORDS = ["cat", "Cat", "house", "red", "river", "theater", "anna", "1852", "mrs"]
ARTICLES = ["the", "The", "a", "A", "an", "AN"]
PUNCTUATION = [".", ",", "!", "'s", "-", "(", ")", "\u201c"]


def random_answer(rng: random.Random) -> str:
    """0 to 4 pieces (mostly words, some articles and punctuation) joined by spaces or glued together."""
    text = ""
    for _ in range(rng.randint(0, 4)):
        piece = rng.choice(rng.choices([WORDS, ARTICLES, PUNCTUATION], weights=[6, 2, 2])[0])
        text += rng.choice([" ", " ", "", "  ", "\t"]) + piece if text else piece
    return text


def random_case(rng: random.Random) -> tuple[str, list[str]]:
    golds = [random_answer(rng) for _ in range(rng.randint(1, 3))]
    prediction = rng.choices([random_answer(rng), rng.choice(golds), ""], weights=[5, 3, 2])[0]
    return prediction, golds


@pytest.mark.parametrize("version, reference", [("1.1", v1_question), ("2.0", v2_question)])
def test_each_question_scores_as_the_official_script(version, reference):
    rng = random.Random(7)
    for _ in range(4000):
        prediction, golds = random_case(rng)
        exact, f1 = reference(prediction, golds)
        assert exact_match(prediction, golds, version) == exact, (prediction, golds)
        assert token_f1(prediction, golds, version) == f1, (prediction, golds)


@pytest.mark.parametrize("version", ["1.1", "2.0"])
def test_totals_equal_the_official_scripts(version):
    rng = random.Random(11)
    for trial in range(40):
        examples, predictions = [], {}
        for number in range(rng.randint(1, 60)):
            prediction, golds = random_case(rng)
            unanswerable = version == "2.0" and rng.random() < 0.3
            answers = () if unanswerable else tuple(Answer(g, 0) for g in golds)
            examples.append(QAExample(f"{trial}-{number}", "?", "context", answers))
            predictions[f"{trial}-{number}"] = prediction
        assert squad_scores(predictions, examples, version) == reference_scores(
            predictions, examples, version
        )


# -- the cases where the versions part ----------------------------------------------------------------------


@pytest.mark.parametrize("gold", ["the", ".", "The  .", "a, an!"])
def test_an_empty_prediction_against_a_gold_that_normalizes_to_nothing(gold):
    assert (exact_match("", [gold], "1.1"), token_f1("", [gold], "1.1")) == (1.0, 0.0)
    assert (exact_match("", [gold], "2.0"), token_f1("", [gold], "2.0")) == (
        1.0,
        1.0,
    )  # scored as unanswerable
    assert (exact_match("the", [gold], "1.1"), token_f1("the", [gold], "1.1")) == (1.0, 0.0)
    assert (exact_match("cat", [gold], "2.0"), token_f1("cat", [gold], "2.0")) == (0.0, 0.0)


def test_v2_drops_a_gold_that_normalizes_to_nothing_beside_a_real_one():
    golds = ["the", "cat"]
    assert (exact_match("", golds, "1.1"), token_f1("", golds, "1.1")) == (1.0, 0.0)
    assert (exact_match("", golds, "2.0"), token_f1("", golds, "2.0")) == (0.0, 0.0)
    assert (exact_match("a cat", golds, "1.1"), token_f1("a cat", golds, "2.0")) == (1.0, 1.0)


def test_an_empty_gold_string():
    assert (exact_match("", [""], "1.1"), token_f1("", [""], "1.1")) == (1.0, 0.0)
    assert (exact_match("", [""], "2.0"), token_f1("", [""], "2.0")) == (1.0, 1.0)


def test_v1_cannot_score_an_unanswerable_question():
    assert (exact_match("", [], "2.0"), token_f1("", [], "2.0")) == (1.0, 1.0)
    with pytest.raises(DenoiseError, match="without answers cannot be scored the SQuAD v1.1 way"):
        token_f1("", [], "1.1")


def test_an_unknown_version_is_refused():
    with pytest.raises(DenoiseError, match="SQuAD version '3' is not one of 1.1, 2.0"):
        squad_scores({"1": ""}, [QAExample("1", "?", "c", ())], "3")


def test_the_kind_scores_v2_only_where_the_task_has_unanswerable_questions():
    answered = QAExample("1", "Who?", "Ann ran.", (Answer("Ann", 0),))
    silent = QAExample("2", "Why?", "Ann ran.", ())
    kind = SpanQA(None)
    kind.fit([answered])
    assert kind.squad_version([answered]) == "1.1"
    assert kind.squad_version([answered, silent]) == "2.0"  # the scored split has one
    kind.fit([answered, silent])
    assert kind.squad_version([answered]) == "2.0"  # the training split has one
