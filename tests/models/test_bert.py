"""The denoise Bert against transformers: weights, logits, losses, parameter counts and bad input."""

import dataclasses
import sys

import pytest
import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file

from denoise.config import from_mapping
from denoise.errors import DenoiseError
from denoise.models.bert.hf import from_hf as bert_from_hf
from denoise.models.bert.hf import load_hf_state
from denoise.models.bert.hf import to_hf as bert_to_hf
from denoise.models.bert.model import Bert, BertConfig
from denoise.models.bert.sizes import SIZES as BERT_SIZES
from denoise.models.bert.sizes import bert_config
from denoise.models.encoder import Encoder
from denoise.models.layers import TransformerConfig

tf = pytest.importorskip("transformers")
tf.utils.logging.set_verbosity_error()
tf.utils.logging.disable_progress_bar()

TOLERANCE = 1e-4
PUBLISHED = {  # millions of parameters, relative tolerance
    "tiny": (4.4, 0.01),
    "mini": (11.3, 0.01),
    "small": (29.1, 0.01),
    "medium": (41.7, 0.01),
    "base": (110.0, 0.01),
    # The paper's 340M is rounded: the published shape, heads included, has 336.2M (1.1% fewer).
    "large": (340.0, 0.012),
}
HF_CASES = {
    "pretraining-3x16": (
        "BertForPreTraining",
        dict(vocab_size=97, hidden_size=48, num_attention_heads=3, num_hidden_layers=1),
    ),
    "masked-lm-gelu-tanh": (
        "BertForMaskedLM",
        dict(
            vocab_size=211, hidden_size=64, num_attention_heads=4, num_hidden_layers=2, hidden_act="gelu_new"
        ),
    ),
    "pretraining-untied-3-types": (
        "BertForPreTraining",
        dict(
            vocab_size=50,
            hidden_size=40,
            num_attention_heads=5,
            num_hidden_layers=3,
            type_vocab_size=3,
            tie_word_embeddings=False,
            hidden_act="relu",
        ),
    ),
    "roberta": (
        "RobertaForMaskedLM",
        dict(
            vocab_size=120,
            hidden_size=48,
            num_attention_heads=3,
            num_hidden_layers=2,
            max_position_embeddings=34,
            type_vocab_size=1,
        ),
    ),
}


def jitter(model: torch.nn.Module, seed: int = 0) -> torch.nn.Module:
    """Move every weight off its initial value (biases 0, norms 1), so a swapped weight cannot hide."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn(p.shape, generator=generator) * 0.05)
    return model


def hf_model(architecture: str, seed: int = 0, **settings):
    config_class = tf.RobertaConfig if architecture.startswith("Roberta") else tf.BertConfig
    settings = {"intermediate_size": 2 * settings["hidden_size"], **settings}
    torch.manual_seed(seed)
    return jitter(getattr(tf, architecture)(config_class(**settings)), seed).eval()


def padded_batch(vocab_size: int, pad_id: int, type_vocab_size: int, seed: int = 0, length: int = 12) -> dict:
    """Four rows of different lengths, padded at the end, with two segments where the model has them."""
    generator = torch.Generator().manual_seed(seed)
    input_ids = torch.randint(3, vocab_size, (4, length), generator=generator)
    lengths = torch.tensor([length, length - 3, 5, length - 1])
    attention_mask = (torch.arange(length)[None, :] < lengths[:, None]).long()
    input_ids[attention_mask == 0] = pad_id
    second = torch.arange(length)[None, :] >= (lengths // 2)[:, None]
    token_type_ids = (second & attention_mask.bool()).long() * min(type_vocab_size - 1, 1)
    token_type_ids[0, -2:] = type_vocab_size - 1
    return {"input_ids": input_ids, "attention_mask": attention_mask, "token_type_ids": token_type_ids}


def with_labels(batch: dict, vocab_size: int, seed: int = 0) -> dict:
    generator = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, vocab_size, batch["input_ids"].shape, generator=generator)
    chosen = (torch.rand(labels.shape, generator=generator) < 0.3) & batch["attention_mask"].bool()
    chosen[0, 1] = True
    return {
        **batch,
        "labels": torch.where(chosen, labels, -100),
        "pair_labels": torch.tensor([0, 1, -100, 1]),
    }


def hf_logits(model, batch: dict) -> torch.Tensor:
    output = model(**batch)
    return output.prediction_logits if hasattr(output, "prediction_logits") else output.logits


def small_config(**encoder_settings) -> BertConfig:
    pair_head = encoder_settings.pop("pair_head", True)
    tie = encoder_settings.pop("tie_embeddings", True)
    settings = dict(
        vocab_size=64, d_model=32, num_layers=2, num_heads=2, d_ff=48, max_positions=24, type_vocab_size=2
    )
    return BertConfig(
        TransformerConfig(**{**settings, **encoder_settings}), pair_head=pair_head, tie_embeddings=tie
    )


def max_diff(a: torch.Tensor, b: torch.Tensor) -> float:
    return (a - b).abs().max().item()


@pytest.mark.parametrize("case", HF_CASES)
def test_logits_match_transformers(case, tmp_path):
    architecture, settings = HF_CASES[case]
    reference = hf_model(architecture, **settings)
    reference.save_pretrained(tmp_path)
    model = bert_from_hf(tmp_path)
    assert not model.training
    config = reference.config
    batch = padded_batch(config.vocab_size, config.pad_token_id, config.type_vocab_size)
    with torch.no_grad():
        expected, ours = hf_logits(reference, batch), model(**batch)
    real = batch["attention_mask"].bool()
    # RoBERTa numbers pad tokens differently, so only the real tokens are compared there.
    compared = real if architecture.startswith("Roberta") else torch.ones_like(real)
    assert ours.logits.shape == expected.shape
    assert max_diff(ours.logits[compared], expected[compared]) <= TOLERANCE
    if architecture == "BertForPreTraining":
        assert max_diff(ours.pair_logits, reference(**batch).seq_relationship_logits) <= TOLERANCE
    else:
        assert ours.pair_logits is None


def test_headless_checkpoint_loads_the_encoder_and_warns(tmp_path):
    reference = hf_model(
        "BertModel", vocab_size=80, hidden_size=36, num_attention_heads=3, num_hidden_layers=2
    )
    reference.save_pretrained(tmp_path)
    with pytest.warns(UserWarning, match="mlm.dense.weight"):
        model = bert_from_hf(tmp_path)
    assert model.config.pair_head
    batch = padded_batch(80, 0, 2)
    with torch.no_grad():
        expected = reference(**batch)
        ours = model(**batch)
    assert max_diff(ours.hidden_states, expected.last_hidden_state) <= TOLERANCE
    pooled = torch.tanh(model.pooler(ours.hidden_states[:, 0]))
    assert max_diff(pooled, expected.pooler_output) <= TOLERANCE


@pytest.mark.parametrize(
    "config",
    [
        small_config(),
        small_config(pair_head=False, tie_embeddings=False, activation="gelu_tanh"),
        small_config(pair_head=False, position_offset=2, pad_id=1, type_vocab_size=1),
        small_config(position_offset=3, type_vocab_size=0, num_heads=4),
    ],
    ids=["pretraining", "masked-lm-untied", "roberta", "offset-no-types"],
)
def test_to_hf_gives_the_same_logits(config, tmp_path):
    model = jitter(Bert(config), seed=1).eval()
    out = bert_to_hf(model, tmp_path / "hf")
    auto_class = tf.AutoModelForPreTraining if config.pair_head else tf.AutoModelForMaskedLM
    reference = auto_class.from_pretrained(out)
    expected_class = "BertForPreTraining" if config.pair_head else "BertForMaskedLM"
    if config.encoder.position_offset == config.encoder.pad_id + 1 and not config.pair_head:
        expected_class = "RobertaForMaskedLM"
    assert type(reference).__name__ == expected_class
    batch = padded_batch(64, config.encoder.pad_id, max(config.encoder.type_vocab_size, 1))
    if not config.encoder.type_vocab_size:
        batch.pop("token_type_ids")
    with torch.no_grad():
        expected, ours = hf_logits(reference.eval(), batch), model(**batch)
    real = batch["attention_mask"].bool()
    assert max_diff(ours.logits[real], expected[real]) <= TOLERANCE
    if expected_class != "RobertaForMaskedLM":
        assert max_diff(ours.logits, expected) <= TOLERANCE


@pytest.mark.parametrize("case", HF_CASES)
def test_hf_to_denoise_to_hf_keeps_every_weight(case, tmp_path):
    architecture, settings = HF_CASES[case]
    reference = hf_model(architecture, seed=2, **settings)
    out = bert_to_hf(bert_from_hf(reference), tmp_path / "again")
    again = getattr(tf, architecture).from_pretrained(out)
    before, after = reference.state_dict(), again.state_dict()
    assert before.keys() == after.keys()
    unused = {"cls.predictions.bias"} if not reference.config.tie_word_embeddings else set()
    assert all(torch.equal(before[k], after[k]) for k in before if k not in unused)


def test_to_hf_replaces_an_existing_folder(tmp_path):
    out = tmp_path / "hf"
    out.mkdir()
    (out / "stale.txt").write_text("old")
    bert_to_hf(Bert(small_config()), out)
    assert not (out / "stale.txt").exists() and (out / "config.json").is_file()
    assert [p.name for p in tmp_path.iterdir()] == ["hf"]


@pytest.fixture(scope="module")
def pretraining_pair():
    architecture, settings = HF_CASES["pretraining-3x16"]
    reference = hf_model(architecture, seed=3, **settings)
    return reference, bert_from_hf(reference)


def test_labels_give_logits_only_where_labelled(pretraining_pair):
    reference, model = pretraining_pair
    batch = with_labels(padded_batch(97, 0, 2), 97)
    labelled = batch["labels"] != -100
    with torch.no_grad():
        full = model(batch["input_ids"], batch["attention_mask"], batch["token_type_ids"])
        ours = model(**batch)
    assert ours.logits.shape == (int(labelled.sum()), 97)
    assert max_diff(ours.logits, full.logits[labelled]) <= TOLERANCE
    expected = F.cross_entropy(full.logits[labelled], batch["labels"][labelled]) + F.cross_entropy(
        full.pair_logits, batch["pair_labels"], ignore_index=-100
    )
    assert abs(ours.loss.item() - expected.item()) <= TOLERANCE
    hf_batch = {**batch, "next_sentence_label": batch.pop("pair_labels")}
    with torch.no_grad():
        assert abs(ours.loss.item() - reference(**hf_batch).loss.item()) <= TOLERANCE


def test_loss_without_pair_labels_is_the_masked_lm_loss_and_trains(pretraining_pair):
    _, model = pretraining_pair
    batch = with_labels(padded_batch(97, 0, 2), 97)
    batch.pop("pair_labels")
    output = model(**batch)
    labelled = batch["labels"] != -100
    assert torch.allclose(output.loss, F.cross_entropy(output.logits, batch["labels"][labelled]))
    output.loss.backward()
    assert model.encoder.embeddings.tokens.weight.grad.abs().sum() > 0
    model.zero_grad()


def test_nothing_labelled_gives_zero_loss_not_nan():
    model = Bert(small_config()).eval()
    batch = padded_batch(64, 0, 2)
    labels = torch.full_like(batch["input_ids"], -100)
    output = model(**batch, labels=labels, pair_labels=torch.full((4,), -100))
    assert output.logits.shape == (0, 64)
    assert output.loss.item() == 0.0


def test_bert_reads_with_the_shared_encoder():
    model = Bert(small_config())
    assert type(model.encoder) is Encoder
    assert model.mlm.decoder is None
    assert not Bert(small_config(pair_head=False)).pooler


def test_config_round_trips_through_a_mapping():
    config = small_config(pair_head=False, position_offset=2, pad_id=1)
    assert from_mapping(BertConfig, dataclasses.asdict(config)) == config


@pytest.mark.parametrize("size", BERT_SIZES)
def test_parameter_counts_match_transformers_and_the_papers(size):
    shape = BERT_SIZES[size]
    hf_config = tf.BertConfig(
        num_hidden_layers=shape["num_layers"],
        hidden_size=shape["d_model"],
        num_attention_heads=shape["num_heads"],
        intermediate_size=shape["d_ff"],
    )
    with torch.device("meta"):
        ours = sum(p.numel() for p in Bert(bert_config(size)).parameters())
        theirs = sum(p.numel() for p in tf.BertForPreTraining(hf_config).parameters())
    assert ours == theirs
    published, tolerance = PUBLISHED[size]
    assert abs(ours / 1e6 - published) <= tolerance * published


def test_bf16_autocast_is_close_to_fp32():
    model = jitter(Bert(small_config()), seed=4).eval()
    batch = with_labels(padded_batch(64, 0, 2), 64)
    with torch.no_grad():
        full = model(**batch)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            low = model(**batch)
    assert low.logits.dtype == torch.bfloat16
    torch.testing.assert_close(low.logits.float(), full.logits, atol=0.1, rtol=0.05)
    assert abs(low.loss.item() - full.loss.item()) <= 0.02 * full.loss.item()


def test_too_long_or_out_of_vocabulary_input_is_refused():
    model = Bert(small_config())
    with pytest.raises(DenoiseError, match="longer than the model's 24 positions"):
        model(torch.ones(1, 25, dtype=torch.long))
    with pytest.raises(DenoiseError, match="token id 64 is outside"):
        model(torch.tensor([[2, 64]]))


def test_mismatched_labels_or_pair_labels_without_a_head_are_refused():
    model = Bert(small_config(pair_head=False))
    ids = torch.ones(2, 5, dtype=torch.long)
    with pytest.raises(DenoiseError, match="labels of shape"):
        model(ids, labels=torch.ones(2, 4, dtype=torch.long))
    with pytest.raises(DenoiseError, match="no pair head"):
        model(ids, labels=ids, pair_labels=torch.zeros(2, dtype=torch.long))


def test_other_architectures_are_refused_by_name(tmp_path):
    torch.manual_seed(0)
    tf.GPT2LMHeadModel(
        tf.GPT2Config(n_layer=1, n_embd=16, n_head=2, vocab_size=40, n_positions=16)
    ).save_pretrained(tmp_path / "gpt2")
    tf.T5Config(d_model=16, num_layers=1, num_heads=2, d_kv=8, d_ff=32, vocab_size=40).save_pretrained(
        tmp_path / "t5"
    )
    with pytest.raises(DenoiseError, match="'gpt2' checkpoint \\(GPT2LMHeadModel\\)"):
        bert_from_hf(tmp_path / "gpt2")
    with pytest.raises(DenoiseError, match="'t5' checkpoint"):
        bert_from_hf(tmp_path / "t5")
    classifier = tf.BertForSequenceClassification(
        tf.BertConfig(
            vocab_size=30, hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32
        )
    )
    with pytest.raises(DenoiseError, match="BertForSequenceClassification"):
        bert_from_hf(classifier)
    with pytest.raises(FileNotFoundError, match="config.json"):
        bert_from_hf(tmp_path)


def test_settings_denoise_lacks_are_refused():
    reference = tf.BertForMaskedLM(
        tf.BertConfig(
            vocab_size=30, hidden_size=16, num_hidden_layers=1, num_attention_heads=2, hidden_act="silu"
        )
    )
    with pytest.raises(DenoiseError, match="hidden_act='silu'"):
        bert_from_hf(reference)
    with pytest.raises(DenoiseError, match="pre_norm=True"):
        bert_to_hf(Bert(small_config(pre_norm=True)), "unused")


def test_missing_and_extra_weights_are_named(tmp_path):
    architecture, settings = HF_CASES["pretraining-3x16"]
    reference = hf_model(architecture, **settings)
    state = dict(reference.state_dict())
    del state["bert.encoder.layer.0.output.dense.bias"]
    state["bert.encoder.layer.1.output.dense.bias"] = torch.zeros(48)
    model = Bert(bert_from_hf(reference).config)
    with pytest.raises(
        DenoiseError, match="missing.*layer.0.output.dense.bias.*unexpected.*layer.1.output.dense.bias"
    ):
        load_hf_state(model, state, architecture)
    state = dict(reference.state_dict())
    state["cls.seq_relationship.weight"] = torch.zeros(3, 48)
    with pytest.raises(DenoiseError, match=r"cls.seq_relationship.weight \(3, 48\) \(expected \(2, 48\)\)"):
        load_hf_state(model, state, architecture)

    reference.save_pretrained(tmp_path)
    weights = load_file(tmp_path / "model.safetensors")
    del weights["bert.pooler.dense.weight"]
    weights["bert.surplus.weight"] = torch.zeros(2)
    save_file(weights, tmp_path / "model.safetensors", metadata={"format": "pt"})
    with pytest.raises(
        DenoiseError, match="missing_keys.*bert.pooler.dense.weight.*unexpected_keys.*bert.surplus.weight"
    ):
        bert_from_hf(tmp_path)


def test_unknown_size_is_refused_with_the_nearest():
    with pytest.raises(DenoiseError, match="did you mean 'base'"):
        bert_config("bass")


def test_missing_transformers_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "transformers", None)
    with pytest.raises(DenoiseError, match="pip install transformers"):
        bert_to_hf(Bert(small_config()), "unused")


def test_a_bert_with_relative_positions_trains_and_refuses_export(tmp_path):
    from denoise.models.families import build_model
    from denoise.models.settings import Ids, ModelSettings

    model = build_model(ModelSettings(family="bert", size="tiny", positions="relative"), Ids(100, 0, 2, 3))
    assert model.encoder.embeddings.positions is None and model.encoder.relative_bias is not None
    ids = torch.randint(5, 100, (2, 300))  # longer than any learned table would need
    labels = torch.where(torch.rand(ids.shape) < 0.2, ids, torch.full_like(ids, -100))
    model(ids, labels=labels).loss.backward()
    assert model.encoder.relative_bias.embedding.weight.grad.abs().sum() > 0
    with pytest.raises(DenoiseError, match="positions='relative'"):
        bert_to_hf(model, tmp_path / "hf")


def test_alibi_slopes_follow_the_papers_rule():
    from denoise.models.layers import alibi_slopes

    torch.testing.assert_close(alibi_slopes(8), torch.tensor([2.0**-i for i in range(1, 9)]))
    # six heads: the four slopes of four heads, then every other slope of eight
    expected = [2.0**-2, 2.0**-4, 2.0**-6, 2.0**-8, 2.0**-1, 2.0**-3]
    torch.testing.assert_close(alibi_slopes(6), torch.tensor(expected))


def test_a_bert_with_alibi_attends_locally_trains_and_refuses_export(tmp_path):
    from denoise.models.families import build_model
    from denoise.models.settings import Ids, ModelSettings

    model = build_model(ModelSettings(family="bert", size="tiny", positions="alibi"), Ids(100, 0, 2, 3))
    assert model.encoder.embeddings.positions is None and not list(model.encoder.relative_bias.parameters())
    bias = model.encoder.relative_bias(5, 5)
    assert bias.shape == (1, 2, 5, 5)
    torch.testing.assert_close(bias[0, 0, 2], torch.tensor([-2.0, -1.0, 0.0, -1.0, -2.0]) / 16)
    ids = torch.randint(5, 100, (2, 600))  # longer than the learned table of the same size
    labels = torch.where(torch.rand(ids.shape) < 0.2, ids, torch.full_like(ids, -100))
    model(ids, labels=labels).loss.backward()
    with pytest.raises(DenoiseError, match="positions='alibi'"):
        bert_to_hf(model, tmp_path / "hf")
