"""SpanBERT's span boundary objective: each token inside a masked span predicted from the tokens around the
span and its place in it; trained beside the masked LM by the denoising objective; left out of exports."""

import numpy as np
import pytest
import torch

from denoise.errors import DenoiseError
from denoise.labels import IGNORE
from denoise.models.bert.model import SPAN_POSITIONS, Bert, BertConfig, span_boundaries
from denoise.models.layers import TransformerConfig


def reference_boundaries(labelled: np.ndarray, span_ids: np.ndarray):
    """Walk each numbered span: its tokens, the positions around it, each token's offset in it."""
    inside = (span_ids > 0) & labelled
    left, right, offset = (np.zeros(labelled.shape, int) for _ in range(3))
    for row in range(labelled.shape[0]):
        start = 0
        while start < labelled.shape[1]:
            end = start
            while end < labelled.shape[1] and span_ids[row, end] == span_ids[row, start]:
                end += 1
            left[row, start:end], right[row, start:end] = max(start - 1, 0), min(end, labelled.shape[1] - 1)
            offset[row, start:end] = np.arange(end - start)
            start = end
    return inside, left, right, offset


def test_span_boundaries_match_walking_each_span():
    rng = np.random.default_rng(0)
    span_ids = np.zeros((6, 40), int)
    for row in range(6):  # spans of 1 to 5 tokens, some side by side, a few tokens labelled by another op
        position, number = 1, 0
        while position < 38:
            length = int(rng.integers(1, 6))
            if rng.random() < 0.6:
                number += 1
                span_ids[row, position : min(position + length, 39)] = number
            position += length + int(rng.integers(0, 2))
    labelled = (span_ids > 0) | (rng.random((6, 40)) < 0.1)
    got = span_boundaries(torch.from_numpy(labelled), torch.from_numpy(span_ids))
    expected = reference_boundaries(labelled, span_ids)
    assert np.array_equal(got[0].numpy(), expected[0])
    for have, want in zip(got[1:], expected[1:]):
        assert np.array_equal(have.numpy()[expected[0]], want[expected[0]])


def tiny_spanbert() -> Bert:
    encoder = TransformerConfig(
        vocab_size=120, d_model=32, num_layers=1, num_heads=2, d_ff=64, max_positions=64
    )
    return Bert(BertConfig(encoder=encoder, pair_head=False, span_head=True)).eval()


def test_the_head_reads_the_two_boundary_states_and_the_position_in_the_span():
    torch.manual_seed(0)
    model = tiny_spanbert()
    ids = torch.randint(5, 120, (1, 12))
    labels = torch.full_like(ids, IGNORE)
    labels[0, 4:8] = ids[0, 4:8]  # one span over positions 4..7: boundaries 3 and 8
    span_ids = torch.zeros_like(ids)
    span_ids[0, 4:8] = 1
    labels[0, 9] = ids[0, 9]  # a token another op masked, just after the span: not a part of it
    output = model(ids, labels=labels, span_ids=span_ids)
    assert output.span_targets.tolist() == ids[0, 4:8].tolist()
    hidden = output.hidden_states[0]
    head = model.span_boundary
    features = torch.cat([hidden[3], hidden[8], head.positions.weight[2]])  # the third token, offset 2
    state = head.hidden_norm(head.activation(head.hidden(features)))
    state = head.output_norm(head.activation(head.output(state)))
    expected = state @ model.encoder.embeddings.tokens.weight.T + head.bias
    torch.testing.assert_close(output.span_logits[2], expected)
    assert SPAN_POSITIONS >= 10  # SpanBERT's longest span, in words


def test_without_span_ids_or_a_head_nothing_changes():
    model = tiny_spanbert()
    ids = torch.randint(5, 120, (2, 10))
    labels = torch.where(torch.rand(ids.shape) < 0.3, ids, IGNORE)
    plain = model(ids, labels=labels)
    assert plain.span_logits is None
    torch.testing.assert_close(plain.loss, model(ids, labels=labels, span_ids=torch.zeros_like(ids)).loss)


@pytest.mark.slow
def test_a_spanbert_run_trains_the_boundary_head_and_exports_without_it(prepared_corpus, tmp_path):
    import transformers

    from denoise.models.bert.hf import to_hf
    from denoise.models.checkpoint import load_model
    from denoise.train.config import load_config
    from denoise.train.loop import pretrain
    from denoise.train.metrics import read_metrics
    from tests.train_helpers import tiny

    config = load_config(None, tiny(prepared_corpus, "corruption=spanbert", steps=3))
    pretrain(config, tmp_path / "run", progress=False)
    records = [r for r in read_metrics(tmp_path / "run") if "loss" in r]
    for record in records:
        assert record["span_loss"] > 0
        assert record["loss"] == pytest.approx(record["token_loss"] + record["span_loss"], rel=1e-5)
    model = load_model(tmp_path / "run" / "model")
    assert model.config.span_head
    with pytest.warns(UserWarning, match="span boundary head"):
        to_hf(model, tmp_path / "hf")
    exported = transformers.AutoModelForMaskedLM.from_pretrained(tmp_path / "hf")
    assert not any("span" in name for name in exported.state_dict())
    masked = load_config(None, tiny(prepared_corpus, "corruption=spanbert", "model.span_head=false", steps=1))
    pretrain(masked, tmp_path / "masked", progress=False)
    assert not load_model(tmp_path / "masked" / "model").config.span_head
    assert "span_loss" not in read_metrics(tmp_path / "masked")[0]
    # ELECTRA reads no spans: no boundary head to leave untrained (data parallelism would stop on one)
    electra = tiny(prepared_corpus, "corruption=spanbert", "objective=electra", steps=1)
    pretrain(load_config(None, electra), tmp_path / "electra", progress=False)
    assert not load_model(tmp_path / "electra" / "model").config.span_head
    with pytest.raises(DenoiseError, match=r"model\.span_head=true.*'electra'"):
        pretrain(load_config(None, [*electra, "model.span_head=true"]), tmp_path / "refused", progress=False)
    # a run continued from a SpanBERT run with another recipe leaves its head behind
    continued = tiny(prepared_corpus, "corruption=roberta", f"init={tmp_path / 'run'}", steps=1)
    pretrain(load_config(None, continued), tmp_path / "continued", progress=False)
    assert not load_model(tmp_path / "continued" / "model").config.span_head


@pytest.mark.slow
def test_a_span_masking_run_saved_before_the_head_resumes_without_one(prepared_corpus, tmp_path):
    """Its checkpoint's model has no boundary head and its config no model.span_head: it resumes as it was."""
    import json

    from denoise.models.checkpoint import load_model
    from denoise.train.checkpoints import TRAINER_FILE, latest_checkpoint
    from denoise.train.config import load_config
    from denoise.train.loop import pretrain
    from tests.train_helpers import tiny

    first = tiny(prepared_corpus, "corruption=spanbert", "model.span_head=false", steps=2)
    pretrain(load_config(None, first), tmp_path / "run", progress=False)
    checkpoint = latest_checkpoint(tmp_path / "run")
    model_json = json.loads((checkpoint / "model" / "model.json").read_text())
    del model_json["config"]["span_head"]  # as a run written before the head was saved
    (checkpoint / "model" / "model.json").write_text(json.dumps(model_json))
    trainer = json.loads((checkpoint / TRAINER_FILE).read_text())
    del trainer["config"]["model"]["span_head"]
    trainer["files"]["model/model.json"] = (checkpoint / "model" / "model.json").stat().st_size
    (checkpoint / TRAINER_FILE).write_text(json.dumps(trainer))
    longer = tiny(prepared_corpus, "corruption=spanbert", steps=3)
    pretrain(load_config(None, longer), tmp_path / "run", resume=True, progress=False)
    assert not load_model(tmp_path / "run" / "model").config.span_head
