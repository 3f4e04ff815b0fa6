import json

import pytest
import torch

from denoise import DenoiseError
from denoise.cli import main
from denoise.models.checkpoint import CONFIG_FILE, WEIGHTS_FILE, load_model, save_model
from denoise.models.families import family_of
from tests.paths import LEGACY_MODELS

transformers = pytest.importorskip("transformers")


def tiny_hf(kind: str):
    if kind == "bert":
        config = transformers.BertConfig(
            vocab_size=120,
            hidden_size=24,
            num_hidden_layers=2,
            num_attention_heads=3,
            intermediate_size=40,
            max_position_embeddings=64,
        )
        return transformers.BertForPreTraining(config)
    if kind == "bart":
        config = transformers.BartConfig(
            vocab_size=120,
            d_model=24,
            encoder_layers=2,
            decoder_layers=2,
            encoder_attention_heads=3,
            decoder_attention_heads=3,
            encoder_ffn_dim=40,
            decoder_ffn_dim=40,
            max_position_embeddings=64,
        )
        return transformers.BartForConditionalGeneration(config)
    config = transformers.T5Config(vocab_size=120, d_model=24, d_kv=8, d_ff=40, num_layers=2, num_heads=3)
    return transformers.T5ForConditionalGeneration(config)


def inputs(kind: str):
    ids = torch.randint(5, 120, (2, 9), generator=torch.Generator().manual_seed(0))
    mask = torch.ones_like(ids)
    mask[1, 6:] = 0
    if kind == "bert":
        return {"input_ids": ids, "attention_mask": mask, "token_type_ids": torch.zeros_like(ids)}
    return {"input_ids": ids, "attention_mask": mask, "decoder_input_ids": ids[:, :5]}


@pytest.mark.parametrize("kind", ["bert", "bart", "t5"])
def test_convert_from_hf_save_load_and_back(kind, tmp_path, capsys):
    hf = tiny_hf(kind).eval()
    hf.save_pretrained(tmp_path / "hf")
    main(["convert", "--from-hf", str(tmp_path / "hf"), "--out", str(tmp_path / "denoise")])
    assert (tmp_path / "denoise" / WEIGHTS_FILE).exists() and "denoise" in capsys.readouterr().out
    ours = load_model(tmp_path / "denoise").eval()
    with torch.no_grad():
        expected = hf(**inputs(kind)).logits if kind != "bert" else hf(**inputs(kind)).prediction_logits
        assert (ours(**inputs(kind)).logits - expected).abs().max() < 1e-4
    main(["convert", "--to-hf", str(tmp_path / "denoise"), "--out", str(tmp_path / "back")])
    again = transformers.AutoModel.from_pretrained(tmp_path / "back")
    assert again.config.model_type == hf.config.model_type


def test_save_is_atomic_and_load_names_bad_files(tmp_path):
    from denoise.models.hf import from_hf

    model = from_hf(tiny_hf("bert"))
    save_model(model, tmp_path / "m")
    saved = (tmp_path / "m" / WEIGHTS_FILE).read_bytes()
    save_model(model, tmp_path / "m")
    assert (tmp_path / "m" / WEIGHTS_FILE).read_bytes() == saved
    assert not list(tmp_path.glob("m.tmp-*"))
    with pytest.raises(FileNotFoundError, match="no denoise model"):
        load_model(tmp_path / "nothing")
    config = json.loads((tmp_path / "m" / CONFIG_FILE).read_text())
    config["config"]["encoder"]["num_layers"] = 3
    (tmp_path / "m" / CONFIG_FILE).write_text(json.dumps(config))
    with pytest.raises(DenoiseError, match="does not fit"):
        load_model(tmp_path / "m")


def test_convert_refuses_an_unsupported_architecture(tmp_path, capsys):
    distilbert = transformers.DistilBertForMaskedLM(
        transformers.DistilBertConfig(n_layers=1, dim=16, n_heads=2, hidden_dim=32, vocab_size=50)
    )
    distilbert.save_pretrained(tmp_path / "distilbert")
    with pytest.raises(SystemExit) as exit_info:
        main(["convert", "--from-hf", str(tmp_path / "distilbert"), "--out", str(tmp_path / "x")])
    assert exit_info.value.code == 2 and "'distilbert'" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


LEGACY = LEGACY_MODELS


@pytest.mark.parametrize("family", ["bert", "bart", "t5"])
def test_model_folders_written_before_families_were_named_still_load(family, tmp_path):
    expected = json.loads((LEGACY / "expected_logits.json").read_text())
    model = load_model(LEGACY / family).eval()
    assert family_of(model).name == family  # "encoder_decoder" folders: BART or T5 by their positions
    ids = torch.tensor(expected["input_ids"])
    with torch.no_grad():
        if family == "bert":
            output = model(input_ids=ids, attention_mask=ids != 0)
        else:
            output = model(input_ids=ids, attention_mask=ids != 0, decoder_input_ids=ids[:, :4])
    assert torch.allclose(output.logits[:, :3, :5], torch.tensor(expected["logits"][family]), atol=1e-6)
    save_model(model, tmp_path / "again")
    assert json.loads((tmp_path / "again" / CONFIG_FILE).read_text())["family"] == family


def test_an_unknown_family_in_model_json_is_named(tmp_path):
    save_model(load_model(LEGACY / "bert"), tmp_path / "m")
    saved = json.loads((tmp_path / "m" / CONFIG_FILE).read_text())
    (tmp_path / "m" / CONFIG_FILE).write_text(json.dumps({**saved, "family": "brt"}))
    with pytest.raises(
        DenoiseError, match="family 'brt' is not one of bert, bart, t5, gpt \\(did you mean 'bert'\\?\\)"
    ):
        load_model(tmp_path / "m")
