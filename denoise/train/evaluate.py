"""Evaluation on held-out blocks: loss and accuracy of the predicted tokens beside the accuracy of always
guessing their most frequent token (and of the pair task, and of ELECTRA's replaced-token detection); for
encoder-decoder models a few greedy reconstructions scored with sacrebleu against their targets, for encoders
a few blocks with the model's first guesses at their masked tokens."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from denoise.labels import IGNORE
from denoise.models.families import family_of


def cut_at(ids: list[int], eos_id: int) -> list[int]:
    return ids[: ids.index(eos_id)] if eos_id in ids else ids


@torch.no_grad()
def evaluate(model, loader, accelerator, autocast, vocab_size: int) -> dict:
    """Token loss and accuracy summed over every process's share of ``loader``, and the accuracy of always
    guessing the most frequent label (from label counts over the ``vocab_size`` ids); ``autocast()`` gives the
    run's precision context."""
    was_training = model.training
    model.eval()
    sums = torch.zeros(10, dtype=torch.float64, device=accelerator.device)
    label_counts = torch.zeros(vocab_size, dtype=torch.float64, device=accelerator.device)
    for batch in loader:
        batch = batch.to(accelerator.device)
        inputs = batch.as_dict()
        pair_labels = inputs.pop("pair_labels", None)
        inputs.pop("span_ids", None)  # held-out metrics score the token predictions
        with autocast():
            output = model(**inputs)
        labels = output.targets  # the labels of the logits' rows
        logits = output.logits.float()
        flat_logits, flat_labels = logits.reshape(-1, logits.shape[-1]), labels.reshape(-1)
        kept = flat_labels != IGNORE
        sums[0] += F.cross_entropy(flat_logits, flat_labels, ignore_index=IGNORE, reduction="sum")
        sums[1] += (flat_logits.argmax(-1)[kept] == flat_labels[kept]).sum()
        sums[2] += kept.sum()
        label_counts += torch.bincount(flat_labels[kept], minlength=vocab_size).double()
        if pair_labels is not None and output.pair_logits is not None:
            usable = pair_labels != IGNORE
            pair_logits = output.pair_logits.float()
            sums[3] += F.cross_entropy(pair_logits, pair_labels, ignore_index=IGNORE, reduction="sum")
            sums[4] += (pair_logits.argmax(-1)[usable] == pair_labels[usable]).sum()
            sums[5] += usable.sum()
        if getattr(output, "detection_logits", None) is not None:
            sums[6:10] += detection_sums(output)
    sums = accelerator.reduce(sums, "sum")
    if was_training:
        model.train()
    metrics = {
        "eval_loss": float(sums[0] / sums[2].clamp(min=1)),
        "eval_accuracy": float(sums[1] / sums[2].clamp(min=1)),
        "eval_tokens": int(sums[2]),
    }
    label_counts = accelerator.reduce(label_counts, "sum")
    metrics["eval_frequent_accuracy"] = float(label_counts.max() / sums[2].clamp(min=1))
    if sums[5] > 0:
        metrics["eval_pair_loss"] = float(sums[3] / sums[5])
        metrics["eval_pair_accuracy"] = float(sums[4] / sums[5])
    if sums[8] > 0:
        metrics["eval_detection_loss"] = float(sums[6] / sums[8])
        metrics["eval_detection_accuracy"] = float(sums[7] / sums[8])
        metrics["eval_replaced"] = float(sums[9] / sums[8])
    return metrics


def detection_sums(output) -> torch.Tensor:
    """ELECTRA's discriminator on a batch: its summed loss, right answers, real tokens and replaced ones."""
    real, replaced = output.real, output.replaced[output.real]
    logits = output.detection_logits.float()[real]
    loss = F.binary_cross_entropy_with_logits(logits, replaced.float(), reduction="sum")
    right = ((logits > 0) == replaced).sum()
    return torch.stack([loss, right, real.sum(), replaced.sum()]).double()


@torch.no_grad()
def masked_fills(module, batch, tokenizer, count: int, device) -> dict:
    """The first ``count`` blocks of ``batch`` as text twice: with their masked tokens in brackets, and with
    the model's first guesses there (``module``: any model whose output scores the labelled positions in
    row-major order, a BERT or ELECTRA's generator)."""
    was_training = module.training
    module.eval()
    batch = batch.to(device)
    rows = {k: v[:count] for k, v in batch.as_dict().items() if k not in ("pair_labels", "span_ids")}
    output = module(**rows)
    if was_training:
        module.train()
    labels, mask = rows["labels"], rows["attention_mask"].bool()
    guesses = iter(output.logits.argmax(-1).tolist())
    fills = []
    for ids, row_labels, real in zip(rows["input_ids"].tolist(), labels.tolist(), mask.tolist()):
        text, fill = [], []
        for token, label, keep in zip(ids, row_labels, real):
            if not keep or token == tokenizer.cls_id:
                continue
            if token == tokenizer.sep_id and label == IGNORE:
                text.append(" |")
                fill.append(" |")
            elif label == IGNORE:
                text.append(piece_text(tokenizer.id_to_piece(token)))
                fill.append(text[-1])
            else:
                original = tokenizer.id_to_piece(label)
                space = " " if original.startswith(WORD_START) else ""
                text.append(f"{space}[{original.lstrip(WORD_START)}]")
                fill.append(f"{space}[{tokenizer.id_to_piece(next(guesses)).lstrip(WORD_START)}]")
        fills.append({"text": "".join(text).strip(), "fill": "".join(fill).strip()})
    return {"fills": fills}


WORD_START = "\u2581"  # SentencePiece's mark of a piece that starts a word


def piece_text(piece: str) -> str:
    return piece.replace(WORD_START, " ")


@torch.no_grad()
def reconstructions(model, batch, tokenizer, count: int, device, stop_early: bool = True) -> dict:
    """Greedy outputs for the first ``count`` examples of ``batch``, their BLEU and chrF against the targets,
    and two examples (corrupted input, target, output) as text. Without ``stop_early`` every output runs to
    the longest target's length before it is cut at its end token (so that processes generating together
    take the same number of steps, whatever each predicts)."""
    import sacrebleu

    was_training = model.training
    model.eval()
    batch = batch.to(device)
    inputs, mask = batch.input_ids[:count], batch.attention_mask[:count]
    targets = batch.labels[:count]
    eos_id = model.config.eos_id
    longest = int((targets != IGNORE).sum(1).max())  # the padded width may reach past the model's positions
    stop = eos_id if stop_early else None
    output = family_of(model).generate(model, inputs, mask, max_new_tokens=longest, eos_id=stop)
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
