"""ELECTRA's generator and discriminator: shapes, shared embeddings, replacements, the loss, and transformers
parity both ways."""

import pytest
import torch
import torch.nn.functional as F

from denoise.errors import DenoiseError
from denoise.labels import IGNORE
from denoise.models.bert import hf
from denoise.models.bert.electra import Electra, ElectraSettings, generator_config
from denoise.models.bert.model import Bert, BertConfig
from denoise.models.bert.sizes import bert_config
from denoise.models.families import family_named
from denoise.models.layers import TransformerConfig, with_changes


def stack(**changes) -> TransformerConfig:
    settings = dict(
        vocab_size=301,
        d_model=48,
        num_layers=3,
        num_heads=4,
        d_ff=72,
        embedding_size=20,
        type_vocab_size=2,
        max_positions=40,
        dropout=0.0,
        attention_dropout=0.0,
    )
    return TransformerConfig(**{**settings, **changes})


def discriminator(**changes) -> Bert:
    torch.manual_seed(0)
    model = Bert(BertConfig(stack(**changes), pair_head=False, token_head="replaced")).eval()
    with torch.no_grad():  # weights far from the initialisation, so that a wrong map shows
        for parameter in model.parameters():
            parameter.normal_(0, 0.2)
    return model


def padded_batch(vocab_size=301):
    torch.manual_seed(1)
    ids = torch.randint(5, vocab_size, (3, 17))
    mask = torch.ones_like(ids)
    mask[1, 12:] = 0
    mask[2, 5:] = 0
    types = torch.zeros_like(ids)
    types[:, 8:] = 1
    return ids, mask, types


def test_the_generator_is_a_quarter_of_electra_small_and_a_third_of_base_as_published():
    small = with_changes(bert_config("mini").encoder, {"num_layers": 12, "embedding_size": 128})
    generator = generator_config(BertConfig(small), ElectraSettings(scale=0.25)).encoder
    assert (generator.d_model, generator.num_heads, generator.d_ff, generator.num_layers) == (64, 1, 256, 12)
    assert generator.embedding_size == 128
    base = generator_config(bert_config("base"), ElectraSettings(scale=1 / 3)).encoder
    assert (base.d_model, base.num_heads, base.d_ff, base.embedding_size) == (256, 4, 1024, 768)


def test_electra_small_has_the_published_parameter_count():
    small = with_changes(
        bert_config("mini", vocab_size=30522).encoder, {"num_layers": 12, "embedding_size": 128}
    )
    model = Electra.with_generator(Bert(BertConfig(small)), ElectraSettings())
    discriminator = sum(p.numel() for p in model.discriminator.parameters())
    assert discriminator == pytest.approx(13.5e6, rel=0.01)  # google/electra-small-discriminator: 13.5M


def test_generator_and_discriminator_share_one_embedding_module():
    model = Electra.with_generator(discriminator(), ElectraSettings())
    assert model.generator.encoder.embeddings is model.discriminator.encoder.embeddings
    shared = {id(p) for p in model.discriminator.encoder.embeddings.parameters()}
    names = [name for name, p in model.named_parameters() if id(p) in shared]
    assert len(names) == len(shared)  # each shared weight is one parameter of the optimizer


def test_a_masked_lm_becomes_a_discriminator_with_its_encoder():
    torch.manual_seed(0)
    masked_lm = Bert(BertConfig(stack(), pair_head=True))
    model = Electra.with_generator(masked_lm, ElectraSettings())
    assert model.discriminator.mlm is None and model.discriminator.pooler is None
    for name, value in masked_lm.encoder.state_dict().items():
        assert torch.equal(model.discriminator.encoder.state_dict()[name], value)


def test_replacements_fill_only_the_masked_positions_and_count_a_right_guess_as_original():
    model = Electra.with_generator(discriminator(), ElectraSettings())
    ids = torch.tensor([[7, 4, 9, 4, 11]])
    labels = torch.tensor([[IGNORE, 20, IGNORE, 21, IGNORE]])
    labelled = labels != IGNORE
    logits = torch.full((2, 301), -1e4)
    logits[0, 20] = 0.0  # the generator is sure of the original at the first mask
    logits[1, 33] = 0.0  # and of another token at the second
    corrupted, replaced = model.replace(ids, labels, labelled, logits)
    assert corrupted.tolist() == [[7, 20, 9, 33, 11]]
    assert replaced.tolist() == [[False, False, False, True, False]]


def test_replacements_are_drawn_from_the_generator_s_softmax():
    model = Electra.with_generator(discriminator(), ElectraSettings())
    draws = 20000
    logits = torch.log(torch.tensor([0.5, 0.3, 0.15, 0.05])).repeat(draws, 1)
    labels = torch.full((1, draws), 3)
    corrupted, replaced = model.replace(torch.zeros_like(labels), labels, labels >= 0, logits)
    frequencies = torch.bincount(corrupted[0], minlength=4) / draws
    assert torch.allclose(frequencies, torch.tensor([0.5, 0.3, 0.15, 0.05]), atol=0.015)
    assert replaced.float().mean().item() == pytest.approx(0.95, abs=0.01)  # token 3 is the original


def test_the_loss_is_the_generator_s_plus_fifty_times_the_discriminator_s():
    from denoise.train.objectives import build_objective
    from denoise.train.objectives.base import Counts

    model = Electra.with_generator(discriminator(), ElectraSettings()).train()
    ids, mask, types = padded_batch()
    labels = torch.full_like(ids, IGNORE)
    labels[:, 2] = ids[:, 2]
    masked = ids.clone()
    masked[:, 2] = 4
    inputs = dict(input_ids=masked, attention_mask=mask, token_type_ids=types, labels=labels)
    torch.manual_seed(3)
    output = model(**inputs)
    real = mask.bool()
    detection = F.binary_cross_entropy_with_logits(
        output.detection_logits[real], output.replaced[real].float(), reduction="sum"
    )
    assert output.detection_sum.item() == pytest.approx(detection.item(), rel=1e-6)
    assert output.targets.tolist() == ids[:, 2].tolist()
    counts = Counts(tokens=3, pairs=0, positions=int(mask.sum()))
    torch.manual_seed(3)  # the same samples again
    loss, parts = build_objective("electra").loss(model, dict(inputs), counts, counts)
    expected = output.loss + 50 * output.detection_sum / counts.positions
    assert loss.item() == pytest.approx(expected.item(), rel=1e-6)
    assert parts["detection_loss"].item() == pytest.approx(output.detection_sum.item() / counts.positions)
    # the discriminator's loss reaches the generator only through the shared embeddings
    model.zero_grad()
    output.detection_sum.backward()
    generator_only = [p for n, p in model.generator.named_parameters() if "embeddings" not in n]
    assert all(p.grad is None or not p.grad.any() for p in generator_only)
    assert model.discriminator.encoder.embeddings.tokens.weight.grad.any()


def test_a_discriminator_cannot_be_trained_on_masked_tokens():
    model = discriminator()
    ids, mask, types = padded_batch()
    assert model(ids, mask, types).logits.shape == ids.shape  # one logit per token
    with pytest.raises(DenoiseError, match="no masked-LM head"):
        model(ids, mask, types, labels=ids)


def test_the_bert_family_trains_electra():
    assert family_named("bert").electra is not None
    assert family_named("bart").electra is None and family_named("t5").electra is None


@pytest.mark.parametrize("which", ["discriminator", "generator"])
def test_export_to_transformers_electra_gives_the_same_logits_and_reads_back(which, tmp_path):
    import transformers

    electra = Electra.with_generator(discriminator(), ElectraSettings())
    model = getattr(electra, which).eval()
    hf.to_hf(model, tmp_path)
    auto = (
        transformers.AutoModelForPreTraining
        if which == "discriminator"
        else transformers.AutoModelForMaskedLM
    )
    theirs = auto.from_pretrained(tmp_path).eval()
    expected = {"discriminator": "ElectraForPreTraining", "generator": "ElectraForMaskedLM"}[which]
    assert type(theirs).__name__ == expected
    ids, mask, types = padded_batch()
    with torch.no_grad():
        ours = model(ids, mask, types).logits
        their = theirs(input_ids=ids, attention_mask=mask, token_type_ids=types).logits
    real = mask.bool()
    assert (ours[real] - their[real]).abs().max() <= 1e-4
    back = hf.from_hf(tmp_path)
    assert back.config == model.config
    for name, value in model.state_dict().items():
        assert torch.equal(back.state_dict()[name], value), name


def test_a_transformers_electra_discriminator_reads_into_a_bert_with_the_same_logits():
    import transformers

    torch.manual_seed(4)
    config = transformers.ElectraConfig(
        vocab_size=211,
        embedding_size=24,
        hidden_size=40,
        num_hidden_layers=2,
        num_attention_heads=5,
        intermediate_size=56,
        max_position_embeddings=64,
        hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
    )
    theirs = transformers.ElectraForPreTraining(config).eval()
    with torch.no_grad():
        for parameter in theirs.parameters():
            parameter.normal_(0, 0.2)
    ours = hf.from_hf(theirs).eval()
    assert ours.config.token_head == "replaced" and ours.config.encoder.embedding_size == 24
    ids, mask, types = padded_batch(vocab_size=211)
    with torch.no_grad():
        expected = theirs(input_ids=ids, attention_mask=mask, token_type_ids=types).logits
        got = ours(ids, mask, types).logits
    real = mask.bool()
    assert (expected[real] - got[real]).abs().max() <= 1e-4


def test_models_transformers_electra_cannot_hold_are_refused(tmp_path):
    with pytest.raises(DenoiseError, match="ElectraForPreTraining, but it has a sentence-pair"):
        hf.to_hf(Bert(BertConfig(stack(), pair_head=True, token_head="replaced")), tmp_path / "paired")
    with pytest.raises(
        DenoiseError, match="uses .relu. in its head, where ELECTRA.s generator head uses gelu"
    ):
        hf.to_hf(Bert(BertConfig(stack(activation="relu"), pair_head=False)), tmp_path / "relu")


@pytest.mark.parametrize(
    "setting, message",
    [
        ({"scale": 0}, r"scale must be in \(0, 1\]"),
        ({"detection_weight": -1}, "detection_weight must be > 0"),
    ],
)
def test_bad_electra_settings_are_refused(setting, message):
    from denoise.train.objectives import build_objective

    with pytest.raises(DenoiseError, match=message):
        build_objective({"name": "electra", **setting})


def test_factorised_embeddings_are_for_encoders_only():
    from denoise.models.decoder import Decoder

    with pytest.raises(DenoiseError, match="factorised embeddings are for encoder-only models"):
        Decoder(stack())
