"""The GPT family: its prefix-LM sequence, cached generation, named sizes, and parity with transformers'
GPT-2 (logits, round trip, greedy and beam search token for token)."""

import dataclasses

import numpy as np
import pytest
import torch

from denoise.errors import DenoiseError
from denoise.labels import IGNORE
from denoise.models.encoder_decoder import count_parameters
from denoise.models.families import family_named
from denoise.models.generation import beam_search, generate
from denoise.models.gpt.model import GPT, GPTConfig, as_bert
from denoise.models.gpt.sizes import gpt_config, gpt_stack
from denoise.models.hf import from_hf, to_hf
from denoise.models.layers import with_changes

tf = pytest.importorskip("transformers")

TOLERANCE = 1e-4
VOCAB = 131


def small_gpt(prefix_attention="bidirectional", **changes) -> GPT:
    stack = with_changes(
        gpt_stack("tiny", vocab_size=VOCAB, max_positions=64, pad_id=0),
        dict(d_model=48, num_heads=3, d_ff=80, num_layers=3, dropout=0.0, attention_dropout=0.0, **changes),
    )
    torch.manual_seed(0)
    return GPT(GPTConfig(stack=stack, eos_id=3, prefix_attention=prefix_attention)).eval()


def right_padded(seed: int, lengths=(9, 5, 7), low=5):
    generator = torch.Generator().manual_seed(seed)
    width = max(lengths)
    ids = torch.randint(low, VOCAB, (len(lengths), width), generator=generator)
    mask = torch.arange(width)[None, :] < torch.tensor(lengths)[:, None]
    return ids.masked_fill(~mask, 0), mask


def left_padded(ids, mask):
    """The same rows with their padding moved to the left, as transformers generates from them."""
    order = torch.sort(mask.long(), dim=1, stable=True).indices
    return ids.gather(1, order), mask.gather(1, order)


@pytest.fixture(scope="module")
def hf_gpt2():
    """A random GPT-2 of odd shapes, and the same model read by denoise."""
    config = tf.GPT2Config(
        vocab_size=VOCAB, n_positions=40, n_embd=36, n_layer=3, n_head=3, n_inner=52, eos_token_id=3,
        bos_token_id=3, pad_token_id=0, resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0,
    )  # fmt: skip
    torch.manual_seed(1)
    hf = tf.GPT2LMHeadModel(config).eval()
    with torch.no_grad():  # non-trivial norms and biases
        for name, tensor in hf.named_parameters():
            if "ln" in name or name.endswith("bias"):
                tensor.add_(torch.randn_like(tensor) * 0.1)
    return hf, from_hf(hf).eval()


def test_logits_match_transformers_on_padded_batches(hf_gpt2):
    hf, ours = hf_gpt2
    ids, mask = right_padded(3)
    with torch.no_grad():
        theirs = hf(input_ids=ids, attention_mask=mask.long()).logits
        mine = ours(ids, mask).logits
    assert ours.config.prefix_attention == "causal"
    torch.testing.assert_close(mine[mask], theirs[mask], rtol=0, atol=TOLERANCE)


def test_to_hf_round_trip(hf_gpt2, tmp_path):
    hf, ours = hf_gpt2
    to_hf(ours, tmp_path / "gpt2")
    reloaded = tf.GPT2LMHeadModel.from_pretrained(tmp_path / "gpt2").eval()
    ids, mask = right_padded(4)
    with torch.no_grad():
        torch.testing.assert_close(
            reloaded(input_ids=ids, attention_mask=mask.long()).logits[mask],
            hf(input_ids=ids, attention_mask=mask.long()).logits[mask],
            rtol=0,
            atol=TOLERANCE,
        )
    again = from_hf(tmp_path / "gpt2")
    for name, tensor in ours.state_dict().items():
        assert torch.equal(again.state_dict()[name], tensor), name
    assert family_named("gpt").transformers.model_types == ("gpt2",)


def hf_generate(hf, ids, mask, steps: int, beams: int, eos_id: int, no_repeat: int = 0) -> torch.Tensor:
    ids, mask = left_padded(ids, mask)
    with torch.no_grad():
        out = hf.generate(
            input_ids=ids, attention_mask=mask.long(), max_new_tokens=steps, num_beams=beams, do_sample=False,
            early_stopping=False, length_penalty=1.0, no_repeat_ngram_size=no_repeat, eos_token_id=eos_id,
            pad_token_id=0,
        )  # fmt: skip
    return out[:, ids.shape[1] :]


def until_eos(ids: torch.Tensor, eos_id: int) -> list[list[int]]:
    rows = []
    for row in ids.tolist():
        rows.append(row[: row.index(eos_id) + 1] if eos_id in row else row)
    return rows


@pytest.mark.parametrize("no_repeat", [0, 2])
def test_greedy_and_beam_search_match_transformers_token_for_token(hf_gpt2, no_repeat):
    hf, ours = hf_gpt2
    ids, mask = right_padded(5, lengths=(6, 3, 5))
    steps = 12
    free = generate(ours, ids, mask, max_new_tokens=steps, eos_id=None)
    eos_id = int(free[0, 4])  # a token the model does produce, so that rows stop at different steps
    greedy = generate(ours, ids, mask, max_new_tokens=steps, eos_id=eos_id, no_repeat_ngram_size=no_repeat)
    theirs = hf_generate(hf, ids, mask, steps, 1, eos_id, no_repeat)
    assert until_eos(greedy, eos_id) == until_eos(theirs, eos_id)
    beams = generate(ours, ids, mask, steps, num_beams=3, eos_id=eos_id, no_repeat_ngram_size=no_repeat)
    assert until_eos(beams, eos_id) == until_eos(
        hf_generate(hf, ids, mask, steps, 3, eos_id, no_repeat), eos_id
    )


def uncached_greedy(model: GPT, ids, mask, steps: int) -> torch.Tensor:
    """Each step reads the whole prompt (as the model's prefix) and what was written so far, with no cache."""
    written = torch.zeros((ids.shape[0], 0), dtype=torch.long)
    for _ in range(steps):
        labels = torch.cat([written, torch.zeros((ids.shape[0], 1), dtype=torch.long)], dim=1)  # one to score
        logits = model(ids, mask, labels=labels).logits[:, -1]
        written = torch.cat([written, logits.argmax(-1)[:, None]], dim=1)
    return written


@pytest.mark.parametrize("positions", ["learned", "alibi", "relative"])
@pytest.mark.parametrize("prefix_attention", ["bidirectional", "causal"])
def test_cached_generation_equals_reading_everything_again(positions, prefix_attention):
    model = small_gpt(prefix_attention, positions=positions)
    ids, mask = right_padded(6)
    with torch.no_grad():
        expected = uncached_greedy(model, ids, mask, steps=6)
    assert torch.equal(generate(model, ids, mask, max_new_tokens=6, eos_id=None), expected)
    assert torch.equal(beam_search(model, ids, mask, 6, num_beams=1, eos_id=None), expected)


def test_a_bidirectional_prefix_sees_its_whole_self_and_the_rest_sees_only_the_past():
    model = small_gpt()
    ids = torch.randint(5, VOCAB, (1, 10))
    prefix = torch.tensor([4])
    changed = ids.clone()
    changed[0, 3] = 4 if ids[0, 3] != 4 else 5  # inside the prefix
    later = ids.clone()
    later[0, 7] = 4 if ids[0, 7] != 4 else 5  # after it
    with torch.no_grad():
        base, moved, unmoved = (model.states(x, None, prefix) for x in (ids, changed, later))
        causal = model.states(changed)
    assert not torch.allclose(moved[0, 0], base[0, 0])  # position 0 reads position 3 of its prefix
    torch.testing.assert_close(unmoved[0, :7], base[0, :7])  # nothing reads a later position outside it
    torch.testing.assert_close(causal[0, :3], model.states(ids)[0, :3])  # a causal run never looks ahead


def test_source_and_target_are_read_as_one_sequence():
    """A causal GPT scores a (source, target) batch as it scores ``source target`` read as one text."""
    model = small_gpt("causal")
    source, mask = right_padded(7, lengths=(4, 2, 3))
    target = torch.randint(5, VOCAB, (3, 5))
    target[1, 3:] = IGNORE
    with torch.no_grad():
        scored = model(source, mask, labels=target)
        for row in range(3):
            real = source[row, : int(mask[row].sum())]
            written = target[row][target[row] != IGNORE]
            text = torch.cat([real, written[:-1]])[None]
            whole = model(text).logits[0, len(real) - 1 :]
            torch.testing.assert_close(scored.logits[row, : len(written)], whole, rtol=0, atol=1e-5)
        chunked = model(source, mask, labels=target, return_logits=False).loss
    torch.testing.assert_close(chunked, scored.loss)


PUBLISHED = {"small": 124_439_808, "medium": 354_823_168}


@pytest.mark.parametrize("size", sorted(PUBLISHED))
def test_named_sizes_have_gpt2_s_published_parameter_counts(size):
    config = gpt_config(size)
    stack = config.stack
    with torch.device("meta"):
        ours = count_parameters(GPT(config))
        theirs = count_parameters(
            tf.GPT2LMHeadModel(
                tf.GPT2Config(n_embd=stack.d_model, n_layer=stack.num_layers, n_head=stack.num_heads)
            )
        )
    assert ours == theirs == PUBLISHED[size]


def test_settings_gpt2_cannot_express_are_refused(tmp_path):
    model = small_gpt(positions="alibi")
    with pytest.raises(DenoiseError, match="positions='alibi'"):
        to_hf(model, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    with pytest.raises(DenoiseError, match="prefix_attention"):
        dataclasses.replace(model.config, prefix_attention="sideways")


def test_a_prompt_longer_than_the_positions_is_refused():
    model = small_gpt()
    ids, mask = right_padded(8, lengths=(60, 3))
    with pytest.raises(DenoiseError, match="exceed the model's 64 positions"):
        generate(model, ids, mask, max_new_tokens=10)


def test_a_gpt_continues_as_a_masked_lm_bert_with_its_weights():
    model = small_gpt()
    bert = as_bert(model)
    ids = torch.randint(5, VOCAB, (2, 8))
    with torch.no_grad():
        bidirectional = model.states(ids, None, torch.tensor([8, 8]))
        torch.testing.assert_close(bert.encoder(ids), bidirectional)
    assert bert.mlm is not None and bert.pooler is None


def test_a_recipe_chooses_the_prefix_attention():
    from denoise.models.settings import Ids, ModelSettings

    ids = Ids(VOCAB, 0, 2, 3)
    record = family_named("gpt")
    assert record.from_settings(ModelSettings(family="gpt"), ids).prefix_attention == "bidirectional"
    causal = ModelSettings(family="gpt", prefix_attention="causal")
    assert record.from_settings(causal, ids).prefix_attention == "causal"
    with pytest.raises(DenoiseError, match="prefix_attention 'causl' is not one of .*did you mean 'causal'"):
        record.from_settings(ModelSettings(family="gpt", prefix_attention="causl"), ids)


@pytest.mark.parametrize("multiple", [None, 8, 130])
def test_framing_pads_the_sequence_read_not_the_source(multiple):
    """A clm source stays one token wide whatever the padding multiple (its padding would lengthen every
    row); the sequence the model reads, source and target less one token, is what meets the multiple."""
    from benchmarks.flops import random_rows, small_vocab
    from denoise.corruption.corpus import blocks_from_rows
    from denoise.corruption.recipe import Recipe

    vocab = small_vocab()
    sample = blocks_from_rows(random_rows(vocab, 6, 128, seed=0)).sample(vocab.pad_id)
    corrupter = Recipe.load("clm").build(vocab, "decoder")
    corrupted = corrupter(sample, 0, 0, np.arange(6))
    batch = family_named("gpt").frame(corrupted, vocab, multiple)
    read = batch.input_ids.shape[1] + batch.labels.shape[1] - 1
    assert batch.input_ids.shape[1] == 1
    assert read == (129 if multiple is None else -(-129 // multiple) * multiple)
    assert family_named("gpt").longest_input(128, corrupter.ops) == 130


def test_generation_fills_the_positions_exactly():
    """The last new token is never read back: a one-token prompt may generate as many tokens as positions."""
    model = small_gpt()
    prompt = torch.full((2, 1), 3)
    assert generate(model, prompt, None, max_new_tokens=64, eos_id=None).shape == (2, 64)
    with pytest.raises(DenoiseError, match="exceed the model's 64 positions"):
        generate(model, prompt, None, max_new_tokens=65, eos_id=None)


def test_a_left_padded_causal_prompt_has_no_row_without_keys():
    from denoise.models.layers import unmask_unattended

    low = torch.finfo(torch.float32).min
    bias = torch.tensor([[[[low, low], [0.0, low]]]])
    assert unmask_unattended(bias).tolist() == [[[[0.0, 0.0], [0.0, low]]]]
    model = small_gpt("causal")
    ids, mask = left_padded(*right_padded(9))
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        states = model.stack(ids, mask, causal=True)
    assert torch.isfinite(states.float()).all()


def test_convert_reads_a_gpt2_checkpoint_into_a_model_folder(hf_gpt2, tmp_path):
    from denoise.cli import main
    from denoise.models.checkpoint import load_model

    hf, ours = hf_gpt2
    hf.save_pretrained(tmp_path / "gpt2")
    main(["convert", "--from-hf", str(tmp_path / "gpt2"), "--out", str(tmp_path / "converted")])
    converted = load_model(tmp_path / "converted")
    for name, tensor in ours.state_dict().items():
        assert torch.equal(converted.state_dict()[name], tensor), name


def test_no_dropout_after_the_final_norm_as_in_gpt2(hf_gpt2):
    """GPT-2 drops out embeddings, attention and residual branches, never the final norm's output (T5 does)."""
    from denoise.models.t5.model import T5
    from denoise.models.t5.sizes import t5_config

    model = GPT(GPTConfig(stack=gpt_stack("tiny", vocab_size=VOCAB, max_positions=64, pad_id=0), eos_id=3))
    assert model.config.stack.dropout > 0 and model.stack.final_dropout is None
    assert hf_gpt2[1].stack.final_dropout is None  # converted from transformers
    t5 = T5(t5_config("small", vocab_size=VOCAB, d_model=32, d_kv=8, num_heads=4, d_ff=64, num_layers=1))
    assert t5.encoder.final_dropout is not None and t5.decoder.final_dropout is not None
