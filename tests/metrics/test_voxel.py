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
