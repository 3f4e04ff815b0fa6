import pytest
import torch

from denoise.embed import SENSES, contextual_vectors, cosine_matrix, sense_separation, word_index
from denoise.errors import DenoiseError
from denoise.finetune.backbone import Backbone
from denoise.models.bert.model import Bert
from denoise.models.bert.sizes import bert_config
from denoise.tasks.text import SentencePieceTaskTokenizer


@pytest.fixture()
def backbone(tokenizer):
    torch.manual_seed(0)
    config = bert_config("tiny", vocab_size=tokenizer.vocab_size, max_positions=64)
    return Backbone(Bert(config)), SentencePieceTaskTokenizer(tokenizer, with_cls=True)


def test_vectors_depend_on_context_and_find_the_word(backbone):
    model, tok = backbone
    vectors = contextual_vectors(
        model, tok, ["The bear slept.", "Bear it, my lord!", "The bear slept."], "bear"
    )
    assert vectors.shape == (3, 128)
    similarity = cosine_matrix(vectors)
    assert similarity[0, 2] == pytest.approx(1.0, abs=1e-5) and similarity[0, 1] < 0.999
    assert word_index(["Nay,", "(Bear)", "it"], "bear") == 1
    with pytest.raises(DenoiseError, match="'wolf' does not occur"):
        contextual_vectors(model, tok, ["The bear slept."], "wolf")


def test_sense_report_covers_every_word(backbone):
    report = sense_separation(*backbone)
    assert set(report) == set(SENSES)
    assert all(
        -1.0 <= scores["within"] <= 1.0 and -1.0 <= scores["across"] <= 1.0 for scores in report.values()
    )


def test_cli_demo(tokenizer, tmp_path, capsys):
    from denoise.cli import main
    from denoise.models.checkpoint import save_model

    config = bert_config("tiny", vocab_size=tokenizer.vocab_size, max_positions=64)
    save_model(Bert(config), tmp_path / "model")
    tokenizer.save(tmp_path / "tokenizer")
    main(["embed", str(tmp_path), "--demo"])
    assert "bear" in capsys.readouterr().out
    main(
        [
            "embed",
            str(tmp_path),
            "--word",
            "light",
            "--sentence",
            "Let there be light.",
            "--sentence",
            "A light load.",
        ]
    )
    assert len(capsys.readouterr().out.strip().splitlines()) == 2
