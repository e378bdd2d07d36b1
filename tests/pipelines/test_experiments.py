"""Latent-space experiments: inversion, interpolation, arithmetic, nearest neighbours."""

import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from shapespace.cli.main import main
from shapespace.io.binvox import write_binvox
from shapespace.models import ShapeGAN
from shapespace.pipelines.experiments import arithmetic, invert_shapes, latents_for, nearest_neighbours
from shapespace.pipelines.sampling import generate_from_latents, interpolate_shapes


@pytest.fixture
def tiny_model(tiny_config):
    torch.manual_seed(0)
    return ShapeGAN(tiny_config).eval()


def test_inversion_finds_a_code_that_reproduces_a_generated_shape(tiny_model):
    """An untrained G outputs about 0.5 everywhere; inversion still moves towards the target's voxels."""
    generated = generate_from_latents(tiny_model, latents_for(tiny_model, seeds=[7]))
    target = (generated > generated.median()).float()  # binary, reachable in direction
    start = latents_for(tiny_model, shapes=target, steps=1)
    found = invert_shapes(tiny_model, target, steps=150)
    loss = lambda z: float(F.binary_cross_entropy(generate_from_latents(tiny_model, z), target))  # noqa: E731
    assert loss(found) < loss(start) - 1e-3
    assert all(p.requires_grad for p in tiny_model.generator.parameters()), "G's weights are left trainable"


def test_interpolation_endpoints_and_arithmetic(tiny_model):
    z = latents_for(tiny_model, seeds=[1, 2, 3])
    line = interpolate_shapes(tiny_model, z[0], z[1], steps=5)
    assert line.shape == (5, 16, 16, 16)
    assert torch.allclose(line[0], generate_from_latents(tiny_model, z[:1])[0], atol=1e-6)
    shapes = arithmetic(tiny_model, z[0], z[1], z[2])
    assert torch.allclose(shapes[3], generate_from_latents(tiny_model, (z[0] - z[1] + z[2])[None])[0], atol=1e-6)


def test_nearest_neighbours_of_training_shapes_are_themselves(box_set):
    indices, distances = nearest_neighbours(box_set.voxels[:5].float(), box_set.voxels, k=2)
    assert indices[:, 0].tolist() == [0, 1, 2, 3, 4] and torch.all(distances[:, 0] == 0)
    assert torch.all(distances[:, 1] >= distances[:, 0])


def test_experiment_commands(tmp_path, tiny_model, capsys):
    model_dir = tmp_path / "model"
    tiny_model.save_pretrained(model_dir)
    assert main(["arithmetic", str(model_dir), "--seeds", "1", "2", "3", "--out", str(tmp_path / "a"), "--device", "cpu"]) == 0
    assert np.load(tmp_path / "a" / "arithmetic.npy").shape == (4, 16, 16, 16)
    grid = np.zeros((16, 16, 16), dtype=np.uint8)
    grid[4:12, 4:12, 2:10] = 1
    write_binvox(tmp_path / "a.binvox", grid)
    write_binvox(tmp_path / "b.binvox", grid[:, :, ::-1].copy())
    assert main(["interpolate", str(model_dir), "--shapes", str(tmp_path / "a.binvox"), str(tmp_path / "b.binvox"), "--steps", "3",
                 "--invert-steps", "5", "--out", str(tmp_path / "i"), "--device", "cpu"]) == 0  # fmt: skip
    assert np.load(tmp_path / "i" / "interpolation.npy").shape == (3, 16, 16, 16)
    capsys.readouterr()
    assert main(["neighbours", str(model_dir), "--data", "builtin:chair", "--n", "2", "--k", "2", "--out", str(tmp_path / "n"),
                 "--device", "cpu"]) == 0  # fmt: skip
    assert json.loads(capsys.readouterr().out)["out"].endswith("neighbours.png")
    assert (tmp_path / "n" / "neighbours.png").is_file()
    assert main(["arithmetic", str(model_dir), "--out", str(tmp_path / "x")]) == 2
    assert "give --seeds or --shapes" in capsys.readouterr().err


def test_nearest_neighbours_in_chunks_equal_one_block(box_set):
    """The training set is compared a chunk at a time; the answer does not depend on the chunk."""
    samples = box_set.voxels[10:13].float()
    whole = nearest_neighbours(samples, box_set.voxels, k=3)
    for chunk in (1, 7, 64):
        indices, distances = nearest_neighbours(samples, box_set.voxels, k=3, chunk=chunk)
        assert torch.equal(indices, whole[0]) and torch.equal(distances, whole[1])


def test_inversion_and_neighbours_show_progress_unless_told_not_to(tmp_path, tiny_model, capsys):
    model_dir = tmp_path / "model"
    tiny_model.save_pretrained(model_dir)
    grid = np.zeros((16, 16, 16), dtype=np.uint8)
    grid[4:12, 4:12, 2:10] = 1
    write_binvox(tmp_path / "a.binvox", grid)
    write_binvox(tmp_path / "b.binvox", grid[:, :, ::-1].copy())
    interpolate = ["interpolate", str(model_dir), "--shapes", str(tmp_path / "a.binvox"), str(tmp_path / "b.binvox"), "--steps", "3",
                   "--invert-steps", "5", "--out", str(tmp_path / "i"), "--device", "cpu"]  # fmt: skip
    assert main(interpolate) == 0
    assert "inverting G" in capsys.readouterr().err
    assert main([*interpolate, "--no-progress"]) == 0
    assert capsys.readouterr().err == ""
    neighbours = ["neighbours", str(model_dir), "--data", "builtin:chair", "--n", "2", "--k", "2", "--out", str(tmp_path / "n"),
                  "--device", "cpu"]  # fmt: skip
    assert main(neighbours) == 0
    assert "nearest training shapes" in capsys.readouterr().err
    assert main([*neighbours, "--no-progress"]) == 0
    assert capsys.readouterr().err == ""


def test_neighbours_lists_skipped_files(tmp_path, tiny_model, shape_folder, capsys):
    model_dir = tmp_path / "model"
    tiny_model.save_pretrained(model_dir)
    bad = shape_folder / "chair" / "train" / "broken.off"
    bad.write_text("OFF\n4 12 0\n0 0 0\n1 0 0\n0 1 0\n0 0 1\n3 0 1 2\n")
    argv = ["neighbours", str(model_dir), "--data", str(shape_folder), "--n", "1", "--k", "1", "--out", str(tmp_path / "n"),
            "--device", "cpu", "--workers", "1", "--no-progress"]  # fmt: skip
    assert main(argv) == 2
    assert "broken.off" in capsys.readouterr().err
    assert main([*argv, "--skip-bad"]) == 0
    assert capsys.readouterr().err == (
        "skipped 1 unreadable file (--skip-bad):\n"
        f"  {bad}: the header promises 4 vertices and 12 faces (16 lines) but the file holds 5\n"
    )
