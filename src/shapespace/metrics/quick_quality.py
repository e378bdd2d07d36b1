"""The demo's quick, interpretable check of generated samples against real shapes.

Used by ``shapespace demo`` and the quality benchmark (``benchmarks/demo_quality.py``): a
few voxel distances to held-out shapes that a reader can judge at a glance, in seconds. The
full generation protocol of the literature (MMD, COV, 1-NNA on Chamfer and IoU distances,
JSD) is :mod:`shapespace.metrics.generation`. With ``d`` = ``1 - IoU`` on voxels
(:mod:`shapespace.metrics.voxel`):

* ``nn_class_accuracy``: fraction of samples whose nearest held-out shape (among held-out
  shapes of the target class and of other classes, equally many per class) belongs to the
  target class; a 1-nearest-neighbour classifier says "this is a chair";
* ``nn_distance_target`` / ``nn_distance_other``: mean distance from a sample to the
  nearest held-out shape of the target class / of the other classes;
* ``sample_spread`` vs ``reference_spread``: mean pairwise distance among samples and among
  held-out target shapes (copies of one shape give 0);
* ``distinct_fraction``: fraction of samples whose nearest other sample differs by more
  than 1% of voxels (1 - IoU > 0.01);
* memorisation: ``nn_distance_train`` (sample to nearest training shape) against
  ``heldout_nn_distance_train`` (held-out target shape to nearest training shape); a
  sample set much closer to the training set than unseen real shapes are is copying;
* ``whole_fraction`` vs ``reference_whole_fraction``: fraction of samples (of held-out
  target shapes) that are in one piece: the largest face-connected part holds at least
  ``WHOLE_SHARE`` of the occupied voxels, so legs and slats that float apart from the seat
  count against it; ``largest_part_share`` is that share averaged over the samples.
"""

from __future__ import annotations

import numpy as np
import torch

from shapespace.metrics.voxel import iou_distance_matrix

WHOLE_SHARE = 0.95
"""A shape is "in one piece" when its largest face-connected part holds this share of its voxels."""


def largest_part_share(shapes: torch.Tensor, threshold: float = 0.5) -> torch.Tensor:
    """Share of each shape's occupied voxels in its largest face-connected part.

    Args:
        shapes: (N, R, R, R) occupancies or probabilities.
        threshold: occupied where the value exceeds it.

    Returns:
        FloatTensor (N,): 1.0 for a shape in one piece, smaller the more of it floats apart;
        0.0 for an empty shape.
    """
    from scipy import ndimage

    occupied = (torch.as_tensor(shapes).float() > threshold).numpy()
    shares = np.zeros(len(occupied))
    for i, grid in enumerate(occupied):
        labels, count = ndimage.label(grid)  # 6-connectivity: parts that share a face
        if count:
            sizes = np.bincount(labels.ravel())[1:]
            shares[i] = sizes.max() / sizes.sum()
    return torch.from_numpy(shares).float()


def _mean_pairwise(d: torch.Tensor) -> float:
    n = len(d)
    return float((d.sum() - d.diagonal().sum()) / (n * (n - 1)))


def quick_quality(
    samples: torch.Tensor,
    train: torch.Tensor,
    heldout_target: torch.Tensor,
    heldout_other: torch.Tensor,
    threshold: float = 0.5,
) -> dict[str, float]:
    """Score ``samples`` (N, R, R, R) against training and held-out shapes (each (M, R, R, R))."""
    d_target = iou_distance_matrix(samples, heldout_target, threshold)  # (N, Mt)
    d_other = iou_distance_matrix(samples, heldout_other, threshold)  # (N, Mo)
    nn_target, nn_other = d_target.min(1).values, d_other.min(1).values
    d_samples = iou_distance_matrix(samples, samples, threshold)
    nn_sample = d_samples.clone().fill_diagonal_(float("inf")).min(1).values
    d_ref = iou_distance_matrix(heldout_target, heldout_target, threshold)
    nn_train = iou_distance_matrix(samples, train, threshold).min(1).values
    heldout_nn_train = iou_distance_matrix(heldout_target, train, threshold).min(1).values
    occupied = (torch.as_tensor(samples).float() > threshold).flatten(1).float().mean(1)
    parts, reference_parts = largest_part_share(samples, threshold), largest_part_share(heldout_target, threshold)
    return {
        "samples": len(samples),
        "nn_class_accuracy": float((nn_target < nn_other).float().mean()),
        "nn_distance_target": float(nn_target.mean()),
        "nn_distance_other": float(nn_other.mean()),
        "sample_spread": _mean_pairwise(d_samples),
        "reference_spread": _mean_pairwise(d_ref),
        "distinct_fraction": float((nn_sample > 0.01).float().mean()),
        "nn_distance_train": float(nn_train.mean()),
        "heldout_nn_distance_train": float(heldout_nn_train.mean()),
        "empty_fraction": float((occupied == 0).float().mean()),
        "whole_fraction": float((parts >= WHOLE_SHARE).float().mean()),
        "reference_whole_fraction": float((reference_parts >= WHOLE_SHARE).float().mean()),
        "largest_part_share": float(parts.mean()),
    }
