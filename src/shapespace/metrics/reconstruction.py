"""Single-image reconstruction metrics of the paper's IKEA protocol (docs/paper.md section 3).

* **Average precision** of voxel occupancy at 20^3 (Girdhar et al. 2016): scikit-learn's
  ``average_precision_score`` over all voxels of all test images of a class (predicted
  probability against binary ground truth), then the mean over classes.
* **IoU** at a threshold (0.5 by default), averaged over the images of a class
  (:func:`shapespace.metrics.voxel.iou`; an empty prediction of an empty grid scores 1).
* **Best of 4 rotations**: the IKEA models do not all face the same way
  (``../shared/data/README.md``), so each prediction is also scored after the quarter turn
  about the up axis that gives it the highest AP against its own ground truth. This uses
  the ground truth to pick the rotation; it measures shape without facing, and is
  reported beside the plain numbers, never instead of them.

**Normalisation.** IKEA grids are scaled so that the object's longest side spans the whole
grid, centred (``../shared/data/README.md``); they are read into the canonical frame at
20^3 with ``fill = 1``. shapespace's shapes have their longest side at ``fill`` (0.75) of
the grid, centred, by the readers' one normalisation (:mod:`shapespace.geometry.voxelize`).
:func:`to_evaluation_grid` therefore crops a prediction to the centred cube of side
``fill * R`` (24 of 32 voxels) and resamples it to 20^3 by area averaging, which keeps
probabilities in [0, 1] and maps the normalisation of one onto the other without looking
at the prediction itself. :func:`from_evaluation_grid` goes the other way, for putting IKEA
shapes where a model's shapes are (e.g. to render them as training photos are rendered).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.metrics import average_precision_score

from shapespace.errors import ConfigError
from shapespace.geometry.voxelize import DEFAULT_FILL
from shapespace.metrics.voxel import iou

IKEA_RESOLUTION = 20
ROTATIONS = 4


def to_evaluation_grid(volumes: torch.Tensor, fill: float = DEFAULT_FILL, size: int = IKEA_RESOLUTION) -> torch.Tensor:
    """Predictions in the shapespace normalisation -> the IKEA normalisation at ``size``^3.

    Args:
        volumes: FloatTensor of shape (N, R, R, R), occupancy probabilities, canonical frame.
        fill: the longest side of a shape as a fraction of the grid (the readers' default 0.75).
        size: output grid side (20 for IKEA).

    Returns:
        FloatTensor of shape (N, size, size, size) in [0, 1].
    """
    if volumes.dim() != 4 or len(set(volumes.shape[1:])) != 1:
        raise ConfigError(f"volumes must have shape (N, R, R, R), got {tuple(volumes.shape)}")
    if not 0 < fill <= 1:
        raise ConfigError(f"fill must be in (0, 1], got {fill}")
    r = volumes.shape[-1]
    side = max(1, round(fill * r))
    lo = (r - side) // 2
    crop = volumes[:, lo : lo + side, lo : lo + side, lo : lo + side].float()
    return F.interpolate(crop[:, None], size=(size, size, size), mode="area")[:, 0].clamp(0.0, 1.0)


def from_evaluation_grid(grids: torch.Tensor, resolution: int, fill: float = DEFAULT_FILL) -> torch.Tensor:
    """IKEA-normalised grids -> binary shapes in the shapespace normalisation (the inverse
    of :func:`to_evaluation_grid` up to resampling).

    Args:
        grids: tensor of shape (N, G, G, G), {0, 1}, the object's longest side spanning the grid.
        resolution: output grid side R.
        fill: the longest side of a shape as a fraction of the output grid.

    Returns:
        ByteTensor of shape (N, R, R, R), {0, 1}: each grid resampled (nearest) to the centred
        cube of side ``round(fill * R)``, empty around it.
    """
    if grids.dim() != 4 or len(set(grids.shape[1:])) != 1:
        raise ConfigError(f"grids must have shape (N, G, G, G), got {tuple(grids.shape)}")
    if not 0 < fill <= 1:
        raise ConfigError(f"fill must be in (0, 1], got {fill}")
    side = max(1, round(fill * resolution))
    lo = (resolution - side) // 2
    inner = F.interpolate(grids[:, None].float(), size=(side, side, side), mode="nearest")[:, 0]
    out = torch.zeros(len(grids), resolution, resolution, resolution, dtype=torch.uint8)
    out[:, lo : lo + side, lo : lo + side, lo : lo + side] = (inner > 0.5).to(torch.uint8)
    return out


def average_precision(predicted: torch.Tensor, target: torch.Tensor) -> float:
    """AP of voxel occupancy over all voxels of all grids given (as a percentage, 0-100).

    Args:
        predicted: FloatTensor of shape (N, ...), probabilities.
        target: tensor of the same shape, {0, 1}.
    """
    truth = target.reshape(-1).numpy().astype(bool)
    if not truth.any():
        raise ConfigError("average precision needs at least one occupied ground-truth voxel")
    return 100.0 * float(average_precision_score(truth, predicted.reshape(-1).double().numpy()))


def rotate_about_up(volumes: torch.Tensor, turns: torch.Tensor | int) -> torch.Tensor:
    """Quarter turns about the up axis (axis 2) of (N, R, R, R) grids, per grid or for all."""
    if isinstance(turns, int):
        return torch.rot90(volumes, turns, dims=(1, 2))
    return torch.stack([torch.rot90(v, int(t), dims=(0, 1)) for v, t in zip(volumes, turns)])


def best_rotations(predicted: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Per grid, the quarter turn (0-3) of ``predicted`` with the highest AP against ``target``: LongTensor (N,)."""
    scores = np.zeros((len(predicted), ROTATIONS))
    for k in range(ROTATIONS):
        rotated = rotate_about_up(predicted, k)
        for i in range(len(predicted)):
            scores[i, k] = average_precision(rotated[i], target[i])
    return torch.from_numpy(scores.argmax(1))


def reconstruction_scores(
    predicted: torch.Tensor, target: torch.Tensor, categories: list[str], threshold: float = 0.5
) -> dict:
    """The IKEA table for one predictor.

    Args:
        predicted: FloatTensor of shape (N, 20, 20, 20), probabilities, IKEA normalisation.
        target: tensor of the same shape, {0, 1}.
        categories: class of each grid.
        threshold: for IoU.

    Returns:
        ``{"per_class": {class: {images, ap, ap_best_rotation, iou, iou_best_rotation}},
        "mean": {ap, ap_best_rotation, iou, iou_best_rotation}}``; AP and IoU in percent;
        means are over classes, as in the paper.
    """
    if predicted.shape != target.shape or len(categories) != len(predicted):
        raise ConfigError(f"{tuple(predicted.shape)} predictions, {tuple(target.shape)} targets, {len(categories)} classes")
    turns = best_rotations(predicted, target)
    rotated = rotate_about_up(predicted, turns)
    per_class = {}
    for name in sorted(set(categories)):
        idx = torch.tensor([i for i, c in enumerate(categories) if c == name])
        per_class[name] = {
            "images": len(idx),
            "ap": average_precision(predicted[idx], target[idx]),
            "ap_best_rotation": average_precision(rotated[idx], target[idx]),
            "iou": 100.0 * float(iou(predicted[idx], target[idx], threshold).mean()),
            "iou_best_rotation": 100.0 * float(iou(rotated[idx], target[idx], threshold).mean()),
        }
    keys = ("ap", "ap_best_rotation", "iou", "iou_best_rotation")
    mean = {k: float(np.mean([row[k] for row in per_class.values()])) for k in keys}
    return {"per_class": per_class, "mean": mean, "rotation_counts": torch.bincount(turns, minlength=ROTATIONS).tolist()}
