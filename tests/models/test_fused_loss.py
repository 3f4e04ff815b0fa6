import pytest
import torch
import torch.nn.functional as F

from denoise.models.fused_loss import linear_cross_entropy_sum
from denoise.models.t5.model import T5
from denoise.models.t5.sizes import t5_config


def reference(hidden, weight, labels, bias=None):
    logits = F.linear(hidden, weight) + (0 if bias is None else bias)
    return F.cross_entropy(logits.float(), labels, ignore_index=-100, reduction="sum")


@pytest.mark.parametrize("chunk_rows", [1, 7, 64, 1000])
def test_loss_and_gradients_equal_the_unfused_ones(chunk_rows):
    torch.manual_seed(0)
    hidden = torch.randn(50, 16, requires_grad=True)
    weight = torch.randn(300, 16, requires_grad=True)
    bias = torch.randn(300)
    labels = torch.randint(0, 300, (50,))
    labels[::4] = -100
    expected = reference(hidden, weight, labels, bias)
    expected.backward()
    grads = hidden.grad.clone(), weight.grad.clone()
    hidden.grad = weight.grad = None
    got = linear_cross_entropy_sum(hidden, weight, labels, bias, chunk_rows=chunk_rows)
    (3 * got).backward()
    assert torch.allclose(got, expected, atol=1e-4)
    assert torch.allclose(hidden.grad, 3 * grads[0], atol=1e-5)
    assert torch.allclose(weight.grad, 3 * grads[1], atol=1e-5)


def test_without_gradients_and_with_every_label_ignored():
    hidden, weight = torch.randn(5, 4), torch.randn(9, 4)
    labels = torch.randint(0, 9, (5,))
    with torch.no_grad():
        assert torch.allclose(
            linear_cross_entropy_sum(hidden, weight, labels), reference(hidden, weight, labels)
        )
    assert linear_cross_entropy_sum(hidden, weight, torch.full((5,), -100)).item() == 0.0


def test_bf16_autocast_stays_close_and_returns_fp32():
    torch.manual_seed(1)
    hidden, weight = torch.randn(40, 32), torch.randn(500, 32)
    labels = torch.randint(0, 500, (40,))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        got = linear_cross_entropy_sum(hidden, weight, labels)
    assert got.dtype == torch.float32
    assert (
        abs(got.item() - reference(hidden, weight, labels).item()) / reference(hidden, weight, labels).item()
        < 2e-2
    )


def test_encoder_decoder_chunked_loss_matches_its_logits_loss():
    torch.manual_seed(2)
    model = T5(t5_config("small", num_layers=2, d_model=32, num_heads=2, d_kv=16, d_ff=64, vocab_size=120))
    model.eval()  # no dropout, gradients still flow
    ids = torch.randint(5, 120, (3, 11))
    labels = torch.randint(5, 120, (3, 6))
    labels[0, 4:] = -100
    full = model(ids, labels=labels)
    full.loss.backward()
    expected = {n: p.grad.clone() for n, p in model.named_parameters()}
    model.zero_grad()
    chunked = model(ids, labels=labels, return_logits=False)
    chunked.loss.backward()
    assert chunked.logits is None
    assert torch.allclose(chunked.loss, full.loss, atol=1e-5)
    for name, parameter in model.named_parameters():
        assert torch.allclose(parameter.grad, expected[name], atol=1e-5), name
