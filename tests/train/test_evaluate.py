"""Held-out evaluation: the accuracy of always guessing the most frequent token beside the model's, and
masked blocks shown with the model's guesses."""

from contextlib import nullcontext
from types import SimpleNamespace

import pytest
import torch

from denoise.labels import IGNORE
from denoise.models.framing import ModelBatch
from denoise.models.outputs import ModelOutput
from denoise.train.evaluate import evaluate, masked_fills

PIECES = ["<pad>", "<unk>", "<cls>", "<sep>", "<mask>", "\u2581the", "\u2581cat", "s", "\u2581sat", "."]


class OneGuess(torch.nn.Module):
    """Scores every labelled position with the same favourite token, as a model on the unigram plateau."""

    def __init__(self, favourite: int):
        super().__init__()
        self.favourite = favourite

    def forward(self, input_ids, attention_mask=None, token_type_ids=None, labels=None, **_):
        labelled = labels != IGNORE
        logits = torch.zeros(int(labelled.sum()), len(PIECES))
        logits[:, self.favourite] = 1.0
        return ModelOutput(logits=logits, targets=labels[labelled])


def batch() -> ModelBatch:
    ids = torch.tensor([[2, 5, 4, 4, 8, 9, 3], [2, 4, 6, 7, 4, 3, 0]])
    labels = torch.full_like(ids, IGNORE)
    labels[0, 2], labels[0, 3], labels[1, 1], labels[1, 4] = 6, 7, 5, 8
    return ModelBatch(input_ids=ids, attention_mask=(ids != 0).long(), labels=labels)


def test_the_most_frequent_token_s_accuracy_is_reported_beside_the_model_s():
    accelerator = SimpleNamespace(device="cpu", reduce=lambda tensor, _: tensor)
    loader = [batch(), batch()]
    metrics = evaluate(OneGuess(favourite=6), loader, accelerator, nullcontext, vocab_size=len(PIECES))
    assert metrics["eval_tokens"] == 8
    assert metrics["eval_accuracy"] == pytest.approx(2 / 8)  # "cat" is one label in four
    assert metrics["eval_frequent_accuracy"] == pytest.approx(2 / 8)  # no label is more frequent


def test_electra_s_detection_is_scored_over_the_real_tokens():
    from denoise.models.bert.electra import ElectraOutput

    class Detector(OneGuess):
        def forward(self, input_ids, attention_mask=None, **inputs):
            output = super().forward(input_ids, attention_mask, **inputs)
            real = attention_mask.bool()
            replaced = torch.zeros_like(real)
            replaced[0, 2] = True  # one replaced token, which the detector misses; it calls the rest original
            logits = torch.full(input_ids.shape, -5.0)
            logits[1, 1] = 5.0  # and one original token it calls replaced
            return ElectraOutput(
                logits=output.logits,
                targets=output.targets,
                detection_logits=logits,
                replaced=replaced,
                real=real,
            )

    accelerator = SimpleNamespace(device="cpu", reduce=lambda tensor, _: tensor)
    metrics = evaluate(Detector(favourite=6), [batch()], accelerator, nullcontext, vocab_size=len(PIECES))
    assert metrics["eval_replaced"] == pytest.approx(1 / 13)  # 13 real tokens
    assert metrics["eval_detection_accuracy"] == pytest.approx(11 / 13)


def test_masked_blocks_are_shown_with_the_original_and_the_guess_in_brackets():
    tokenizer = SimpleNamespace(cls_id=2, sep_id=3, id_to_piece=lambda i: PIECES[i])
    shown = masked_fills(OneGuess(favourite=5), batch(), tokenizer, count=2, device="cpu")["fills"]
    assert shown[0] == {"text": "the [cat][s] sat. |", "fill": "the [the][the] sat. |"}
    assert shown[1] == {"text": "[the] cats [sat] |", "fill": "[the] cats [the] |"}
