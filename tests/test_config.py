from dataclasses import dataclass, field

import pytest

from denoise import DenoiseError
from denoise.config import from_mapping


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
