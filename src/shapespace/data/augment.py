"""Augmentation about the up axis: exact quarter turns and left/right mirroring.

Both keep a shape standing (axis 2 stays up, the floor stays at low indices) and are exact
on a cubic grid. ``flip`` mirrors across the vertical mid plane of axis 1, so a chair still
faces -axis 0; ``rot90`` turns a shape by 0, 90, 180 or 270 degrees about the up axis, so
it no longer faces one way -- use it for models that should not learn a facing.
"""

from __future__ import annotations

from typing import Sequence

import torch

from shapespace.errors import ConfigError

AUGMENTATIONS = ("flip", "rot90")


def check_augment(augment: Sequence[str]) -> tuple[str, ...]:
    """Validate a list of augmentation names (duplicates removed, order kept)."""
    names = tuple(dict.fromkeys(str(a).strip() for a in augment if str(a).strip()))
    unknown = [a for a in names if a not in AUGMENTATIONS]
    if unknown:
        raise ConfigError(f"unknown augmentation {', '.join(unknown)}; expected any of {', '.join(AUGMENTATIONS)}")
    return names


def augment_batch(voxels: torch.Tensor, augment: Sequence[str], generator: torch.Generator) -> torch.Tensor:
    """Apply random flips and/or quarter turns about the up axis, independently per shape.

    Args:
        voxels: Tensor of shape (B, R, R, R) or (B, C, R, R, R), canonical frame.
        augment: names from :data:`AUGMENTATIONS`.
        generator: the source of randomness (CPU generator).

    Returns:
        Tensor of the same shape, dtype and device.
    """
    augment = check_augment(augment)
    if not augment:
        return voxels
    batch = len(voxels)
    axis0, axis1 = voxels.dim() - 3, voxels.dim() - 2  # per-shape dims of grid axes 0 and 1
    flips = torch.randint(0, 2, (batch,), generator=generator) if "flip" in augment else torch.zeros(batch, dtype=torch.long)
    turns = torch.randint(0, 4, (batch,), generator=generator) if "rot90" in augment else torch.zeros(batch, dtype=torch.long)
    out = voxels.clone()
    for i in range(batch):
        shape = voxels[i]
        if flips[i]:
            shape = shape.flip(axis1 - 1)
        if turns[i]:
            shape = torch.rot90(shape, int(turns[i]), dims=(axis0 - 1, axis1 - 1))
        out[i] = shape
    return out
