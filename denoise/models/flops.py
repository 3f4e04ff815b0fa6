"""The model FLOPs of one training step (forward and backward) of a batch, behind the utilisation figure
and equal-compute budgets: 6 per weight per token that weight multiplies, the attention scores and values,
and the vocabulary projection at the predicted positions."""

from __future__ import annotations

from torch import nn


def matmul_parameters(module: nn.Module | None) -> int:
    """Weights that multiply every token (linear layers), which dominate a transformer's FLOPs."""
    if module is None:
        return 0
    return sum(m.weight.numel() for m in module.modules() if isinstance(m, nn.Linear))


def stack_flops(stack: nn.Module, batch_size: int, length: int) -> int:
    """A stack of self-attention blocks over ``length`` tokens: its linear layers and its attention."""
    config = stack.config
    inner = config.num_heads * config.head_size
    return (
        6 * matmul_parameters(stack) * batch_size * length
        + 12 * config.num_layers * batch_size * length**2 * inner
    )


def vocabulary_flops(model: nn.Module, predicted: int) -> int:
    config = model.encoder.config
    return 6 * predicted * config.d_model * config.vocab_size


def encoder_flops(model: nn.Module, batch, predicted: int) -> float:
    """An encoder-only model: the encoder over the input, the masked-LM head at the predicted positions."""
    batch_size, length = batch.input_ids.shape
    flops = stack_flops(model.encoder, batch_size, length)
    flops += 6 * matmul_parameters(getattr(model, "mlm", None)) * predicted
    return float(flops + vocabulary_flops(model, predicted))


def encoder_decoder_flops(model: nn.Module, batch, predicted: int) -> float:
    """An encoder-decoder: the encoder over the source, the decoder over the target (causal self-attention,
    cross-attention to the source), and the LM head at the predicted positions."""
    batch_size, source = batch.input_ids.shape
    target = batch.labels.shape[1]
    decoder = model.decoder.config
    inner = decoder.num_heads * decoder.head_size
    flops = stack_flops(model.encoder, batch_size, source)
    flops += 6 * matmul_parameters(model.decoder) * batch_size * target
    flops += 12 * decoder.num_layers * batch_size * (target**2 / 2 + target * source) * inner
    return float(flops + vocabulary_flops(model, predicted))
