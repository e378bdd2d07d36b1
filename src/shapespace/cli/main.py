"""The ``shapespace`` command line: a thin layer over the Python API.

Each command maps to one function of :mod:`shapespace.pipelines` or
:mod:`shapespace.training`; the commands live by subject in ``cli/train.py``,
``cli/data.py``, ``cli/eval.py``, ``cli/latent.py`` and ``cli/serve.py`` (the web demo,
:mod:`shapespace.web`), and share their flag groups through ``cli/args.py``. User errors
(bad flags, missing files, unknown presets) exit with status 2 and a one-line message
naming the flag or file. Every output path a command declares (``add_output_flag``) is
checked before the command does any work.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from typing import Callable, Sequence

from shapespace import __version__
from shapespace.cli import data, latent, serve, train
from shapespace.cli import eval as evaluate
from shapespace.cli.args import check_outputs, flag_names, join_signed_axes, parameter_namer
from shapespace.errors import ShapespaceError
from shapespace.training.interrupts import ProcessGroupFailed, TrainingInterrupted


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="shapespace",
        description="Learn a probabilistic latent space of 3D shapes (3D-GAN, Wu et al. 2016).",
    )
    parser.add_argument("--version", action="version", version=f"shapespace {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in (train, data, evaluate, latent, serve):
        module.register(sub)
    _record_flag_names(parser)
    return parser


def _record_flag_names(parser: argparse.ArgumentParser) -> None:
    """Give every command the names of its parameters, for its error messages."""
    for action in parser._actions:  # argparse has no public accessor for subparsers
        if isinstance(action, argparse._SubParsersAction):
            for command in action.choices.values():
                command.set_defaults(flag_names=flag_names(command))
                _record_flag_names(command)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    argv = join_signed_axes(sys.argv[1:] if argv is None else list(argv))
    args = parser.parse_args(argv)
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        check_outputs(args)
        return func(args)
    except ShapespaceError as exc:
        print(f"shapespace: error: {exc.describe(parameter_namer(args.flag_names))}", file=sys.stderr)
        return 2
    except TrainingInterrupted as exc:
        if hasattr(args, "resume"):
            again = shlex.join(["shapespace", *argv] + ([] if args.resume else ["--resume"]))
            print(f"shapespace: interrupted by {exc}; to continue: {again}", file=sys.stderr)
        else:
            print(f"shapespace: interrupted by {exc}", file=sys.stderr)
        return exc.exit_status
    except ProcessGroupFailed as exc:
        print(f"shapespace: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("shapespace: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
