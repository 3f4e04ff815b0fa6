import numpy as np
import pytest

from denoise.corruption.base import Vocab
from denoise.corruption.sample import Sample
from denoise.labels import IGNORE
from denoise.models.framing import encoder_arrays, encoder_decoder_arrays


@pytest.fixture(scope="module")
def vocab(tokenizer):
    return Vocab.from_tokenizer(tokenizer)


def sample_of(rows, pad=0, **extra):
    width = max(len(r) for r in rows)
    tokens = np.array([r + [pad] * (width - len(r)) for r in rows], np.int32)
    lengths = np.array([len(r) for r in rows])
    return Sample(tokens=tokens, lengths=lengths, original=tokens, original_lengths=lengths, **extra)


def test_encoder_single_segment_framing(vocab):
    s = sample_of([[500, 501, 502], [600]])
    labels = np.array([[IGNORE, 777, IGNORE], [888, IGNORE, IGNORE]], np.int32)
    a = encoder_arrays(s.replace(labels=labels), vocab)
    cls, sep, pad = vocab.cls_id, vocab.sep_id, vocab.pad_id
    assert a["input_ids"].tolist() == [[cls, 500, 501, 502, sep], [cls, 600, sep, pad, pad]]
    assert a["attention_mask"].tolist() == [[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]]
    assert a["labels"].tolist() == [[IGNORE, IGNORE, 777, IGNORE, IGNORE], [IGNORE, 888] + [IGNORE] * 3]
    assert not a["token_type_ids"].any()


def test_encoder_pair_framing_and_pair_labels(vocab):
    s = sample_of([[500, 501, 502, 503], [600, 601]])
    segments = np.array([[0, 0, 1, 1], [0, 1, 0, 0]])
    a = encoder_arrays(
        s.replace(segment_ids=segments, pair_labels=np.array([1, 0])), vocab, pad_to_multiple_of=8
    )
    cls, sep, pad = vocab.cls_id, vocab.sep_id, vocab.pad_id
    assert a["input_ids"].tolist() == [
        [cls, 500, 501, sep, 502, 503, sep, pad],
        [cls, 600, sep, 601, sep, pad, pad, pad],
    ]
    assert a["token_type_ids"].tolist() == [[0, 0, 0, 0, 1, 1, 1, 0], [0, 0, 0, 1, 1, 0, 0, 0]]
    assert a["pair_labels"].tolist() == [1, 0]


def test_seq2seq_framing_with_target_and_mode_token(vocab):
    s = sample_of([[500, 501], [600, 601, 602]])
    target = np.array([[7, 8, 9], [5, 0, 0]], np.int32)
    mode = vocab.mode_ids["[NLG]"]
    a = encoder_decoder_arrays(
        s.replace(target=target, target_lengths=np.array([3, 1]), mode_ids=np.array([mode, -1])), vocab
    )
    sep, pad, start = vocab.sep_id, vocab.pad_id, vocab.cls_id
    assert a["input_ids"].tolist() == [[mode, 500, 501, sep], [600, 601, 602, sep]]
    assert a["labels"].tolist() == [[7, 8, 9, sep], [5, sep, IGNORE, IGNORE]]
    assert a["decoder_input_ids"].tolist() == [[start, 7, 8, 9], [start, 5, sep, pad]]
    assert a["decoder_attention_mask"].tolist() == [[1, 1, 1, 1], [1, 1, 0, 0]]


def test_seq2seq_default_target_is_the_original(vocab):
    s = sample_of([[500, 501, 502]])
    a = encoder_decoder_arrays(
        s.replace(tokens=np.array([[vocab.mask_id, 502, 0]], np.int32), lengths=np.array([2])), vocab
    )
    assert a["input_ids"].tolist() == [[vocab.mask_id, 502, vocab.sep_id]]
    assert a["labels"].tolist() == [[500, 501, 502, vocab.sep_id]]
