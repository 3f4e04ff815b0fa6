"""From a corrupted Sample to the tensors a model takes: one batch type, framed as each kind of model reads.

A family's record names its framing (``Family.frame``):

- :func:`frame_encoder` (BERT): ``[CLS] A [SEP]`` or, for pairs, ``[CLS] A [SEP] B [SEP]``; ``input_ids``,
  ``attention_mask``, ``token_type_ids``, ``labels`` aligned with the input (``-100`` where nothing is
  predicted) and, for NSP/SOP, ``pair_labels``;
- :func:`frame_encoder_decoder` (BART, T5): ``input_ids`` = [mode token] source ``[SEP]`` (the
  end-of-sequence id), ``labels`` = target ``[SEP]`` padded with ``-100``, ``decoder_input_ids`` = the
  labels shifted right behind the start id (``[CLS]``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields

import numpy as np
import torch

from denoise.corruption.base import Vocab
from denoise.corruption.sample import Sample, scatter_rows
from denoise.labels import IGNORE


@dataclass
class ModelBatch:
    input_ids: torch.Tensor
    attention_mask: torch.Tensor
    labels: torch.Tensor
    token_type_ids: torch.Tensor | None = None
    pair_labels: torch.Tensor | None = None
    decoder_input_ids: torch.Tensor | None = None
    decoder_attention_mask: torch.Tensor | None = None
    span_ids: torch.Tensor | None = None  # each masked span's tokens numbered from 1, 0 elsewhere (SpanBERT)

    def as_dict(self) -> dict[str, torch.Tensor]:
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) is not None}

    def to(self, device) -> ModelBatch:
        return ModelBatch(**{k: v.to(device) for k, v in self.as_dict().items()})

    def __len__(self) -> int:
        return len(self.input_ids)


def _round_up(width: int, multiple: int | None) -> int:
    return width if not multiple else -(-width // multiple) * multiple


def encoder_arrays(
    sample: Sample, vocab: Vocab, pad_to_multiple_of: int | None = None
) -> dict[str, np.ndarray]:
    """Framed numpy arrays for an encoder-only model."""
    valid = sample.valid()
    second = (sample.segment_ids == 1) & valid if sample.segment_ids is not None else np.zeros_like(valid)
    has_pair = second.any(axis=1)
    first_length = (valid & ~second).sum(axis=1)
    total = sample.lengths + 2 + has_pair
    width = _round_up(int(total.max(initial=2)), pad_to_multiple_of)
    positions = np.arange(sample.tokens.shape[1])[None, :] + 1 + second
    rows = np.arange(sample.batch_size)
    input_ids = scatter_rows(sample.tokens, positions, valid, width, vocab.pad_id)
    input_ids[:, 0] = vocab.cls_id
    input_ids[rows, first_length + 1] = vocab.sep_id
    input_ids[rows[has_pair], total[has_pair] - 1] = vocab.sep_id
    labels = np.full((sample.batch_size, width), IGNORE, np.int64)
    if sample.labels is not None:
        labels = scatter_rows(sample.labels.astype(np.int64), positions, valid, width, IGNORE)
    token_types = (np.arange(width)[None, :] > (first_length + 1)[:, None]) & has_pair[:, None]
    attention = np.arange(width)[None, :] < total[:, None]
    arrays = {
        "input_ids": input_ids,
        "attention_mask": attention,
        "labels": labels,
        "token_type_ids": (token_types & attention).astype(np.int64),
    }
    if sample.pair_labels is not None:
        usable = sample.pair_usable if sample.pair_usable is not None else True
        arrays["pair_labels"] = np.where(usable, sample.pair_labels, IGNORE).astype(np.int64)
    if sample.span_ids is not None:
        arrays["span_ids"] = scatter_rows(sample.span_ids.astype(np.int64), positions, valid, width, 0)
    return arrays


def encoder_decoder_arrays(
    sample: Sample, vocab: Vocab, decoder_start_id: int | None = None, pad_to_multiple_of: int | None = None
) -> dict[str, np.ndarray]:
    """Framed numpy arrays for an encoder-decoder model."""
    start = vocab.cls_id if decoder_start_id is None else decoder_start_id
    mode_ids = sample.mode_ids if sample.mode_ids is not None else np.full(sample.batch_size, -1)
    has_mode = mode_ids >= 0
    total = sample.lengths + 1 + has_mode
    width = _round_up(int(total.max(initial=1)), pad_to_multiple_of)
    rows = np.arange(sample.batch_size)
    positions = np.arange(sample.tokens.shape[1])[None, :] + has_mode[:, None]
    input_ids = scatter_rows(sample.tokens, positions, sample.valid(), width, vocab.pad_id)
    input_ids[rows[has_mode], 0] = mode_ids[has_mode]
    input_ids[rows, total - 1] = vocab.sep_id

    target, target_lengths = sample.targets()
    target_total = target_lengths + 1
    target_width = _round_up(int(target_total.max(initial=1)), pad_to_multiple_of)
    target_valid = np.arange(target.shape[1])[None, :] < target_lengths[:, None]
    labels = scatter_rows(
        target.astype(np.int64),
        np.broadcast_to(np.arange(target.shape[1]), target.shape),
        target_valid,
        target_width,
        IGNORE,
    )
    labels[rows, target_lengths] = vocab.sep_id
    decoder_input_ids = np.full_like(labels, vocab.pad_id)
    decoder_input_ids[:, 0] = start
    decoder_input_ids[:, 1:] = np.where(labels[:, :-1] == IGNORE, vocab.pad_id, labels[:, :-1])
    return {
        "input_ids": input_ids,
        "attention_mask": np.arange(width)[None, :] < total[:, None],
        "labels": labels,
        "decoder_input_ids": decoder_input_ids,
        "decoder_attention_mask": np.arange(target_width)[None, :] < target_total[:, None],
    }


def to_model_batch(arrays: Mapping[str, np.ndarray]) -> ModelBatch:
    return ModelBatch(**{k: torch.from_numpy(np.ascontiguousarray(v)).long() for k, v in arrays.items()})


def frame_encoder(sample: Sample, vocab: Vocab, pad_to_multiple_of: int | None = None) -> ModelBatch:
    return to_model_batch(encoder_arrays(sample, vocab, pad_to_multiple_of))


def frame_encoder_decoder(sample: Sample, vocab: Vocab, pad_to_multiple_of: int | None = None) -> ModelBatch:
    return to_model_batch(encoder_decoder_arrays(sample, vocab, pad_to_multiple_of=pad_to_multiple_of))
