"""Encoder-decoder models against transformers' BART and T5: logits, loss, conversion both ways, generation,
parameter counts of the published sizes, and errors for checkpoints that do not fit."""

import dataclasses
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

from denoise.config import from_mapping
from denoise.errors import DenoiseError
from denoise.models.bart.model import Bart
from denoise.models.bart.sizes import bart_config
from denoise.models.encoder import Encoder
from denoise.models.encoder_decoder import EncoderDecoderConfig, count_parameters
from denoise.models.generation import beam_search, generate, greedy_search
from denoise.models.hf import from_hf, to_hf
from denoise.models.t5.model import T5
from denoise.models.t5.sizes import t5_config

tf = pytest.importorskip("transformers")

TOLERANCE = 1e-4


def small_bart(**changes):
    base = dict(
        vocab_size=99,
        d_model=36,
        encoder_layers=2,
        decoder_layers=2,
        encoder_attention_heads=3,
        decoder_attention_heads=3,
        encoder_ffn_dim=40,
        decoder_ffn_dim=48,
        max_position_embeddings=24,
        init_std=0.3,
    )
    return tf.BartConfig(**{**base, **changes})


def small_t5(**changes):
    base = dict(
        vocab_size=77,
        d_model=30,
        d_kv=7,
        num_heads=3,
        d_ff=44,
        num_layers=2,
        relative_attention_num_buckets=8,
        relative_attention_max_distance=12,
        decoder_start_token_id=0,
        initializer_factor=1.5,
    )
    return tf.T5Config(**{**base, **changes})


CHECKPOINTS = {
    "bart-odd-heads": lambda: small_bart(decoder_layers=3, decoder_attention_heads=2, scale_embedding=True),
    "bart-relu-untied": lambda: small_bart(
        vocab_size=150,
        d_model=40,
        encoder_attention_heads=5,
        decoder_attention_heads=5,
        activation_function="relu",
        init_std=0.1,
        tie_word_embeddings=False,
    ),
    "t5-v1.0": lambda: small_t5(d_model=32, num_heads=4, d_kv=8, feed_forward_proj="relu"),
    "t5-v1.1-untied": lambda: small_t5(feed_forward_proj="gated-gelu", tie_word_embeddings=False),
    "t5-uneven": lambda: small_t5(vocab_size=64, d_model=24, num_heads=5, d_kv=4, num_decoder_layers=3),
}


@dataclasses.dataclass
class Checkpoint:
    name: str
    directory: Path
    hf: object

    @property
    def vocab_size(self) -> int:
        return self.hf.config.vocab_size


def build_hf(name: str):
    torch.manual_seed(1)
    config = CHECKPOINTS[name]()
    model = (
        tf.BartForConditionalGeneration if config.model_type == "bart" else tf.T5ForConditionalGeneration
    )(config)
    with torch.no_grad():
        if config.model_type == "bart":
            model.final_logits_bias.normal_(0, 0.5)
        if name.endswith("untied"):
            model.lm_head.weight = torch.nn.Parameter(torch.randn_like(model.lm_head.weight))
            table = model.get_input_embeddings().weight
            model.get_encoder().embed_tokens.weight = torch.nn.Parameter(table.clone())
            model.get_decoder().embed_tokens.weight = torch.nn.Parameter(table.clone())
    return model


@pytest.fixture(scope="module", params=sorted(CHECKPOINTS))
def checkpoint(request, tmp_path_factory) -> Checkpoint:
    directory = tmp_path_factory.mktemp(request.param) / "hf"
    build_hf(request.param).save_pretrained(directory)
    hf = tf.AutoModelForSeq2SeqLM.from_pretrained(directory).eval()
    return Checkpoint(request.param, directory, hf)


def padded_batch(vocab_size: int, seed: int = 0):
    generator = torch.Generator().manual_seed(seed)
    input_ids = torch.randint(3, vocab_size, (3, 11), generator=generator)
    attention_mask = torch.ones_like(input_ids)
    attention_mask[1, 7:] = 0
    attention_mask[2, 4:] = 0
    input_ids = input_ids.masked_fill(attention_mask == 0, 0)
    labels = torch.randint(3, vocab_size, (3, 9), generator=generator)
    labels[1, 6:] = -100
    labels[2, 2:] = -100
    return input_ids, attention_mask, labels


def test_logits_and_loss_match_transformers(checkpoint):
    model = from_hf(checkpoint.directory).eval()
    assert type(model.encoder) is Encoder
    assert model.config.tie_embeddings == (not checkpoint.name.endswith("untied"))
    assert model.config.rescale_output == (checkpoint.name in ("t5-v1.0", "t5-uneven"))
    input_ids, attention_mask, labels = padded_batch(checkpoint.vocab_size)
    decoder_attention_mask = (labels != -100).long()
    with torch.no_grad():
        theirs = checkpoint.hf(
            input_ids=input_ids,
            attention_mask=attention_mask,
            labels=labels,
            decoder_attention_mask=decoder_attention_mask,
        )
        ours = model(input_ids, attention_mask, labels=labels, decoder_attention_mask=decoder_attention_mask)
    assert ours.logits.shape == (3, 9, checkpoint.vocab_size)
    assert (ours.logits - theirs.logits).abs().max() <= TOLERANCE
    assert ours.loss.item() == pytest.approx(theirs.loss.item(), abs=1e-5)


def test_converting_an_instantiated_model_copies_its_weights(checkpoint):
    model = from_hf(checkpoint.hf).eval()
    input_ids, attention_mask, labels = padded_batch(checkpoint.vocab_size, seed=1)
    with torch.no_grad():
        theirs = checkpoint.hf(input_ids=input_ids, attention_mask=attention_mask, labels=labels).logits
        assert (model(input_ids, attention_mask, labels=labels).logits - theirs).abs().max() <= TOLERANCE
        model.shared.weight.add_(1.0)
    assert not torch.equal(model.shared.weight, checkpoint.hf.get_input_embeddings().weight)


def test_to_hf_round_trip(checkpoint, tmp_path):
    model = from_hf(checkpoint.directory).eval()
    to_hf(model, tmp_path / "out")
    reloaded = tf.AutoModelForSeq2SeqLM.from_pretrained(tmp_path / "out").eval()
    assert type(reloaded) is type(checkpoint.hf)
    input_ids, attention_mask, labels = padded_batch(checkpoint.vocab_size, seed=2)
    with torch.no_grad():
        ours = model(input_ids, attention_mask, labels=labels).logits
        theirs = reloaded(input_ids=input_ids, attention_mask=attention_mask, labels=labels).logits
    assert (ours - theirs).abs().max() <= TOLERANCE
    again = from_hf(tmp_path / "out")
    assert again.config == model.config
    assert all(torch.equal(a, b) for a, b in zip(again.state_dict().values(), model.state_dict().values()))


def uncached_greedy(model, input_ids, attention_mask, steps: int, eos_id: int) -> torch.Tensor:
    decoded = torch.full((input_ids.shape[0], 1), model.config.decoder_start_id)
    finished = torch.zeros(input_ids.shape[0], dtype=torch.bool)
    for _ in range(steps):
        logits = model(input_ids, attention_mask, decoder_input_ids=decoded).logits[:, -1]
        token = logits.argmax(-1).masked_fill(finished, model.config.pad_id)
        decoded = torch.cat([decoded, token[:, None]], dim=1)
        finished |= token == eos_id
        if finished.all():
            break
    return decoded[:, 1:]


def hf_generate(
    hf, input_ids, attention_mask, steps: int, eos_id: int, num_beams: int, no_repeat: int = 0
) -> torch.Tensor:
    with torch.no_grad():
        out = hf.generate(
            input_ids=input_ids,
            attention_mask=attention_mask,
            max_new_tokens=steps,
            num_beams=num_beams,
            do_sample=False,
            early_stopping=False,
            length_penalty=1.0,
            min_length=0,
            forced_bos_token_id=None,
            forced_eos_token_id=None,
            no_repeat_ngram_size=no_repeat,
            repetition_penalty=1.0,
            eos_token_id=eos_id,
        )
    return out[:, 1:]


def blank_after_eos(ids: torch.Tensor, eos_id: int, pad_id: int) -> torch.Tensor:
    """transformers pads beam outputs with the EOS id when the pad id is 0; compare up to EOS."""
    after = (ids == eos_id).long().cumsum(1) - (ids == eos_id).long() > 0
    return ids.masked_fill(after, pad_id)


def test_generation_matches_uncached_decoding_and_transformers(checkpoint):
    model = from_hf(checkpoint.directory).eval()
    input_ids, attention_mask, _ = padded_batch(checkpoint.vocab_size, seed=3)
    steps = 10
    unstopped = generate(model, input_ids, attention_mask, max_new_tokens=steps, eos_id=None)
    assert unstopped.shape == (3, steps)
    pad_id = model.config.pad_id
    eos_id = next((int(t) for t in unstopped[:, 3] if t != pad_id), pad_id + 1)
    with torch.no_grad():
        expected = uncached_greedy(model, input_ids, attention_mask, steps, eos_id)
    greedy = generate(model, input_ids, attention_mask, max_new_tokens=steps, eos_id=eos_id)
    assert torch.equal(greedy, expected)
    assert torch.equal(
        beam_search(model, input_ids, attention_mask, steps, num_beams=1, eos_id=eos_id), greedy
    )
    beams = generate(model, input_ids, attention_mask, max_new_tokens=steps, num_beams=3, eos_id=eos_id)
    assert beams.shape[0] == 3 and beams.shape[1] <= steps
    if checkpoint.name == "t5-uneven":
        return  # transformers sizes T5's generation cache by the encoder's layer count
    assert torch.equal(hf_generate(checkpoint.hf, input_ids, attention_mask, steps, eos_id, 1), greedy)
    theirs = hf_generate(checkpoint.hf, input_ids, attention_mask, steps, eos_id, 3)
    assert torch.equal(blank_after_eos(theirs, eos_id, pad_id), blank_after_eos(beams, eos_id, pad_id))


@pytest.mark.parametrize("size", [1, 2])
def test_no_repeated_ngrams_as_transformers(checkpoint, size):
    if checkpoint.name == "t5-uneven":
        pytest.skip("transformers sizes T5's generation cache by the encoder's layer count")
    model = from_hf(checkpoint.directory).eval()
    input_ids, attention_mask, _ = padded_batch(checkpoint.vocab_size, seed=3)
    steps, eos_id, pad_id = 12, None, model.config.pad_id
    free = generate(model, input_ids, attention_mask, max_new_tokens=steps, eos_id=eos_id)
    greedy = generate(model, input_ids, attention_mask, steps, eos_id=eos_id, no_repeat_ngram_size=size)
    beams = generate(model, input_ids, attention_mask, steps, 3, eos_id=eos_id, no_repeat_ngram_size=size)
    start = model.config.decoder_start_id

    def repeats(row: list[int]) -> bool:
        grams = [tuple(([start] + row)[i : i + size]) for i in range(len(row) + 2 - size)]
        return len(grams) > len(set(grams))

    assert not any(repeats(row) for row in greedy.tolist() + beams.tolist())
    if size == 1:
        assert any(repeats(row) for row in free.tolist())  # the random model repeats itself when allowed
    unused = checkpoint.vocab_size + 7  # no token ends decoding, as with eos_id=None
    assert torch.equal(hf_generate(checkpoint.hf, input_ids, attention_mask, steps, unused, 1, size), greedy)
    theirs = hf_generate(checkpoint.hf, input_ids, attention_mask, steps, unused, 3, size)
    assert torch.equal(blank_after_eos(theirs, unused, pad_id), beams)
    with pytest.raises(DenoiseError, match="no_repeat_ngram_size"):
        generate(model, input_ids, attention_mask, steps, no_repeat_ngram_size=-1)


def assert_cached_chunks_equal_one_pass(model, vocab_size: int, seed: int, bounds) -> None:
    """Decoding ``bounds`` chunks with a cache gives the logits of one uncached pass."""
    input_ids, attention_mask, labels = padded_batch(vocab_size, seed=seed)
    decoder_input_ids = labels.clamp(min=0)
    with torch.no_grad():
        full = model(input_ids, attention_mask, decoder_input_ids=decoder_input_ids).logits
        states = model.encode(input_ids, attention_mask)
        cache = model.decoder.new_cache()
        chunks = [
            model.decode(decoder_input_ids[:, a:b], states, attention_mask, cache=cache) for a, b in bounds
        ]
    assert cache.length == bounds[-1][1]
    torch.testing.assert_close(torch.cat(chunks, dim=1), full, rtol=1e-5, atol=TOLERANCE)


def test_cached_chunks_equal_one_pass(checkpoint):
    model = from_hf(checkpoint.directory).eval()
    assert_cached_chunks_equal_one_pass(model, checkpoint.vocab_size, 4, ((0, 3), (3, 4), (4, 9)))


PUBLISHED = {"bart-base": 140e6, "bart-large": 406e6, "t5-small": 60e6, "t5-base": 220e6}


def hf_published(name: str):
    if name.startswith("bart"):
        size = dict(base=(6, 768, 12, 3072), large=(12, 1024, 16, 4096))[name.split("-")[1]]
        layers, width, heads, ff = size
        return tf.BartForConditionalGeneration(
            tf.BartConfig(
                vocab_size=50265,
                d_model=width,
                encoder_layers=layers,
                decoder_layers=layers,
                encoder_attention_heads=heads,
                decoder_attention_heads=heads,
                encoder_ffn_dim=ff,
                decoder_ffn_dim=ff,
                max_position_embeddings=1024,
            )
        )
    layers, width, heads, ff = dict(small=(6, 512, 8, 2048), base=(12, 768, 12, 3072))[name.split("-")[1]]
    return tf.T5ForConditionalGeneration(
        tf.T5Config(
            vocab_size=32128,
            d_model=width,
            d_kv=64,
            d_ff=ff,
            num_layers=layers,
            num_heads=heads,
            decoder_start_token_id=0,
        )
    )


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_parameter_counts_of_published_sizes(name):
    family, size = name.split("-")
    model, config = (Bart, bart_config(size)) if family == "bart" else (T5, t5_config(size))
    with torch.device("meta"):
        ours, theirs = count_parameters(model(config)), count_parameters(hf_published(name))
    assert ours == theirs
    # T5-base has 222.9M parameters; the paper rounds it to 220M (1.3% off)
    assert ours == pytest.approx(PUBLISHED[name], rel=0.015)


def test_named_configs_and_config_checks():
    assert t5_config("small", gated=True, activation="gelu_tanh").encoder.gated
    with pytest.raises(DenoiseError, match="large"):
        t5_config("large")
    with pytest.raises(DenoiseError, match="did you mean 'vocab_size'"):
        bart_config("base", vocab_sise=8000)
    config = bart_config("base", vocab_size=1000, d_model=64, num_heads=4, d_ff=128, num_layers=1)
    assert from_mapping(EncoderDecoderConfig, dataclasses.asdict(config)) == config
    with pytest.raises(DenoiseError, match="d_model"):
        EncoderDecoderConfig(encoder=config.encoder, decoder=dataclasses.replace(config.decoder, d_model=32))


def save_bart(directory: Path) -> Path:
    torch.manual_seed(0)
    tf.BartForConditionalGeneration(small_bart()).save_pretrained(directory)
    return directory


def test_other_architectures_are_refused(tmp_path):
    tf.BertConfig(vocab_size=50, hidden_size=16, num_hidden_layers=1, num_attention_heads=2).save_pretrained(
        tmp_path
    )
    from denoise.models.bart import hf as bart_hf

    with pytest.raises(
        DenoiseError, match="cannot read a 'bert' checkpoint .* as BartForConditionalGeneration"
    ):
        bart_hf.from_hf(tmp_path)


def test_missing_and_unexpected_weights_are_named(tmp_path):
    directory = save_bart(tmp_path / "bart")
    weights = load_file(directory / "model.safetensors")
    weights.pop("model.decoder.layers.1.fc2.weight")
    weights["model.encoder.layers.7.fc1.weight"] = torch.zeros(2)
    save_file(weights, directory / "model.safetensors", metadata={"format": "pt"})
    with pytest.raises(DenoiseError, match="missing weights: model.decoder.layers.1.fc2.weight") as error:
        from_hf(directory)
    assert "unexpected weights: model.encoder.layers.7.fc1.weight" in str(error.value)


def test_separate_encoder_and_decoder_tables_are_refused():
    torch.manual_seed(0)
    hf = tf.BartForConditionalGeneration(small_bart(tie_word_embeddings=False))
    with pytest.raises(DenoiseError, match="different encoder and decoder token embeddings"):
        from_hf(hf)


def test_sequences_longer_than_the_position_table_are_refused(tmp_path):
    model = from_hf(save_bart(tmp_path / "bart")).eval()
    input_ids = torch.randint(3, 99, (2, 8))
    with pytest.raises(DenoiseError, match="25 tokens is longer than the model's 24 positions"):
        model(input_ids, decoder_input_ids=torch.randint(3, 99, (2, 25)))
    with pytest.raises(DenoiseError, match="max_new_tokens 30"):
        greedy_search(model, input_ids, max_new_tokens=30)
    with pytest.raises(DenoiseError, match="decoder_input_ids or labels"):
        model(input_ids)


def test_models_transformers_cannot_express_are_refused(tmp_path):
    config = bart_config("base", vocab_size=100, d_model=16, num_heads=2, d_ff=32, num_layers=1)
    config = dataclasses.replace(config, decoder=dataclasses.replace(config.decoder, max_positions=64))
    with pytest.raises(DenoiseError, match="differ in max_positions"):
        to_hf(Bart(config), tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_alibi_decoding_with_a_cache_equals_one_pass(tmp_path):
    config = bart_config("base", vocab_size=100, d_model=16, num_heads=2, d_ff=32, num_layers=1)
    alibi = {"positions": "alibi", "dropout": 0.0, "attention_dropout": 0.0}
    config = dataclasses.replace(
        config,
        encoder=dataclasses.replace(config.encoder, **alibi),
        decoder=dataclasses.replace(config.decoder, **alibi),
    )
    model = Bart(config).eval()
    assert_cached_chunks_equal_one_pass(model, 100, 5, ((0, 4), (4, 5), (5, 9)))
    with pytest.raises(DenoiseError, match="positions='alibi', not 'learned'"):
        to_hf(model, tmp_path / "out")
