"""Schedules: a step's numeric setting that follows the run's progress, read from the step each batch is drawn
for, the same in every worker, refused with the value and what to do when malformed."""

import json

import numpy as np
import pytest
import torch

from denoise import DenoiseError
from denoise.corruption.base import Vocab
from denoise.corruption.loader import Collator, IndexedBlocks
from denoise.corruption.preview import corrupt_rows
from denoise.corruption.recipe import Recipe
from denoise.corruption.schedule import parse_schedule, progress
from denoise.data.prepare import load_blocks, prepare_corpus
from denoise.labels import IGNORE
from denoise.models.families import first_of_kind
from denoise.train.data import EvalSampler, Layout, StepSampler, make_loader

LINEAR = {"schedule": "linear", "points": [[0.0, 0.3], [1.0, 0.15]], "eval": 0.15}
PHASES = {"schedule": "step", "points": [[0.0, 0.3], [0.6, 0.15], [0.9, 0.05]]}
FRAME = first_of_kind("encoder").frame


def mask_recipe(rate, name="scheduled") -> Recipe:
    return Recipe.from_mapping({"name": name, "steps": [{"op": "mask", "rate": rate}]})


@pytest.fixture(scope="module")
def vocab(tokenizer):
    return Vocab.from_tokenizer(tokenizer)


@pytest.fixture(scope="module")
def blocks(tmp_path_factory, tokenizer, corpus_documents):
    folder = tmp_path_factory.mktemp("blocks")
    (folder / "docs.txt").write_text("\n\n".join(corpus_documents[400:420]) + "\n")
    prepare_corpus([folder / "docs.txt"], tokenizer, folder / "out", block_size=64)
    return load_blocks(folder / "out")


@pytest.mark.parametrize("at, expected", [(0.0, 0.3), (0.25, 0.2625), (0.5, 0.225), (1.0, 0.15)])
def test_linear_interpolates_between_points(at, expected):
    assert parse_schedule(LINEAR, "rate").at(at) == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize(
    "at, expected", [(0.0, 0.3), (0.59, 0.3), (0.6, 0.15), (0.89, 0.15), (0.9, 0.05), (1.0, 0.05)]
)
def test_step_holds_each_value_until_the_next_point(at, expected):
    assert parse_schedule(PHASES, "rate").at(at) == expected


def test_the_first_value_holds_before_the_first_point_and_the_last_after_the_last():
    schedule = parse_schedule({"schedule": "linear", "points": [[0.2, 0.3], [0.8, 0.1]]}, "rate")
    assert [schedule.at(p) for p in (0.0, 0.2, 0.8, 1.0)] == [0.3, 0.3, 0.1, 0.1]
    assert schedule.at(0.5) == pytest.approx(0.2)


def test_evaluation_takes_the_eval_value_else_the_value_at_its_progress():
    with_eval, without = parse_schedule(LINEAR, "rate"), parse_schedule(PHASES, "rate")
    assert with_eval.value(0.0, evaluation=True) == with_eval.value(0.7, evaluation=True) == 0.15
    assert with_eval.value(0.0) == 0.3
    assert without.value(0.7, evaluation=True) == without.value(0.7) == 0.15


def test_progress_is_the_fraction_of_the_run_done_before_the_step():
    assert [progress(step, 4) for step in range(5)] == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert progress(None, 4) == progress(3, None) == 0.0


def test_a_recipe_names_its_scheduled_values_and_resolves_them():
    recipe = Recipe.from_mapping(
        {"name": "two", "steps": [{"op": "mask", "rate": LINEAR}, {"op": "mask", "rate": PHASES}]}
    )
    assert recipe.scheduled_values(0.6) == {"mask[0].rate": pytest.approx(0.21), "mask[1].rate": 0.15}
    assert recipe.scheduled_values(0.6, evaluation=True) == {"mask[0].rate": 0.15, "mask[1].rate": 0.15}
    fixed = recipe.at(0.95)
    assert not fixed.scheduled and [s.params["rate"] for s in fixed.steps] == [pytest.approx(0.1575), 0.05]
    assert Recipe.from_mapping(recipe.to_mapping()) == recipe
    assert mask_recipe(0.2).scheduled_values(0.5) == {} and not mask_recipe(0.2).scheduled


def test_modernbert_trains_at_30_percent_and_evaluates_at_15():
    recipe = Recipe.load("modernbert")
    assert recipe.scheduled_values(0.0) == recipe.scheduled_values(1.0) == {"mask.rate": 0.3}
    assert recipe.scheduled_values(0.5, evaluation=True) == {"mask.rate": 0.15}
    recipe.check_settings()


@pytest.mark.parametrize(
    "step, message",
    [
        (
            {"op": "mask", "rate": {"schedule": "step", "points": [[0, 0.3], [0.6, 1.5]]}},
            "corruption 'bad' steps[0] (op 'mask').rate must be in (0, 1], got 1.5 "
            "(at point [0.6, 1.5] of its rate schedule)",
        ),
        (
            {"op": "mask", "rate": {"schedule": "step", "points": [[0, 0.3]], "eval": 0}},
            "steps[0] (op 'mask').rate must be in (0, 1], got 0 (with the eval value 0 of its rate schedule)",
        ),
        (
            {"op": "mask", "rate": {"schedule": "cosine", "points": [[0, 0.3]]}},
            "steps[0] (op 'mask').rate: unknown schedule 'cosine'",
        ),
        (
            {"op": "mask", "rate": {"points": [[0, 0.3]]}},
            "unknown schedule None; write schedule: linear or step",
        ),
        (
            {"op": "mask", "rate": {"schedule": "linear", "points": [[0.5, 0.3], [0.2, 0.1]]}},
            "the fractions of a schedule's points must increase, got 0.2 after 0.5",
        ),
        (
            {"op": "mask", "rate": {"schedule": "linear", "points": [[0.5, 0.3], [0.5, 0.1]]}},
            "must increase, got 0.5 after 0.5",
        ),
        (
            {"op": "mask", "rate": {"schedule": "linear", "points": [[0, 0.3], [1.2, 0.1]]}},
            "rate.points[1]: the fraction 1.2 is outside [0, 1]",
        ),
        (
            {"op": "mask", "rate": {"schedule": "linear", "points": [[-0.1, 0.3]]}},
            "the fraction -0.1 is outside [0, 1]",
        ),
        (
            {"op": "mask", "rate": {"schedule": "linear", "points": []}},
            "a schedule needs a non-empty list of [fraction, value] points, got []",
        ),
        (
            {"op": "mask", "rate": {"schedule": "linear", "points": [0.3]}},
            "rate.points[0] must be a [fraction, value] pair, got 0.3",
        ),
        (
            {"op": "mask", "rate": {"schedule": "linear", "points": [[0, "high"]]}},
            "rate.points[0] value must be a finite number, got 'high'",
        ),
        (
            {"op": "mask", "rate": {"schedule": "linear", "points": [[0, 0.3]], "evl": 0.1}},
            "unknown key 'evl' in the schedule of corruption 'bad' steps[0] (op 'mask').rate "
            "(did you mean 'eval'?)",
        ),
        (
            {"op": "mask", "budget": {"schedule": "step", "points": [[0, 0.3]]}},
            "steps[0] (op 'mask').budget is a str, not a number, so it cannot follow a schedule",
        ),
        (
            {"op": "infill", "replace_length": {"schedule": "linear", "points": [[0, 1], [1, 0]]}},
            "replace_length takes whole numbers, which a linear schedule would interpolate between; "
            "use schedule: step",
        ),
        (
            {"op": "mixture", "denoisers": [{"op": "span", "params": {"density": PHASES}}]},
            "(op 'mixture').denoisers holds a schedule inside it",
        ),
        (
            {"op": "mask", "rte": LINEAR},
            "unknown key 'rte' in corruption 'bad' steps[0] (op 'mask') (did you mean 'rate'?)",
        ),
        ({"op": "mak", "rate": LINEAR}, "unknown corruption op 'mak' (did you mean 'mask'?)"),
    ],
)
def test_bad_schedules_are_refused_with_the_value_and_what_to_do(step, message):
    with pytest.raises(DenoiseError) as raised:
        Recipe.from_mapping({"name": "bad", "steps": [step]}).check_settings()
    assert message in str(raised.value)


def test_building_checks_every_point_too(vocab):
    recipe = mask_recipe({"schedule": "step", "points": [[0, 0.3], [0.5, 2.0]]})
    with pytest.raises(DenoiseError, match=r"got 2 \(at point \[0.5, 2\] of its rate schedule\)"):
        recipe.build(vocab, "encoder", 64)


def test_a_batch_drawn_for_two_steps_is_refused(blocks):
    with pytest.raises(DenoiseError, match=r"a batch mixes steps \[2, 3\]; draw each batch for one step"):
        IndexedBlocks(blocks).__getitems__([(0, 1, 2), (0, 2, 3)])


def test_a_scheduled_op_corrupts_as_the_op_built_with_its_value(vocab, blocks):
    sample = blocks_sample(blocks, vocab, range(12))
    scheduled = mask_recipe(PHASES).build(vocab, "encoder", 64)
    for at, rate in [(0.0, 0.3), (0.7, 0.15), (0.95, 0.05)]:
        plain = mask_recipe(rate, name="plain").build(vocab, "encoder", 64)
        assert same(scheduled(sample, 3, 1, np.arange(12), at), plain(sample, 3, 1, np.arange(12)))
    linear = mask_recipe(LINEAR).build(vocab, "encoder", 64)
    at_eval = linear(sample, 3, 0, np.arange(12), 0.4, evaluation=True)
    assert same(at_eval, mask_recipe(0.15).build(vocab, "encoder", 64)(sample, 3, 0, np.arange(12)))


def test_a_recipe_without_schedules_ignores_progress(vocab, blocks):
    sample = blocks_sample(blocks, vocab, range(12))
    corrupter = Recipe.load("roberta").build(vocab, "encoder", 64)
    before = corrupter(sample, 3, 1, np.arange(12))
    assert same(corrupter(sample, 3, 1, np.arange(12), 0.8, evaluation=True), before)
    collator = Collator(corrupter, vocab, FRAME, seed=3, total_steps=10)
    rows = [dict(blocks[i], index=i, epoch=1) for i in range(4)]
    with_step = collator([dict(row, step=7) for row in rows])
    assert torch.equal(with_step.input_ids, collator(rows).input_ids)


def test_every_micro_batch_of_a_step_in_any_worker_reads_the_step_s_value(vocab, blocks):
    """Steps of 8 blocks in micro-batches of 2, corrupted in two workers: each matches the op built with the
    value of its step."""
    total, seed = 5, 3
    collator = Collator(
        mask_recipe(LINEAR).build(vocab, "encoder", 64), vocab, FRAME, seed, total_steps=total
    )
    train = np.arange(len(blocks))
    sampler = StepSampler(train, Layout.of(8, 2, 1), rank=0, seed=seed, start=0, stop=total)
    keys = list(sampler)
    in_workers = list(make_loader(blocks, sampler, collator, workers=2, seed=seed))
    in_main = list(make_loader(blocks, sampler, collator, workers=0, seed=seed))
    assert len(in_workers) == len(keys) == total * 4
    for batch, main, micro in zip(in_workers, in_main, keys):
        epoch, step = micro[0][0], micro[0][2]
        assert {key[2] for key in micro} == {step}
        assert torch.equal(batch.input_ids, main.input_ids)
        rate = 0.3 - 0.15 * step / total
        plain = Collator(mask_recipe(rate, "plain").build(vocab, "encoder", 64), vocab, FRAME, seed)
        expected = plain([dict(blocks[i], index=i, epoch=epoch) for _, i, _ in micro])
        assert torch.equal(batch.input_ids, expected.input_ids) and torch.equal(batch.labels, expected.labels)


def test_evaluation_batches_take_the_eval_values(vocab, blocks):
    corrupter = mask_recipe({"schedule": "linear", "points": [[0, 0.5], [1, 0.1]], "eval": 0.15}).build(
        vocab, "encoder", 64
    )
    evaluation = Collator(corrupter, vocab, FRAME, 4, total_steps=10, evaluation=True)
    training = Collator(corrupter, vocab, FRAME, 4, total_steps=10)
    sampler = EvalSampler(np.arange(16), 8, batches=2, rank=0, processes=1, step=5)
    plain = Collator(mask_recipe(0.15).build(vocab, "encoder", 64), vocab, FRAME, 4)
    for batch, expected in zip(
        make_loader(blocks, sampler, evaluation, 0, 4), make_loader(blocks, sampler, plain, 0, 4)
    ):
        assert torch.equal(batch.labels, expected.labels)
    assert evaluation.scheduled_values(5) == {"mask.rate": 0.15}
    assert training.scheduled_values(5) == {"mask.rate": pytest.approx(0.3)}


def test_preview_reads_the_schedules_at_a_chosen_progress(vocab, blocks):
    recipe = mask_recipe(PHASES)
    rows = [dict(blocks[i]) for i in range(16)]
    start = list(corrupt_rows(recipe, rows, vocab, "encoder", 64))
    late = list(corrupt_rows(recipe, rows, vocab, "encoder", 64, progress=0.95))
    predicted = [sum(sum(t != IGNORE for t in item.target) for item in items) for items in (start, late)]
    assert predicted[1] < predicted[0] / 3


def test_corrupt_command_takes_a_progress(tmp_path, capsys, tokenizer, training_text):
    from denoise.cli import main

    tokenizer.save(tmp_path / "tok")
    (tmp_path / "plays.txt").write_text(training_text[:30_000], encoding="utf-8")
    recipe = tmp_path / "phases.yaml"
    recipe.write_text(f"name: phases\nsteps:\n  - op: mask\n    rate: {json.dumps(PHASES)}\n")
    base = [
        "corrupt",
        str(recipe),
        "--input",
        str(tmp_path / "plays.txt"),
        "--tokenizer",
        str(tmp_path / "tok"),
    ]
    predicted = []
    for at in ("0", "0.95"):
        main([*base, "--block-size", "64", "--limit", "8", "--jsonl", "--progress", at])
        records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
        predicted.append(sum(sum(t != IGNORE for t in r["target"]) for r in records))
    assert predicted[1] < predicted[0] / 3
    with pytest.raises(SystemExit):
        main([*base, "--progress", "1.5"])
    assert "must be in [0, 1], got 1.5" in capsys.readouterr().err


def blocks_sample(blocks, vocab, indices):
    from denoise.corruption.corpus import BlockCorpus

    return BlockCorpus(blocks).blocks(np.asarray(list(indices))).sample(vocab.pad_id)


def same(a, b) -> bool:
    return np.array_equal(a.tokens, b.tokens) and np.array_equal(a.labels, b.labels)
