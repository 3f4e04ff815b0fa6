import dataclasses
import types
import typing
from dataclasses import dataclass, field
from typing import ClassVar

import pytest
import yaml

from denoise import DenoiseError
from denoise.compare.config import GridConfig, load_grid
from denoise.config import Range, check_ranges, from_mapping, ranges
from denoise.corruption.base import Vocab
from denoise.corruption.recipe import Recipe
from denoise.corruption.registry import OPS
from denoise.finetune.config import FinetuneConfig, load_finetune_config
from denoise.models.families import FAMILIES
from denoise.models.settings import Ids, ModelSettings
from denoise.train.config import PretrainConfig, load_config


@dataclass(frozen=True)
class Inner:
    rate: float = 0.1
    name: str = "x"


@dataclass(frozen=True)
class Outer:
    steps: int = 3
    inner: Inner = field(default_factory=Inner)
    items: tuple[Inner, ...] = ()
    maybe: int | None = None
    flag: bool = False


def test_values_override_defaults_and_nest():
    built = from_mapping(Outer, {"steps": 5, "inner": {"rate": 1}, "items": [{"name": "a"}], "maybe": 2})
    assert built == Outer(steps=5, inner=Inner(rate=1.0), items=(Inner(name="a"),), maybe=2)
    assert isinstance(built.inner.rate, float)


def test_unknown_key_names_it_and_the_nearest():
    with pytest.raises(DenoiseError, match=r"unknown key 'stepz' in recipe \(did you mean 'steps'\?\)"):
        from_mapping(Outer, {"stepz": 1}, "recipe")
    with pytest.raises(DenoiseError, match=r"'rte'.*recipe.inner.*'rate'"):
        from_mapping(Outer, {"inner": {"rte": 1}}, "recipe")


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"steps": "many"}, "recipe.steps must be int, got 'many'"),
        ({"flag": 1}, "recipe.flag must be bool"),
        ({"steps": True}, "recipe.steps must be int"),
        ({"inner": 3}, "recipe.inner must be a mapping"),
        ({"items": "a"}, "recipe.items must be a list"),
    ],
)
def test_wrong_types_name_key_and_value(values, message):
    with pytest.raises(DenoiseError, match=message.replace(".", r"\.").replace("(", r"\(")):
        from_mapping(Outer, values, "recipe")


# -- ranges ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "inside", "outside"),
    [
        ("[0, 1]", [0, 0.5, 1], [-0.01, 1.01]),
        ("[0, 1)", [0, 0.999], [1, -1]),
        ("(0, 1]", [1e-9, 1], [0, 1.5]),
        ("(0, 1)", [0.5], [0, 1]),
        ("> 0", [1e-9, 10**12], [0, -1]),
        (">= 1", [1, 2.5], [0.999, 0]),
        ("< 1", [0.999, -5], [1]),
        ("<= 100", [100, -3], [100.5]),
        ("[1, inf)", [1, 10**9], [0]),
    ],
)
def test_range_notation_ends(text, inside, outside):
    bound = Range.parse(text)
    assert all(bound.contains(v) for v in inside), bound
    assert not any(bound.contains(v) for v in outside), bound
    assert not any(bound.contains(v) for v in (True, False, float("nan"), float("inf"), "1", None))


@pytest.mark.parametrize(
    ("text", "described"),
    [("[0, 1]", "[0, 1]"), ("(0,1]", "(0, 1]"), (" >= 0 ", ">= 0"), ("> 0.5", "> 0.5"), ("[1, inf)", ">= 1")],
)
def test_range_describes_itself_in_the_notation(text, described):
    assert Range.parse(text).describe() == described
    assert Range.parse(described) == Range.parse(text)


@pytest.mark.parametrize(
    "text", ["", "0..1", "[1, 0]", "[0, 1", ">= x", "> inf", "[0 1]", "=> 0", "[0, 1, 2]"]
)
def test_range_notation_refuses_anything_else(text):
    with pytest.raises(ValueError, match="range"):
        Range.parse(text)


@dataclass(frozen=True)
class Ranged:
    share: float = 0.5
    count: int | None = None
    pair: tuple[float, float] = (0.1, 0.2)

    RANGES: ClassVar[dict[str, str]] = {"share": "(0, 1]", "count": ">= 1", "pair": "[0, 1)"}


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"share": 0}, "recipe.share must be in (0, 1], got 0"),
        ({"share": 1.5}, "recipe.share must be in (0, 1], got 1.5"),
        ({"share": float("nan")}, "recipe.share must be a finite number in (0, 1], got nan"),
        ({"count": 0}, "recipe.count must be >= 1 (or null), got 0"),
        ({"pair": [0.5, 1]}, "recipe.pair[1] must be in [0, 1), got 1"),
        ({"count": True}, "recipe.count must be int"),
    ],
)
def test_values_out_of_range_name_key_value_and_range(values, message):
    with pytest.raises(DenoiseError) as raised:
        from_mapping(Ranged, values, "recipe")
    assert message in str(raised.value)


def test_values_in_range_and_null_pass():
    assert from_mapping(Ranged, {"share": 1, "count": None, "pair": [0, 0.99]}) == Ranged(
        1.0, None, (0.0, 0.99)
    )


PRETRAIN = [
    ("optimizer.clip_norm=-1", "optimizer.clip_norm must be > 0 (or null), got -1"),
    ("optimizer.clip_norm=0", "optimizer.clip_norm must be > 0 (or null), got 0"),
    ("optimizer.min_lr_ratio=5", "optimizer.min_lr_ratio must be in [0, 1], got 5"),
    ("optimizer.weight_decay=-0.1", "optimizer.weight_decay must be >= 0, got -0.1"),
    ("optimizer.warmup_steps=-1", "optimizer.warmup_steps must be >= 0, got -1"),
    ("optimizer.lr=-1", "optimizer.lr must be > 0, got -1"),
    ("optimizer.lr=0", "optimizer.lr must be > 0, got 0"),
    ("optimizer.eps=0", "optimizer.eps must be > 0, got 0"),
    ("optimizer.betas=[2,3]", "optimizer.betas[0] must be in [0, 1), got 2"),
    ("optimizer.betas=[0.9,1]", "optimizer.betas[1] must be in [0, 1), got 1"),
    ("training.max_steps=-5", "training.max_steps must be >= 1 (or null), got -5"),
    ("training.max_steps=0", "training.max_steps must be >= 1 (or null), got 0"),
    ("training.max_tokens=0", "training.max_tokens must be >= 1 (or null), got 0"),
    ("training.threads=-1", "training.threads must be >= 1 (or null), got -1"),
    ("training.global_batch=0", "training.global_batch must be >= 1, got 0"),
    ("training.seed=-1", "training.seed must be >= 0, got -1"),
    ("data.num_workers=-1", "data.num_workers must be >= 0, got -1"),
    ("data.num_proc=0", "data.num_proc must be >= 1, got 0"),
    ("data.block_size=0", "data.block_size must be >= 1, got 0"),
    ("data.validation_blocks=-1", "data.validation_blocks must be >= 0, got -1"),
    ("model.num_heads=0", "model.num_heads must be >= 1 (or null), got 0"),
    ("model.num_layers=0", "model.num_layers must be >= 1 (or null), got 0"),
    ("model.decoder_layers=0", "model.decoder_layers must be >= 1 (or null), got 0"),
    ("model.dropout=2", "model.dropout must be in [0, 1) (or null), got 2"),
    ("model.dropout=1", "model.dropout must be in [0, 1) (or null), got 1"),
    ("model.attention_dropout=-0.1", "model.attention_dropout must be in [0, 1) (or null), got -0.1"),
]


@pytest.mark.parametrize(("override", "message"), PRETRAIN)
def test_pretraining_settings_that_cannot_train_are_refused(override, message):
    with pytest.raises(DenoiseError) as raised:
        load_config(None, [override])
    assert message in str(raised.value)


def test_a_recipe_file_is_named_with_the_key(tmp_path):
    recipe = tmp_path / "run.yaml"
    recipe.write_text("optimizer:\n  lr: -1\n")
    with pytest.raises(DenoiseError, match=r"run\.yaml: optimizer\.lr must be > 0, got -1"):
        load_config(recipe)


FINETUNE = [
    ("optimizer.lr=-1", "optimizer.lr must be >= 0 (or null), got -1"),
    ("optimizer.clip_norm=0", "optimizer.clip_norm must be > 0 (or null), got 0"),
    ("optimizer.warmup_ratio=1.5", "optimizer.warmup_ratio must be in [0, 1], got 1.5"),
    ("optimizer.weight_decay=-1", "optimizer.weight_decay must be >= 0, got -1"),
    ("optimizer.embedding_lr_scale=0", "optimizer.embedding_lr_scale must be > 0, got 0"),
    ("epochs=0", "epochs must be >= 1, got 0"),
    ("batch_size=0", "batch_size must be >= 1, got 0"),
    ("max_steps=0", "max_steps must be >= 1 (or null), got 0"),
    ("dropout=1", "dropout must be in [0, 1), got 1"),
    ("threads=0", "threads must be >= 1 (or null), got 0"),
    ("model.num_layers=0", "model.num_layers must be >= 1 (or null), got 0"),
    ("qa.doc_stride=-1", "qa.doc_stride must be >= 0, got -1"),
    ("qa.n_best=0", "qa.n_best must be >= 1, got 0"),
    ("generation.max_target_length=1", "generation.max_target_length must be >= 2, got 1"),
    ("generation.num_beams=0", "generation.num_beams must be >= 1, got 0"),
]


@pytest.mark.parametrize(("override", "message"), FINETUNE)
def test_fine_tuning_settings_out_of_range_are_refused(override, message):
    with pytest.raises(DenoiseError) as raised:
        load_finetune_config(None, [override])
    assert message in str(raised.value)


OPS_OUT_OF_RANGE = [
    ("mask", {"rate": 0.0}, "op 'mask'.rate must be in (0, 1], got 0"),
    ("mask", {"random_fraction": -0.1}, "op 'mask'.random_fraction must be in [0, 1], got -0.1"),
    ("delete", {"rate": 1.5}, "op 'delete'.rate must be in [0, 1], got 1.5"),
    ("infill", {"rate": -0.1}, "op 'infill'.rate must be in [0, 1], got -0.1"),
    ("infill", {"mean_span": 0}, "op 'infill'.mean_span must be > 0, got 0"),
    ("span", {"density": 1}, "op 'span'.density must be in (0, 1), got 1"),
    ("span", {"mean_span": 0.5}, "op 'span'.mean_span must be >= 1, got 0.5"),
    ("mass", {"fraction": 0}, "op 'mass'.fraction must be in (0, 1], got 0"),
    ("prefix_lm", {"max_fraction": 2}, "op 'prefix_lm'.max_fraction must be in [0, 1], got 2"),
    ("nsp", {"negative_rate": 2}, "op 'nsp'.negative_rate must be in [0, 1], got 2"),
    ("sop", {"swap_rate": -1}, "op 'sop'.swap_rate must be in [0, 1], got -1"),
    (
        "mixture",
        {"denoisers": [{"op": "span", "weight": 0}]},
        "op 'mixture'.denoisers[0].weight must be > 0, got 0",
    ),
    (
        "mixture",
        {"denoisers": [{"op": "span", "params": {"density": 0}}]},
        "op 'mixture'.denoisers[0].params.density must be in (0, 1), got 0",
    ),
]


@pytest.mark.parametrize(("op", "params", "message"), OPS_OUT_OF_RANGE)
def test_corruption_op_settings_out_of_range_are_refused(op, params, message):
    recipe = Recipe.from_mapping({"name": "r", "steps": [{"op": op, **params}]})
    vocab = Vocab(100, 0, 1, 2, 3, tuple(range(90, 100)), (0, 1, 2, 3, *range(90, 100)))
    with pytest.raises(DenoiseError) as raised:
        recipe.build(vocab, "encoder_decoder")
    assert message in str(raised.value)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"seeds": [0, -1]}, "seeds[1] must be >= 0, got -1"),
        ({"budget": {"tokens": 0}}, "budget.tokens must be >= 1 (or null), got 0"),
        ({"budget": {"seconds": 0}}, "budget.seconds must be > 0 (or null), got 0"),
        ({"budget": {"seconds": 5, "calibration_steps": 0}}, "budget.calibration_steps must be >= 1, got 0"),
        ({"threads": 0}, "threads must be >= 1 (or null), got 0"),
    ],
)
def test_grid_numbers_out_of_range_are_refused(change, message, tmp_path):
    grid = {"cells": [{"name": "a", "recipe": "x.yaml"}], "budget": {"tokens": 100}, **change}
    path = tmp_path / "grid.yaml"
    path.write_text(yaml.safe_dump(grid))
    with pytest.raises(DenoiseError) as raised:
        load_grid(path)
    assert message in str(raised.value)


def config_classes() -> set[type]:
    """Every dataclass a recipe, a grid, a corruption op or a saved model is read into."""
    roots = [PretrainConfig, FinetuneConfig, GridConfig, *(op.Config for op in OPS.values())]
    roots += [family.config for family in FAMILIES.values()]
    found, pending = set(), list(roots)
    while pending:
        cls = pending.pop()
        if cls in found:
            continue
        found.add(cls)
        for kind in typing.get_type_hints(cls).values():
            pending += [t for t in (kind, *typing.get_args(kind)) if dataclasses.is_dataclass(t)]
    return found


def is_number(kind) -> bool:
    options = typing.get_args(kind) if typing.get_origin(kind) in (typing.Union, types.UnionType) else (kind,)
    items = [
        a for o in options for a in (typing.get_args(o) if typing.get_origin(o) in (list, tuple) else (o,))
    ]
    return any(item in (int, float) for item in items)


@pytest.mark.parametrize(
    "cls", sorted(config_classes(), key=lambda c: c.__qualname__), ids=lambda c: c.__name__
)
def test_every_number_has_a_range_and_the_defaults_lie_in_it(cls):
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    numbers = {name for name in fields if name in hints and is_number(hints[name])}
    assert set(ranges(cls)) == numbers, f"{cls.__name__}.RANGES should bound exactly its numbers"
    defaults = {
        name: f.default if f.default is not dataclasses.MISSING else f.default_factory()
        for name, f in fields.items()
        if f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING
    }
    check_ranges(cls, defaults, cls.__name__)


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_every_named_size_lies_in_the_model_ranges(family):
    for size in FAMILIES[family].sizes:
        FAMILIES[family].from_settings(ModelSettings(family=family, size=size), Ids(32000, 0, 2, 3))
