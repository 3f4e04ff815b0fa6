"""The one resolver of ``init=``: every form it takes, and the commands that start from each."""

from pathlib import Path

import pytest
import torch

from denoise import DenoiseError
from denoise.finetune.config import load_finetune_config
from denoise.finetune.loop import finetune
from denoise.models.init import resolve_init
from denoise.train.config import load_config
from denoise.train.loop import pretrain
from tests.paths import SAMPLES
from tests.train_helpers import tiny

SENTIMENT = [
    "task.kind=classification",
    f"task.train={SAMPLES}/sentiment.tsv",
    "task.text_column=sentence",
    "max_steps=1",
    "batch_size=4",
]


@pytest.fixture(scope="module")
def run(tmp_path_factory, prepared_corpus) -> Path:
    out = tmp_path_factory.mktemp("init") / "run"
    pretrain(load_config(None, tiny(prepared_corpus)), out, progress=False)
    return out


@pytest.fixture(scope="module")
def fine_tuned(run, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("init") / "sentiment"
    finetune(load_finetune_config(None, [*SENTIMENT, f"init={run}"]), out)
    return out


def weights(model) -> dict:
    return {k: v.clone() for k, v in model.state_dict().items()}


def test_a_pretraining_run_and_its_model_folder(run):
    for given in (run, run / "model"):
        init = resolve_init(given)
        assert (init.model_dir, init.tokenizer_dir) == (run / "model", run / "tokenizer")
        assert init.denoise_tokenizer and not init.fresh and not init.scratch


def test_a_fine_tuned_run_gives_its_backbone(fine_tuned):
    for given in (fine_tuned, fine_tuned / "final"):
        init = resolve_init(given)
        assert init.model_dir == fine_tuned / "final" / "model"
        assert init.tokenizer_dir == fine_tuned / "final" / "tokenizer"
        assert init.fine_tuned_dir == fine_tuned / "final"


def test_scratch_and_a_fresh_copy_of_a_run(run):
    assert resolve_init("scratch").scratch
    fresh = resolve_init(f"scratch:{run}")
    assert fresh.fresh and fresh.model_dir == run / "model"
    trained = weights(resolve_init(run).load_model())
    first, again = weights(fresh.load_model(seed=3)), weights(fresh.load_model(seed=3))
    other = weights(fresh.load_model(seed=4))
    assert first.keys() == trained.keys()
    assert all(torch.equal(first[k], again[k]) for k in first)  # a seed gives the same fresh weights
    assert not all(torch.equal(first[k], trained[k]) for k in first)
    assert not all(torch.equal(first[k], other[k]) for k in first)


def test_a_transformers_checkpoint(tmp_path):
    transformers = pytest.importorskip("transformers")
    config = transformers.BertConfig(
        vocab_size=64, hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32
    )
    transformers.BertForMaskedLM(config).save_pretrained(tmp_path / "hf")
    init = resolve_init(tmp_path / "hf")
    assert init.transformers_dir == tmp_path / "hf" and init.model_dir is None
    assert init.load_model().config.vocab_size == 64


def test_what_names_no_model_is_refused(tmp_path):
    with pytest.raises(FileNotFoundError, match="is not a folder"):
        resolve_init(tmp_path / "missing")
    with pytest.raises(DenoiseError, match="holds no denoise model"):
        resolve_init(tmp_path)


def test_pretraining_continues_from_a_fine_tuned_run_or_from_fresh_weights(
    run, fine_tuned, prepared_corpus, tmp_path
):
    for name, init in (("tuned", fine_tuned), ("fresh", f"scratch:{run}")):
        summary = pretrain(
            load_config(None, tiny(prepared_corpus, f"init={init}", steps=2)), tmp_path / name, progress=False
        )
        assert summary["steps"] == 2
    with pytest.raises(DenoiseError, match="init=scratch builds nothing to continue from"):
        pretrain(load_config(None, tiny(prepared_corpus, "init=scratch")), tmp_path / "none", progress=False)
