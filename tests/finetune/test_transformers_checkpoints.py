"""Heads on models converted from transformers checkpoints, tokenized by the checkpoint's own tokenizer."""

from pathlib import Path

import pytest

from denoise.finetune.config import load_finetune_config
from denoise.finetune.loop import finetune
from tests.finetune.test_finetune import settings_for
from tests.paths import SAMPLES

transformers = pytest.importorskip("transformers")


def sample_texts() -> list[str]:
    texts = []
    for path in (p for p in SAMPLES.iterdir() if p.is_file()):
        texts.extend(path.read_text(encoding="utf-8").split("\n"))
    return texts


def hf_checkpoint(folder: Path, family: str) -> str:
    """A small random transformers model with a word-level fast tokenizer trained on the samples."""
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    word_level = Tokenizer(models.WordLevel(unk_token="[UNK]"))
    word_level.pre_tokenizer = pre_tokenizers.Whitespace()
    word_level.train_from_iterator(sample_texts(), trainers.WordLevelTrainer(special_tokens=specials))
    tokenizer = transformers.PreTrainedTokenizerFast(
        tokenizer_object=word_level,
        unk_token="[UNK]",
        pad_token="[PAD]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
        bos_token="[CLS]",
        eos_token="[SEP]",
    )
    vocab = len(tokenizer)
    if family == "bert":
        config = transformers.BertConfig(
            vocab_size=vocab, hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64
        )
        model = transformers.BertForMaskedLM(config)
    else:
        config = transformers.BartConfig(
            vocab_size=vocab,
            d_model=32,
            encoder_layers=1,
            decoder_layers=1,
            encoder_attention_heads=2,
            decoder_attention_heads=2,
            encoder_ffn_dim=64,
            decoder_ffn_dim=64,
            max_position_embeddings=128,
            pad_token_id=0,
            bos_token_id=2,
            eos_token_id=3,
            decoder_start_token_id=3,
            forced_eos_token_id=None,
        )
        model = transformers.BartForConditionalGeneration(config)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return str(folder)


@pytest.mark.parametrize("family", ["bert", "bart"])
@pytest.mark.parametrize("task, metric", [("sentiment", "accuracy"), ("ner", "entity_f1"), ("qa", "f1")])
def test_heads_on_a_converted_transformers_checkpoint(family, task, metric, tmp_path):
    checkpoint = hf_checkpoint(tmp_path / "hf", family)
    results = finetune(load_finetune_config(None, settings_for(task, f"init={checkpoint}")), tmp_path / "run")
    assert metric in results["test"]
    assert (tmp_path / "run" / "final" / "tokenizer" / "tokenizer.json").exists()
