"""The demo's quick quality check on hand-made grids with known distances."""

import pytest
import torch

from shapespace.metrics.quick_quality import largest_part_share, quick_quality


def _box(i0: int, i1: int) -> torch.Tensor:
    grid = torch.zeros(4, 4, 4)
    grid[i0:i1, 0:2, 0:2] = 1
    return grid


def test_quick_quality_by_hand():
    a, b, other = _box(0, 2), _box(1, 3), _box(0, 4)
    other[:, 0:2, 0:2] = 0
    other[:, 2:4, 2:4] = 1  # disjoint from a and b: distance 1
    empty = torch.zeros(4, 4, 4)
    # Distances: a-b 1 - 4/12 = 2/3; anything to the empty grid or to ``other`` 1.
    samples = torch.stack([a, 0.9 * b, empty])
    quality = quick_quality(samples, train=a[None], heldout_target=torch.stack([a, b]), heldout_other=other[None])
    assert quality == pytest.approx(
        {
            "samples": 3,
            "nn_class_accuracy": 2 / 3,  # a and b are nearest a held-out target; empty ties (1 = 1): not counted
            "nn_distance_target": (0 + 0 + 1) / 3,
            "nn_distance_other": 1.0,
            "sample_spread": (2 / 3 + 1 + 1) / 3,
            "reference_spread": 2 / 3,
            "distinct_fraction": 1.0,  # nearest other sample at 2/3, 2/3 and 1
            "nn_distance_train": (0 + 2 / 3 + 1) / 3,
            "heldout_nn_distance_train": (0 + 2 / 3) / 2,
            "empty_fraction": 1 / 3,
            "whole_fraction": 2 / 3,  # a and b are one box each; the empty grid has no part
            "reference_whole_fraction": 1.0,
            "largest_part_share": (1 + 1 + 0) / 3,
        },
        rel=1e-6,
    )


def test_largest_part_share_counts_face_connected_parts():
    grid = torch.zeros(2, 8, 8, 8)
    grid[0, 0:2, 0:2, 0:2] = 1  # 8 voxels: the seat
    grid[0, 5, 5, 5:7] = 1  # 2 voxels floating apart: a broken leg
    grid[1, 0, 0, 0] = grid[1, 1, 1, 0] = 1  # touching along an edge only: two parts of one voxel
    shares = largest_part_share(grid)
    assert shares.tolist() == pytest.approx([8 / 10, 1 / 2])
    assert largest_part_share(0.4 * grid).tolist() == [0.0, 0.0]  # nothing above the threshold
