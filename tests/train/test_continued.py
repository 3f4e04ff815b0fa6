"""Continued pre-training (``init=RUN``): the run's weights and tokenizer, on new text."""

import pytest
import torch

from denoise.errors import DenoiseError
from denoise.models.checkpoint import load_model
from denoise.tokenizer import Tokenizer
from denoise.train.config import load_config
from denoise.train.loop import pretrain
from tests.train_helpers import tiny


def run(prepared, out, *extra, recipe="recipes/tiny_roberta.yaml", steps=3):
    return pretrain(load_config(recipe, tiny(prepared, *extra, steps=steps)), out, progress=False)


@pytest.fixture(scope="module")
def first_run(prepared_corpus, tmp_path_factory):
    out = tmp_path_factory.mktemp("first") / "run"
    run(prepared_corpus, out)
    return out


def weights(directory):
    return load_model(directory).state_dict()


def test_a_run_continues_from_another_runs_weights_on_new_text(first_run, corpus_documents, tmp_path):
    reviews = tmp_path / "reviews.txt"
    reviews.write_text("\n\n".join(corpus_documents[60:90]) + "\n", encoding="utf-8")
    out = tmp_path / "adapted"
    run(
        None,
        out,
        f"init={first_run}",
        "data.prepared=null",
        f"data.corpus=[{reviews}]",
        "optimizer.lr=1e-12",  # one step that changes nothing measurable
        "optimizer.warmup_steps=0",
        steps=1,
    )
    before, after = weights(first_run / "model"), weights(out / "model")
    assert before.keys() == after.keys()
    for name in before:
        torch.testing.assert_close(after[name], before[name], rtol=0, atol=1e-6)
    # the new text was tokenized with the first run's tokenizer, which the adapted run keeps
    own = Tokenizer.load(first_run / "tokenizer")
    assert Tokenizer.load(out / "tokenizer").model_proto == own.model_proto


def test_an_init_that_is_not_a_run_is_refused(prepared_corpus, tmp_path):
    with pytest.raises(DenoiseError, match="holds no denoise model .* and no transformers checkpoint"):
        run(prepared_corpus, tmp_path / "out", f"init={tmp_path}")


def test_a_family_other_than_the_inits_is_refused(first_run, prepared_corpus, tmp_path):
    with pytest.raises(
        DenoiseError, match="holds a bert model but model.family is .bart.; set model.family=bert"
    ):
        run(prepared_corpus, tmp_path / "out", f"init={first_run}", recipe="recipes/tiny_bart.yaml")


def test_a_pair_task_adds_a_fresh_pair_head_to_an_init_without_one(first_run, prepared_corpus, tmp_path):
    out = tmp_path / "paired"
    tiny_step = ["optimizer.lr=1e-12", "optimizer.warmup_steps=0"]  # one step that changes nothing measurable
    run(prepared_corpus, out, f"init={first_run}", *tiny_step, recipe="recipes/tiny_bert.yaml", steps=1)
    before, after = weights(first_run / "model"), weights(out / "model")
    added = {name for name in after if name not in before}
    assert added and all(name.startswith(("pooler.", "pair_classifier.")) for name in added)
    for name in before:
        torch.testing.assert_close(after[name], before[name], rtol=0, atol=1e-6)
    assert any("pair_loss" in line for line in (out / "metrics.jsonl").read_text().splitlines())


def test_a_corpus_prepared_with_another_tokenizer_is_refused(
    first_run, prepared_corpus, corpus_documents, tmp_path
):
    other = tmp_path / "other-tokenizer"
    text = tmp_path / "text.txt"
    text.write_text("\n\n".join(corpus_documents[:40]) + "\n", encoding="utf-8")
    Tokenizer.train([str(text)], vocab_size=600, out_dir=other)
    settings = [f"init={first_run}", f"data.tokenizer={other}", "data.prepared=null", f"data.corpus=[{text}]"]
    with pytest.raises(DenoiseError, match="another tokenizer than init's"):
        run(prepared_corpus, tmp_path / "out", *settings)


def test_a_gpt_run_continues_as_a_masked_lm_bert_with_its_weights(prepared_corpus, tmp_path):
    """The two phases of recipes/tiny_gpt.yaml then recipes/tiny_gpt_then_mlm.yaml: causal, then masked."""
    causal = tmp_path / "causal"
    run(prepared_corpus, causal, recipe="recipes/tiny_gpt.yaml")
    masked = tmp_path / "masked"
    lr = ("optimizer.lr=1e-12", "optimizer.warmup_steps=0")  # one step that changes nothing measurable
    run(prepared_corpus, masked, f"init={causal}", *lr, recipe="recipes/tiny_gpt_then_mlm.yaml", steps=1)
    gpt, bert = weights(causal / "model"), weights(masked / "model")
    assert type(load_model(masked / "model")).__name__ == "Bert"
    for name, tensor in gpt.items():
        torch.testing.assert_close(bert[name.replace("stack.", "encoder.", 1)], tensor, rtol=0, atol=1e-6)
    with pytest.raises(
        DenoiseError, match="holds a gpt model but model.family is .t5.; set model.family=gpt or bert"
    ):
        run(prepared_corpus, tmp_path / "out", f"init={causal}", recipe="recipes/tiny_t5.yaml")
