"""The command line: --help everywhere, typed flags, clear errors, and a tiny end-to-end run."""

import json

import numpy as np
import pytest

from shapespace.cli.main import build_parser, main

COMMANDS = [
    ["eval"], ["eval", "gen"], ["eval", "classify"], ["eval", "recon"], ["arithmetic"], ["neighbours"], ["report"],
    [], ["presets"], ["recipes"], ["train"], ["train", "gan"], ["train", "vae-gan"], ["data"], ["data", "prepare"], ["data", "info"], ["data", "show"],
    ["data", "export"], ["data", "photos"], ["sample"], ["interpolate"], ["demo"], ["reconstruct"], ["serve"],
]  # fmt: skip


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "shapespace")
def test_help_works_for_every_command(command, capsys):
    with pytest.raises(SystemExit) as exc:
        main(command + ["--help"])
    assert exc.value.code == 0
    assert "usage: shapespace" in capsys.readouterr().out


def test_every_subcommand_is_covered_by_the_help_test():
    parser = build_parser()
    top = next(a for a in parser._actions if a.dest == "command")
    assert sorted(top.choices) == sorted({c[0] for c in COMMANDS if c})


def test_presets_lists_exact_parameter_counts(capsys):
    assert main(["presets", "--json"]) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["paper-64"]["generator_parameters"] == 17_569_664
    assert rows["paper-64"]["discriminator_parameters"] == 11_048_832
    assert rows["paper-32"]["resolution"] == 32
    assert main(["presets"]) == 0
    assert "17,569,664" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv, message",
    [
        (["train", "gan", "--data", "builtin:chair", "--out", "x", "--batch-size", "2.5"], "--batch-size: expected a positive integer"),
        (["train", "gan", "--data", "builtin:chair", "--out", "x", "--steps", "0"], "--steps: expected a positive integer"),
        (["train", "gan", "--data", "builtin:chair", "--out", "x", "--lr-g", "-1"], "--lr-g: expected a positive number"),
        (["train", "gan", "--data", "builtin:chair", "--out", "x", "--precision", "fp8"], "--precision: invalid choice"),
        (["train", "gan", "--data", "builtin:chair", "--out", "x", "--d-threshold", "1.5"], "--d-threshold: expected a number in [0, 1], got 1.5"),
        (["train", "gan", "--data", "builtin:chair", "--out", "x", "--real-label", "0.2"], "--real-label: expected a number in (0.5, 1], got 0.2"),
        (["train", "gan", "--data", "builtin:chair", "--out", "x", "--instance-noise", "x"], "--instance-noise: expected a number >= 0, got 'x'"),
        (["train", "gan", "--out", "x"], "the following arguments are required: --data"),
        (["sample", "run", "--out", "o", "--n", "many"], "--n: expected a positive integer"),
        (["interpolate", "run", "--out", "o", "--seeds", "1"], "--seeds: expected 2 arguments"),
        (["train", "gan", "--data", "builtin:chair", "--out", "x", "--bogus"], "unrecognized arguments: --bogus"),
    ],
)
def test_bad_flags_exit_2_naming_the_flag(argv, message, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    assert message in capsys.readouterr().err


def test_unknown_preset_and_data_and_missing_paths_are_clear_errors(tmp_path, capsys):
    assert main(["train", "gan", "--data", "builtin:chair", "--preset", "paper-128", "--out", str(tmp_path / "r")]) == 2
    assert "unknown preset 'paper-128'" in capsys.readouterr().err
    assert main(["train", "gan", "--data", "builtin:spaceship", "--preset", "tiny-16", "--out", str(tmp_path / "r")]) == 2
    assert "spaceship" in capsys.readouterr().err
    assert main(["train", "gan", "--data", "/no/such/folder", "--preset", "tiny-16", "--out", str(tmp_path / "r")]) == 2
    assert "/no/such/folder" in capsys.readouterr().err
    assert main(["sample", str(tmp_path / "missing"), "--out", str(tmp_path / "o")]) == 2
    assert "missing: no such run or model folder" in capsys.readouterr().err
    assert main(["sample", str(tmp_path), "--out", str(tmp_path / "o")]) == 2
    assert "neither a run folder" in capsys.readouterr().err
    assert main(["train", "gan", "--data", "builtin:chair", "--preset", "tiny-16", "--out", str(tmp_path / "r"), "--resume"]) == 2
    assert "holds no run to resume" in capsys.readouterr().err


def test_train_sample_interpolate_end_to_end(tmp_path, capsys):
    run = tmp_path / "run"
    common = ["train", "gan", "--data", "builtin:chair", "--preset", "tiny-16", "--out", str(run),
              "--batch-size", "4", "--no-progress", "--sample-every", "2"]
    assert main(common + ["--steps", "2"]) == 0
    assert (run / "samples" / "step_0000002.png").is_file()
    config = json.loads((run / "config.json").read_text())
    assert config["deviations_from_paper"]["batch_size"] == {"value": 4, "paper": 100}
    assert main(common + ["--steps", "3", "--resume"]) == 0
    assert json.loads((run / "state" / "state.json").read_text())["step"] == 3

    out = tmp_path / "samples"
    assert main(["sample", str(run), "--n", "3", "--seed", "5", "--out", str(out), "--format", "npy,png,stl"]) == 0
    samples = np.load(out / "samples.npy")
    assert samples.shape == (3, 16, 16, 16) and samples.dtype == np.float32
    assert 0.0 <= samples.min() and samples.max() <= 1.0
    assert sorted(p.name for p in out.iterdir()) == ["samples.npy", "samples.png", "samples_000.stl", "samples_001.stl", "samples_002.stl"]
    # The same seed gives the same shapes; the model folder works as well as the run folder.
    assert main(["sample", str(run / "model"), "--n", "3", "--seed", "5", "--out", str(tmp_path / "again"), "--format", "npy"]) == 0
    assert np.array_equal(np.load(tmp_path / "again" / "samples.npy"), samples)

    strip = tmp_path / "strip"
    assert main(["interpolate", str(run), "--seeds", "5", "6", "--steps", "4", "--out", str(strip)]) == 0
    shapes = np.load(strip / "interpolation.npy")
    assert shapes.shape == (4, 16, 16, 16)
    assert np.allclose(shapes[0], samples[0], atol=1e-6)  # seed 5's latent is sample 0 of --seed 5
    assert main(["sample", str(run), "--out", str(out), "--format", "npy,fbx"]) == 2
    assert "--format" in capsys.readouterr().err
