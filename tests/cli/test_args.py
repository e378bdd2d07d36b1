"""Flags generated from config metadata, shared flag groups, and errors in flag names."""

import argparse
import re

import pytest

from shapespace.cli.args import add_config_flags, add_source_flags, config_overrides, flag_names, parameter_namer, selection_from
from shapespace.cli.main import main
from shapespace.cli.train import GAN_FLAGS
from shapespace.data.sources import DataSelection
from shapespace.training.config import GANTrainConfig


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="t")
    add_config_flags(parser, GANTrainConfig, GAN_FLAGS)
    add_source_flags(parser, split_default="train")
    return parser


def test_config_flags_take_type_range_choices_and_help_from_the_fields():
    parser = _parser()
    args = parser.parse_args(["--steps", "5", "--lr-g", "0.1", "--joint-d-batch", "--augment", "flip,rot90", "--precision", "bf16"])
    assert config_overrides(args, GAN_FLAGS) == {
        "steps": 5, "lr_generator": 0.1, "joint_d_batch": True, "augment": ("flip", "rot90"), "precision": "bf16"
    }  # fmt: skip
    assert config_overrides(parser.parse_args([]), GAN_FLAGS) == {}
    actions = {a.dest: a for a in parser._actions}
    assert actions["lr_generator"].help == "generator learning rate (paper: 0.0025)"
    assert actions["precision"].choices == ["fp32", "bf16", "fp16", "auto"]


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--steps", "0"], "argument --steps: expected a positive integer, got 0"),
        (["--lr-d", "-1"], "argument --lr-d: expected a positive number, got -1.0"),
        (["--real-label", "0.5"], r"argument --real-label: expected a number in \(0.5, 1\], got 0.5"),
        (["--d-threshold", "x"], r"argument --d-threshold: expected a number in \[0, 1\], got 'x'"),
    ],
)
def test_config_flags_refuse_out_of_range_values(argv, message, capsys):
    with pytest.raises(SystemExit):
        _parser().parse_args(argv)
    assert re.search(message, capsys.readouterr().err)


def test_source_flags_make_one_data_selection():
    args = _parser().parse_args(["--classes", "chair,table", "--holdout", "0.1", "--up", "+y", "--front=-z", "--surface", "--workers", "2"])
    assert selection_from(args) == DataSelection(
        classes=("chair", "table"), split="train", views="first", holdout=0.1,
        read_options={"up": "+y", "front": "-z", "solid": False}, skip_bad=False, workers=2,
    )  # fmt: skip
    assert selection_from(args, split="test").split == "test"


def test_parameters_become_the_commands_flags_or_positionals():
    parser = argparse.ArgumentParser()
    parser.add_argument("data", metavar="SOURCE")
    parser.add_argument("--res", dest="resolution")
    parser.add_argument("--samples", dest="samples_file")
    name_of = parameter_namer(flag_names(parser))
    assert [name_of(p) for p in ("data", "resolution", "samples_file", "skip_bad")] == ["SOURCE", "--res", "--samples", "--skip-bad"]


def test_library_errors_reach_the_user_with_flag_names(tmp_path, capsys):
    assert main(["data", "export", "builtin:chair", "--holdout", "0.5", "--out", str(tmp_path / "x.npz")]) == 2
    assert capsys.readouterr().err == "shapespace: error: --holdout: built-in shapes have a test split of their own (--split test)\n"
    assert main(["data", "info", str(tmp_path / "nothing")]) == 2
    assert capsys.readouterr().err.startswith(f"shapespace: error: SOURCE {tmp_path / 'nothing'}: no such file or folder")
