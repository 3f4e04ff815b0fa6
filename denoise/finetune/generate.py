"""Generation fine-tuning for encoder-decoder models (translation, summarization), scored with BLEU and chrF
on beam-search outputs."""

from __future__ import annotations

from pathlib import Path

import torch

from denoise.errors import DenoiseError
from denoise.finetune.kinds import Kind
from denoise.models.families import FAMILIES
from denoise.models.generation import generate
from denoise.tasks.features import collate, generation_features
from denoise.tasks.metrics import bleu_chrf
from denoise.tasks.readers import read_parallel


class Generation(Kind):
    target_key = "labels"

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
        return generation_features(examples, tok, self.config.max_length, self.config.max_target_length)

    def head(self, backbone):
        if not backbone.family.generates:
            writers = ", ".join(name for name, family in FAMILIES.items() if family.generates)
            raise DenoiseError(
                f"generation needs a model that writes text (an encoder-decoder: {writers}); a "
                f"{backbone.family.name} model cannot; start from a run of one of those families"
            )
        return None

    @torch.no_grad()
    def score(self, model, examples, features, tok, device, autocast):
        model.eval()
        seq2seq = model.backbone.model
        predicted = []
        for start in range(0, len(features), self.config.eval_batch_size):
            batch = collate(features[start : start + self.config.eval_batch_size], tok.pad_id)
            with autocast():
                ids = generate(
                    seq2seq,
                    batch["input_ids"].to(device),
                    batch["attention_mask"].to(device),
                    max_new_tokens=self.config.max_target_length,
                    num_beams=self.config.num_beams,
                    no_repeat_ngram_size=self.config.no_repeat_ngram_size,
                )
            for row in ids.tolist():
                row = row[: row.index(seq2seq.config.eos_id)] if seq2seq.config.eos_id in row else row
                predicted.append(tok.decode(row))
        return bleu_chrf(predicted, [e.target for e in examples]), predicted
