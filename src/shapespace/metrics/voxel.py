"""Distances between voxel shapes: IoU, 1 - IoU matrices and nearest neighbours.

The one IoU of the project. Conventions, shared by every function here:

* Volumes are batches of shape (N, R, R, R) or (N, 1, R, R, R).
* Floating-point volumes are occupancy probabilities: a voxel is occupied when its value
  is above ``threshold`` (strictly; 0.5 by default, :data:`~shapespace.geometry.frame.DEFAULT_THRESHOLD`).
  Bool and integer volumes are occupancies as given: a voxel is occupied when it is not 0.
  So probabilities compared with binary targets of any dtype -- {0, 1} floats, bytes or
  bools -- threshold the probabilities only (floats in {0, 1} are unchanged by any
  threshold in [0, 1)).
* Two empty shapes have IoU 1 (distance 0): they agree everywhere.
"""

from __future__ import annotations

import torch

from shapespace.geometry.frame import DEFAULT_THRESHOLD


def _binarise(volumes: torch.Tensor, threshold: float) -> torch.Tensor:
    """(N, R, R, R) or (N, 1, R, R, R) -> float (N, R^3) of {0, 1} (see the module docstring)."""
    volumes = torch.as_tensor(volumes)
    if volumes.dim() == 5 and volumes.shape[1] == 1:
        volumes = volumes[:, 0]
    if volumes.dim() != 4:
        raise ValueError(f"expected volumes of shape (N, R, R, R) or (N, 1, R, R, R), got {tuple(volumes.shape)}")
    occupied = volumes > threshold if volumes.dtype.is_floating_point else volumes != 0
    return occupied.reshape(len(occupied), -1).float()


def iou(a: torch.Tensor, b: torch.Tensor, threshold: float = DEFAULT_THRESHOLD) -> torch.Tensor:
    """IoU of ``a[i]`` and ``b[i]`` for every ``i``: FloatTensor of shape (N,) on their device.

    Args:
        a: (N, R, R, R) or (N, 1, R, R, R) occupancies, e.g. a generator's probabilities.
        b: the same shape, e.g. binary targets.
        threshold: floating-point volumes are occupied above it.

    Two empty shapes have IoU 1 (they agree everywhere); the mean over a batch is the
    batch's mean IoU.
    """
    x, y = _binarise(a, threshold), _binarise(b, threshold)
    inter = (x * y).sum(1)
    union = x.sum(1) + y.sum(1) - inter
    return torch.where(union > 0, inter / union.clamp_min(1), torch.ones_like(union))


def iou_distance_matrix(
    a: torch.Tensor, b: torch.Tensor, threshold: float = DEFAULT_THRESHOLD, chunk: int = 256
) -> torch.Tensor:
    """All-pairs ``1 - IoU``: FloatTensor of shape (N, M), computed in chunks of rows.

    Args:
        a: (N, R, R, R) occupancies (floats are thresholded at ``threshold``).
        b: (M, R, R, R) occupancies.
    """
    y = _binarise(b, threshold)
    y_sum = y.sum(1)
    rows = []
    for start in range(0, len(a), chunk):
        x = _binarise(a[start : start + chunk], threshold)
        inter = x @ y.T  # (n, M)
        union = x.sum(1, keepdim=True) + y_sum[None, :] - inter
        rows.append(torch.where(union > 0, 1 - inter / union.clamp_min(1), torch.zeros_like(union)))
    return torch.cat(rows)


def nearest_neighbour_distances(a: torch.Tensor, b: torch.Tensor, exclude_self: bool = False) -> torch.Tensor:
    """For each shape in ``a``, its ``1 - IoU`` to the closest shape of ``b``: (N,).

    ``exclude_self`` (for ``a is b``) ignores the diagonal, giving within-set NN distances.
    """
    d = iou_distance_matrix(a, b)
    if exclude_self:
        d.fill_diagonal_(float("inf"))
    return d.min(dim=1).values
