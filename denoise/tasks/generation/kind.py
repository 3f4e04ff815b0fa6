"""The generation kind, and its settings (``generation:`` in a task recipe): an encoder-decoder writes the
target, scored with BLEU and chrF on beam-search outputs."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import torch

from denoise.errors import DenoiseError
from denoise.models.families import FAMILIES
from denoise.tasks.framing import collate
from denoise.tasks.generation.data import read_parallel
from denoise.tasks.generation.features import generation_features
from denoise.tasks.generation.metrics import bleu_chrf
from denoise.tasks.kind import Kind


@dataclass(frozen=True)
class GenerationSettings:
    max_target_length: int = 128  # target tokens trained on and the longest output (a token and the end)
    num_beams: int = 4  # beam search; 1 decodes greedily
    no_repeat_ngram_size: int = 0  # no n-gram of this size twice in one output (0: off)

    RANGES: ClassVar[dict[str, str]] = {
        "max_target_length": ">= 2",
        "num_beams": ">= 1",
        "no_repeat_ngram_size": ">= 0",
    }


class Generation(Kind):
    name = "generation"
    target_key = "labels"
    settings_key = "generation"
    writes_text = True

    def read_file(self, path: Path, split: str) -> list:
        task = self.config.task
        return read_parallel(f"{path}.{task.source_language}", f"{path}.{task.target_language}")

    def read(self, split: str) -> list:
        if self.config.task.hub:
            raise DenoiseError(
                "generation tasks read parallel files; the hub tasks are classification, tagging, QA"
            )
        return super().read(split)

    def features(self, examples, tok):
        return generation_features(examples, tok, self.config.max_length, self.settings.max_target_length)

    def head(self, backbone):
        if not backbone.family.generates:
            writers = ", ".join(name for name, family in FAMILIES.items() if family.generates)
            raise DenoiseError(
                f"generation needs a model that writes text ({writers}); a "
                f"{backbone.family.name} model cannot; start from a run of one of those families"
            )
        return None

    @torch.no_grad()
    def score(self, model, examples, features, tok, device, autocast):
        model.eval()
        seq2seq = model.backbone.model
        s = self.settings
        predicted = []
        for start in range(0, len(features), self.config.eval_batch_size):
            batch = collate(features[start : start + self.config.eval_batch_size], tok.pad_id)
            with autocast():
                ids = model.backbone.family.generate(
                    seq2seq,
                    batch["input_ids"].to(device),
                    batch["attention_mask"].to(device),
                    max_new_tokens=s.max_target_length,
                    num_beams=s.num_beams,
                    no_repeat_ngram_size=s.no_repeat_ngram_size,
                )
            for row in ids.tolist():
                row = row[: row.index(seq2seq.config.eos_id)] if seq2seq.config.eos_id in row else row
                predicted.append(tok.decode(row))
        return bleu_chrf(predicted, [e.target for e in examples]), predicted

    def baseline(self, train: list, examples: list) -> tuple[str, dict]:
        """The source copied as it is: what BLEU and chrF give for words shared by the two sides (names,
        numbers, punctuation); nothing is learnt from ``train``."""
        return "copy of the source", bleu_chrf([e.source for e in examples], [e.target for e in examples])

    @classmethod
    def headline(cls, metrics: dict) -> tuple[str, float]:
        return "bleu", metrics["bleu"]
