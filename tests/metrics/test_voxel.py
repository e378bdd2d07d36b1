import pytest
import torch

from shapespace.metrics.voxel import iou, iou_distance_matrix, nearest_neighbour_distances


def _grids():
    a = torch.zeros(4, 4, 4)
    a[0:2, 0:2, 0:2] = 1  # 8 voxels
    b = torch.zeros(4, 4, 4)
    b[1:3, 0:2, 0:2] = 1  # 8 voxels, 4 shared with a
    c = torch.zeros(4, 4, 4)
    return a, b, c


def test_iou_of_hand_made_grids():
    a, b, c = _grids()
    result = iou(torch.stack([a, a, a, c]), torch.stack([a, b, c, c]))
    assert torch.allclose(result, torch.tensor([1.0, 4 / 12, 0.0, 1.0]))


def test_iou_of_overlapping_boxes_at_20():
    a = torch.zeros(20, 20, 20)
    a[0:4, 0:4, 0:4] = 1  # 64 voxels
    b = torch.zeros(20, 20, 20)
    b[2:6, 0:4, 0:4] = 1  # 64 voxels, 32 shared
    empty = torch.zeros(20, 20, 20)
    result = iou(torch.stack([a, a, empty, a * 0.5]), torch.stack([b, a, empty, a]))
    # 32 / 96; identical; two empty grids count as a perfect match; 0.5 is not above the threshold.
    assert result.tolist() == pytest.approx([1 / 3, 1.0, 1.0, 0.0])
    assert iou(torch.stack([a * 0.5]), torch.stack([a]), threshold=0.4).tolist() == [1.0]


def test_probabilities_against_binary_targets_of_any_dtype():
    """A trainer's (B, 1, R, R, R) reconstructions against its binary batch: the batch's mean IoU."""
    a, b, c = _grids()
    predicted = torch.stack([a * 0.9, a * 0.4, b * 0.7, c])[:, None]  # (4, 1, 4, 4, 4)
    target = torch.stack([a, a, a, c])[:, None]
    expected = [1.0, 0.0, 4 / 12, 1.0]  # exact; nothing above 0.5; 4 of 12; both empty
    for binary in (target, target.to(torch.uint8), target.bool()):
        assert iou(predicted, binary).tolist() == pytest.approx(expected, abs=1e-7)
    assert float(iou(predicted.requires_grad_(), target).mean()) == pytest.approx((2 + 1 / 3) / 4)
    # Integer grids are occupied where they are not 0, whatever the value.
    assert iou(a[None].to(torch.uint8) * 3, a[None]).tolist() == [1.0]
    with pytest.raises(ValueError, match=r"\(N, 1, R, R, R\)"):
        iou(torch.zeros(1, 2, 4, 4, 4), torch.zeros(1, 2, 4, 4, 4))


def test_threshold_applies_to_probabilities():
    a, b, _ = _grids()
    assert iou((a * 0.6)[None], a[None]).item() == 1.0
    assert iou((a * 0.4)[None], a[None]).item() == 0.0


def test_distance_matrix_and_nearest_neighbours():
    a, b, c = _grids()
    x = torch.stack([a, b])
    d = iou_distance_matrix(x, torch.stack([a, b, c]), chunk=1)
    assert torch.allclose(d, torch.tensor([[0.0, 2 / 3, 1.0], [2 / 3, 0.0, 1.0]]))
    assert torch.allclose(nearest_neighbour_distances(x, x, exclude_self=True), torch.tensor([2 / 3, 2 / 3]))
    assert nearest_neighbour_distances(x, x).tolist() == [0.0, 0.0]
    # Accepts (N, 1, R, R, R) and byte grids too.
    assert torch.equal(iou_distance_matrix(x[:, None], x.to(torch.uint8)), iou_distance_matrix(x, x))
