"""The GPT family's record: a decoder-only model, fed the batches of an encoder-decoder."""

from __future__ import annotations

import numpy as np

from denoise.corruption.base import Vocab
from denoise.corruption.sample import Sample
from denoise.labels import IGNORE
from denoise.models.family import Family, Transformers
from denoise.models.flops import TRAINING, attention_flops, linear_weights
from denoise.models.framing import ModelBatch, encoder_decoder_arrays, to_model_batch
from denoise.models.generation import generate
from denoise.models.gpt import hf
from denoise.models.gpt.model import GPT, GPTConfig, as_bert, decoder_states
from denoise.models.gpt.sizes import SIZES, gpt_stack
from denoise.models.layers import with_changes
from denoise.models.settings import Ids, ModelSettings, stack_changes


def from_settings(settings: ModelSettings, ids: Ids) -> GPTConfig:
    stack = with_changes(gpt_stack(settings.size), stack_changes(settings, ids))
    return GPTConfig(stack=stack, eos_id=ids.eos_id, prefix_attention=settings.prefix_attention)


def frame(sample: Sample, vocab: Vocab, pad_to_multiple_of: int | None = None) -> ModelBatch:
    """``input_ids`` = [mode token] source ``[SEP]``, ``labels`` = target ``[SEP]``: an encoder-decoder's
    batch without the decoder inputs, which a GPT makes itself by reading the two as one sequence. The
    multiple applies to that sequence: the source is not padded (its padding would lengthen every row), the
    labels are, with ignored columns (under ``compile`` the multiple is the longest sequence, so every
    batch reads that many positions)."""
    arrays = encoder_decoder_arrays(sample, vocab)
    labels = arrays["labels"]
    width = arrays["input_ids"].shape[1] + labels.shape[1] - 1
    extra = -(-width // pad_to_multiple_of) * pad_to_multiple_of - width if pad_to_multiple_of else 0
    arrays["labels"] = np.pad(labels, ((0, 0), (0, extra)), constant_values=IGNORE)
    return to_model_batch({k: v for k, v in arrays.items() if not k.startswith("decoder_")})


def longest_input(block_size: int, ops) -> int:
    """A mode token, the source, the end token and the target: no longer than the block and two tokens where
    source and target split it (clm, prefix LM), else up to the block twice (a reconstruction)."""
    partitioned = bool(ops) and ops[-1].sets_target and ops[-1].partitions
    return block_size + 2 if partitioned else 2 * block_size + 2


def gpt_flops(model: GPT, batch: ModelBatch, predicted: int) -> float:
    """The stack over the sequence it reads (source and target less one token), causal attention in full,
    and the LM head at every target position (padding included, as its loss projects every row)."""
    batch_size, source = batch.input_ids.shape
    target = batch.labels.shape[1]
    length = source + target - 1
    config = model.config.stack
    stack = TRAINING * linear_weights(model.stack) * batch_size * length
    attention = config.num_layers * attention_flops(config, batch_size, length, length)
    head = TRAINING * batch_size * target * config.d_model * config.vocab_size
    return float(stack + attention + head)


FAMILY = Family(
    name="gpt",
    kind="decoder",
    model=GPT,
    config=GPTConfig,
    sizes=SIZES,
    from_settings=from_settings,
    frame=frame,
    longest_input=longest_input,
    states={"decoder": decoder_states},
    pooling={"decoder": "last"},  # the last real token has read the whole input
    starts_with_cls=False,
    stacks=("stack",),
    flops=gpt_flops,
    generate=generate,
    transformers=Transformers(("gpt2",), hf.from_hf, hf.to_hf, hf.task_to_hf),
    converts_to={"bert": as_bert},
)
