"""What the commands share: argument types, flag groups declared once, flags generated
from config metadata, and the translation of library errors into flag names.

A config field becomes a flag through :func:`add_config_flags`: its type, range (the
field's ``check``), choices and help text (with the paper's value) all come from the
config class (:mod:`shapespace.config`), so nothing here restates them.
"""

from __future__ import annotations

import argparse
import dataclasses
import re
from pathlib import Path
from typing import Any, Callable, Literal, Mapping

from shapespace.config import Check, ConfigBase, at_least, in_range, non_negative, positive

# -- argument types ---------------------------------------------------------------------


_WORDS = {
    (int, "at least 1"): "a positive integer",
    (int, "0 or more"): "an integer >= 0",
    (float, "positive"): "a positive number",
    (float, "0 or more"): "a number >= 0",
}


def checked(convert: type, check: Check | None = None) -> Callable[[str], Any]:
    """An argparse ``type`` that converts (``int`` or ``float``), then checks the value
    against a config check; argparse names the flag in its message."""
    noun = "an integer" if convert is int else "a number"
    what = noun if check is None else _WORDS.get((convert, check.expected), f"{noun} {check.expected}")

    def parse(text: str) -> Any:
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
        if check is not None and not check.accept(value):
            raise argparse.ArgumentTypeError(f"expected {what}, got {value}")
        return value

    return parse


positive_int = checked(int, at_least(1))
non_negative_int = checked(int, non_negative())
positive_float = checked(float, positive())
fraction = checked(float, in_range(0, 1))
holdout_fraction = checked(float, in_range(0, 1, high_open=True))
fill_fraction = checked(float, in_range(0, 1, low_open=True))


def name_list(text: str) -> list[str]:
    """A comma-separated list of names, e.g. ``chair,table``."""
    names = [part.strip() for part in text.split(",") if part.strip()]
    if not names:
        raise argparse.ArgumentTypeError(f"expected a comma-separated list of names, got {text!r}")
    return names


AXIS_FLAGS = ("--up", "--front")
_NEGATIVE_AXIS = re.compile(r"-[xyz012]", re.IGNORECASE)


def join_signed_axes(argv: list[str]) -> list[str]:
    """``--front -z`` as ``--front=-z``: argparse takes a lone ``-z`` for a flag, so an axis
    flag followed by a signed axis is joined into one argument before parsing."""
    joined: list[str] = []
    for token in argv:
        if joined and joined[-1] in AXIS_FLAGS and _NEGATIVE_AXIS.fullmatch(token):
            joined[-1] = f"{joined[-1]}={token}"
        else:
            joined.append(token)
    return joined


def signed_axis(text: str) -> str:
    from shapespace.errors import DataError
    from shapespace.geometry.frame import parse_axis

    try:
        parse_axis(text)
    except DataError:
        raise argparse.ArgumentTypeError(f"expected a signed axis such as +z, -y or +x, got {text!r}") from None
    return text


# -- flags generated from a config ------------------------------------------------------


def _shown(value: Any) -> str:
    if isinstance(value, tuple):
        return ",".join(map(str, value)) or "none"
    return str(value)


def recipe_defaults_help(name: str, recipes: Mapping[str, ConfigBase]) -> str:
    """``(default: robust 2000, fast 360, paper 20000)``: what each recipe sets a field to,
    or one value when they all agree."""
    values = {recipe: _shown(getattr(config, name)) for recipe, config in recipes.items()}
    if len(set(values.values())) == 1:
        return f"(default {next(iter(values.values()))})"
    return "(default: " + ", ".join(f"{recipe} {value}" for recipe, value in values.items()) + ")"


def add_config_flags(
    parser: argparse.ArgumentParser | Any,
    config_cls: type[ConfigBase],
    flags: Mapping[str, str],
    recipes: Mapping[str, ConfigBase] | None = None,
) -> None:
    """Declare one flag per config field (``{field: flag}``); each defaults to None, meaning
    "keep the recipe's value". Types, ranges, choices and help come from the field; with
    ``recipes`` (name -> config) the help lists the value each recipe gives the field,
    else the paper's value where there is one."""
    fields = {f.name: f for f in dataclasses.fields(config_cls)}
    for name, flag in flags.items():
        field = fields[name]
        check = field.metadata.get("check")
        kind = str(field.type)
        if recipes:
            help_text = f"{field.metadata.get('help', '')} {recipe_defaults_help(name, recipes)}".replace("%", "%%")
        else:
            help_text = config_cls.field_help(name).replace("%", "%%")
        if kind == "bool":  # a flag named --no-... turns the field off
            action = "store_false" if flag.startswith("--no-") else "store_true"
            parser.add_argument(flag, dest=name, action=action, default=None, help=help_text)
            continue
        options: dict[str, Any] = {"dest": name, "default": None, "help": help_text, "metavar": flag[2:].upper().replace("-", "_")}
        if kind.startswith("tuple[str"):
            options["type"] = name_list
        elif check is not None and check.expected.startswith("one of "):
            options["choices"] = check.expected[len("one of ") :].split(", ")
        elif kind == "int":
            options["type"] = checked(int, check)
        elif kind == "float":
            options["type"] = checked(float, check)
        parser.add_argument(flag, **options)


def config_overrides(args: argparse.Namespace, flags: Mapping[str, str]) -> dict[str, Any]:
    """The config fields the user set on the command line."""
    values = {name: getattr(args, name) for name in flags}
    return {name: tuple(v) if isinstance(v, list) else v for name, v in values.items() if v is not None}


# -- flag groups declared once ----------------------------------------------------------


def add_device_flag(parser: argparse.ArgumentParser, default: str = "auto") -> None:
    parser.add_argument("--device", default=default, help=f"auto (CUDA if present), cpu, cuda, cuda:N (default {default})")


def add_progress_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")


def add_samples_flag(parser: argparse.ArgumentParser) -> None:
    """``--samples K``, ``--mirror`` and ``--class-prior W``: how a photo's shape is decoded (``reconstruct``)."""
    parser.add_argument("--samples", type=non_negative_int, default=0,
                        help="0: decode each photo's posterior mean (default); K: average the shapes of K draws from "
                             "q(z|y), seed 0, softer where the photo leaves the shape uncertain")  # fmt: skip
    parser.add_argument("--mirror", action="store_true",
                        help="also reconstruct each photo mirrored left-right and average the shape with that "
                             "reconstruction's mirror image (test-time augmentation; twice the time)")  # fmt: skip
    parser.add_argument("--class-prior", type=fraction, default=0.0, metavar="W",
                        help="average each shape with the mean training shape of the class the encoder's class head "
                             "names (expected over its probabilities), weighted W in [0, 1]; needs a model trained with "
                             "--class-weight (default 0: the decoded shape alone)")  # fmt: skip


def add_json_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")


def add_format_flag(parser: argparse.ArgumentParser, default: str) -> None:
    parser.add_argument("--format", default=default, help=f"comma-separated: npy, png, obj, stl, ply, glb (default {default})")


def add_source_flags(parser: argparse.ArgumentParser, split_default: str | None) -> None:
    """The flags of a :class:`~shapespace.data.sources.DataSelection`, for every command
    that reads a data source; no ``--split`` when ``split_default`` is None."""
    group = parser.add_argument_group("data source")
    group.add_argument("--classes", type=name_list, help="comma-separated classes to keep (default: all)")
    if split_default is not None:
        group.add_argument("--split", choices=("train", "test", "all"), default=split_default, help=f"split to use (default {split_default})")
    group.add_argument("--views", choices=("first", "all"), default="first",
                       help="3DShapeNets .mat rotations _1.._12: first keeps _1 (canonical), all keeps the 12 (default first)")  # fmt: skip
    group.add_argument("--holdout", type=holdout_fraction, default=0.0,
                       help="move this fraction of training shapes (chosen by name, all views together) to the test split (default 0)")  # fmt: skip
    group.add_argument("--fill", type=fill_fraction, help="longest side of each shape as a fraction of the grid (default 0.75, ModelNet's 24/32)")
    solid = group.add_mutually_exclusive_group()
    solid.add_argument("--solid", dest="solid", action="store_true", default=None, help="fill enclosed interiors (meshes: default)")
    solid.add_argument("--surface", dest="solid", action="store_false", help="keep surfaces only (point clouds: default)")
    group.add_argument("--close", type=non_negative_int, help="closing iterations that bridge gaps in point clouds (default 1)")
    group.add_argument("--up", type=signed_axis, help="the source's up axis, e.g. +z (default: each format's documented frame)")
    group.add_argument("--front", type=signed_axis,
                       help="the direction the source's objects face, e.g. -y (give with --up)")  # fmt: skip
    group.add_argument("--align", action="store_true", default=None, help="turn each shape so its back (e.g. a backrest) is at the back")
    group.add_argument("--skip-bad", action="store_true", help="skip unreadable files (listed) instead of stopping at the first")
    group.add_argument("--workers", type=positive_int, help="reader processes (default: every core)")


_VOXELIZE_FLAGS = ("fill", "solid", "close", "up", "front", "align")


def selection_from(args: argparse.Namespace, split: str | None = None):
    """The :class:`~shapespace.data.sources.DataSelection` the source flags describe."""
    from shapespace.data.sources import DataSelection

    return DataSelection(
        classes=args.classes,
        split=split or getattr(args, "split", None) or "all",
        views=args.views,
        holdout=args.holdout,
        read_options={name: getattr(args, name) for name in _VOXELIZE_FLAGS if getattr(args, name) is not None},
        skip_bad=args.skip_bad,
        workers=args.workers,
    )


def report_skipped(skipped: list[Mapping[str, str]] | tuple[Mapping[str, str], ...]) -> None:
    """Print on stderr the files a ``--skip-bad`` read left out, one ``path: error`` line each."""
    import sys

    if not skipped:
        return
    print(f"skipped {len(skipped)} unreadable file{'' if len(skipped) == 1 else 's'} (--skip-bad):", file=sys.stderr)
    for item in skipped:
        path, error = item["path"], item["error"]
        print(f"  {error if error.startswith(path) else f'{path}: {error}'}", file=sys.stderr)


# -- output paths, checked before a command starts ----------------------------------------


def add_output_flag(parser: argparse.ArgumentParser, flag: str = "--out", *, kind: Literal["file", "dir"], **options: Any) -> None:
    """Declare an output path flag (``type=Path``; ``options`` as for ``add_argument``).

    The command records it, so that :func:`check_outputs` checks it (a file or a folder,
    per ``kind``) before the command does any work; no command can forget its outputs.
    """
    action = parser.add_argument(flag, type=Path, **options)
    parser.set_defaults(output_paths={**(parser.get_default("output_paths") or {}), action.dest: kind})


def check_outputs(args: argparse.Namespace) -> None:
    """Check every output path the command declared (:func:`add_output_flag`) and the user gave.

    Raises:
        OutputError: naming the flag's parameter, the path and what is wrong.
    """
    from shapespace.io.paths import check_output_path

    for dest, kind in (getattr(args, "output_paths", None) or {}).items():
        if getattr(args, dest) is not None:
            check_output_path(getattr(args, dest), kind, parameter=dest)


# -- library errors in the words of the command line --------------------------------------


def flag_names(parser: argparse.ArgumentParser) -> dict[str, str]:
    """How a command calls each parameter: its longest flag, or a positional's metavar (else its name)."""
    names = {}
    for action in parser._actions:  # argparse has no public accessor for a parser's actions
        if isinstance(action, (argparse._HelpAction, argparse._VersionAction, argparse._SubParsersAction)):
            continue
        if action.option_strings:
            names.setdefault(action.dest, max(action.option_strings, key=len))
        else:
            names[action.dest] = str(action.metavar or action.dest)
    return names


def parameter_namer(names: Mapping[str, str]) -> Callable[[str], str]:
    """``name_of(parameter)``: the command's flag for it, else the flag it would have."""
    return lambda parameter: names.get(parameter, "--" + parameter.replace("_", "-"))
