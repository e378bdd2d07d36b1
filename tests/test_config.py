"""The config base, the registry and errors that name parameters."""

from dataclasses import dataclass

import pytest

from shapespace.config import ConfigBase, Registry, at_least, in_range, one_of, setting
from shapespace.errors import ConfigError, DataError


@dataclass(frozen=True)
class Toy(ConfigBase):
    size: int = setting(4, paper=8, check=at_least(1), help="how big")
    rate: float = setting(0.5, check=in_range(0, 1, high_open=True), help="how fast")
    mode: str = setting("a", paper="a", check=one_of("a", "b"), help="which way")
    names: tuple[str, ...] = setting((), paper=(), help="what to use")
    label: str = setting("toy", recipe=False)


def test_round_trip_keeps_every_field_and_lists_become_tuples():
    toy = Toy(size=2, names=["x", "y"])
    assert toy.names == ("x", "y")
    assert toy.to_dict() == {"size": 2, "rate": 0.5, "mode": "a", "names": ["x", "y"], "label": "toy"}
    assert Toy.from_dict(toy.to_dict()) == toy


def test_unknown_keys_and_bad_values_are_refused_with_the_field_name():
    with pytest.raises(ConfigError, match="unknown Toy fields: colour, shape"):
        Toy.from_dict({"shape": 1, "colour": 2})
    with pytest.raises(ConfigError, match=r"^size must be at least 1, got 0$"):
        Toy(size=0)
    with pytest.raises(ConfigError, match=r"^rate must be in \[0, 1\), got 1.0$"):
        Toy(rate=1.0)
    with pytest.raises(ConfigError, match=r"^mode must be one of a, b, got 'c'$"):
        Toy(mode="c")
    with pytest.raises(ConfigError, match="expected a mapping"):
        Toy.from_dict([1, 2])


@pytest.mark.parametrize(("changes", "message"), [
    ({"size": "16"}, "size must be an integer, got '16'"),
    ({"size": True}, "size must be an integer, got True"),
    ({"rate": "0.5"}, "rate must be a number, got '0.5'"),
    ({"rate": None}, "rate must be a number, got None"),
])  # fmt: skip
def test_numeric_fields_refuse_strings_and_bools(changes, message):
    """A string from a hand-edited JSON file is named as such, not compared with an int later."""
    with pytest.raises(ConfigError) as info:
        Toy.from_dict(changes)
    assert str(info.value) == message


def test_a_string_resolution_is_named_not_compared():
    """Once: "gives resolution 16, but resolution is 16" for the string "16"."""
    from shapespace.models.config import GANConfig

    with pytest.raises(ConfigError) as info:
        GANConfig.from_dict({"resolution": "16", "generator_channels": [16, 8], "discriminator_channels": [8, 16]})
    assert str(info.value) == "resolution must be an integer, got '16'"


def test_paper_values_deviations_recipe_fields_and_help_come_from_metadata():
    assert Toy.paper_values() == {"size": 8, "mode": "a", "names": ()}
    assert Toy(size=8).deviations() == {}
    assert Toy(names=("x",)).deviations() == {"size": {"value": 4, "paper": 8}, "names": {"value": ["x"], "paper": []}}
    assert Toy.recipe_fields() == frozenset({"size", "mode", "names"})
    assert Toy.field_help("size") == "how big (paper: 8)"
    assert Toy.field_help("rate") == "how fast"
    assert Toy.field_help("names") == "what to use (paper: none)"


def test_mutable_defaults_are_refused():
    with pytest.raises(TypeError, match="immutable"):
        setting([1, 2])


def test_registry_lists_in_order_and_names_the_known_entries():
    registry: Registry[int] = Registry("widget")
    registry.register("one", 1, "the first")
    registry.register("two", 2)
    assert registry.names() == list(registry) == ["one", "two"]
    assert registry.get("two") == 2 and registry.entry("one").description == "the first"
    assert "one" in registry and "three" not in registry
    with pytest.raises(ConfigError, match="unknown widget 'three'; known widgets: one, two"):
        registry.get("three")
    with pytest.raises(ConfigError, match="widget 'one' is already registered"):
        registry.register("one", 3)


def test_errors_show_parameters_bare_or_in_the_callers_words():
    error = DataError("`out` /x: already exists; pass `overwrite` to replace it (see `shapespace data`)")
    assert str(error) == "out /x: already exists; pass overwrite to replace it (see `shapespace data`)"
    assert error.parameters == ["out", "overwrite"]
    flags = {"out": "--out", "overwrite": "--overwrite"}
    assert error.describe(flags.__getitem__) == "--out /x: already exists; pass --overwrite to replace it (see `shapespace data`)"
