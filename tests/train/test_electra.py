"""Pre-training with the electra objective: what a run keeps, exact resume, and the settings it refuses."""

import shutil

import pytest
import torch

from denoise.errors import DenoiseError
from denoise.models.checkpoint import load_model
from denoise.train.config import load_config
from denoise.train.loop import pretrain
from denoise.train.metrics import read_metrics
from tests.paths import RECIPES
from tests.train_helpers import tiny

ELECTRA = RECIPES / "tiny_electra.yaml"


def run(prepared, out, *extra, steps=4, resume=False):
    config = load_config(ELECTRA, tiny(prepared, *extra, steps=steps))
    return pretrain(config, out, resume=resume, progress=False)


def test_a_run_keeps_the_discriminator_as_its_model_and_the_generator_beside_it(prepared_corpus, tmp_path):
    summary = run(prepared_corpus, tmp_path / "run")
    model, generator = load_model(tmp_path / "run" / "model"), load_model(tmp_path / "run" / "generator")
    assert model.config.token_head == "replaced" and model.mlm is None
    assert generator.config.token_head == "mlm" and generator.config.encoder.d_model == 8  # a quarter of 32
    assert torch.equal(
        model.encoder.embeddings.tokens.weight, generator.encoder.embeddings.tokens.weight
    )  # shared while training, equal once saved
    records = read_metrics(tmp_path / "run")
    steps = [r for r in records if "detection_loss" in r]
    assert len(steps) == 4 and all(r["loss"] > r["token_loss"] for r in steps)
    evaluation = [r for r in records if "eval_detection_accuracy" in r][-1]
    assert 0 < evaluation["eval_replaced"] < 0.2  # at most the 15% masked, less where a sample is right
    assert summary["flops"] > 0


def test_a_resumed_run_gives_the_losses_and_weights_of_an_uninterrupted_one(prepared_corpus, tmp_path):
    run(prepared_corpus, tmp_path / "whole", steps=6)
    cut = tmp_path / "cut"
    run(prepared_corpus, cut, "training.checkpoint_interval=3", steps=6)
    for finished in (
        "model",
        "generator",
        "checkpoints/step-00000006",
    ):  # as if killed after step 3's checkpoint
        shutil.rmtree(cut / finished)
    run(prepared_corpus, cut, "training.checkpoint_interval=3", steps=6, resume=True)

    def losses(out):
        return [r["loss"] for r in read_metrics(out) if "loss" in r]

    assert losses(tmp_path / "cut") == losses(tmp_path / "whole")
    for part in ("model", "generator"):
        whole, cut = load_model(tmp_path / "whole" / part), load_model(tmp_path / "cut" / part)
        for name, value in whole.state_dict().items():
            assert torch.equal(cut.state_dict()[name], value), (part, name)


def test_the_discriminator_fine_tunes(prepared_corpus, tmp_path):
    from denoise.finetune.config import load_finetune_config
    from denoise.finetune.loop import finetune
    from tests.paths import SAMPLES

    run(prepared_corpus, tmp_path / "run", steps=2)
    settings = [
        f"init={tmp_path / 'run'}",
        "task.kind=classification",
        f"task.train={SAMPLES}/sentiment.tsv",
        f"task.test={SAMPLES}/sentiment.tsv",
        "task.text_column=sentence",
        "epochs=1",
        "batch_size=4",
        "threads=1",
    ]
    results = finetune(load_finetune_config(None, settings), tmp_path / "task")
    assert 0 <= results["test"]["accuracy"] <= 1


def test_an_electra_run_continues_as_electra_with_its_generator_or_as_a_masked_lm(prepared_corpus, tmp_path):
    from denoise.train.loop import Pretraining

    run(prepared_corpus, tmp_path / "electra", steps=2)
    saved = load_model(tmp_path / "electra" / "generator").state_dict()
    settings = tiny(prepared_corpus, f"init={tmp_path / 'electra'}", steps=2)
    continued = Pretraining(load_config(ELECTRA, settings), tmp_path / "again", progress=False)
    for name, value in continued.unwrapped.generator.state_dict().items():
        assert torch.equal(value, saved[name]), name
    as_masked_lm = load_config(RECIPES / "tiny_roberta.yaml", settings)
    summary = pretrain(as_masked_lm, tmp_path / "masked", progress=False)  # a fresh masked-LM head
    assert load_model(tmp_path / "masked" / "model").config.token_head == "mlm"
    assert summary["eval_accuracy"] >= 0


def test_a_checkpoint_written_before_objectives_existed_resumes(prepared_corpus, tmp_path):
    import json

    from tests.train.test_pretrain import run as run_bert

    out = tmp_path / "run"
    run_bert(prepared_corpus, out, "training.checkpoint_interval=3", steps=3)
    trainer = next((out / "checkpoints").glob("step-*")) / "trainer.json"
    state = json.loads(trainer.read_text())
    del state["config"]["objective"]
    trainer.write_text(json.dumps(state))
    summary = run_bert(prepared_corpus, out, "training.checkpoint_interval=3", steps=5, resume=True)
    assert summary["steps"] == 5


@pytest.mark.parametrize(
    "settings, message",
    [
        (["model.family=bart", "model.size=tiny"], "model.family 'bart' has none of; use an encoder-only"),
        (["corruption=bert"], "takes masked blocks, not sentence pairs; drop 'nsp'"),
        (
            ["corruption={name: moved, steps: [{op: shuffle}, {op: mask}]}"],
            "'shuffle' in corruption recipe 'moved' moves tokens without marking them",
        ),
        (["objective=electrum"], r"unknown objective 'electrum' \(did you mean 'electra'\?\)"),
        (["objective={name: electra, scale: 2}"], r"objective 'electra'.scale must be in \(0, 1\], got 2"),
        (["objective={name: electra, sclae: 0.5}"], "did you mean 'scale'"),
    ],
)
def test_settings_electra_cannot_train_are_refused_before_any_work(
    settings, message, prepared_corpus, tmp_path
):
    with pytest.raises(DenoiseError, match=message):
        run(prepared_corpus, tmp_path / "run", *settings)
    assert not (tmp_path / "run" / "checkpoints").exists()
