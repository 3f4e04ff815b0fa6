"""The baselines that need no pre-training: word counts, naive Bayes, ridge regression and the most frequent
tag on cases worked out by hand, each kind's baseline on the sample task files, and ``denoise baseline``."""

from __future__ import annotations

import json
import math
import random
import warnings
from collections import Counter

import pytest

from denoise.cli import main
from denoise.errors import DenoiseError
from denoise.finetune.config import load_finetune_config
from denoise.tasks.bag_of_words import NaiveBayes, RidgeRegression, word_counts, words
from denoise.tasks.classification.data import ClassificationExample
from denoise.tasks.kinds import kind_named
from denoise.tasks.tagging.data import TaggingExample
from denoise.tasks.tagging.kind import MostFrequentTag
from tests.paths import SAMPLES

# -- word counts ---------------------------------------------------------------------------------------------


def test_words_are_lowercased_word_tokens():
    assert words("It's a GREAT film, isn't it?  5 stars") == [
        "it's",
        "a",
        "great",
        "film",
        "isn't",
        "it",
        "5",
        "stars",
    ]
    assert words("... !") == []


def test_a_pair_marks_each_side():
    assert word_counts("Dogs bark", "dogs sleep") == Counter(
        {"a:dogs": 1, "a:bark": 1, "b:dogs": 1, "b:sleep": 1}
    )
    assert word_counts("the the cat") == Counter({"the": 2, "cat": 1})


# -- naive Bayes ---------------------------------------------------------------------------------------------


def test_naive_bayes_posterior_of_two_documents():
    # Laplace, vocabulary {good, bad}: P(good|pos) = 3/4, P(bad|pos) = 1/4, P(good|neg) = 1/3,
    # P(bad|neg) = 2/3; "good bad": pos 1/2 * 3/4 * 1/4 = 3/32, neg 1/2 * 1/3 * 2/3 = 1/9, so P(pos) = 27/59.
    model = NaiveBayes([word_counts("good good"), word_counts("bad")], ["pos", "neg"])
    posterior = model.posterior(word_counts("good bad unseen"))
    assert posterior["pos"] == pytest.approx(27 / 59, rel=1e-12)
    assert posterior["neg"] == pytest.approx(32 / 59, rel=1e-12)
    assert model.log_joint(word_counts("good bad")) == pytest.approx([math.log(1 / 9), math.log(3 / 32)])


def test_naive_bayes_separates_a_separable_set():
    texts = {
        "sport": ["the team won the match", "a goal in the final minute", "the match ended in a draw"],
        "food": ["the soup was hot", "a sweet cake with cream", "fresh bread and soup"],
        "weather": ["rain and wind all day", "a cold wind from the north", "sun after the rain"],
    }
    documents = [word_counts(t) for label in texts for t in texts[label]]
    labels = [label for label in texts for _ in texts[label]]
    model = NaiveBayes(documents, labels)
    assert model.predict(documents) == labels
    assert model.predict([word_counts("goal and match"), word_counts("cold rain"), word_counts("cake")]) == [
        "sport",
        "weather",
        "food",
    ]
    assert model.predict([word_counts("nothing known here")]) == ["food"]  # equal priors: the first class


def test_naive_bayes_refuses_what_it_cannot_fit():
    with pytest.raises(DenoiseError, match="no training documents"):
        NaiveBayes([], [])
    with pytest.raises(DenoiseError, match="2 documents but 1 labels"):
        NaiveBayes([Counter(a=1), Counter(b=1)], ["x"])


# -- ridge regression ----------------------------------------------------------------------------------------


def test_ridge_regression_by_hand():
    # Counts x = [1, 0] of "w", targets [3, 1], penalty 1 on w only: [[2, 1], [1, 2]] (w, b) = [3, 4], so
    # w = 2/3, b = 5/3.
    model = RidgeRegression([word_counts("w"), word_counts("")], [3.0, 1.0], penalty=1.0)
    assert model.weights == {"w": pytest.approx(2 / 3)} and model.intercept == pytest.approx(5 / 3)
    assert model.predict([word_counts("w w"), word_counts("")]) == pytest.approx([3.0, 5 / 3])


def test_ridge_regression_recovers_a_linear_rule():
    rng = random.Random(0)
    vocabulary = ["good", "bad", "film", "plot", "long"]
    documents = [Counter(rng.choices(vocabulary, k=rng.randint(1, 8))) for _ in range(200)]
    targets = [0.5 + 2 * d["good"] - 1.5 * d["bad"] for d in documents]
    model = RidgeRegression(documents, targets, penalty=1e-6)
    assert model.predict([Counter(good=2, plot=1)]) == pytest.approx([4.5], abs=1e-4)


def test_ridge_regression_chooses_its_penalty_on_held_out_documents():
    rng = random.Random(1)
    vocabulary = [f"w{i}" for i in range(30)]
    documents = [Counter(rng.choices(vocabulary, k=rng.randint(1, 8))) for _ in range(300)]
    exact = RidgeRegression(documents, [2.0 * d["w0"] - d["w1"] for d in documents])
    noise = RidgeRegression(documents, [rng.gauss(0, 1) for _ in documents])
    assert (exact.penalty, noise.penalty) == (min(RidgeRegression.PENALTIES), max(RidgeRegression.PENALTIES))
    few = RidgeRegression(documents[:20], [rng.gauss(0, 1) for _ in range(20)])
    assert few.penalty == 1.0  # 4 held out: too few to choose on


def test_ridge_regression_keeps_the_words_of_most_documents():
    documents = [word_counts("b a"), word_counts("a c"), word_counts("c")]
    assert list(RidgeRegression(documents, [1.0, 2.0, 3.0], max_features=2).index) == ["a", "c"]


def test_ridge_regression_without_words_predicts_the_mean():
    model = RidgeRegression([word_counts("!"), word_counts("?")], [1.0, 2.0])
    assert model.predict([word_counts("new words")]) == pytest.approx([1.5])


# -- the most frequent tag -----------------------------------------------------------------------------------

TRAIN = [
    TaggingExample(["Rain", "fell", "in", "Paris"], ["O", "O", "O", "B-LOC"]),
    TaggingExample(["Paris", "Hilton", "sang"], ["B-PER", "I-PER", "O"]),
    TaggingExample(["paris", "is", "big", "Paris"], ["B-LOC", "O", "O", "B-LOC"]),
]


def test_most_frequent_tag_then_lowercased_then_overall():
    tagger = MostFrequentTag(TRAIN)
    assert tagger.tag("Paris") == "B-LOC"  # B-LOC twice, B-PER once
    assert tagger.tag("PARIS") == "B-LOC"  # unseen as written; "paris" is B-LOC 3 times, B-PER once
    assert tagger.tag("hilton") == "I-PER"
    assert tagger.tag("Tokyo") == "O"  # never seen: the most frequent tag overall


def test_ties_go_to_the_more_frequent_tag_then_the_first_name():
    tagger = MostFrequentTag([TaggingExample(["x", "x", "y", "y", "z", "z"], ["A", "B", "B", "B", "C", "A"])])
    assert tagger.tag("x") == "B"  # A 1, B 1: B is more frequent overall (3 to 2)
    assert tagger.tag("z") == "A"  # A 1, C 1: A is more frequent overall (2 to 1)
    assert MostFrequentTag([TaggingExample(["q", "q"], ["N", "M"])]).tag("q") == "M"  # all tied: sorted order


def test_tagging_baseline_reports_the_kinds_metrics():
    kind = kind_named("tagging")(None)
    test = [TaggingExample(["Paris", "Hilton", "sang", "in", "Tokyo"], ["B-PER", "I-PER", "O", "O", "B-LOC"])]
    name, metrics = kind.baseline(TRAIN, test)
    # Predicted B-LOC I-PER O O O: 3 of 5 words right; entities LOC(0-1) and PER(1-2) against PER(0-2) and
    # LOC(4-5): none right.
    assert name == "most frequent tag of each word"
    assert metrics == {"accuracy": 0.6, "entity_precision": 0.0, "entity_recall": 0.0, "entity_f1": 0.0}
    right = [TaggingExample(["Rain", "in", "Paris"], ["O", "O", "B-LOC"])]
    assert kind.baseline(TRAIN, right)[1]["entity_f1"] == 1.0


# -- each kind on the sample files ---------------------------------------------------------------------------


def sample_config(kind: str, *settings: str):
    """The kind's sample recipe (tests/fixtures/task_samples/kinds/) with its files' paths made absolute."""
    recipe = SAMPLES / "kinds" / f"{kind}.yaml"
    config = load_finetune_config(recipe, list(settings))
    paths = [
        f"task.{split}={(recipe.parent / getattr(config.task, split)).resolve()}"
        for split in ("train", "dev", "test")
        if getattr(config.task, split)
    ]
    return load_finetune_config(recipe, [*paths, *settings])


def baseline_of(config):
    kind = kind_named(config.task.kind)(config)
    train = kind.read("train")
    return kind, kind.baseline(train, kind.read("test"))


@pytest.mark.parametrize(
    "kind, name, expected",
    [
        ("classification", "naive Bayes on word counts", {"accuracy": 1.0, "macro_f1": 1.0}),
        (
            "tagging",
            "most frequent tag of each word",
            {"accuracy": 1.0, "entity_precision": 1.0, "entity_recall": 1.0, "entity_f1": 1.0},
        ),
    ],
)
def test_a_baseline_fits_its_own_training_split(kind, name, expected):
    config = sample_config(kind)
    task, (found, metrics) = baseline_of(config)
    assert found == name and metrics == expected
    assert task.headline(metrics)[1] == 100.0


def test_classification_baseline_on_sentence_pairs():
    entailment = str(SAMPLES / "entailment.tsv")
    config = sample_config(
        "classification",
        f"task.train={entailment}",
        f"task.test={entailment}",
        "task.text_column=premise",
        "task.pair_column=hypothesis",
    )
    _, (_, metrics) = baseline_of(config)
    assert set(metrics) == {"accuracy", "macro_f1"} and metrics["accuracy"] == 1.0


def test_regression_baseline_on_the_sample_scores():
    kind, (name, metrics) = baseline_of(sample_config("regression"))
    assert name.startswith("ridge regression on word counts (penalty ")
    assert set(metrics) == {"pearson", "spearman", "mse"}
    assert metrics["pearson"] > 0.9 and metrics["spearman"] > 0.8
    assert kind.headline(metrics) == ("pearson", metrics["pearson"])


def test_a_constant_prediction_has_correlation_zero():
    kind = kind_named("regression")(None)
    train = [ClassificationExample("!", 1.0), ClassificationExample("?", 3.0)]  # no words: the mean, 2
    test = [ClassificationExample("new", 1.0), ClassificationExample("words", 4.0)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no division by a zero spread
        _, metrics = kind.baseline(train, test)
    assert metrics == {"pearson": 0.0, "spearman": 0.0, "mse": pytest.approx((1 + 4) / 2)}


def test_generation_baseline_copies_the_source_and_qa_has_none():
    _, (name, metrics) = baseline_of(sample_config("generation"))
    assert name == "copy of the source" and set(metrics) == {"bleu", "chrf"}
    assert 0 < metrics["chrf"] < 50
    assert kind_named("qa")(None).baseline([], []) is None


# -- denoise baseline ----------------------------------------------------------------------------------------


def test_the_command_prints_dev_and_test_metrics(capsys):
    scores = str(SAMPLES / "scores.tsv")
    main(
        [
            "baseline",
            str(SAMPLES / "kinds" / "regression.yaml"),
            f"task.train={scores}",
            f"task.dev={scores}",
            f"task.test={scores}",
        ]
    )
    printed = json.loads(capsys.readouterr().out)
    assert printed["baseline"] == "ridge regression on word counts (penalty 1)"  # too few to choose on
    assert printed["kind"] == "regression"
    assert printed["dev"] == printed["test"] and set(printed["test"]) == {"pearson", "spearman", "mse"}


def test_the_command_refuses_a_kind_without_a_baseline(capsys):
    squad = str(SAMPLES / "squad_v2.json")
    with pytest.raises(SystemExit) as exit_info:
        main(["baseline", str(SAMPLES / "kinds" / "qa.yaml"), f"task.train={squad}", f"task.test={squad}"])
    assert exit_info.value.code == 2
    assert "task kind 'qa' has no baseline; the kinds with one: classification" in capsys.readouterr().err
