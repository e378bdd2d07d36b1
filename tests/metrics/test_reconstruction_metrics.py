"""IKEA reconstruction metrics on hand-made grids: AP, IoU, quarter turns and the 20^3 normalisation."""

import pytest
import torch

from shapespace.errors import ConfigError
from shapespace.metrics.reconstruction import (
    average_precision,
    best_rotations,
    from_evaluation_grid,
    reconstruction_scores,
    rotate_about_up,
    to_evaluation_grid,
)
from shapespace.metrics.voxel import iou

N = 20


def _grid(*boxes: tuple[slice, slice, slice], size: int = N) -> torch.Tensor:
    grid = torch.zeros(size, size, size)
    for box in boxes:
        grid[box] = 1.0
    return grid


def test_a_perfect_prediction_scores_100():
    target = _grid((slice(2, 9), slice(3, 7), slice(0, 12)))[None]
    assert average_precision(target.clone(), target) == 100.0
    assert iou(target.clone(), target).tolist() == [1.0]
    # Probabilities that rank every occupied voxel above every empty one are perfect too.
    assert average_precision(0.2 + 0.5 * target, target) == 100.0


def test_ap_with_false_voxels_ranked_above_the_true_ones():
    # Four true voxels scored 0.9 .. 0.6, two false ones scored above them, the rest 0:
    # precision at each true voxel is 1/3, 2/4, 3/5, 4/6, so AP = (1/3 + 1/2 + 3/5 + 2/3) / 4 = 0.525.
    target = torch.zeros(1, 4, 4, 4)
    predicted = torch.zeros(1, 4, 4, 4)
    true_voxels = [(0, 0, 0), (1, 2, 3), (3, 3, 3), (2, 0, 1)]
    for voxel, score in zip(true_voxels, (0.9, 0.8, 0.7, 0.6)):
        target[(0, *voxel)] = 1
        predicted[(0, *voxel)] = score
    predicted[0, 0, 1, 0], predicted[0, 3, 0, 0] = 0.99, 0.95
    assert average_precision(predicted, target) == pytest.approx(52.5, abs=1e-9)


def test_ap_of_a_binary_prediction():
    # Binary scores: AP = R1 * P1 + (1 - R1) * P0 with (R1, P1) at score 1 and P0 = occupancy.
    # Target 512 voxels, prediction its lower half (256, all true): 0.5 * 1 + 0.5 * 512 / 8000.
    target = _grid((slice(6, 14), slice(6, 14), slice(0, 8)))[None]
    predicted = _grid((slice(6, 14), slice(6, 14), slice(0, 4)))[None]
    assert average_precision(predicted, target) == pytest.approx(100 * (0.5 + 0.5 * 512 / 8000), abs=1e-9)
    with pytest.raises(ConfigError, match="at least one occupied ground-truth voxel"):
        average_precision(predicted, torch.zeros_like(target))


def test_rotate_about_up_keeps_layers_and_composes():
    grid = torch.zeros(1, 4, 4, 2)
    grid[0, 3, 0, 1] = 1  # high axis 0, low axis 1, top layer
    once = rotate_about_up(grid, 1)
    assert once[0].nonzero().tolist() == [[3, 3, 1]]  # stays in its layer; torch.rot90 over (axis 0, axis 1)
    assert torch.equal(rotate_about_up(grid, 4), grid)
    assert torch.equal(rotate_about_up(once, 3), grid)
    both = torch.cat([grid, grid])
    per_grid = rotate_about_up(both, torch.tensor([0, 1]))
    assert torch.equal(per_grid[0], grid[0]) and torch.equal(per_grid[1], once[0])


def _l_shape() -> torch.Tensor:
    """An L on the floor: no quarter turn maps it onto itself."""
    return _grid((slice(2, 16), slice(2, 6), slice(0, 6)), (slice(2, 6), slice(2, 12), slice(0, 6)))


@pytest.mark.parametrize("k", [0, 1, 2, 3])
def test_best_rotation_undoes_a_quarter_turn(k):
    target = _l_shape()[None]
    predicted = rotate_about_up(target, k)
    turns = best_rotations(predicted, target)
    assert turns.tolist() == [(4 - k) % 4]
    assert torch.equal(rotate_about_up(predicted, turns), target)


def test_evaluation_grid_crops_the_central_cube_and_resamples_to_20():
    full = torch.zeros(1, 32, 32, 32)
    full[0, 4:28, 4:28, 4:28] = 1  # shapespace's normalisation: longest side 24 of 32, centred
    assert torch.equal(to_evaluation_grid(full), torch.ones(1, N, N, N))
    lower = torch.zeros(1, 32, 32, 32)
    lower[0, 4:28, 4:28, 4:16] = 1  # the lower half of that cube (12 of its 24 layers)
    expected = torch.zeros(1, N, N, N)
    expected[0, :, :, :10] = 1
    assert torch.equal(to_evaluation_grid(lower), expected)
    # Everything outside the central cube is dropped; values stay probabilities.
    outside = torch.ones(1, 32, 32, 32)
    outside[0, 4:28, 4:28, 4:28] = 0
    assert torch.equal(to_evaluation_grid(outside), torch.zeros(1, N, N, N))
    assert to_evaluation_grid(torch.full((2, 16, 16, 16), 0.25)).shape == (2, N, N, N)
    with pytest.raises(ConfigError, match=r"volumes must have shape \(N, R, R, R\)"):
        to_evaluation_grid(torch.zeros(32, 32, 32))
    with pytest.raises(ConfigError, match="fill must be in"):
        to_evaluation_grid(full, fill=0.0)


def test_from_evaluation_grid_puts_ikea_grids_in_the_central_cube():
    full = torch.ones(1, N, N, N, dtype=torch.uint8)
    expected = torch.zeros(1, 32, 32, 32, dtype=torch.uint8)
    expected[0, 4:28, 4:28, 4:28] = 1
    assert torch.equal(from_evaluation_grid(full, 32), expected)
    lower = torch.zeros(1, N, N, N, dtype=torch.uint8)
    lower[0, :, :, :10] = 1  # the lower half: 10 of 20 layers -> 12 of the 24
    expected = torch.zeros(1, 32, 32, 32, dtype=torch.uint8)
    expected[0, 4:28, 4:28, 4:16] = 1
    shape = from_evaluation_grid(lower, 32)
    assert torch.equal(shape, expected) and shape.dtype == torch.uint8
    # Back to the IKEA normalisation, both come out as they went in.
    assert torch.equal(to_evaluation_grid(shape.float()), lower.float())
    assert from_evaluation_grid(torch.zeros(3, 8, 8, 8), 16).shape == (3, 16, 16, 16)
    with pytest.raises(ConfigError, match=r"grids must have shape \(N, G, G, G\)"):
        from_evaluation_grid(torch.zeros(N, N, N), 32)
    with pytest.raises(ConfigError, match="fill must be in"):
        from_evaluation_grid(full, 32, fill=1.5)


def test_reconstruction_scores_group_by_class_and_average_over_classes():
    # chair 1: a perfect prediction; chair 2: the right box after 3 more quarter turns
    # (disjoint from its target as predicted); table: the lower half of its target.
    chair_1 = _grid((slice(8, 12), slice(0, 4), slice(0, 4)))
    chair_2 = _grid((slice(0, 4), slice(8, 12), slice(0, 4)))
    table = _grid((slice(6, 14), slice(6, 14), slice(0, 8)))
    table_half = _grid((slice(6, 14), slice(6, 14), slice(0, 4)))
    target = torch.stack([chair_1, table, chair_2]).to(torch.uint8)
    predicted = torch.stack([chair_1, table_half, rotate_about_up(chair_2[None], 1)[0]])
    assert not (predicted[2].bool() & chair_2.bool()).any()
    scores = reconstruction_scores(predicted, target, ["chair", "table", "chair"])

    chair, tab = scores["per_class"]["chair"], scores["per_class"]["table"]
    assert list(scores["per_class"]) == ["chair", "table"]
    assert (chair["images"], tab["images"]) == (2, 1)
    # chair: 128 true voxels of 16000, 64 of the 128 predicted ones true: 0.5 * 0.5 + 0.5 * 128 / 16000.
    assert chair["ap"] == pytest.approx(100 * (0.25 + 0.5 * 128 / 16000))
    assert chair["iou"] == pytest.approx(50.0)  # (1 + 0) / 2
    assert chair["ap_best_rotation"] == pytest.approx(100.0) and chair["iou_best_rotation"] == pytest.approx(100.0)
    # table: symmetric about the up axis, so no turn helps: 0.5 * 1 + 0.5 * 512 / 8000, IoU 256 / 512.
    assert tab["ap"] == pytest.approx(100 * (0.5 + 0.5 * 512 / 8000)) == tab["ap_best_rotation"]
    assert tab["iou"] == pytest.approx(50.0) == tab["iou_best_rotation"]
    assert scores["mean"] == pytest.approx(
        {
            "ap": (chair["ap"] + tab["ap"]) / 2,
            "ap_best_rotation": (100.0 + tab["ap"]) / 2,
            "iou": 50.0,
            "iou_best_rotation": 75.0,
        }
    )
    # Turns picked: chair 1 none, table none (ties go to 0), chair 2 three.
    assert scores["rotation_counts"] == [2, 0, 0, 1]
    with pytest.raises(ConfigError):
        reconstruction_scores(predicted, target, ["chair", "table"])
