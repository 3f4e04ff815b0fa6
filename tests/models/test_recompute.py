"""Activation checkpointing (``training.activation_checkpointing``): the same loss and gradients, dropout
included, for every family, with far fewer activations kept for the backward pass."""

import pytest
import torch

from denoise.models.families import build_model
from denoise.models.recompute import recompute_activations
from denoise.models.settings import Ids, ModelSettings

VOCAB = 300


def batch(family: str) -> dict:
    generator = torch.Generator().manual_seed(0)
    ids = torch.randint(5, VOCAB, (4, 24), generator=generator)
    if family == "bert":
        labels = torch.where(torch.rand(ids.shape, generator=generator) < 0.3, ids, -100)
        return {"input_ids": ids, "labels": labels}
    return {"input_ids": ids, "labels": torch.randint(5, VOCAB, (4, 12), generator=generator)}


def loss_and_gradients(family: str, recompute: bool) -> tuple[torch.Tensor, dict, int]:
    """The loss, the gradients, and the bytes of the tensors autograd kept for the backward pass."""
    torch.manual_seed(0)
    settings = ModelSettings(family=family, num_layers=3, d_model=32, num_heads=4, d_ff=64, dropout=0.2)
    model = build_model(settings, Ids(VOCAB, pad_id=0, start_id=2, eos_id=3)).train()
    if recompute:
        recompute_activations(model)
    kept = []

    def pack(tensor):
        kept.append(tensor.numel() * tensor.element_size())
        return tensor

    torch.manual_seed(1)  # the dropout draws
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
        loss = model(**batch(family)).loss
    loss.backward()
    return loss.detach(), {n: p.grad for n, p in model.named_parameters() if p.grad is not None}, sum(kept)


@pytest.mark.parametrize("family", ["bert", "bart", "t5", "gpt"])
def test_recomputed_activations_give_the_same_gradients_from_fewer_kept_tensors(family):
    loss, gradients, kept = loss_and_gradients(family, recompute=False)
    loss_again, recomputed, kept_again = loss_and_gradients(family, recompute=True)
    assert torch.equal(loss, loss_again)
    assert gradients.keys() == recomputed.keys()
    for name, gradient in gradients.items():
        torch.testing.assert_close(recomputed[name], gradient, rtol=1e-5, atol=1e-7, msg=name)
    assert kept_again < kept / 2, (kept_again, kept)
