import pickle

import pytest

from denoise import DenoiseError
from denoise.tokenizer import Tokenizer

ODD_TEXT = "Naïve café: ﬁne “quotes”, 東京 and 😀 — tabs\tand  double  spaces, ǅ, ∑ x²."


def test_special_ids_are_where_the_docs_say(tokenizer):
    assert (tokenizer.pad_id, tokenizer.unk_id, tokenizer.cls_id, tokenizer.sep_id, tokenizer.mask_id) == (
        0,
        1,
        2,
        3,
        4,
    )
    assert (tokenizer.bos_id, tokenizer.eos_id) == (tokenizer.cls_id, tokenizer.sep_id)
    pieces = [tokenizer.id_to_piece(i) for i in range(5)]
    assert pieces == ["<pad>", "<unk>", "<cls>", "<sep>", "<mask>"]
    assert tokenizer.sentinel_ids == list(range(5, 105))
    assert tokenizer.id_to_piece(5) == "<extra_id_0>" and tokenizer.id_to_piece(104) == "<extra_id_99>"
    assert tokenizer.mode_ids == {"[NLU]": 105, "[NLG]": 106, "[S2S]": 107}
    assert [tokenizer.id_to_piece(i) for i in (105, 106, 107)] == ["[NLU]", "[NLG]", "[S2S]"]
    assert tokenizer.id_to_piece(108) == "<0x00>" and tokenizer.id_to_piece(363) == "<0xFF>"
    assert tokenizer.vocab_size == 2000


def test_decode_encode_restores_normalized_held_out_text(tokenizer, held_out_documents):
    texts = held_out_documents + [ODD_TEXT]
    assert tokenizer.decode(tokenizer.encode(texts)) == [tokenizer.normalize(t) for t in texts]
    plain = "And the LORD spake unto Moses, saying, Speak unto the children of Israel."
    assert tokenizer.decode(tokenizer.encode(plain)) == plain


def test_byte_fallback_never_produces_unknown_or_special_ids(tokenizer):
    ids = tokenizer.encode(ODD_TEXT + " <mask> <extra_id_0> <pad> <cls> [NLU]")
    assert tokenizer.unk_id not in ids
    assert min(ids) > max(tokenizer.special_ids)


def test_batch_encode_matches_one_by_one(tokenizer, held_out_documents):
    texts = held_out_documents[:10]
    assert tokenizer.encode(texts) == [tokenizer.encode(t) for t in texts]


def test_decode_shows_special_pieces_and_drops_padding(tokenizer):
    ids = tokenizer.encode("the king")
    sentinel = tokenizer.sentinel_ids[1]
    shown = tokenizer.decode([tokenizer.mask_id, *ids, sentinel, tokenizer.pad_id, tokenizer.pad_id])
    assert shown == "<mask> the king <extra_id_1>"
    assert tokenizer.decode([tokenizer.cls_id, *ids, tokenizer.sep_id], skip_special=True) == "the king"


def test_save_load_and_pickle_round_trip(tokenizer, tmp_path, held_out_documents):
    tokenizer.save(tmp_path / "copy")
    loaded = Tokenizer.load(tmp_path / "copy")
    unpickled = pickle.loads(pickle.dumps(tokenizer))
    for other in (loaded, unpickled):
        assert other.encode(held_out_documents[:3]) == tokenizer.encode(held_out_documents[:3])
        assert other.splitter.split(held_out_documents[0]) == tokenizer.splitter.split(held_out_documents[0])


def test_bpe_and_sentinel_count_are_configurable(tmp_path, training_text):
    corpus = tmp_path / "train.txt"
    corpus.write_text(training_text[:200_000], encoding="utf-8")
    bpe = Tokenizer.train([corpus], 800, tmp_path / "bpe", model_type="bpe", num_sentinels=3)
    assert bpe.sentinel_ids == [5, 6, 7] and bpe.id_to_piece(11) == "<0x00>"
    assert bpe.decode(bpe.encode("Good morrow, my lord.")) == "Good morrow, my lord."
    with pytest.raises(DenoiseError, match="wordpiece"):
        Tokenizer.train([corpus], 800, tmp_path / "x", model_type="wordpiece")


def test_word_start_mask_marks_pieces_that_begin_words(tokenizer):
    starts = tokenizer.word_start_mask()
    ids = tokenizer.encode("unthankfulness")
    assert starts[ids[0]] and starts[tokenizer.mask_id]
    assert len(starts) == tokenizer.vocab_size


def test_load_rejects_a_model_without_denoise_special_ids(tmp_path, tokenizer):
    import sentencepiece as spm

    model = tmp_path / "plain.model"
    corpus = tmp_path / "t.txt"
    corpus.write_text("the quick brown fox jumps over the lazy dog\n" * 50)
    spm.SentencePieceTrainer.train(
        input=str(corpus), model_prefix=str(tmp_path / "plain"), vocab_size=31, minloglevel=2
    )
    with pytest.raises(DenoiseError, match="special ids"):
        Tokenizer(model.read_bytes(), num_sentinels=100)
