"""Every family with every task kind, in each of the family's modes, with no per-entry code: a head trains a
step and predicts every test example, or the pair is refused with a clear error when the family cannot do
the kind (generation with a model that does not write text). A new family or kind is covered by its
registry line; a new kind brings its sample recipe in ``tests/fixtures/task_samples/kinds/<kind>.yaml``."""

import json
from pathlib import Path

import pytest

from denoise import DenoiseError
from denoise.config import read_recipe
from denoise.finetune.config import load_finetune_config
from denoise.finetune.loop import finetune
from denoise.models.checkpoint import save_model
from denoise.models.families import FAMILIES, build_model
from denoise.models.settings import Ids, ModelSettings
from denoise.tasks.kinds import KINDS
from tests.paths import SAMPLES

TINY = dict(size="tiny", num_layers=1, decoder_layers=1, d_model=32, num_heads=2, d_ff=64, d_kv=16)
BACKBONES = [(name, mode) for name, family in FAMILIES.items() for mode in family.modes]


@pytest.fixture(scope="module")
def models(tmp_path_factory, tokenizer) -> dict[str, Path]:
    """A freshly initialised tiny model of each family, saved with the session tokenizer beside it."""
    folders = {}
    for name in FAMILIES:
        folder = tmp_path_factory.mktemp(name)
        save_model(build_model(ModelSettings(family=name, **TINY), Ids.of(tokenizer)), folder / "model")
        tokenizer.save(folder / "tokenizer")
        folders[name] = folder
    return folders


def kind_recipe(kind: str, tmp_path: Path) -> Path:
    """The kind's sample recipe with its file paths made absolute."""
    recipe = SAMPLES / "kinds" / f"{kind}.yaml"
    assert recipe.is_file(), f"task kind {kind!r} has no sample recipe; add {recipe}"
    data = read_recipe(recipe, "sample recipe")
    for split in ("train", "dev", "test"):
        if split in data["task"]:
            data["task"][split] = str((recipe.parent / data["task"][split]).resolve())
    path = tmp_path / f"{kind}.json"
    path.write_text(json.dumps(data))  # JSON is YAML
    return path


@pytest.mark.parametrize("kind", sorted(KINDS))
@pytest.mark.parametrize("family, mode", BACKBONES, ids=[f"{f}-{m}" for f, m in BACKBONES])
def test_a_head_of_each_kind_trains_and_predicts_on_each_family(family, mode, kind, models, tmp_path):
    recipe = kind_recipe(kind, tmp_path)
    settings = [f"init={models[family]}", f"mode={mode}", "max_steps=1", "batch_size=4", "epochs=1"]
    config = load_finetune_config(recipe, settings)
    if KINDS[kind].writes_text and not FAMILIES[family].generates:
        with pytest.raises(DenoiseError, match="needs a model that writes text"):
            finetune(config, tmp_path / "run")
        return
    results = finetune(config, tmp_path / "run")
    assert results["history"][0]["step"] == 1
    name, value = KINDS[kind].headline(results["test"])
    assert value == value, f"{name} is not a number"  # NaN fails
    predictions = (tmp_path / "run" / "predictions-test.jsonl").read_text().splitlines()
    examples = KINDS[kind](config).read("test")
    assert len(predictions) == len(examples)
