"""Generation metrics on sets with known answers, and Chamfer against brute force."""

import pytest
import torch

from shapespace.data.sources import load_voxel_set
from shapespace.metrics.generation import (
    chamfer_distance_brute_force,
    chamfer_distance_matrix,
    generation_metrics,
    jensen_shannon,
    memorisation,
    mmd_cov_1nna,
    occupancy_distribution,
    surface_points,
)


def test_chamfer_matrix_equals_brute_force():
    rng = torch.Generator().manual_seed(0)
    a, b = torch.rand(3, 64, 3, generator=rng), torch.rand(4, 80, 3, generator=rng)
    d = chamfer_distance_matrix(a, b)
    expected = torch.tensor([[chamfer_distance_brute_force(x, y) for y in b] for x in a])
    assert torch.allclose(d, expected, rtol=1e-5, atol=1e-7)
    square = chamfer_distance_matrix(a)
    assert torch.equal(square, square.T) and torch.all(square.diagonal() == 0)
    assert square[0, 1] == pytest.approx(chamfer_distance_brute_force(a[0], a[1]), rel=1e-5)


def test_chamfer_of_known_clouds():
    x = torch.tensor([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0]])
    y = torch.tensor([[0.0, 0.5, 0.0]])
    # x -> y: both points at squared distance 0.25 and 1.25; y -> x: 0.25.
    assert chamfer_distance_brute_force(x, y) == pytest.approx((0.25 + 1.25) / 2 + 0.25)
    assert float(chamfer_distance_matrix(x[None], y[None])[0, 0]) == pytest.approx(1.0)


def test_mmd_cov_1nna_by_hand():
    d_sr = torch.tensor([[0.1, 0.9], [0.8, 0.2], [0.7, 0.6]])
    d_ss = torch.tensor([[0.0, 0.5, 0.05], [0.5, 0.0, 0.5], [0.05, 0.5, 0.0]])
    d_rr = torch.tensor([[0.0, 0.3], [0.3, 0.0]])
    out = mmd_cov_1nna(d_sr, d_ss, d_rr)
    assert out["mmd"] == pytest.approx((0.1 + 0.2) / 2)
    assert out["cov"] == 1.0  # samples 0, 1, 2 pick references 0, 1, 1
    # samples: 0 -> sample 2 (0.05 < 0.1) right; 1 -> ref 1 (0.2 < 0.5) wrong; 2 -> sample 0 right.
    # references: 0 -> sample 0 (0.1 < 0.3) wrong; 1 -> sample 1 (0.2 < 0.3) wrong.
    assert out["1nna"] == pytest.approx(2 / 5)
    assert out["1nna_samples"] == pytest.approx(2 / 3) and out["1nna_reference"] == 0.0


@pytest.fixture(scope="module")
def chairs():
    train = load_voxel_set("builtin:chair", 16, split="train", count=48).voxels
    test = load_voxel_set("builtin:chair", 16, split="test", count=48).voxels
    return train, test


def test_a_set_against_its_copy(chairs):
    """MMD 0, COV 100%, 1-NNA 0%: each shape's nearest neighbour is its copy."""
    train, _ = chairs
    out = generation_metrics(train, train.clone(), n_points=256)
    for name in ("chamfer", "iou"):
        assert out[name]["mmd"] == pytest.approx(0.0, abs=1e-9)
        assert out[name]["cov"] == 1.0
        assert out[name]["1nna"] == 0.0
    assert out["jsd"] == pytest.approx(0.0, abs=1e-3)  # same surfaces, different surface samples


def test_two_draws_of_one_distribution_are_near_half(chairs):
    train, test = chairs
    out = generation_metrics(train, test, n_points=1024)
    for name in ("chamfer", "iou"):
        assert 0.4 <= out[name]["1nna"] <= 0.6, (name, out[name])
    assert out["iou"]["1nna"] == 0.5  # 48 of the 96 shapes classified right: chance exactly
    assert out["jsd"] < 0.1


def test_chairs_against_noise_are_told_apart(chairs):
    _, test = chairs
    noise = (torch.rand(48, 16, 16, 16, generator=torch.Generator().manual_seed(1)) < 0.1).float()
    out = generation_metrics(noise, test, n_points=256)
    for name in ("chamfer", "iou"):
        assert out[name]["1nna"] == 1.0, (name, out[name])
    assert out["jsd"] > 0.2


def test_empty_samples_are_counted_and_far(chairs):
    _, test = chairs
    samples = test[:4].float().clone()
    samples[0] = 0
    points, empty = surface_points(samples, 128)
    assert empty.tolist() == [True, False, False, False] and torch.all(points[0] == 0)
    out = generation_metrics(samples, test[:4], n_points=128, distances=("chamfer",))
    assert out["empty_samples"] == 1


def test_jsd_and_occupancy_distribution():
    p = torch.tensor([0.5, 0.5, 0.0])
    assert jensen_shannon(p, p) == 0.0
    assert jensen_shannon(torch.tensor([1.0, 0.0]), torch.tensor([0.0, 1.0])) == pytest.approx(1.0)
    points = torch.tensor([[[-0.49, -0.49, -0.49], [-0.48, -0.49, -0.49]], [[0.49, 0.49, 0.49], [0.49, 0.49, 0.49]]])
    dist = occupancy_distribution(points, resolution=2)
    assert dist.tolist() == [0.5, 0, 0, 0, 0, 0, 0, 0.5]  # one cell per shape, counted once


def test_memorisation_flags_copies(chairs):
    train, test = chairs
    copies = memorisation(train[:8].float(), train)
    assert copies["copies"] == 1.0 and copies["sample_to_train_median"] == 0.0
    novel = memorisation(test[:8].float(), train)
    assert novel["copies"] == 0.0
    # Median nearest distances (1 - IoU, voxel counts over voxel counts): 17/43 to the training
    # set for the held-out chairs, 13/38 among training chairs.
    assert novel["sample_to_train_median"] == pytest.approx(17 / 43, rel=1e-6)
    assert novel["train_to_train_median"] == pytest.approx(13 / 38, rel=1e-6)
