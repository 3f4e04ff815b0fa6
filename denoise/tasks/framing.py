"""What every kind's features share: framing a sequence, truncating a pair, and padding features into a batch.

Every feature is a dict of Python lists and numbers; :func:`collate` pads a list of them into tensors. A
sequence is ``prefix A [SEP]`` or ``prefix A [SEP] B [SEP]`` with ``prefix`` the tokenizer's start token
([CLS]) where the family reads one; token type 1 marks the second segment.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from denoise.errors import DenoiseError
from denoise.labels import IGNORE
from denoise.tasks.text import TaskTokenizer


def frame(
    tok: TaskTokenizer, first: list[int], second: list[int] | None = None
) -> tuple[list[int], list[int]]:
    ids = tok.prefix + first + [tok.sep_id]
    types = [0] * len(ids)
    if second is not None:
        ids += second + [tok.sep_id]
        types += [1] * (len(second) + 1)
    return ids, types


def truncate_pair(
    first: list[int], second: list[int] | None, budget: int
) -> tuple[list[int], list[int] | None]:
    """Drop tokens from the end of the longer segment until both fit ``budget`` (then from both equally)."""
    if budget < (2 if second is not None else 1):
        raise DenoiseError(f"max_length leaves room for {budget} tokens of text; raise max_length")
    if second is None:
        return list(first[:budget]), None
    a, b = len(first), len(second)
    if a + b > budget:
        if min(a, b) <= budget // 2:
            a, b = (a, budget - a) if a <= b else (budget - b, b)
        else:
            a, b = budget // 2, budget - budget // 2
    return list(first[:a]), list(second[:b])


def pad(rows: Sequence[list], fill: int) -> torch.Tensor:
    width = max(len(row) for row in rows)
    return torch.tensor([list(row) + [fill] * (width - len(row)) for row in rows])


def collate(features: Sequence[dict], pad_id: int) -> dict[str, torch.Tensor]:
    """Pad the features into tensors: ``input_ids`` with ``pad_id``, ``labels`` with -100, other lists with 0;
    ``attention_mask`` marks real tokens. Bookkeeping fields (``offsets``, ``word_positions``) stay out."""
    lengths = torch.tensor([len(f["input_ids"]) for f in features])
    input_ids = pad([f["input_ids"] for f in features], pad_id)
    batch = {
        "input_ids": input_ids,
        "attention_mask": torch.arange(input_ids.shape[1])[None, :] < lengths[:, None],
    }
    for key in features[0]:
        if key in ("input_ids", "offsets", "word_positions"):
            continue
        values = [f[key] for f in features]
        if isinstance(values[0], torch.Tensor):  # per-token vectors (a probe's states), padded with zeros
            batch[key] = torch.nn.utils.rnn.pad_sequence(values, batch_first=True)
        elif isinstance(values[0], list):
            batch[key] = pad(values, IGNORE if key == "labels" else 0)
        else:
            batch[key] = torch.tensor(values)
    return batch
