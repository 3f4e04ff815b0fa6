"""Examples to model inputs: framing, truncation, word-to-token alignment and QA windows.

Every feature is a dict of Python lists and numbers; :func:`collate` pads a list of them into tensors.
A sequence is ``prefix A [SEP]`` or ``prefix A [SEP] B [SEP]`` with ``prefix`` the tokenizer's start token
([CLS]) if it has one; token type 1 marks the second segment.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from denoise.errors import DenoiseError
from denoise.labels import IGNORE
from denoise.tasks.examples import ClassificationExample, QAExample, TaggingExample, TranslationExample
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


def classification_features(
    examples: Sequence[ClassificationExample], tok: TaskTokenizer, labels: list[str] | None, max_length: int
) -> list[dict]:
    """``labels`` lists the class names (their index is the target); None for regression."""
    firsts = tok.encode([e.text for e in examples])
    pairs = [e.text_pair is not None for e in examples]
    seconds = tok.encode([e.text_pair for e in examples if e.text_pair is not None])
    index = {label: i for i, label in enumerate(labels or [])}
    features, second_rows = [], iter(seconds)
    for example, first, paired in zip(examples, firsts, pairs):
        second = next(second_rows) if paired else None
        budget = max_length - len(tok.prefix) - 1 - (1 if paired else 0)
        first, second = truncate_pair(first, second, budget)
        ids, types = frame(tok, first, second)
        target = float(example.label) if labels is None else index[example.label]
        features.append({"input_ids": ids, "token_type_ids": types, "label": target})
    return features


def tagging_features(
    examples: Sequence[TaggingExample], tok: TaskTokenizer, tags: list[str], max_length: int
) -> list[dict]:
    """Labels on each word's first sub-token (-100 on the others and on specials). ``word_positions`` gives
    the position of each word's first sub-token, -1 for words cut off by ``max_length``."""
    index = {tag: i for i, tag in enumerate(tags)}
    features = []
    for example in examples:
        ids, owners = tok.encode_words(list(example.words))
        keep = max_length - len(tok.prefix) - 1
        ids, owners = ids[:keep], owners[:keep]
        input_ids, types = frame(tok, ids)
        labels = [IGNORE] * len(input_ids)
        positions = [-1] * len(example.words)
        for position, owner in enumerate(owners, start=len(tok.prefix)):
            if owner is not None and positions[owner] == -1:
                positions[owner] = position
                labels[position] = index[example.tags[owner]]
        features.append(
            {"input_ids": input_ids, "token_type_ids": types, "labels": labels, "word_positions": positions}
        )
    return features


def qa_features(
    examples: Sequence[QAExample], tok: TaskTokenizer, max_length: int, stride: int, max_question: int = 64
) -> list[dict]:
    """Windows of ``prefix question [SEP] context-part [SEP]``; consecutive windows share ``stride`` context
    tokens. ``start``/``end`` are the answer's token positions in the window, or 0 when it holds no answer.
    ``offsets`` maps each context token of the window to its character span (None elsewhere)."""
    questions = tok.encode([e.question for e in examples])
    features = []
    for number, (example, question) in enumerate(zip(examples, questions)):
        question = question[:max_question]
        context = tok.encode_with_offsets(example.context)
        head = len(tok.prefix) + len(question) + 1
        room = max_length - head - 1
        if room < 8:
            raise DenoiseError(f"max_length {max_length} leaves {room} context tokens per window; raise it")
        if stride >= room:
            raise DenoiseError(
                f"doc_stride {stride} must be smaller than the {room} context tokens of a window"
            )
        span = answer_tokens(example, context.starts, context.ends)
        start = 0
        while True:
            stop = min(start + room, len(context.ids))
            ids, types = frame(tok, question, context.ids[start:stop])
            offsets = [None] * head + list(zip(context.starts[start:stop], context.ends[start:stop])) + [None]
            first = last = 0
            if span is not None and start <= span[0] and span[1] < stop:
                first, last = span[0] - start + head, span[1] - start + head
            features.append(
                {
                    "input_ids": ids,
                    "token_type_ids": types,
                    "start": first,
                    "end": last,
                    "example": number,
                    "offsets": offsets,
                }
            )
            if stop >= len(context.ids):
                break
            start += room - stride
    return features


def answer_tokens(example: QAExample, starts: list[int], ends: list[int]) -> tuple[int, int] | None:
    """First and last context token of the first answer; None when unanswerable."""
    if not example.answers:
        return None
    answer = example.answers[0]
    first = next((i for i, end in enumerate(ends) if end > answer.start), None)
    last = next((i for i in range(len(starts) - 1, -1, -1) if starts[i] < answer.end), None)
    if first is None or last is None or last < first:
        raise DenoiseError(
            f"question {example.id}: no token of the context covers its answer {answer.text!r}"
        )
    return first, last


def generation_features(
    examples: Sequence[TranslationExample], tok: TaskTokenizer, max_length: int, max_target: int
) -> list[dict]:
    """Encoder input ``source [SEP]`` and labels ``target [SEP]`` (the decoder inputs are shifted in the model)."""
    sources, targets = tok.encode([e.source for e in examples]), tok.encode([e.target for e in examples])
    return [
        {
            "input_ids": source[: max_length - 1] + [tok.sep_id],
            "labels": target[: max_target - 1] + [tok.sep_id],
        }
        for source, target in zip(sources, targets)
    ]


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
        batch[key] = (
            pad(values, IGNORE if key == "labels" else 0)
            if isinstance(values[0], list)
            else torch.tensor(values)
        )
    return batch
