"""Numbers that must not move when code is reorganised: the losses of every shipped tiny pre-training recipe
at each step, and what fine-tuning each task kind on each family gives, on the session corpus at one thread.

A change that means to alter them records them again with ``DENOISE_RECORD_GOLDEN=1 python -m pytest
tests/test_golden_traces.py`` and says why in its commit.
"""

import json
import os

import pytest
import torch

from denoise.finetune.config import load_finetune_config
from denoise.finetune.loop import finetune
from denoise.train.config import load_config
from denoise.train.loop import pretrain
from denoise.train.metrics import read_metrics
from tests.paths import FIXTURES, RECIPES, SAMPLES
from tests.train_helpers import tiny

GOLDEN = FIXTURES / "golden_traces.json"
RECORD = os.environ.get("DENOISE_RECORD_GOLDEN") == "1"
# recipes continuing another run (init:) are held by tests/train/test_continued.py
PRETRAINING = sorted(p.stem for p in RECIPES.glob("tiny_*.yaml") if load_config(p).init is None)
TASKS = {
    "sentiment": [
        "task.kind=classification",
        f"task.train={SAMPLES}/sentiment.tsv",
        "task.text_column=sentence",
    ],
    "regression": ["task.kind=regression", f"task.train={SAMPLES}/scores.tsv", "task.label_column=score"],
    "pos": ["task.kind=tagging", f"task.train={SAMPLES}/pos.conll"],
    "qa": ["task.kind=qa", f"task.train={SAMPLES}/squad_v2.json", "max_length=40", "qa.doc_stride=8"],
    "translation": [
        "task.kind=generation",
        f"task.train={SAMPLES}/parallel",
        "generation.max_target_length=8",
        "generation.num_beams=2",
    ],
}
BACKBONES = ["bert", "bart:encoder", "bart:encoder_decoder", "t5:encoder", "gpt:decoder"]


@pytest.fixture(scope="module")
def golden():
    recorded = json.loads(GOLDEN.read_text()) if GOLDEN.exists() else {}
    yield recorded
    if RECORD:
        GOLDEN.write_text(json.dumps(recorded, indent=1, sort_keys=True) + "\n")


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def check(golden: dict, key: str, values: dict) -> None:
    if RECORD:
        golden[key] = values
        return
    assert key in golden, f"no golden values for {key}; record them (see the module docstring)"
    losses = {k: v for k, v in values.items() if not k.startswith("test ")}
    metrics = {k: v for k, v in values.items() if k.startswith("test ")}
    assert set(values) == set(golden[key])
    assert losses == pytest.approx({k: golden[key][k] for k in losses}, rel=1e-4, abs=1e-6)
    # A test metric of near-random predictions (a correlation near 0) amplifies the last bits of float
    # arithmetic, which differ between CPUs; a changed prediction moves it by far more than this.
    assert metrics == pytest.approx({k: golden[key][k] for k in metrics}, abs=1e-3)


@pytest.mark.parametrize("recipe", PRETRAINING)
def test_pretraining_losses_stay_the_same(recipe, golden, prepared_corpus, tmp_path):
    config = load_config(RECIPES / f"{recipe}.yaml", tiny(prepared_corpus, steps=4))
    pretrain(config, tmp_path / "run", progress=False)
    records = read_metrics(tmp_path / "run")
    losses = {f"step {r['step']}": r["loss"] for r in records if "loss" in r}
    losses.update({f"eval {r['step']}": r["eval_loss"] for r in records if "eval_loss" in r})
    check(golden, f"pretrain/{recipe}", losses)


@pytest.fixture(scope="module")
def runs(tmp_path_factory, prepared_corpus) -> dict[str, str]:
    found = {}
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    for family, corruption in (("bert", "bert"), ("bart", "bart"), ("t5", "t5"), ("gpt", "clm")):
        out = tmp_path_factory.mktemp("golden-runs") / family
        settings = tiny(
            prepared_corpus, f"model.family={family}", "model.size=tiny", f"corruption={corruption}"
        )
        pretrain(load_config(RECIPES / "tiny_bert.yaml", settings), out, progress=False)
        found[family] = str(out)
    torch.set_num_threads(threads)
    return found


@pytest.mark.parametrize("task", list(TASKS))
@pytest.mark.parametrize("backbone", BACKBONES)
def test_fine_tuning_results_stay_the_same(task, backbone, golden, runs, tmp_path):
    family, _, mode = backbone.partition(":")
    if task == "translation" and family == "bert":
        pytest.skip("an encoder-only model does not generate")
    split = TASKS[task][1].split("=", 1)[1]
    settings = [
        *TASKS[task],
        f"task.dev={split}",
        f"task.test={split}",
        f"init={runs[family]}",
        f"mode={mode or 'encoder'}",
        "epochs=2",
        "optimizer.lr=1e-4",
        "patience=null",
        "keep=last",
        "batch_size=4",
        "threads=1",
    ]
    results = finetune(load_finetune_config(None, settings), tmp_path / "run")
    values = {f"train_loss {r['epoch']}": r["train_loss"] for r in results["history"]}
    values.update({f"test {k}": v for k, v in results["test"].items() if isinstance(v, (int, float))})
    check(golden, f"finetune/{task}/{backbone}", values)
