import pytest
import torch

from denoise.models.bert.model import Bert, BertConfig
from denoise.models.layers import TransformerConfig
from denoise.models.t5.model import T5
from denoise.models.t5.sizes import t5_config


def tiny_bert() -> Bert:
    encoder = TransformerConfig(
        vocab_size=200, d_model=32, num_layers=2, num_heads=4, d_ff=64, max_positions=64, type_vocab_size=2
    )
    return Bert(BertConfig(encoder=encoder)).eval()


def tiny_t5() -> T5:
    return T5(
        t5_config("small", vocab_size=200, d_model=32, d_kv=8, num_heads=4, d_ff=64, num_layers=2)
    ).eval()


@pytest.mark.slow
def test_torch_compile_gives_the_eager_results():
    ids = torch.randint(5, 200, (2, 16), generator=torch.Generator().manual_seed(0))
    mask = torch.ones_like(ids)
    for model, kwargs in (
        (tiny_bert(), {"input_ids": ids, "attention_mask": mask}),
        (tiny_t5(), {"input_ids": ids, "attention_mask": mask, "decoder_input_ids": ids[:, :8]}),
    ):
        with torch.no_grad():
            eager = model(**kwargs).logits
            compiled = torch.compile(model)(**kwargs).logits
        assert (compiled - eager).abs().max() < 1e-4


def test_bf16_autocast_training_step_runs_for_both_families():
    ids = torch.randint(5, 200, (2, 16), generator=torch.Generator().manual_seed(1))
    labels = torch.full_like(ids, -100)
    labels[:, 3] = ids[:, 3]
    for model, kwargs in (
        (tiny_bert().train(), {"input_ids": ids, "labels": labels}),
        (tiny_t5().train(), {"input_ids": ids, "labels": ids[:, :8]}),
    ):
        with torch.autocast("cpu", dtype=torch.bfloat16):
            loss = model(**kwargs).loss
        loss.backward()
        grads = [p.grad for p in model.parameters() if p.grad is not None]
        assert torch.isfinite(loss) and grads and all(torch.isfinite(g).all() for g in grads)
