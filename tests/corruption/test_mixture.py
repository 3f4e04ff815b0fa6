import numpy as np
import pytest

from denoise import DenoiseError
from denoise.corruption.base import Vocab
from denoise.corruption.random import KeyedRandom
from denoise.corruption.recipe import Recipe
from denoise.corruption.registry import build_op
from denoise.corruption.span import merge_on_sentinels, noise_budget
from tests.corruption_helpers import random_blocks


@pytest.fixture(scope="module")
def vocab(tokenizer):
    return Vocab.from_tokenizer(tokenizer)


@pytest.fixture(scope="module")
def ul2(vocab):
    return build_op("mixture", Recipe.load("ul2").steps[0].params, vocab)


def test_each_example_gets_one_denoiser_with_its_mode_token_at_the_configured_rates(vocab, ul2):
    sample = random_blocks(vocab, [512] * 2000, seed=1)
    out = ul2(sample, KeyedRandom(0, 0, np.arange(2000)))
    choice = ul2.choose(KeyedRandom(0, 0, np.arange(2000)))
    modes = [d.mode for d in ul2.config.denoisers]
    assert [vocab.mode_ids[modes[k]] for k in choice] == out.mode_ids.tolist()
    weights = np.array([d.weight for d in ul2.config.denoisers])
    expected = weights / weights.sum()
    observed = np.bincount(choice, minlength=len(weights)) / len(choice)
    assert (np.abs(observed - expected) < 4 * np.sqrt(expected * (1 - expected) / len(choice))).all()

    for i in range(2000):
        original = sample.tokens[i, :512].tolist()
        source = out.tokens[i, : out.lengths[i]].tolist()
        target = out.target[i, : out.target_lengths[i]].tolist()
        denoiser = ul2.config.denoisers[choice[i]]
        if denoiser.op == "prefix_lm":
            assert source + target == original
            continue
        assert merge_on_sentinels(source, target, vocab.sentinel_ids).tolist() == original
        noise, spans = noise_budget(512, denoiser.params["density"], denoiser.params["mean_span"])
        assert sum(t not in vocab.sentinel_ids for t in target) == noise
        assert sum(t in vocab.sentinel_ids for t in source) == spans


def test_mixture_rows_do_not_depend_on_their_batch(vocab, ul2):
    sample = random_blocks(vocab, [512, 100, 3, 512, 40, 300] * 4, seed=2, width=512)
    indices = np.arange(50, 74)
    whole = ul2(sample, KeyedRandom(5, 1, indices))
    order = np.array([7, 2, 19, 0])
    part = ul2(sample.rows(order), KeyedRandom(5, 1, indices[order]))
    for b, i in enumerate(order):
        assert part.tokens[b, : part.lengths[b]].tolist() == whole.tokens[i, : whole.lengths[i]].tolist()
        assert (
            part.target[b, : part.target_lengths[b]].tolist()
            == whole.target[i, : whole.target_lengths[i]].tolist()
        )
        assert part.mode_ids[b] == whole.mode_ids[i]


def test_mixture_settings_are_checked(vocab):
    assert len(build_op("mixture", {}, vocab).ops) == 7  # UL2's denoisers by default
    with pytest.raises(DenoiseError, match="needs a list of denoisers"):
        build_op("mixture", {"denoisers": []}, vocab)
    with pytest.raises(DenoiseError, match="cannot contain another mixture"):
        build_op("mixture", {"denoisers": [{"op": "mixture"}]}, vocab)
    with pytest.raises(DenoiseError, match="'mask' does not define a target"):
        build_op("mixture", {"denoisers": [{"op": "mask"}]}, vocab)
    with pytest.raises(DenoiseError, match=r"mode token '\[XYZ\]' is not in the tokenizer"):
        build_op("mixture", {"denoisers": [{"op": "span", "mode": "[XYZ]"}]}, vocab)
    with pytest.raises(DenoiseError, match="unknown key 'densty'"):
        build_op("mixture", {"denoisers": [{"op": "span", "params": {"densty": 0.2}}]}, vocab)
