"""Task metrics on cases small enough to score by hand."""

from __future__ import annotations

import pytest

from denoise.errors import DenoiseError
from denoise.tasks.classification.metrics import accuracy, macro_f1
from denoise.tasks.generation.metrics import bleu_chrf
from denoise.tasks.qa.data import Answer, QAExample
from denoise.tasks.qa.metrics import exact_match, normalize_answer, squad_scores, token_f1
from denoise.tasks.tagging.metrics import entities, entity_f1

# Classification


def test_accuracy_and_macro_f1():
    gold = ["a", "a", "b", "c"]
    predicted = ["a", "b", "b", "b"]
    assert accuracy(gold, predicted) == 0.5
    # a: tp 1, gold 2, predicted 1 -> 2/3; b: tp 1, gold 1, predicted 3 -> 1/2; c: 0.
    assert macro_f1(gold, predicted) == pytest.approx((2 / 3 + 1 / 2 + 0) / 3)


def test_macro_f1_counts_labels_only_predicted():
    assert macro_f1(["a", "a"], ["a", "z"]) == pytest.approx((2 / 3 + 0) / 2)


def test_classification_metrics_refuse_mismatched_lengths():
    with pytest.raises(DenoiseError, match="2 gold labels but 1 predicted"):
        accuracy(["a", "b"], ["a"])
    with pytest.raises(DenoiseError, match="no labels to score"):
        macro_f1([], [])


# Tagging


def test_entities_bio():
    tags = ["B-PER", "I-PER", "O", "B-LOC", "B-LOC", "I-LOC", "O", "B-ORG"]
    assert entities(tags) == [("PER", 0, 2), ("LOC", 3, 4), ("LOC", 4, 6), ("ORG", 7, 8)]


def test_entities_iob1_and_ill_formed():
    # An I- tag that continues nothing (or another type) starts an entity.
    assert entities(["I-PER", "I-PER", "I-LOC", "O", "I-MISC"]) == [
        ("PER", 0, 2),
        ("LOC", 2, 3),
        ("MISC", 4, 5),
    ]
    assert entities(["B-ORG", "I-LOC"]) == [("ORG", 0, 1), ("LOC", 1, 2)]
    assert entities([]) == []


def test_entities_refuse_other_schemes():
    with pytest.raises(DenoiseError, match="tag 'S-PER' is not a BIO tag"):
        entities(["S-PER"])


def test_entity_f1_boundary_and_type_errors():
    gold = [["B-PER", "I-PER", "O", "B-LOC"], ["B-ORG", "I-ORG", "O"]]
    predicted = [
        ["B-PER", "O", "O", "B-LOC"],  # PER cut short (boundary error), LOC right
        ["B-MISC", "I-MISC", "O"],  # right span, wrong type
    ]
    scores = entity_f1(gold, predicted)
    # 3 gold entities, 3 predicted, 1 correct.
    assert scores["precision"] == pytest.approx(1 / 3)
    assert scores["recall"] == pytest.approx(1 / 3)
    assert scores["f1"] == pytest.approx(1 / 3)


def test_entity_f1_extra_prediction():
    scores = entity_f1([["B-PER", "O"]], [["B-PER", "B-LOC"]])
    assert scores == pytest.approx({"precision": 0.5, "recall": 1.0, "f1": 2 / 3})
    assert entity_f1([["O"]], [["O"]]) == {"precision": 0.0, "recall": 0.0, "f1": 0.0}


def test_entity_f1_refuses_ragged_sentences():
    with pytest.raises(DenoiseError, match="sentence 2: 2 gold tags but 1 predicted"):
        entity_f1([["O"], ["O", "O"]], [["O"], ["O"]])


# SQuAD


def test_normalize_answer():
    assert normalize_answer("The  Cat!") == "cat"
    assert normalize_answer("An apple, a day") == "apple day"
    assert normalize_answer("theater") == "theater"  # articles only as whole words
    assert exact_match("The  Cat!", ["cat"]) == 1.0


def test_exact_match_and_token_f1_take_the_best_gold():
    golds = ["the red house", "a house by the river"]
    assert exact_match("Red house.", golds) == 1.0
    assert exact_match("house", golds) == 0.0
    # "house" against "red house": precision 1, recall 1/2 -> 2/3; against "house by river": 1/3 recall -> 1/2.
    assert token_f1("house", golds) == pytest.approx(2 / 3)
    assert token_f1("green door", golds) == 0.0


def test_unanswerable_scores_only_an_empty_prediction():
    assert exact_match("", []) == 1.0
    assert token_f1("", []) == 1.0
    assert exact_match("the", []) == 1.0  # normalizes to nothing
    assert exact_match("a cat", []) == 0.0
    assert token_f1("a cat", []) == 0.0
    assert token_f1("", ["cat"]) == 0.0


def test_squad_scores_with_breakdown():
    context = "The cat sat on the mat in the kitchen."
    examples = [
        QAExample("1", "Who sat?", context, (Answer("The cat", 0),)),
        QAExample("2", "Where?", context, (Answer("the mat", 15), Answer("on the mat in the kitchen", 12))),
        QAExample("3", "Why?", context, ()),
    ]
    predictions = {"1": "cat", "2": "in the kitchen", "3": "", "other": "ignored"}
    scores = squad_scores(predictions, examples, version="2.0")
    # 2: best F1 is against "on mat in kitchen": shared 2 of predicted 2, gold 4 -> 2/3.
    assert scores["exact_match"] == pytest.approx(200 / 3)
    assert scores["f1"] == pytest.approx(100 * (1 + 2 / 3 + 1) / 3)
    assert scores["total"] == 3
    assert scores["has_answer_exact_match"] == pytest.approx(50.0)
    assert scores["has_answer_f1"] == pytest.approx(100 * (1 + 2 / 3) / 2)
    assert scores["no_answer_exact_match"] == scores["no_answer_f1"] == 100.0
    assert scores["no_answer_total"] == 1


def test_squad_scores_without_unanswerable_have_no_breakdown():
    examples = [QAExample("1", "Who?", "Ann ran.", (Answer("Ann", 0),))]
    scores = squad_scores({"1": "Ann"}, examples, version="1.1")
    assert scores == {"exact_match": 100.0, "f1": 100.0, "total": 1}


def test_squad_scores_need_every_prediction():
    examples = [
        QAExample("1", "Who?", "Ann ran.", (Answer("Ann", 0),)),
        QAExample("q7", "Why?", "Ann ran.", ()),
    ]
    with pytest.raises(DenoiseError, match="no prediction for 1 of 2 questions, the first 'q7'"):
        squad_scores({"1": "Ann"}, examples, version="2.0")


# Translation


def test_bleu_chrf():
    perfect = bleu_chrf(["the cat sat on the mat"], ["the cat sat on the mat"])
    assert perfect["bleu"] == pytest.approx(100.0)
    assert perfect["chrf"] == pytest.approx(100.0)
    partial = bleu_chrf(["the cat sat on a mat"], ["the cat sat on the mat"])
    assert 0 < partial["bleu"] < 100 and 0 < partial["chrf"] < 100
    with pytest.raises(DenoiseError, match="1 gold sentences but 2 predicted"):
        bleu_chrf(["a", "b"], ["a"])


def ann_ran_home() -> list[QAExample]:
    """Two answerable questions and an unanswerable one on one context."""
    context = "Ann ran home."
    return [
        QAExample("a", "Who?", context, (Answer("Ann", 0),)),
        QAExample("b", "Where?", context, (Answer("home", 8),)),
        QAExample("c", "Why?", context, ()),
    ]


def test_the_no_answer_threshold_maximises_dev_f1():
    from denoise.tasks.qa.spans import best_null_threshold

    examples = ann_ran_home()
    # (n-best, no-answer score): differences null - best are 1.0, 2.0 and 3.0
    ranked = [([("Ann", 1.0)], 2.0), ([("home", 1.0)], 3.0), ([("ran", 1.0)], 4.0)]
    # answering a and b (threshold 2.0) and staying silent on c gives F1 3/3
    assert best_null_threshold(ranked, examples) == 2.0
    # with a wrong best span for b, answering only a is best
    ranked[1] = ([("ran", 1.0)], 3.0)
    assert best_null_threshold(ranked, examples) == 1.0
    # when every best span is wrong, a threshold below all differences keeps every question silent
    wrong = [([("ran", 1.0)], 2.0), ([("Ann", 1.0)], 3.0), ([("home", 1.0)], 4.0)]
    assert best_null_threshold(wrong, examples) < 1.0
    # tied differences are answered together or not at all: answering a right and c wrongly gains no more
    # than staying silent on both
    tied = [([("Ann", 1.0)], 3.0), ([("ran", 1.0)], 3.0)]
    assert best_null_threshold(tied, [examples[0], examples[2]]) < 2.0
    # and answering both tied a and b (b wrongly) beats silence
    tied = [([("Ann", 1.0)], 3.0), ([("ran", 1.0)], 3.0), ([("ran", 1.0)], 4.0)]
    assert best_null_threshold(tied, examples) == 2.0


def test_ranking_auc_counts_pairs_and_halves_ties():
    from itertools import product

    from denoise.tasks.qa.metrics import ranking_auc

    assert ranking_auc([3.0, 4.0], [1.0, 2.0]) == 1.0
    assert ranking_auc([1.0, 2.0], [3.0, 4.0]) == 0.0
    assert ranking_auc([1.0, 1.0], [1.0]) == 0.5
    positives, negatives = [0.5, 2.0, 2.0, -1.0, 3.0], [2.0, 0.5, 0.1, 2.0]
    pairs = [(p > n) + 0.5 * (p == n) for p, n in product(positives, negatives)]
    assert ranking_auc(positives, negatives) == pytest.approx(sum(pairs) / len(pairs))
    with pytest.raises(DenoiseError, match="0 positives and 2 negatives"):
        ranking_auc([], [1.0, 2.0])


def test_no_answer_diagnostics_separate_span_finding_from_the_no_answer_decision():
    from denoise.tasks.qa.spans import no_answer_diagnostics

    examples = ann_ran_home()
    # best spans right for a, wrong for b; margins best - null: a 2.0, b -1.0, c 0.0
    ranked = [([("Ann", 3.0)], 1.0), ([("ran", 1.0)], 2.0), ([("home", 1.0)], 1.0)]
    diagnostics = no_answer_diagnostics(ranked, examples)
    assert diagnostics["has_answer_best_span_f1"] == pytest.approx(50.0)
    assert diagnostics["no_answer_auc"] == pytest.approx(0.5)  # a above c, b below it
    assert no_answer_diagnostics(ranked[:2], examples[:2]) == {}  # every question answerable
