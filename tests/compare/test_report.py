"""The report's parts on hand-made results: differences and their words, the Pareto front, the curve table."""

import random

from denoise.compare.differences import task_differences
from denoise.compare.grid import Entry
from denoise.compare.plots import pareto_front
from denoise.compare.report import curve_section, differences_section, markdown_table
from denoise.tasks.example_scores import ExampleScores


def entry(cell, init, seed, value, family="bert", task="sentiment", fraction=1.0, flops=1e12):
    corruption = {"pre-trained": cell, "scratch": "-", "baseline": "-"}[init]
    if init != "pre-trained":
        fraction = flops = None
    return Entry(cell, family, corruption, init, task, "test", "accuracy", seed, value, fraction, flops)


def grid_entries():
    """A cell clearly ahead of scratch on every seed, another level with it, and a bag-of-words baseline."""
    rows = []
    for seed, (good, level, scratch) in enumerate([(80, 70, 71), (82, 72, 70), (81, 69, 70)]):
        rows += [
            entry("good", "pre-trained", seed, good),
            entry("level", "pre-trained", seed, level),
            entry("bert-scratch", "scratch", seed, scratch),
        ]
    return [*rows, entry("naive Bayes on word counts", "baseline", 0, 75.0)]


def test_seed_differences_name_the_best_and_what_beats_scratch():
    (found,) = task_differences(grid_entries())
    assert found.best == "good" and found.resampled == "seeds"
    assert found.against_scratch["good"].excludes_zero and found.against_scratch["good"].mean > 0
    assert not found.against_scratch["level"].excludes_zero
    assert found.against_best["level"].excludes_zero  # behind good on every seed
    section = differences_section(grid_entries())
    assert "Better than their family trained from scratch: good." in section
    assert "Not distinguishable from their family trained from scratch: level." in section
    assert "Behind good at 95%: bert-scratch, level." in section
    assert "**+10.7 [+9.0, +12.0]**" in section  # good minus scratch: 9, 12, 11


def test_example_scores_resample_the_test_examples_too():
    chooser = random.Random(0)
    entries, examples = [], {}
    for seed in range(2):
        for cell, init, rate in (("a", "pre-trained", 0.9), ("bert-scratch", "scratch", 0.5)):
            scores = [100.0 * (chooser.random() < rate) for _ in range(400)]
            examples[(cell, "sentiment", seed)] = ExampleScores(scores)
            entries.append(entry(cell, init, seed, sum(scores) / len(scores)))
    (found,) = task_differences(entries, examples)
    assert found.resampled == "seeds and test examples"
    difference = found.against_scratch["a"]
    assert difference.excludes_zero and 30 < difference.mean < 50 and difference.high - difference.low < 20


def test_ratio_scores_resample_whole_sentences():
    """Word accuracy from each sentence's right words over its words: one seed, resampled by sentence."""
    chooser = random.Random(1)
    lengths = [chooser.randint(1, 30) for _ in range(300)]
    entries, examples = [], {}
    for cell, init, rate in (("a", "pre-trained", 0.8), ("bert-scratch", "scratch", 0.7)):
        right = [100.0 * sum(chooser.random() < rate for _ in range(n)) for n in lengths]
        examples[(cell, "pos", 0)] = ExampleScores(right, lengths)
        entries.append(entry(cell, init, 0, sum(right) / sum(lengths), task="pos"))
    (found,) = task_differences(entries, examples)
    difference = found.against_scratch["a"]
    assert found.resampled == "seeds and test examples"
    assert abs(difference.mean - (entries[0].value - entries[1].value)) < 1e-9
    assert difference.excludes_zero and difference.low < difference.mean < difference.high


def test_one_seed_without_example_scores_has_nothing_to_resample():
    entries = [entry("a", "pre-trained", 0, 80.0), entry("bert-scratch", "scratch", 0, 70.0)]
    (found,) = task_differences(entries)
    assert found.against_scratch == {} and found.against_best == {}


def test_the_table_lists_cells_then_scratch_then_baselines(tmp_path):
    (tmp_path / "metrics.jsonl").write_text('{"step": 10, "loss": 6.5, "tokens": 2000000}\n')
    lines = markdown_table(grid_entries(), {"good": tmp_path, "level": tmp_path}).splitlines()
    assert [line.split(" | ")[0] for line in lines[2:]] == [
        "| good",
        "| level",
        "| bert-scratch",
        "| naive Bayes on word counts",
    ]
    assert "| 2.0M | 1.0T | - | 6.50 | 81.0 ± 1.0 |" in lines[2] and lines[-1].endswith("| 75.0 |")


def test_the_pareto_front_keeps_points_no_cheaper_point_beats():
    points = [(1.0, 50.0), (2.0, 45.0), (2.0, 60.0), (4.0, 55.0), (8.0, 70.0)]
    assert pareto_front(points) == [(1.0, 50.0), (2.0, 60.0), (8.0, 70.0)]


def test_the_curve_table_shows_each_point_of_pre_training():
    rows = [entry("a", "pre-trained", seed, 60.0 + seed, fraction=0.5, flops=5e11) for seed in range(2)]
    rows += [entry("a", "pre-trained", seed, 70.0 + seed) for seed in range(2)]
    table = curve_section(rows)
    assert "| cell | task | 50% | 100% |" in table and "| a | sentiment | 60.5 ± 0.7 | 70.5 ± 0.7 |" in table
    assert curve_section(rows[2:]) == ""  # only the end: no curve
