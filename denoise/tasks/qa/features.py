"""QA examples to features: windows of the context that share ``stride`` tokens, and the answer's positions."""

from __future__ import annotations

from collections.abc import Sequence

from denoise.errors import DenoiseError
from denoise.tasks.framing import frame
from denoise.tasks.qa.data import QAExample
from denoise.tasks.text import TaskTokenizer


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
