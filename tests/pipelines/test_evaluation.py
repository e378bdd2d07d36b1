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
    assert "give a checkpoint or --samples" in capsys.readouterr().err


def test_eval_classify_on_two_classes(tiny_model_dir, shape_folder):
    result = evaluate_classification(tiny_model_dir, str(shape_folder), selection=DataSelection(workers=1), device="cpu")
    assert result["n_train"] == 5 and result["n_test"] == 3
    assert set(result["per_class_accuracy"]) == {"chair", "table"}
    assert result["features"] == (8 + 16) * 2**3  # both tiny-16 blocks, max-pooled to 2^3
    # Untrained features put all three test shapes (one chair, two tables) in "table".
    assert result["per_class_accuracy"] == {"chair": 0.0, "table": 1.0}
    assert result["overall_accuracy"] == pytest.approx(2 / 3)
