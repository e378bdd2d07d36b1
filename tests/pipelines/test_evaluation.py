"""eval gen / eval classify as functions and commands, on tiny models and hand-made data."""

import json

import numpy as np
import pytest
import torch

from shapespace.cli.main import main
from shapespace.data.sources import DataSelection, load_voxel_set
from shapespace.errors import DataError
from shapespace.models import ShapeGAN
from shapespace.pipelines.evaluation import evaluate_classification, evaluate_generation, load_samples_file


@pytest.fixture
def tiny_model_dir(tmp_path, tiny_config):
    torch.manual_seed(0)
    folder = tmp_path / "model"
    ShapeGAN(tiny_config).save_pretrained(folder)
    return folder


def test_eval_gen_of_reference_copies_is_perfect(tmp_path, shape_folder, capsys):
    reference = load_voxel_set(str(shape_folder), 16, split="test", workers=1).voxels[:]
    samples = tmp_path / "samples.npy"
    np.save(samples, reference.numpy().astype(np.float32))
    assert main(["eval", "gen", "--samples", str(samples), "--ref", str(shape_folder), "--points", "128", "--json",
                 "--workers", "1", "--out", str(tmp_path / "gen.json")]) == 0  # fmt: skip
    result = json.loads(capsys.readouterr().out)
    assert result["iou"] == {"mmd": 0.0, "cov": 1.0, "1nna": 0.0, "1nna_samples": 0.0, "1nna_reference": 0.0}
    assert result["chamfer"]["mmd"] == 0.0 and result["n_samples"] == result["n_reference"] == 3
    # Test shapes are not training shapes: the median nearest one is cloud.ply's 12 x 4 x 4 box
    # inside flat.obj's 12 x 6 x 6 one, 1 - 192 / 432 (the others: 0.5 and 0.70).
    assert result["memorisation"]["sample_to_train_median"] == pytest.approx(5 / 9, rel=1e-6)
    assert json.loads((tmp_path / "gen.json").read_text()) == result


def test_eval_gen_of_a_checkpoint_samples_equal_sizes(tiny_model_dir):
    result = evaluate_generation("builtin:chair", checkpoint=tiny_model_dir, n=4, n_points=64, device="cpu")
    assert result["n_samples"] == result["n_reference"] == 4
    # An untrained G's blobs are told apart from chairs perfectly; they all sit nearest one chair.
    assert result["iou"]["1nna"] == 1.0 and result["iou"]["cov"] == 0.25 and result["setup"]["reference_split"] == "test"


def test_bad_sample_files_are_named(tmp_path, capsys):
    bad = tmp_path / "bad.npy"
    np.save(bad, np.full((2, 4, 4, 4), 2.0, dtype=np.float32))
    with pytest.raises(DataError, match="bad.npy: values must be finite occupancies in \\[0, 1\\]"):
        load_samples_file(bad)
    np.save(bad, np.zeros((2, 4, 4), dtype=np.float32))
    with pytest.raises(DataError, match="expected an array of shape \\(N, R, R, R\\)"):
        load_samples_file(bad)
    bad.write_bytes(b"not numpy")
    assert main(["eval", "gen", "--samples", str(bad), "--ref", "builtin:chair"]) == 2
    assert "not a readable .npy array" in capsys.readouterr().err
    assert main(["eval", "gen", "--ref", "builtin:chair"]) == 2
    assert capsys.readouterr().err == "shapespace: error: give a checkpoint or --samples: there are no samples to measure\n"
    assert main(["eval", "gen", str(bad), "--samples", str(bad), "--ref", "builtin:chair"]) == 2
    assert capsys.readouterr().err == "shapespace: error: give a checkpoint or --samples, not both\n"


def test_eval_classify_on_two_classes(tiny_model_dir, shape_folder):
    result = evaluate_classification(tiny_model_dir, str(shape_folder), selection=DataSelection(workers=1), device="cpu")
    assert result["n_train"] == 5 and result["n_test"] == 3
    assert set(result["per_class_accuracy"]) == {"chair", "table"}
    assert result["features"] == (8 + 16) * 2**3  # both tiny-16 blocks, max-pooled to 2^3
    # Untrained features put all three test shapes (one chair, two tables) in "table".
    assert result["per_class_accuracy"] == {"chair": 0.0, "table": 1.0}
    assert result["overall_accuracy"] == pytest.approx(2 / 3)


# -- issue 19: messages, skipped files, progress, the default cap ---------------------------
def _reference_copies(tmp_path, shape_folder):
    reference = load_voxel_set(str(shape_folder), 16, split="test", workers=1).voxels[:]
    samples = tmp_path / "samples.npy"
    np.save(samples, reference.numpy().astype(np.float32))
    return samples


def test_eval_gen_caps_its_default_n_and_says_so(tmp_path, shape_folder, capsys, monkeypatch):
    """With no --n, at most DEFAULT_MAX_REFERENCE shapes per set are compared, and a line says so."""
    from shapespace.pipelines import evaluation

    samples = _reference_copies(tmp_path, shape_folder)
    monkeypatch.setattr(evaluation, "DEFAULT_MAX_REFERENCE", 2)
    lines = []
    result = evaluate_generation(str(shape_folder), samples_file=samples, selection=DataSelection(split="test", workers=1),
                                 n_points=64, notice=lines.append)  # fmt: skip
    assert result["n_samples"] == result["n_reference"] == 2
    assert lines == ["comparing 2 of 3 reference shapes; `n` to change"]
    assert main(["eval", "gen", "--samples", str(samples), "--ref", str(shape_folder), "--points", "64", "--workers", "1",
                 "--no-progress"]) == 0  # fmt: skip
    assert capsys.readouterr().err == "comparing 2 of 3 reference shapes; --n to change\n"
    # An explicit --n is the user's choice: no line.
    assert main(["eval", "gen", "--samples", str(samples), "--ref", str(shape_folder), "--points", "64", "--workers", "1",
                 "--no-progress", "--n", "3"]) == 0  # fmt: skip
    assert capsys.readouterr().err == ""


def test_eval_gen_default_cap_is_stated_in_the_help(capsys):
    with pytest.raises(SystemExit):
        main(["eval", "gen", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "at most 200" in help_text and "--no-progress" in help_text


def test_eval_gen_shows_progress_unless_told_not_to(tmp_path, shape_folder, capsys):
    samples = _reference_copies(tmp_path, shape_folder)
    argv = ["eval", "gen", "--samples", str(samples), "--ref", str(shape_folder), "--points", "64", "--workers", "1", "--json"]
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert "surface points" in err and "chamfer distances" in err
    assert main(argv + ["--no-progress"]) == 0
    assert capsys.readouterr().err == ""


def test_eval_gen_names_its_ref_flag(tmp_path, capsys):
    """The reference source is --ref here: errors about the data source say --ref, not --data."""
    samples = tmp_path / "samples.npy"
    np.save(samples, np.zeros((2, 16, 16, 16), dtype=np.float32))
    assert main(["eval", "gen", "--samples", str(samples), "--ref", str(tmp_path / "nowhere")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"shapespace: error: --ref '{tmp_path / 'nowhere'}': no such file") and "--data" not in err


def test_eval_gen_and_classify_list_skipped_files(tmp_path, tiny_model_dir, shape_folder, capsys):
    samples = _reference_copies(tmp_path, shape_folder)
    bad = shape_folder / "table" / "test" / "broken.binvox"
    bad.write_bytes(b"#binvox 1\ndim 8 8 8\ndata\n\x01")
    common = ["--workers", "1", "--skip-bad", "--no-progress", "--json"]
    assert main(["eval", "gen", "--samples", str(samples), "--ref", str(shape_folder), "--points", "64", *common]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["skipped_files"][0]["path"] == str(bad)
    assert captured.err.startswith("skipped 1 unreadable file (--skip-bad):\n  " + str(bad) + ": ")
    assert main(["eval", "classify", str(tiny_model_dir), "--data", str(shape_folder), "--device", "cpu", *common]) == 0
    captured = capsys.readouterr()
    assert [item["path"] for item in json.loads(captured.out)["skipped_files"]] == [str(bad)]
    assert captured.err.startswith("skipped 1 unreadable file (--skip-bad):\n  " + str(bad) + ": ")


def test_eval_classify_explains_a_missing_split_without_a_split_flag(tmp_path, tiny_model_dir, shape_folder, capsys):
    """eval classify chooses its splits itself: a source without a test split is explained without --split."""
    only_train = tmp_path / "only-train"
    for path in shape_folder.rglob("*"):
        if path.is_file() and "test" not in path.parts[len(shape_folder.parts):]:
            target = only_train / path.relative_to(shape_folder)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(path.read_bytes())
    assert main(["eval", "classify", str(tiny_model_dir), "--data", str(only_train), "--workers", "1", "--no-progress"]) == 2
    assert capsys.readouterr().err == (
        f"shapespace: error: --data {only_train}: no shapes in the test split; the classifier is fitted on the train split "
        "and scored on the test split; --holdout moves a fraction of the training shapes to the test split\n"
    )
    assert main(["eval", "classify", str(tiny_model_dir), "--data", "builtin:chair", "--holdout", "0.2", "--no-progress"]) == 2
    assert capsys.readouterr().err == (
        "shapespace: error: --holdout: builtin:chair has a test split of its own, which the classifier is scored on; drop --holdout\n"
    )
