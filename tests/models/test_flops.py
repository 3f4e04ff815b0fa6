"""Each family's count of training FLOPs against torch's FLOP counter on the trainer's own loss and backward,
for every objective that changes what is computed (the cases of ``benchmarks/flops.py``)."""

import pytest
import torch
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.flop_counter import FlopCounterMode

from benchmarks.flops import CASES, build, measure
from denoise.models.families import FAMILIES, family_named
from denoise.models.flops import attention_flops, linear_weights
from denoise.train.objectives.base import Counts

TOLERANCE = 0.05


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_the_analytic_count_matches_torch_s_counter(case):
    row = measure(case)
    assert row["ratio"] == pytest.approx(1.0, abs=TOLERANCE), (
        f"{case.name}: analytic {row['analytic']:.4g}, counter {row['counted']:.4g}"
    )


def test_the_cases_cover_every_family_and_the_shapes_that_change_the_count():
    assert {case.family for case in CASES} == set(FAMILIES)
    assert {"bert", "albert", "roberta", "bart", "mass", "t5", "clm"} <= {case.recipe for case in CASES}
    assert {"denoising", "electra"} == {case.objective for case in CASES}
    assert any(not case.tied for case in CASES)


def test_bert_projects_to_the_vocabulary_only_at_the_masked_positions():
    model, batch = build(CASES[0])
    flops = family_named("bert").flops
    predicted = Counts.of(batch).tokens
    config = model.config.encoder
    per_prediction = 6 * (config.d_model**2 + config.d_model * config.vocab_size)
    assert flops(model, batch, predicted + 1) - flops(model, batch, predicted) == per_prediction


def test_an_encoder_decoder_head_runs_at_every_target_position_padding_included():
    case = next(case for case in CASES if case.recipe == "t5")
    model, batch = build(case)
    counts = Counts.of(batch)
    assert counts.tokens < batch.labels.numel()  # span targets are padded to the longest
    assert family_named("t5").flops(model, batch, counts.tokens) == family_named("t5").flops(model, batch, 0)


def test_causal_self_attention_is_counted_in_full_as_the_counter_counts_it():
    model, _ = build(next(case for case in CASES if case.recipe == "bart"))
    attention, config = model.decoder.layers[0].self_attention, model.decoder.config
    batch_size, length = 3, 40
    states = torch.randn(batch_size, length, config.d_model, requires_grad=True)
    with sdpa_kernel(SDPBackend.MATH), FlopCounterMode(display=False) as counter:
        attention(states, causal=True).sum().backward()
    linear = 6 * linear_weights(attention) * batch_size * length
    assert counter.get_total_flops() == linear + attention_flops(config, batch_size, length, length)
