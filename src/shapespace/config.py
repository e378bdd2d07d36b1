"""One base for every frozen config of the project, and one registry for named presets.

A config is a frozen dataclass deriving from :class:`ConfigBase`; each field is declared
with :func:`setting`, which stores in the field's metadata:

* ``paper``: the paper's value of the field where the paper (or the authors' release)
  fixes one. :meth:`ConfigBase.deviations` lists the fields whose value differs, and the
  CLI help text says "(paper: X)", both generated from this one place.
* ``check``: the field's range (:class:`Check`), checked once when the config is built;
  the CLI derives its argument types from the same check.
* ``help``: one line for the CLI and the docs.
* ``recipe``: whether the field is part of a training recipe (changing it makes the
  recipe "custom"); every field with a paper value is.

The base gives the JSON round trip (``to_dict``/``from_dict``, unknown keys rejected),
``replace``, and the deviations. This follows diffusers' ``ConfigMixin``: the config is the
single record of what a model or a run is, and nothing else restates it.
"""

from __future__ import annotations

import dataclasses
import numbers
from dataclasses import dataclass
from typing import Any, Callable, Generic, Iterator, Mapping, TypeVar

from shapespace.errors import ConfigError

_NO_PAPER_VALUE = object()


@dataclass(frozen=True)
class Check:
    """A range check: ``accept(value)`` must hold; ``expected`` says what is accepted."""

    accept: Callable[[Any], bool]
    expected: str

    def __call__(self, name: str, value: Any) -> None:
        if not self.accept(value):
            raise ConfigError(f"`{name}` must be {self.expected}, got {value!r}")


def at_least(minimum: int | float) -> Check:
    return Check(lambda v: v >= minimum, f"at least {minimum}")


def positive() -> Check:
    return Check(lambda v: v > 0, "positive")


def non_negative() -> Check:
    return Check(lambda v: v >= 0, "0 or more")


def in_range(low: float, high: float, low_open: bool = False, high_open: bool = False) -> Check:
    """``low <= v <= high``, each end open when asked: shown as e.g. ``in [0, 1)``."""

    def accept(v: float) -> bool:
        above = v > low if low_open else v >= low
        below = v < high if high_open else v <= high
        return above and below

    return Check(accept, f"in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}")


def one_of(*choices: Any) -> Check:
    return Check(lambda v: v in choices, f"one of {', '.join(map(str, choices))}")


def setting(
    default: Any,
    *,
    paper: Any = _NO_PAPER_VALUE,
    check: Check | None = None,
    help: str = "",
    recipe: bool | None = None,
    convert: Callable[[Any], Any] | None = None,
) -> Any:
    """A config field with its provenance and range (see the module docstring).

    ``convert`` normalises a value before it is checked (JSON gives lists where the frozen
    config keeps tuples). A field with a ``paper`` value is a recipe field unless
    ``recipe=False``.
    """
    metadata = {
        "paper": paper,
        "check": check,
        "help": help,
        "recipe": (paper is not _NO_PAPER_VALUE) if recipe is None else recipe,
        "convert": convert,
    }
    if isinstance(default, (list, dict, set)):
        raise TypeError("config defaults must be immutable (use a tuple)")
    return dataclasses.field(default=default, metadata=metadata)


def has_paper_value(field: dataclasses.Field) -> bool:
    return field.metadata.get("paper", _NO_PAPER_VALUE) is not _NO_PAPER_VALUE


class ConfigBase:
    """Mixin for ``@dataclass(frozen=True)`` configs: round trip, checks, deviations.

    Subclasses put cross-field rules in :meth:`validate`; single-field ranges belong in the
    field's ``check``.
    """

    def __post_init__(self) -> None:
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            convert = field.metadata.get("convert")
            if convert is not None:
                value = convert(value)
            elif isinstance(value, list):
                value = tuple(value)  # JSON gives lists; the frozen config keeps tuples
            object.__setattr__(self, field.name, value)
            _check_number(field, value)
            check = field.metadata.get("check")
            if check is not None:
                check(field.name, value)
        self.validate()

    def validate(self) -> None:
        """Rules that involve several fields (override; raise ConfigError)."""

    # -- provenance -----------------------------------------------------------------
    @classmethod
    def paper_values(cls) -> dict[str, Any]:
        """The paper's value of every field that has one."""
        return {f.name: f.metadata["paper"] for f in dataclasses.fields(cls) if has_paper_value(f)}

    @classmethod
    def recipe_fields(cls) -> frozenset[str]:
        """Fields that define a recipe: changing one makes a preset recipe custom."""
        return frozenset(f.name for f in dataclasses.fields(cls) if f.metadata.get("recipe"))

    def deviations(self) -> dict[str, dict[str, Any]]:
        """Fields that differ from the paper: ``{field: {"value": ..., "paper": ...}}``."""
        out = {}
        for name, paper_value in self.paper_values().items():
            value = _jsonable(getattr(self, name))
            if value != _jsonable(paper_value):
                out[name] = {"value": value, "paper": _jsonable(paper_value)}
        return out

    @classmethod
    def field_help(cls, name: str) -> str:
        """The help line of a field, with its paper value appended where there is one."""
        field = {f.name: f for f in dataclasses.fields(cls)}[name]
        text = field.metadata.get("help", "")
        if has_paper_value(field):
            paper = field.metadata["paper"]
            shown = ", ".join(paper) if isinstance(paper, tuple) and paper else ("none" if paper == () else paper)
            text = f"{text} (paper: {shown})" if text else f"(paper: {shown})"
        return text

    # -- round trip -------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict (tuples become lists)."""
        return {f.name: _jsonable(getattr(self, f.name)) for f in dataclasses.fields(self)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]):
        """Rebuild a config; unknown keys are an error, not silently ignored."""
        if not isinstance(data, Mapping):
            raise ConfigError(f"{cls.__name__}: expected a mapping of fields, got {type(data).__name__}")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"unknown {cls.__name__} fields: {', '.join(unknown)}")
        try:
            return cls(**dict(data))
        except TypeError as exc:
            raise ConfigError(f"{cls.__name__}: {exc}") from None

    def replace(self, **changes: Any):
        return dataclasses.replace(self, **changes)


_NUMBER_WORDS = {"int": "an integer", "float": "a number"}


def _check_number(field: dataclasses.Field, value: Any) -> None:
    """A numeric field must hold a number: a string such as "16" (from a hand-edited JSON
    file) would otherwise fail later in a range check or compare unequal to 16."""
    kind = field.type if isinstance(field.type, str) else getattr(field.type, "__name__", "")  # "int" or int
    if kind in _NUMBER_WORDS and (isinstance(value, bool) or not isinstance(value, numbers.Real)):
        raise ConfigError(f"`{field.name}` must be {_NUMBER_WORDS[kind]}, got {value!r}")


def _jsonable(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


# -- named presets ----------------------------------------------------------------------
T = TypeVar("T")


@dataclass(frozen=True)
class Entry(Generic[T]):
    """A registered item with a one-line description of where it comes from."""

    name: str
    item: T
    description: str


class Registry(Generic[T]):
    """Named items of one kind (model presets, encoder presets, recipes), in registration order."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, Entry[T]] = {}

    def register(self, name: str, item: T, description: str = "") -> T:
        if name in self._entries:
            raise ConfigError(f"{self.kind} {name!r} is already registered")
        self._entries[name] = Entry(name, item, description)
        return item

    def entry(self, name: str) -> Entry[T]:
        """The entry called ``name``; an unknown name raises ConfigError listing the known ones."""
        try:
            return self._entries[name]
        except KeyError:
            raise ConfigError(f"unknown {self.kind} {name!r}; known {self.kind}s: {', '.join(self._entries)}") from None

    def get(self, name: str) -> T:
        return self.entry(name).item

    def names(self) -> list[str]:
        return list(self._entries)

    def entries(self) -> list[Entry[T]]:
        return list(self._entries.values())

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries
