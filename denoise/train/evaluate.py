"""Evaluation on held-out blocks: loss and accuracy of the predicted tokens (and of the pair task), and for
encoder-decoder models a few greedy reconstructions scored with sacrebleu against their targets."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from denoise.labels import IGNORE
from denoise.models.families import family_of


def cut_at(ids: list[int], eos_id: int) -> list[int]:
    return ids[: ids.index(eos_id)] if eos_id in ids else ids


@torch.no_grad()
def evaluate(model, loader, accelerator, autocast) -> dict:
    """Token loss and accuracy summed over every process's share of ``loader``; ``autocast()`` gives the
    run's precision context."""
    was_training = model.training
    model.eval()
    sums = torch.zeros(6, dtype=torch.float64, device=accelerator.device)
    for batch in loader:
        batch = batch.to(accelerator.device)
        inputs = batch.as_dict()
        pair_labels = inputs.pop("pair_labels", None)
        with autocast():
            output = model(**inputs)
        labels = output.targets  # the labels of the logits' rows
        logits = output.logits.float()
        flat_logits, flat_labels = logits.reshape(-1, logits.shape[-1]), labels.reshape(-1)
        kept = flat_labels != IGNORE
        sums[0] += F.cross_entropy(flat_logits, flat_labels, ignore_index=IGNORE, reduction="sum")
        sums[1] += (flat_logits.argmax(-1)[kept] == flat_labels[kept]).sum()
        sums[2] += kept.sum()
        if pair_labels is not None and output.pair_logits is not None:
            usable = pair_labels != IGNORE
            pair_logits = output.pair_logits.float()
            sums[3] += F.cross_entropy(pair_logits, pair_labels, ignore_index=IGNORE, reduction="sum")
            sums[4] += (pair_logits.argmax(-1)[usable] == pair_labels[usable]).sum()
            sums[5] += usable.sum()
    sums = accelerator.reduce(sums, "sum")
    if was_training:
        model.train()
    metrics = {
        "eval_loss": float(sums[0] / sums[2].clamp(min=1)),
        "eval_accuracy": float(sums[1] / sums[2].clamp(min=1)),
        "eval_tokens": int(sums[2]),
    }
    if sums[5] > 0:
        metrics["eval_pair_loss"] = float(sums[3] / sums[5])
        metrics["eval_pair_accuracy"] = float(sums[4] / sums[5])
    return metrics


@torch.no_grad()
def reconstructions(model, batch, tokenizer, count: int, device) -> dict:
    """Greedy outputs for the first ``count`` examples of ``batch``, their BLEU and chrF against the targets,
    and two examples (corrupted input, target, output) as text."""
    import sacrebleu

    was_training = model.training
    model.eval()
    batch = batch.to(device)
    inputs, mask = batch.input_ids[:count], batch.attention_mask[:count]
    targets = batch.labels[:count]
    eos_id = model.config.eos_id
    output = family_of(model).generate(model, inputs, mask, max_new_tokens=targets.shape[1], eos_id=eos_id)
    if was_training:
        model.train()
    predicted = [tokenizer.decode(cut_at(row, eos_id)) for row in output.tolist()]
    expected = [tokenizer.decode(cut_at([i for i in row if i != IGNORE], eos_id)) for row in targets.tolist()]
    sources = [tokenizer.decode(cut_at(row, eos_id)) for row in inputs.tolist()]
    return {
        "reconstruction_bleu": sacrebleu.corpus_bleu(predicted, [expected]).score,
        "reconstruction_chrf": sacrebleu.corpus_chrf(predicted, [expected]).score,
        "examples": [
            {"input": s, "target": t, "output": p} for s, t, p in list(zip(sources, expected, predicted))[:2]
        ],
    }
