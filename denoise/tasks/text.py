"""Text to token ids for fine-tuning, whichever tokenizer the backbone came with.

A :class:`TaskTokenizer` encodes texts, texts with character offsets (span QA) and pre-split words (tagging),
and says how a sequence is framed: ``prefix`` ids (``[CLS]``; nothing for T5) and the ``sep_id`` closing
each segment. denoise's SentencePiece tokenizer and a transformers checkpoint's own tokenizer both fit.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from denoise.errors import DenoiseError


@dataclass(frozen=True)
class Encoded:
    ids: list[int]
    starts: list[int]  # character offset of each token in the text (offsets variants only)
    ends: list[int]


class TaskTokenizer:
    """Interface; see :class:`SentencePieceTaskTokenizer` and :class:`HFTaskTokenizer`."""

    pad_id: int
    sep_id: int
    prefix: list[int]
    vocab_size: int

    def encode(self, texts: list[str]) -> list[list[int]]:
        raise NotImplementedError

    def encode_with_offsets(self, text: str) -> Encoded:
        raise NotImplementedError

    def encode_words(self, words: list[str]) -> tuple[list[int], list[int]]:
        """Ids of the words and, per id, the index of the word it belongs to."""
        raise NotImplementedError

    def decode(self, ids: list[int]) -> str:
        raise NotImplementedError


class SentencePieceTaskTokenizer(TaskTokenizer):
    """denoise's tokenizer; ``with_cls`` frames sequences as BERT does ([CLS] first)."""

    def __init__(self, tokenizer, with_cls: bool):
        self.tokenizer = tokenizer
        self.pad_id, self.sep_id = tokenizer.pad_id, tokenizer.sep_id
        self.prefix = [tokenizer.cls_id] if with_cls else []
        self.vocab_size = tokenizer.vocab_size

    def encode(self, texts: list[str]) -> list[list[int]]:
        return self.tokenizer.encode(list(texts)) if texts else []

    def encode_with_offsets(self, text: str) -> Encoded:
        proto = self.tokenizer.processor.encode(text, return_type="proto")
        char_of_byte = byte_to_char(text)
        ids, starts, ends = [], [], []
        for piece in proto.pieces:
            ids.append(piece.id)
            start, end = int(char_of_byte[piece.begin]), int(char_of_byte[piece.end])
            while start < end and text[start].isspace():  # "▁word" pieces cover the space before the word
                start += 1
            starts.append(start)
            ends.append(max(end, start))
        return Encoded(ids, starts, ends)

    def encode_words(self, words: list[str]) -> tuple[list[int], list[int]]:
        ids, owners = [], []
        for index, pieces in enumerate(self.tokenizer.encode(list(words)) if words else []):
            pieces = pieces or [self.tokenizer.unk_id]
            ids.extend(pieces)
            owners.extend([index] * len(pieces))
        return ids, owners

    def decode(self, ids: list[int]) -> str:
        return self.tokenizer.decode(ids, skip_special=True)


class HFTaskTokenizer(TaskTokenizer):
    """The tokenizer files a transformers checkpoint came with (needs a fast tokenizer for offsets)."""

    def __init__(self, tokenizer):
        self.tokenizer = tokenizer
        self.pad_id = tokenizer.pad_token_id
        self.sep_id = tokenizer.sep_token_id if tokenizer.sep_token_id is not None else tokenizer.eos_token_id
        start = tokenizer.cls_token_id if tokenizer.cls_token_id is not None else tokenizer.bos_token_id
        self.prefix = [start] if start is not None else []
        self.vocab_size = len(tokenizer)
        if self.sep_id is None or self.pad_id is None:
            raise DenoiseError(f"tokenizer {tokenizer.name_or_path} has no separator/end or padding token")

    @classmethod
    def load(cls, directory: str | Path) -> HFTaskTokenizer:
        from transformers import AutoTokenizer

        return cls(AutoTokenizer.from_pretrained(str(directory)))

    def encode(self, texts: list[str]) -> list[list[int]]:
        if not texts:
            return []
        return self.tokenizer(list(texts), add_special_tokens=False)["input_ids"]

    def encode_with_offsets(self, text: str) -> Encoded:
        out = self.tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
        offsets = out["offset_mapping"]
        return Encoded(out["input_ids"], [s for s, _ in offsets], [e for _, e in offsets])

    def encode_words(self, words: list[str]) -> tuple[list[int], list[int]]:
        out = self.tokenizer(list(words), is_split_into_words=True, add_special_tokens=False)
        return out["input_ids"], list(out.word_ids())

    def decode(self, ids: list[int]) -> str:
        return self.tokenizer.decode(ids, skip_special_tokens=True)


def byte_to_char(text: str) -> np.ndarray:
    """For each UTF-8 byte offset of ``text`` (and its end), the index of the character it falls in."""
    lengths = [len(ch.encode("utf-8")) for ch in text]
    return np.append(np.repeat(np.arange(len(text)), lengths), len(text))
