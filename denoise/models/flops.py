"""The model FLOPs of one training step (forward and backward) of a batch, behind the utilisation figure
(``mfu``) and the FLOPs budgets of ``denoise compare``.

The count follows the matrix products the model computes on that batch, as the trainer runs it:

- a linear layer costs 6 FLOPs per weight per row it multiplies: 2 forward, 4 backward (the gradients of
  its input and of its weight). Its rows are the tokens it reads: the input for the encoder, the target for
  the decoder, the source for the keys and values of cross-attention;
- attention costs ``4 x queries x keys x (heads x head size)`` forward (the scores and the weighted values)
  and twice that backward;
- the vocabulary projection runs where the model runs it: BERT's masked-LM head at the labelled positions
  only; an encoder-decoder's LM head at every target position, padding included, since its loss projects
  every row;
- BERT's sentence-pair head (pooler and classifier) on each example, with its backward when the batch has
  pair labels; SpanBERT's span boundary head (its two layers and the token table) at every token inside a
  masked span.

Causal self-attention is counted in full, every query against every key, as if nothing were masked. This is
what ``torch.utils.flop_counter.FlopCounterMode`` counts and what PaLM's utilisation formula (``6N + 12 L H Q
T`` per token) counts, so utilisation figures compare across libraries; halving it would describe only
kernels that skip the masked blocks.

Left out: norms, activations, softmax, dropout and embedding look-ups (no matrix products, a small share),
and the scores that fused attention kernels compute again in their backward (work of the kernel, not of
the model; the counter counts them for those kernels, not for the math kernel).
"""

from __future__ import annotations

from torch import nn

from denoise.labels import IGNORE

TRAINING = 6  # FLOPs per weight per row in a training step: 2 forward, 4 backward
ATTENTION = 12  # FLOPs per query, key and channel in a training step: 4 forward, 8 backward


def linear_weights(*modules: nn.Module | None) -> int:
    """The weights of the linear layers in ``modules``: each multiplies every row the layer reads."""
    return sum(
        layer.weight.numel()
        for module in modules
        if module is not None
        for layer in module.modules()
        if isinstance(layer, nn.Linear)
    )


def attention_flops(config, batch_size: int, queries: int, keys: int) -> int:
    """One attention layer of a stack with ``config``: scores and weighted values, every query and key."""
    return ATTENTION * batch_size * queries * keys * config.num_heads * config.head_size


def encoder_stack_flops(encoder: nn.Module, batch_size: int, length: int) -> int:
    """An encoder over ``length`` tokens: its linear layers and its self-attention."""
    config = encoder.config
    linear = TRAINING * linear_weights(encoder) * batch_size * length
    return linear + config.num_layers * attention_flops(config, batch_size, length, length)


def source_weights(decoder: nn.Module) -> int:
    """The decoder's weights that read the encoder's states (the keys and values of cross-attention)."""
    return sum(
        linear_weights(layer.cross_attention.key, layer.cross_attention.value) for layer in decoder.layers
    )


def decoder_stack_flops(decoder: nn.Module, batch_size: int, target: int, source: int) -> int:
    """A decoder over ``target`` tokens reading ``source`` encoder states: its linear layers on the rows each
    reads, causal self-attention (in full) and cross-attention."""
    config = decoder.config
    from_source = source_weights(decoder)
    linear = TRAINING * batch_size * ((linear_weights(decoder) - from_source) * target + from_source * source)
    attention = attention_flops(config, batch_size, target, target) + attention_flops(
        config, batch_size, target, source
    )
    return linear + config.num_layers * attention


def masked_lm_head_flops(model: nn.Module, predicted: int) -> int:
    """BERT's masked-LM head at the ``predicted`` positions: its dense layer and the vocabulary projection
    (the token table when tied, its own weights otherwise, which :func:`linear_weights` already holds)."""
    head, config = model.mlm, model.encoder.config
    tied = config.vocab_size * config.embedding_width if head.decoder is None else 0
    return TRAINING * predicted * (linear_weights(head) + tied)


def pair_head_flops(model: nn.Module, batch) -> int:
    """BERT's pooler and pair classifier on the first token of each example; forward only (2 per weight)
    when the batch has no pair labels to train them on."""
    weights = linear_weights(getattr(model, "pooler", None), getattr(model, "pair_classifier", None))
    per_weight = TRAINING if batch.pair_labels is not None else 2
    return per_weight * weights * len(batch.input_ids)


def span_head_flops(model: nn.Module, batch) -> int:
    """SpanBERT's span boundary head at every token inside a masked span: its two layers and the projection
    onto the token table (its position embeddings are look-ups)."""
    head = getattr(model, "span_boundary", None)
    if head is None or batch.span_ids is None:
        return 0
    inside = int(((batch.span_ids > 0) & (batch.labels != IGNORE)).sum())  # labelled tokens inside spans
    config = model.encoder.config
    return TRAINING * inside * (linear_weights(head) + config.vocab_size * config.embedding_width)


def lm_head_flops(model: nn.Module, batch_size: int, target: int) -> int:
    """An encoder-decoder's LM head at every target position (its loss projects the padded rows too)."""
    config = model.decoder.config
    return TRAINING * batch_size * target * config.d_model * config.vocab_size


def encoder_flops(model: nn.Module, batch, predicted: int) -> float:
    """An encoder-only model (BERT): the encoder over the input, the masked-LM head at the ``predicted``
    positions, the pair head and the span boundary head when it has them."""
    batch_size, length = batch.input_ids.shape
    return float(
        encoder_stack_flops(model.encoder, batch_size, length)
        + masked_lm_head_flops(model, predicted)
        + pair_head_flops(model, batch)
        + span_head_flops(model, batch)
    )


def electra_flops(module: nn.Module, batch, predicted: int) -> float:
    """ELECTRA (:mod:`denoise.models.bert.electra`): the generator as a masked-LM BERT over the input, and the
    discriminator's encoder and replaced-token head over every position (sampling is no matrix product)."""
    batch_size, length = batch.input_ids.shape
    discriminator = module.discriminator
    detection = TRAINING * linear_weights(discriminator.replaced) * batch_size * length
    return float(
        encoder_flops(module.generator, batch, predicted)
        + encoder_stack_flops(discriminator.encoder, batch_size, length)
        + detection
    )


def encoder_decoder_flops(model: nn.Module, batch, predicted: int) -> float:
    """An encoder-decoder: the encoder over the source, the decoder over the target, the LM head at every
    target position; ``predicted`` does not enter (the head projects every row)."""
    batch_size, source = batch.input_ids.shape
    target = batch.labels.shape[1]
    return float(
        encoder_stack_flops(model.encoder, batch_size, source)
        + decoder_stack_flops(model.decoder, batch_size, target, source)
        + lm_head_flops(model, batch_size, target)
    )
