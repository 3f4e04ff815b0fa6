"""The model card an export writes: the Hub's metadata block, the model, and its pre-training as the run
recorded it."""

import json

import yaml

from denoise.cli import main
from denoise.model_card import model_card
from denoise.models.checkpoint import load_model, save_model
from denoise.train.checkpoints import TRAINER_FILE, latest_checkpoint
from denoise.train.config import load_config
from denoise.train.loop import pretrain
from tests.train_helpers import tiny


def front_matter(card: str) -> tuple[dict, str]:
    _, meta, body = card.split("---\n", 2)
    return yaml.safe_load(meta), body


def test_an_exported_run_carries_its_card(prepared_corpus, tmp_path):
    run = tmp_path / "run"
    pretrain(load_config("recipes/tiny_mlm.yaml", tiny(prepared_corpus, steps=3)), run, progress=False)
    main(["convert", "--to-hf", str(run / "model"), "--out", str(tmp_path / "hf")])
    meta, body = front_matter((tmp_path / "hf" / "README.md").read_text())
    assert meta["library_name"] == "transformers" and meta["pipeline_tag"] == "fill-mask"
    assert {"denoise", "bert", "mlm40"} <= set(meta["tags"])
    trainer = json.loads((latest_checkpoint(run) / TRAINER_FILE).read_text())
    assert f"{trainer['tokens']:,} tokens" in body and "3 steps" in body
    assert f"data fingerprint `{trainer['data']}`" in body
    assert "corruption recipe `mlm40`" in body and "`mask`, rate: {schedule: step" in body
    assert "always the most frequent token" in body
    parameters = sum(p.numel() for p in load_model(run / "model").parameters())
    assert f"| parameters | {parameters:,} |" in body


def test_a_model_folder_outside_a_run_gets_the_model_alone(prepared_corpus, tmp_path):
    run = tmp_path / "run"
    settings = tiny(prepared_corpus, "model.family=gpt", "corruption=clm", steps=1)
    pretrain(load_config("recipes/tiny_gpt.yaml", settings), run, progress=False)
    model = load_model(run / "model")
    save_model(model, tmp_path / "alone")
    meta, body = front_matter(model_card(model, tmp_path / "alone"))
    assert meta["pipeline_tag"] == "text-generation"
    assert "## Model" in body and "## Pre-training" not in body and "AutoModelForCausalLM" in body
