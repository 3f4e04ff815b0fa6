import json
from pathlib import Path

import pytest
import torch

from denoise.errors import DenoiseError
from denoise.finetune.config import FinetuneConfig, load_finetune_config
from denoise.finetune.evaluate import evaluate_saved
from denoise.finetune.loop import finetune
from denoise.models.checkpoint import load_model
from denoise.models.generation import generate
from denoise.train.config import load_config
from denoise.train.loop import pretrain
from tests.paths import LEGACY_MODELS, RECIPES, ROOT, SAMPLES
from tests.train_helpers import tiny

TASKS = {
    "sentiment": [
        "task.kind=classification",
        f"task.train={SAMPLES}/sentiment.tsv",
        "task.text_column=sentence",
    ],
    "pairs": [
        "task.kind=classification",
        f"task.train={SAMPLES}/entailment.tsv",
        "task.text_column=premise",
        "task.pair_column=hypothesis",
    ],
    "pos": ["task.kind=tagging", f"task.train={SAMPLES}/pos.conll"],
    "ner": ["task.kind=tagging", f"task.train={SAMPLES}/ner.conll"],
    "qa": ["task.kind=qa", f"task.train={SAMPLES}/squad_v2.json", "max_length=40", "qa.doc_stride=8"],
    "translation": [
        "task.kind=generation",
        f"task.train={SAMPLES}/parallel",
        "generation.max_target_length=8",
        "generation.num_beams=2",
    ],
}
METRIC = {"sentiment": "accuracy", "pairs": "macro_f1", "pos": "accuracy", "ner": "entity_f1", "qa": "f1"}


@pytest.fixture(scope="session")
def pretrained(tmp_path_factory, prepared_corpus) -> dict[str, str]:
    """Tiny runs of both families, 3 pre-training steps each."""
    runs = {}
    for family, corruption in (("bert", "bert"), ("bart", "bart")):
        out = tmp_path_factory.mktemp("runs") / family
        settings = tiny(
            prepared_corpus, f"model.family={family}", "model.size=tiny", f"corruption={corruption}"
        )
        pretrain(load_config(None, settings), out, progress=False)
        runs[family] = str(out)
    return runs


def settings_for(task: str, *extra: str) -> list[str]:
    split = TASKS[task][1].split("=", 1)[1]
    return [
        *TASKS[task],
        f"task.dev={split}",
        f"task.test={split}",
        "epochs=1",
        "batch_size=4",
        "threads=1",
        *extra,
    ]


@pytest.mark.parametrize("task", ["sentiment", "pairs", "pos", "ner", "qa"])
@pytest.mark.parametrize("backbone", ["bert", "bart:encoder", "bart:encoder_decoder"])
def test_every_head_fine_tunes_either_family(task, backbone, pretrained, tmp_path):
    family, _, mode = backbone.partition(":")
    config = load_finetune_config(
        None, settings_for(task, f"init={pretrained[family]}", f"mode={mode or 'encoder'}")
    )
    results = finetune(config, tmp_path / "run")
    assert METRIC[task] in results["test"] and len(results["history"]) == 1
    if task == "qa":  # SQuAD 2.0 data: the no-answer threshold was chosen on dev and applies to test
        assert results["test"]["null_threshold"] == results["dev"]["null_threshold"]
        assert 0.0 <= results["test"]["no_answer_auc"] <= 1.0
        assert 0.0 <= results["test"]["has_answer_best_span_f1"] <= 100.0
    saved = json.loads((tmp_path / "run" / "eval.json").read_text())
    assert saved["test"] == results["test"]
    assert (tmp_path / "run" / "predictions-test.jsonl").exists()
    again = evaluate_saved(tmp_path / "run", "test")
    assert again == pytest.approx(results["test"])


@pytest.mark.parametrize("family", ["bert", "bart"])
def test_qa_with_a_span_window_saves_and_scores_again(family, pretrained, tmp_path):
    settings = settings_for("qa", f"init={pretrained[family]}", "qa.span_window=2")
    results = finetune(load_finetune_config(None, settings), tmp_path / "run")
    assert evaluate_saved(tmp_path / "run", "test") == pytest.approx(results["test"])
    with pytest.raises(DenoiseError, match="qa.span_window must be >= 0, got -1"):
        load_finetune_config(None, [*settings, "qa.span_window=-1"])


def test_a_fine_tuned_run_is_an_init_and_keeps_its_head_for_the_same_kind_of_task(pretrained, tmp_path):
    from safetensors.torch import load_file

    first = finetune(
        load_finetune_config(None, settings_for("qa", f"init={pretrained['bert']}")), tmp_path / "a"
    )
    assert first["head"] == "new"
    saved_head = load_file(tmp_path / "a" / "final" / "head.safetensors")
    settings = settings_for("qa", f"init={tmp_path / 'a'}", "optimizer.lr=0")
    second = finetune(load_finetune_config(None, settings), tmp_path / "b")
    assert second["head"] == "inherited from init"
    assert second["test"] == pytest.approx(first["test"])  # lr 0: the same model scores the same
    kept = load_file(tmp_path / "b" / "final" / "head.safetensors")
    assert all(torch.equal(kept[k], saved_head[k]) for k in saved_head)
    other = finetune(
        load_finetune_config(None, settings_for("sentiment", f"init={tmp_path / 'a' / 'final'}")),
        tmp_path / "c",
    )
    assert other["head"] == "new"  # another kind of task: the encoder carries over, the head starts fresh
    same_labels = finetune(
        load_finetune_config(None, settings_for("sentiment", f"init={tmp_path / 'c'}")), tmp_path / "e"
    )
    assert same_labels["head"] == "inherited from init"
    other_labels = finetune(
        load_finetune_config(None, settings_for("pairs", f"init={tmp_path / 'c'}")), tmp_path / "f"
    )
    assert other_labels["head"] == "new"
    scratch = settings_for("qa", f"init=scratch:{tmp_path / 'a'}")
    assert finetune(load_finetune_config(None, scratch), tmp_path / "d")["head"] == "new"


def test_generation_fine_tunes_an_encoder_decoder(pretrained, tmp_path, monkeypatch):
    import dataclasses

    from denoise.models.families import FAMILIES

    asked = []

    def recording_generate(*args, **kwargs):
        asked.append(kwargs["no_repeat_ngram_size"])
        return generate(*args, **kwargs)

    monkeypatch.setitem(FAMILIES, "bart", dataclasses.replace(FAMILIES["bart"], generate=recording_generate))
    settings = settings_for("translation", f"init={pretrained['bart']}", "generation.no_repeat_ngram_size=3")
    results = finetune(load_finetune_config(None, settings), tmp_path)
    assert set(results["test"]) == {"bleu", "chrf"}
    assert asked and set(asked) == {3}
    predictions = (tmp_path / "predictions-test.jsonl").read_text().splitlines()
    assert len(predictions) == len((SAMPLES / "parallel.en").read_text().splitlines())
    with pytest.raises(DenoiseError, match=r"generation.no_repeat_ngram_size must be >= 0, got -1"):
        load_finetune_config(None, [*settings, "generation.no_repeat_ngram_size=-1"])


def test_embedding_lr_scale_moves_the_tables_further(pretrained, tmp_path):
    start = load_model(Path(pretrained["bert"]) / "model").encoder.embeddings.tokens.weight
    moved = {}
    for scale in (1, 8):
        settings = settings_for(
            "sentiment", f"init={pretrained['bert']}", f"optimizer.embedding_lr_scale={scale}"
        )
        finetune(load_finetune_config(None, settings), tmp_path / str(scale))
        table = load_model(tmp_path / str(scale) / "final" / "model").encoder.embeddings.tokens.weight
        moved[scale] = (table - start).abs().max().item()
    assert 5 < moved[8] / moved[1] < 10  # Adam's steps scale with the learning rate
    with pytest.raises(DenoiseError, match="optimizer.embedding_lr_scale must be > 0, got 0"):
        load_finetune_config(None, [*settings, "optimizer.embedding_lr_scale=0"])


def test_adafactor_moves_each_weight_relative_to_its_scale(pretrained, tmp_path):
    start = load_model(Path(pretrained["bert"]) / "model").state_dict()
    lr, steps = 1e-3, 3

    def within_relative_steps(name: str) -> bool:
        settings = settings_for(
            "sentiment",
            f"init={pretrained['bert']}",
            f"optimizer.name={name}",
            f"optimizer.lr={lr}",
            "optimizer.warmup_ratio=0",
            f"max_steps={steps}",
        )
        finetune(load_finetune_config(None, settings), tmp_path / name)
        end = load_model(tmp_path / name / "final" / "model").state_dict()
        for key, before in start.items():
            if before.is_floating_point():
                scale = max(before.pow(2).mean().sqrt().item(), 1e-3)
                moved = (end[key] - before).pow(2).mean().sqrt().item()
                if moved > 1.01 * steps * lr * scale:
                    return False
        return True

    assert within_relative_steps("adafactor")
    assert not within_relative_steps("adamw")  # Adam's steps are about lr whatever the weight's size
    with pytest.raises(DenoiseError, match="optimizer.name 'adam' is not one of adamw, adafactor"):
        load_finetune_config(None, settings_for("sentiment", "optimizer.name=adam"))


def test_scratch_baseline_takes_the_architecture_and_tokenizer_of_a_run(pretrained, tmp_path):
    trained = finetune(
        load_finetune_config(None, settings_for("sentiment", f"init={pretrained['bert']}")), tmp_path / "a"
    )
    fresh = finetune(
        load_finetune_config(None, settings_for("sentiment", f"init=scratch:{pretrained['bert']}")),
        tmp_path / "b",
    )
    assert set(trained["test"]) == set(fresh["test"])
    scratch_weights = (tmp_path / "b" / "final" / "model" / "model.safetensors").read_bytes()
    assert scratch_weights != (tmp_path / "a" / "final" / "model" / "model.safetensors").read_bytes()


def write(path: Path, text: str) -> str:
    path.write_text(text)
    return str(path)


def test_bad_input_names_the_value(pretrained, tmp_path):
    init = f"init={pretrained['bert']}"
    unseen = write(tmp_path / "dev.tsv", "sentence\tlabel\nfine film .\tneutral\n")
    with pytest.raises(DenoiseError, match="neutral"):
        finetune(
            load_finetune_config(None, [*TASKS["sentiment"], f"task.dev={unseen}", init]), tmp_path / "a"
        )
    missing_tag = write(tmp_path / "bad.conll", "The DT\ncat\n")
    with pytest.raises(DenoiseError, match="line 2"):
        finetune(
            load_finetune_config(None, ["task.kind=tagging", f"task.train={missing_tag}", init]),
            tmp_path / "b",
        )
    empty = write(tmp_path / "empty.tsv", "")
    with pytest.raises(DenoiseError, match="empty.tsv"):
        finetune(
            load_finetune_config(None, [*TASKS["sentiment"], f"task.test={empty}", init]), tmp_path / "c"
        )
    with pytest.raises(DenoiseError, match="needs a model that writes text"):
        finetune(load_finetune_config(None, settings_for("translation", init)), tmp_path / "d")
    with pytest.raises(DenoiseError, match="not one of a bert model's modes"):
        finetune(
            load_finetune_config(None, settings_for("sentiment", init, "mode=encoder_decoder")),
            tmp_path / "e",
        )
    with pytest.raises(FileNotFoundError, match="nowhere"):
        finetune(load_finetune_config(None, settings_for("sentiment", "init=nowhere")), tmp_path / "f")
    with pytest.raises(DenoiseError, match="did you mean 'epochs'"):
        load_finetune_config(None, ["epoch=3"])


def test_cli_finetune_then_evaluate(pretrained, tmp_path, capsys):
    from denoise.cli import main

    main(
        [
            "finetune",
            *settings_for("ner", f"init={pretrained['bert']}"),
            "--out",
            str(tmp_path),
            "--no-progress",
        ]
    )
    assert "test:" in capsys.readouterr().out
    main(["evaluate", str(tmp_path), "--split", "dev"])
    assert "entity_f1" in json.loads(capsys.readouterr().out.strip().splitlines()[-1])


TASK_RECIPES = sorted((RECIPES / "tasks").glob("*.yaml"))
SAMPLE_FOR_KIND = {
    "classification": ["task.train={s}/sentiment.tsv", "task.text_column=sentence", "task.pair_column=null"],
    "regression": ["task.train={s}/sentiment.tsv", "task.text_column=sentence", "task.label_column=label"],
    "tagging": ["task.train={s}/ner.conll"],
    "qa": ["task.train={s}/squad_v2.json", "max_length=40", "qa.doc_stride=8"],
    "generation": ["task.train={s}/parallel", "generation.max_target_length=8"],
}


@pytest.mark.parametrize("recipe", TASK_RECIPES, ids=lambda p: p.stem)
def test_every_task_recipe_loads_and_its_kind_runs_on_sample_files(recipe, pretrained, tmp_path):
    from denoise.tasks.hub import TASKS as HUB_TASKS

    config = load_finetune_config(recipe)
    if config.task.hub:
        assert config.task.hub in HUB_TASKS
        return
    if config.task.kind == "regression":
        pytest.skip("the samples hold no scores; regression runs in test_regression_reports_correlations")
    family = "bart" if config.task.kind == "generation" else "bert"
    samples = [s.format(s=SAMPLES) for s in SAMPLE_FOR_KIND[config.task.kind]]
    overrides = [*samples, "task.dev=null", "task.test=null", "epochs=1", f"init={pretrained[family]}"]
    results = finetune(load_finetune_config(recipe, overrides), tmp_path)
    assert results["history"][0]["train_loss"] > 0


def test_regression_reports_correlations(pretrained, tmp_path):
    scores = write(
        tmp_path / "scores.tsv",
        "text\tscore\n"
        + "".join(
            f"{word} film .\t{value}\n"
            for word, value in [
                ("great", 3.1),
                ("awful", -2.5),
                ("fine", 0.8),
                ("dull", -1.2),
                ("superb", 3.6),
                ("bad", -2.0),
            ]
        ),
    )
    settings = [
        "task.kind=regression",
        f"task.train={scores}",
        f"task.test={scores}",
        "task.label_column=score",
        "epochs=2",
        "batch_size=2",
        f"init={pretrained['bert']}",
    ]
    results = finetune(load_finetune_config(None, settings), tmp_path / "run")
    assert set(results["test"]) == {"pearson", "spearman", "mse"}


def study_script(study: str, name: str):
    """A script of ``experiments/<study>/`` loaded as a module."""
    import importlib.util

    script = ROOT / "experiments" / study / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("family", ["bert", "bart"])
def test_matching_probe_asks_for_the_named_token_the_next_or_none(family, pretrained):
    from denoise.finetune.backbone import load_backbone_model

    probe = study_script("qa_no_answer", "matching_probe")
    model, tok = load_backbone_model(FinetuneConfig(init=pretrained[family]))
    for shift in (0, 1):
        input_ids, _, targets = probe.batch(tok, torch.Generator().manual_seed(0), shift)
        named = input_ids[:, len(tok.prefix)]
        rows = torch.arange(len(input_ids))
        assert torch.equal(input_ids[rows, targets[:, 0] - shift], named)
        assert ((input_ids == named[:, None]).sum(1) == 2).all()  # in the question and once in the context
    input_ids, _, targets = probe.batch(tok, torch.Generator().manual_seed(0), 0, unanswerable=True)
    named = input_ids[:, len(tok.prefix)]
    silent = targets[:, 0] == 0
    assert 0 < silent.sum() < len(silent)
    rows = torch.arange(len(input_ids))
    assert torch.equal(input_ids[rows[~silent], targets[~silent, 0]], named[~silent])
    # an absent token is in the question only
    assert ((input_ids == named[:, None]).sum(1) == torch.where(silent, 1, 2)).all()
    accuracy, first = probe.probe(model, tok, shift=1, window=1, steps=3, lr=5e-4, seed=0)
    assert 0.0 <= accuracy <= 1.0 and first is None


@pytest.mark.parametrize("family", ["bert", "bart"])
def test_stack_doubles_each_stack_and_the_result_fine_tunes(family, pretrained, tmp_path, capsys):
    from denoise.cli import main
    from denoise.models.checkpoint import load_model
    from denoise.models.init import resolve_init

    main(["stack", pretrained[family], "--out", str(tmp_path / "x2")])
    main(["stack", pretrained[family], "--out", str(tmp_path / "x2")])  # the same again: the same result
    other = pretrained["bart" if family == "bert" else "bert"]
    with pytest.raises(SystemExit):
        main(["stack", other, "--out", str(tmp_path / "x2")])  # another run's model in its place
    assert "already holds the output of `denoise stack`" in capsys.readouterr().err
    shallow, deeper = load_model(Path(pretrained[family]) / "model"), load_model(tmp_path / "x2" / "model")
    stacks = ("encoder",) if family == "bert" else ("encoder", "decoder")
    for stack in stacks:
        n = getattr(shallow.config, stack).num_layers
        assert getattr(deeper.config, stack).num_layers == 2 * n
        layers = getattr(deeper, stack).layers
        for i in range(n):
            copy, original = layers[i + n].state_dict(), getattr(shallow, stack).layers[i].state_dict()
            assert all(torch.equal(copy[k], original[k]) for k in original)
    assert resolve_init(tmp_path / "x2").tokenizer_dir == tmp_path / "x2" / "tokenizer"
    results = finetune(
        load_finetune_config(None, settings_for("sentiment", f"init={tmp_path / 'x2'}")), tmp_path / "run"
    )
    assert "accuracy" in results["test"]


def test_a_key_that_moved_names_its_new_place_and_saved_runs_still_load(pretrained, tmp_path):
    with pytest.raises(DenoiseError, match="key 'doc_stride' .* has moved to 'qa.doc_stride'"):
        load_finetune_config(None, ["doc_stride=16"])
    with pytest.raises(DenoiseError, match="key 'pooling' .* has moved to 'classification.pooling'"):
        load_finetune_config(None, ["pooling=mean"])
    results = finetune(load_finetune_config(None, settings_for("qa", f"init={pretrained['bert']}")), tmp_path)
    task_file = tmp_path / "final" / "task.json"
    saved = json.loads(task_file.read_text())
    legacy = json.loads((LEGACY_MODELS / "qa_task.json").read_text())
    assert "doc_stride" in legacy["config"] and "qa" not in legacy["config"]  # written before the move
    flat = json.loads(json.dumps(saved["config"]))
    for old, new in FinetuneConfig.MOVED_KEYS.items():  # as the keys stood before they moved
        block, key = new.split(".")
        flat[old] = flat[block].pop(key)
    task_file.write_text(json.dumps({**saved, "config": flat}))
    assert evaluate_saved(tmp_path, "test") == pytest.approx(results["test"])


def test_a_task_file_written_before_the_settings_moved_reads_into_the_blocks():
    from denoise.finetune.config import saved_finetune_config

    legacy = json.loads((LEGACY_MODELS / "qa_task.json").read_text())
    config = saved_finetune_config(legacy["config"], where="qa_task.json")
    assert (config.qa.doc_stride, config.qa.span_window, config.max_length) == (16, 1, 64)


def test_a_bert_without_a_pooler_is_read_through_the_mean_of_its_states():
    from denoise.finetune.backbone import Backbone
    from denoise.models.bert.model import Bert, BertConfig
    from denoise.models.bert.sizes import bert_config
    from denoise.tasks.classification.kind import default_pooling

    stack = bert_config("tiny", vocab_size=100).encoder
    assert default_pooling(Backbone(Bert(BertConfig(stack, pair_head=True)))) == "first"  # NSP trained [CLS]
    assert default_pooling(Backbone(Bert(BertConfig(stack, pair_head=False)))) == "mean"  # masked LM alone
    discriminator = Bert(BertConfig(stack, pair_head=False, token_head="replaced"))
    assert default_pooling(Backbone(discriminator)) == "mean"
