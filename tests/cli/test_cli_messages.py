"""Issue 19 at the command line: --skip-bad lists what it skipped, and messages that name the
right flag or positional and say what is wrong."""

import json

import pytest

from shapespace.cli.main import main
from shapespace.data.cache import BITS_NAME

BAD_OFF = "OFF\n4 12 0\n0 0 0\n1 0 0\n0 1 0\n0 0 1\n3 0 1 2\n"


def _bad_file(shape_folder):
    """A truncated OFF file among the chair training shapes, and its error."""
    bad = shape_folder / "chair" / "train" / "broken.off"
    bad.write_text(BAD_OFF)
    return bad, f"{bad}: the header promises 4 vertices and 12 faces (16 lines) but the file holds 5"


def _listing(error: str) -> str:
    return f"skipped 1 unreadable file (--skip-bad):\n  {error}\n"


# -- the data commands name their positional SOURCE ----------------------------------------
@pytest.mark.parametrize("command, extra", [
    ("info", []), ("prepare", ["--out", "cache"]), ("show", ["--out", "x.png"]), ("export", ["--out", "x.npz"]),
])  # fmt: skip
def test_data_commands_name_their_source_positional(command, extra, tmp_path, capsys):
    missing = tmp_path / "nowhere"
    argv = ["data", command, str(missing), *[str(tmp_path / a) if a.startswith(("cache", "x.")) else a for a in extra]]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("shapespace: error: SOURCE ") and str(missing) in err and "--data" not in err


# -- --skip-bad lists the files it skipped ---------------------------------------------------
def test_data_commands_list_skipped_files(shape_folder, tmp_path, capsys):
    bad, error = _bad_file(shape_folder)
    common = ["--res", "16", "--workers", "1", "--skip-bad"]
    assert main(["data", "export", str(shape_folder), "--out", str(tmp_path / "x.npz"), "--no-progress", *common]) == 0
    captured = capsys.readouterr()
    assert captured.err == _listing(error)
    assert json.loads(captured.out)["skipped_files"] == [{"path": str(bad), "error": error}]

    assert main(["data", "show", str(shape_folder / "chair"), "--out", str(tmp_path / "x.png"), "--n", "8", *common]) == 0
    captured = capsys.readouterr()
    assert captured.err == _listing(error) and json.loads(captured.out)["skipped"] == 1

    cache = tmp_path / "cache"
    assert main(["data", "prepare", str(shape_folder), "--out", str(cache), "--no-progress", *common]) == 0
    assert capsys.readouterr().err == _listing(error)
    assert main(["data", "info", str(cache)]) == 0
    assert capsys.readouterr().out.endswith(f"skipped as bad when prepared: 1 files (listed in cache.json):\n  {error}\n")


def test_train_gan_lists_skipped_files_and_records_them_in_the_run(shape_folder, tmp_path, capsys):
    bad, error = _bad_file(shape_folder)
    run = tmp_path / "run"
    assert main(["train", "gan", "--data", str(shape_folder), "--preset", "tiny-16", "--out", str(run), "--steps", "1",
                 "--batch-size", "2", "--sample-every", "0", "--no-progress", "--workers", "1", "--skip-bad"]) == 0  # fmt: skip
    assert capsys.readouterr().err.startswith(_listing(error))
    config = json.loads((run / "config.json").read_text())
    assert config["data"]["skipped"] == [{"path": str(bad), "error": error}] and config["data"]["shapes"] == 5


def test_several_sources_carry_their_skipped_files(shape_folder):
    from shapespace.data.sources import DataSelection

    bad, error = _bad_file(shape_folder)
    data = DataSelection(skip_bad=True, workers=1).load_many([str(shape_folder / "chair"), "builtin:chair"], 16, count=2)
    assert data.skipped == ({"path": str(bad), "error": error},)


# -- confusing messages, mended -------------------------------------------------------------
def test_class_selector_after_hash_is_blamed_not_classes(tmp_path, capsys):
    assert main(["train", "vae-gan", "--data", "builtin:chair#sofa", "--out", str(tmp_path / "r"), "--no-progress"]) == 2
    assert capsys.readouterr().err == (
        "shapespace: error: --data 'builtin:chair#sofa': the classes after #: unknown class sofa; classes: chair\n"
    )


def test_missing_cache_bits_say_missing(shape_folder, tmp_path, capsys):
    cache = tmp_path / "cache"
    assert main(["data", "prepare", str(shape_folder), "--res", "16", "--out", str(cache), "--workers", "1", "--no-progress"]) == 0
    (cache / BITS_NAME).unlink()
    capsys.readouterr()
    assert main(["data", "export", str(cache), "--res", "16", "--out", str(tmp_path / "x.npz")]) == 2
    assert capsys.readouterr().err == f"shapespace: error: {cache / BITS_NAME}: missing; the cache is damaged: prepare it again\n"


def test_resume_names_what_differs_and_refuses_a_budget_already_reached(shape_folder, tmp_path, capsys):
    run = tmp_path / "run"
    common = ["train", "gan", "--data", str(shape_folder / "chair"), "--split", "all", "--out", str(run), "--batch-size", "2",
              "--sample-every", "0", "--no-progress", "--workers", "1"]  # fmt: skip
    assert main([*common, "--preset", "tiny-16", "--steps", "4"]) == 0
    capsys.readouterr()
    assert main([*common, "--preset", "tiny-16", "--steps", "3", "--resume"]) == 2
    assert capsys.readouterr().err == (
        f"shapespace: error: --steps 3: the run in {run} is already at step 4 (>= 3); give a larger --steps to train it further\n"
    )
    assert main([*common, "--preset", "tiny-16", "--steps", "4", "--resume"]) == 2
    assert "already at step 4 (>= 4)" in capsys.readouterr().err
    assert main([*common, "--preset", "paper-32", "--steps", "5", "--resume"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"shapespace: error: --resume: the model config differs from the run in {run}: ")
    assert "resolution 16 in the run, 32 now" in err and "generator_channels [32, 16] in the run, [512, 256, 128] now" in err
    assert main([*common, "--preset", "tiny-16", "--steps", "5", "--resume", "--batch-size", "3"]) == 2
    assert capsys.readouterr().err == (
        "shapespace: error: --resume: training settings differ from the saved run: batch_size 2 in the run, 3 now\n"
    )


def test_a_model_folder_with_a_string_resolution_is_named(tmp_path, tiny_config, capsys):
    from shapespace.models import ShapeGAN

    folder = tmp_path / "model"
    ShapeGAN(tiny_config).save_pretrained(folder)
    config = json.loads((folder / "config.json").read_text())
    config["config"]["resolution"] = "16"
    (folder / "config.json").write_text(json.dumps(config))
    assert main(["sample", str(folder), "--out", str(tmp_path / "s")]) == 2
    assert capsys.readouterr().err == (
        f"shapespace: error: {folder / 'config.json'}: invalid model config (resolution must be an integer, got '16')\n"
    )
