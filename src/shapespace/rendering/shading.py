"""Shading of iso-surface points: blur, normals, lighting, ambient occlusion and floor shadows.

The two renderers light their surfaces differently on purpose, so each has its own
constants below, named by what they are for: the preview (:mod:`.preview`) is a fixed
studio shot meant to show form (a key light, a fill light, sky-like ambient light, strong
occlusion in creases and a shadow on the floor); the training photos (:mod:`.photos`)
draw a random light, material and shading weights per image (:class:`.photos.PhotoSettings`)
and use Lambert diffuse plus Blinn-Phong specular with mild occlusion.
"""

from __future__ import annotations

import math
from typing import Sequence

import torch
import torch.nn.functional as F

# -- the preview's studio lighting ------------------------------------------------------
# Lights are placed relative to the camera so every view angle is lit alike (degrees
# towards screen right, degrees up): a key light from the upper left, a weak fill from the
# right, and ambient light brighter on upward faces. With the default view this makes
# tops brightest, fronts medium and the visible side darkest, the classic product shot.
PREVIEW_KEY_AZIMUTH, PREVIEW_KEY_ELEVATION, PREVIEW_KEY_STRENGTH = -50.0, 55.0, 0.85
PREVIEW_FILL_AZIMUTH, PREVIEW_FILL_ELEVATION, PREVIEW_FILL_STRENGTH = 70.0, 10.0, 0.32
PREVIEW_AMBIENT_SKY, PREVIEW_AMBIENT_GROUND = 0.34, 0.22
# Central-difference offset for the preview's normals, in voxels.
PREVIEW_NORMAL_OFFSET = 0.5
# Ambient occlusion of the preview: the mean of blurred-occupancy samples this many voxels
# out along the normal, from a widely blurred copy, so creases read clearly.
PREVIEW_AO_DISTANCES = (1.0, 2.0, 3.5)
PREVIEW_AO_BLUR_SIGMA = 1.2
PREVIEW_AO_STRENGTH = 0.75
# The preview's ground shadow: straight down, darkest under low parts of the shape.
SHADOW_STRENGTH = 0.28
SHADOW_BLUR_SIGMA = 1.5
SHADOW_HEIGHT_FALLOFF = 0.6

# -- the training photos' shading ---------------------------------------------------------
# Normals and occlusion are read from one lightly blurred copy of the field (sigma in
# voxels), which smooths the staircase of binary grids for shading only.
PHOTO_NORMAL_BLUR_SIGMA = 0.8
# Central-difference offset for the photos' normals, in voxels.
PHOTO_NORMAL_OFFSET = 1.0
# Ambient occlusion of the photos: one sample this many voxels out along the normal, mild
# so that random lights and materials dominate.
PHOTO_AO_DISTANCE = 2.0
PHOTO_AO_STRENGTH = 0.6
PHOTO_SHININESS = 16.0  # Blinn-Phong exponent


# -- blur -------------------------------------------------------------------------------


def gaussian_taps(sigma: float, dtype: torch.dtype = torch.float32, device: torch.device | None = None) -> torch.Tensor:
    """Normalised Gaussian weights of radius ``max(1, ceil(2 sigma))``: FloatTensor of shape (2 * radius + 1,)."""
    radius = max(1, math.ceil(2.0 * sigma))
    taps = torch.exp(-0.5 * (torch.arange(-radius, radius + 1, dtype=dtype, device=device) / sigma) ** 2)
    return taps / taps.sum()


def gaussian_blur(volume: torch.Tensor, sigma: float, dims: Sequence[int]) -> torch.Tensor:
    """Gaussian blur along ``dims`` of a tensor of any shape, with a zero boundary; same shape.

    Sums of shifted slices: on the CPU this is several times faster than conv3d with a
    single channel. The sums run in another order than :func:`gaussian_blur3d`'s, so the
    two agree only up to rounding.
    """
    weights = gaussian_taps(sigma).tolist()
    radius = len(weights) // 2
    for dim in dims:
        length = volume.shape[dim]
        padded = F.pad(volume, _pad_spec(volume.dim(), dim, radius))
        volume = sum(w * padded.narrow(dim, i, length) for i, w in enumerate(weights))
    return volume


def gaussian_blur3d(volumes: torch.Tensor, sigma: float) -> torch.Tensor:
    """Separable Gaussian blur of volumes of shape (B, 1, D, H, W) with a zero boundary, by conv3d
    (on any device; the kernel is built on the volumes' device, in their dtype)."""
    taps = gaussian_taps(sigma, dtype=volumes.dtype, device=volumes.device)
    radius = len(taps) // 2
    out = volumes
    for dim in range(3):
        shape = [1, 1, 1, 1, 1]
        shape[2 + dim] = len(taps)
        padding = [0, 0, 0]
        padding[dim] = radius
        out = F.conv3d(out, taps.view(shape), padding=tuple(padding))
    return out


def _pad_spec(ndim: int, dim: int, amount: int) -> list[int]:
    """F.pad argument padding only dimension ``dim`` of an ``ndim``-dimensional tensor by ``amount``."""
    spec = [0] * (2 * ndim)
    position = 2 * (ndim - 1 - dim)  # F.pad lists the last dimension first
    spec[position] = spec[position + 1] = amount
    return spec


# -- normals and occlusion ----------------------------------------------------------------


def surface_normals(gradient: torch.Tensor, fallback: torch.Tensor | None = None) -> torch.Tensor:
    """Outward unit normals (..., 3) of an occupancy iso-surface from the field's gradient (..., 3).

    The field grows into the solid, so the normal is the negated, normalised gradient.
    Where the gradient vanishes (length at most 1e-8) the result is ``fallback`` (3,) if
    given, else the zero vector.
    """
    length = gradient.norm(dim=-1, keepdim=True)
    normal = -gradient / length.clamp(min=1e-8)
    if fallback is None:
        return normal
    return torch.where(length > 1e-8, normal, fallback.expand_as(gradient))


def facing_camera(normal: torch.Tensor, forward: torch.Tensor) -> torch.Tensor:
    """Normals (..., 3) flipped where they face away from cameras looking along ``forward`` (..., 3)."""
    facing = (normal * forward).sum(-1, keepdim=True)
    return torch.where(facing > 0, -normal, normal)


def occlusion_factor(crowding: torch.Tensor, strength: float) -> torch.Tensor:
    """Light let through, ``1 - strength * crowding``, with ``crowding`` (occupancy read
    outside the surface) clamped to [0, 1]; same shape as ``crowding``."""
    return 1.0 - strength * crowding.clamp(0.0, 1.0)


# -- lighting -------------------------------------------------------------------------------


def studio_light(normal: torch.Tensor, key: torch.Tensor, fill: torch.Tensor) -> torch.Tensor:
    """The preview's light on surfaces with normals (M, 3): FloatTensor of shape (M,).

    Ambient light from sky to ground by how far a normal points up, plus Lambert terms of
    the key and fill lights, unit vectors (3,) towards them.
    """
    upward = 0.5 * (1.0 + normal[:, 2])  # 1 facing up, 0 facing down
    return (
        PREVIEW_AMBIENT_GROUND
        + (PREVIEW_AMBIENT_SKY - PREVIEW_AMBIENT_GROUND) * upward
        + PREVIEW_KEY_STRENGTH * (normal @ key).clamp_min(0.0)
        + PREVIEW_FILL_STRENGTH * (normal @ fill).clamp_min(0.0)
    )


def blinn_phong(
    normal: torch.Tensor, light: torch.Tensor, forward: torch.Tensor, shininess: float = PHOTO_SHININESS
) -> tuple[torch.Tensor, torch.Tensor]:
    """Lambert diffuse and Blinn-Phong specular terms, each of shape (...).

    Args:
        normal: FloatTensor of shape (..., 3), unit surface normals.
        light: FloatTensor broadcastable to (..., 3), unit vectors towards the light.
        forward: FloatTensor broadcastable to (..., 3), the viewing direction (camera to surface).
        shininess: specular exponent.
    """
    lambert = (normal * light).sum(-1).clamp(min=0.0)
    halfway = light - forward
    halfway = halfway / halfway.norm(dim=-1, keepdim=True).clamp(min=1e-8)
    highlight = (normal * halfway).sum(-1).clamp(min=0.0) ** shininess
    return lambert, highlight


# -- shadows --------------------------------------------------------------------------------


class ShadowMaps:
    """Soft shadows cast straight down onto the floor, one map per shape.

    Each column casts the shadow of its lowest solid voxel, fading with that voxel's height,
    so parts touching the floor read as standing on it.

    Args:
        solid: BoolTensor of shape (N, R, R, R).
    """

    def __init__(self, solid: torch.Tensor) -> None:
        count, resolution = solid.shape[0], solid.shape[1]
        height = torch.arange(resolution, dtype=torch.float32) / resolution  # along axis 2
        darkness = ((1.0 - SHADOW_HEIGHT_FALLOFF * height) * solid).amax(3)  # (N, R, R): axis 0, axis 1
        # The pad exceeds the blur radius, so each map's border stays 0 and clamped reads are unshadowed.
        self.pad = math.ceil(2.0 * SHADOW_BLUR_SIGMA) + 1
        darkness = gaussian_blur(F.pad(darkness, (self.pad,) * 4), SHADOW_BLUR_SIGMA, (1, 2))
        self.side = resolution + 2 * self.pad
        self.resolution = resolution
        self.maps = darkness.reshape(1, 1, count * self.side, self.side)  # block n = shape n, along rows
        self._unit = torch.tensor([2.0 / (self.side - 1), 2.0 / (count * self.side - 1)])

    def sample(self, shape_index: torch.Tensor, floor: torch.Tensor) -> torch.Tensor:
        """Darkness in [0, 1] at floor points (M, 2) (world x, y) of shapes (M,): FloatTensor (M,)."""
        coords = ((floor + 0.5) * self.resolution + (self.pad - 0.5)).clamp(0.0, self.side - 1.0)
        coords[:, 0] += shape_index.to(coords.dtype) * self.side
        grid = coords.flip(-1) * self._unit - 1.0  # (x, y) = (W, H) = (axis 1, block offset + axis 0)
        values = F.grid_sample(
            self.maps, grid.view(1, 1, -1, 2), mode="bilinear", padding_mode="border", align_corners=True
        )  # (1, 1, 1, M)
        return values.view(-1).clamp(0.0, 1.0)
