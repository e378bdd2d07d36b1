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


def augmentation_draws(augment: Sequence[str], batch: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """The random choices of :func:`augment_batch` for ``batch`` shapes: a flip (0 or 1)
    and a number of quarter turns (0-3) per shape, LongTensors of shape (batch,) drawn
    from ``generator`` (flips first; zeros for a transform not in ``augment``)."""
    augment = check_augment(augment)
    flips = torch.randint(0, 2, (batch,), generator=generator) if "flip" in augment else torch.zeros(batch, dtype=torch.long)
    turns = torch.randint(0, 4, (batch,), generator=generator) if "rot90" in augment else torch.zeros(batch, dtype=torch.long)
    return flips, turns


def apply_augmentation(voxels: torch.Tensor, flips: torch.Tensor, turns: torch.Tensor) -> torch.Tensor:
    """Mirror axis 1 of the shapes with ``flips[i]`` 1, then turn each by ``turns[i]`` quarter
    turns about the up axis: a few whole-batch operations where ``voxels`` are (no per-shape
    loop, no wait for the device). ``voxels``: (B, R, R, R) or (B, C, R, R, R); a new tensor."""
    axis0, axis1 = voxels.dim() - 3, voxels.dim() - 2  # batch dims of grid axes 0 and 1
    chosen = (len(voxels),) + (1,) * (voxels.dim() - 1)  # broadcasts a per-shape choice
    out = voxels
    if bool(flips.any()):
        out = torch.where(flips.bool().view(chosen).to(voxels.device), out.flip(axis1), out)
    for k in (1, 2, 3):
        if bool((turns == k).any()):
            out = torch.where((turns == k).view(chosen).to(voxels.device), torch.rot90(out, k, dims=(axis0, axis1)), out)
    return out if out is not voxels else voxels.clone()


def augment_batch(voxels: torch.Tensor, augment: Sequence[str], generator: torch.Generator) -> torch.Tensor:
    """Apply random flips and/or quarter turns about the up axis, independently per shape.

    The draws come from ``generator``, a CPU generator, so they are the same on every
    device (:func:`augmentation_draws`); the transforms run where ``voxels`` are
    (:func:`apply_augmentation`).

    Args:
        voxels: Tensor of shape (B, R, R, R) or (B, C, R, R, R), canonical frame.
        augment: names from :data:`AUGMENTATIONS`.
        generator: the source of randomness (CPU generator).

    Returns:
        Tensor of the same shape, dtype and device.
    """
    if not check_augment(augment):
        return voxels
    return apply_augmentation(voxels, *augmentation_draws(augment, len(voxels), generator))
