import torch

from denoise.tasks.classification.data import ClassificationExample
from denoise.tasks.classification.features import classification_features
from denoise.tasks.classification.head import pool
from denoise.tasks.framing import collate
from denoise.tasks.qa.data import Answer, QAExample
from denoise.tasks.qa.features import qa_features
from denoise.tasks.qa.head import SpanHead
from denoise.tasks.qa.spans import rank_spans
from denoise.tasks.tagging.data import TaggingExample
from denoise.tasks.tagging.features import tagging_features
from denoise.tasks.text import SentencePieceTaskTokenizer


def test_pair_framing_truncates_the_longer_segment(tokenizer):
    tok = SentencePieceTaskTokenizer(tokenizer, with_cls=True)
    example = ClassificationExample("a " * 50, "x", text_pair="short one")
    (feature,) = classification_features([example], tok, ["x"], max_length=20)
    ids, types = feature["input_ids"], feature["token_type_ids"]
    assert len(ids) == 20 and ids[0] == tokenizer.cls_id and ids[-1] == tokenizer.sep_id
    second = tok.encode(["short one"])[0]
    assert ids[-1 - len(second) : -1] == second and types[-1 - len(second) :] == [1] * (len(second) + 1)


def test_tags_sit_on_each_words_first_sub_token(tokenizer):
    tok = SentencePieceTaskTokenizer(tokenizer, with_cls=True)
    words = ["Unquestionably", "the", "Montagues", "quarrel"]
    (feature,) = tagging_features(
        [TaggingExample(words, ["RB", "DT", "NNP", "VBP"])], tok, ["DT", "NNP", "RB", "VBP"], 64
    )
    pieces = [tok.encode([w])[0] for w in words]
    expected_positions = [1 + sum(len(p) for p in pieces[:i]) for i in range(len(words))]
    assert feature["word_positions"] == expected_positions
    labelled = [i for i, label in enumerate(feature["labels"]) if label != -100]
    assert labelled == expected_positions and [feature["labels"][i] for i in labelled] == [2, 0, 1, 3]
    (cut,) = tagging_features(
        [TaggingExample(words, ["RB", "DT", "NNP", "VBP"])], tok, ["DT", "NNP", "RB", "VBP"], 4
    )
    assert cut["word_positions"][-1] == -1  # cut off by max_length


def test_qa_windows_overlap_and_hold_the_answer_once(tokenizer):
    tok = SentencePieceTaskTokenizer(tokenizer, with_cls=True)
    context = " ".join(f"word{i}" for i in range(60)) + " the answer is Verona and nothing else."
    start = context.index("Verona")
    example = QAExample("q1", "Where?", context, (Answer("Verona", start),))
    features = qa_features([example], tok, max_length=40, stride=10)
    assert len(features) > 2
    holding = [f for f in features if f["start"] > 0]
    assert len(holding) >= 1
    for feature in holding:
        a, b = feature["offsets"][feature["start"]][0], feature["offsets"][feature["end"]][1]
        assert context[a:b] == "Verona"
    scores = torch.full((len(holding[0]["input_ids"]), 2), -5.0)
    scores[holding[0]["start"], 0] = scores[holding[0]["end"], 1] = 5.0
    (best, *_), null = rank_spans([(holding[0]["offsets"], scores)], n_best=3, max_tokens=10)
    assert context[best[1] : best[2]] == "Verona" and null == -10.0


def test_pooling_and_collate():
    hidden = torch.arange(2 * 3 * 1, dtype=torch.float32).view(2, 3, 1)
    mask = torch.tensor([[1, 1, 0], [1, 1, 1]])
    assert pool(hidden, mask, "first").flatten().tolist() == [0.0, 3.0]
    assert pool(hidden, mask, "last").flatten().tolist() == [1.0, 5.0]
    assert pool(hidden, mask, "mean").flatten().tolist() == [0.5, 4.0]
    batch = collate(
        [
            {"input_ids": [5, 6], "labels": [1, -100], "label": 1},
            {"input_ids": [7], "labels": [2], "label": 0},
        ],
        0,
    )
    assert batch["input_ids"].tolist() == [[5, 6], [7, 0]] and batch["labels"].tolist() == [
        [1, -100],
        [2, -100],
    ]
    assert batch["attention_mask"].tolist() == [[True, True], [True, False]]


def test_a_span_window_reads_neighbours_within_it_and_ignores_padding():
    torch.manual_seed(0)
    head = SpanHead(8, window=2)
    hidden = torch.randn(1, 10, 8)
    mask = torch.ones(1, 10, dtype=torch.bool)
    logits = head(hidden, mask)
    changed = hidden.clone()
    changed[0, 6] += 1.0
    moved = (head(changed, mask) - logits).abs().sum(-1)[0]
    assert torch.all(moved[4:9] > 0) and torch.all(moved[:4] == 0) and moved[9] == 0
    padded = torch.cat([hidden, torch.randn(1, 3, 8)], dim=1)  # padding holds whatever the encoder gave it
    padded_mask = torch.cat([mask, torch.zeros(1, 3, dtype=torch.bool)], dim=1)
    in_batch = head(padded, padded_mask)
    assert torch.allclose(in_batch[:, :10], logits) and torch.all(in_batch[:, 10:] == torch.finfo().min)
    linear = SpanHead(8)
    assert torch.allclose(linear(hidden, mask), linear.output(hidden))  # window 0: BERT's per-token head
