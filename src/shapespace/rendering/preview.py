"""Shaded preview pictures of voxel shapes, for sample grids, interpolation strips and data previews.

Each occupancy grid is drawn as the ``threshold`` iso-surface of its trilinearly
interpolated field, seen by an orthographic camera from a three-quarter view: in front of
the object (which faces -x, see :mod:`shapespace.geometry.frame`), turned towards one side
and looking slightly down, with z up on screen. The camera always frames the whole unit
cube ``[-0.5, 0.5]^3``, so sizes are comparable across a figure. The view angles follow
:mod:`.camera`.

How a picture is made (all in torch, on the CPU, batched over shapes):

1. Pad each grid with empty voxels so surfaces touching the border close, and stack the
   padded grids along axis 0 into one :class:`.raymarch.VoxelAtlas`, so that one
   :func:`torch.nn.functional.grid_sample` call samples points of many shapes.
2. Cast one ray per pixel, clipped to the box around the shape's occupied voxels, and
   march it in steps of half a voxel until the field first exceeds ``threshold``; refine
   the crossing by regula falsi (:func:`.raymarch.march_to_surface`).
3. Shade the hit (:mod:`.shading`): normal = -gradient of the field (central differences),
   a key light and a fill light placed relative to the camera, a sky-like ambient term,
   and ambient occlusion read from a blurred copy of the grid a few voxels out along the normal.
4. Pixels that miss the shape show the floor (the bottom face of the cube) with a soft
   shadow cast straight down, which anchors the shape and shows its footprint.

Tiling pictures into figures and writing PNG files is :mod:`.figures`' job.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from shapespace.errors import ConfigError, DataError
from shapespace.geometry.frame import DEFAULT_THRESHOLD
from shapespace.rendering.camera import OrthographicCamera
from shapespace.rendering.raymarch import (
    ATLAS_PAD,
    STEP_VOXELS,
    VoxelAtlas,
    clip_to_boxes,
    march_to_surface,
    occupied_boxes,
)
from shapespace.rendering.shading import (
    PREVIEW_AO_BLUR_SIGMA,
    PREVIEW_AO_DISTANCES,
    PREVIEW_AO_STRENGTH,
    PREVIEW_FILL_AZIMUTH,
    PREVIEW_FILL_ELEVATION,
    PREVIEW_KEY_AZIMUTH,
    PREVIEW_KEY_ELEVATION,
    PREVIEW_NORMAL_OFFSET,
    SHADOW_STRENGTH,
    ShadowMaps,
    gaussian_blur,
    occlusion_factor,
    studio_light,
    surface_normals,
)

DEFAULT_AZIMUTH = 35.0
DEFAULT_ELEVATION = 25.0
# A light blue-grey reads well against white and keeps shading contrast on every face.
DEFAULT_COLOR = (0.66, 0.75, 0.88)
BACKGROUND = (255, 255, 255)
MIN_SIZE = 16

# Rays per group of shapes rendered together, which bounds memory (about 100 MB of temporaries at most).
_MAX_RAYS = 1 << 20
# Rotated-grid sub-pixel offsets (row, column) for anti-aliasing edge pixels.
_SUBSAMPLES = ((-0.375, 0.125), (-0.125, -0.375), (0.125, 0.375), (0.375, -0.125))


def render_voxels(
    volumes: np.ndarray | torch.Tensor,
    size: int = 160,
    threshold: float = DEFAULT_THRESHOLD,
    azimuth: float = DEFAULT_AZIMUTH,
    elevation: float = DEFAULT_ELEVATION,
    color: Sequence[float] = DEFAULT_COLOR,
) -> np.ndarray:
    """Render occupancy grids as shaded three-quarter views on a white background.

    Args:
        volumes: occupancy grids in the canonical frame, as a numpy array or tensor of shape
            (R, R, R), (N, R, R, R) or (N, 1, R, R, R); float probabilities in [0, 1], or
            bool / integer 0-1 occupancies.
        size: image height and width in pixels (at least 16).
        threshold: iso-level; the field strictly above it is solid, as in :mod:`shapespace.metrics.voxel`.
        azimuth: camera angle about the up axis in degrees (0 = straight in front, see :mod:`.camera`).
        elevation: camera angle above the horizontal in degrees, in [0, 90).
        color: object colour as RGB in [0, 1].

    Returns:
        UInt8Array of shape (size, size, 3) for one (R, R, R) grid, else (N, size, size, 3).
        A grid with nothing above ``threshold`` gives a blank background image.
    """
    batch, single = _as_volume_batch(volumes)
    size = _check_size(size)
    threshold = _check_threshold(threshold)
    albedo = _check_color(color)
    if not (math.isfinite(elevation) and 0.0 <= elevation < 90.0):
        raise ConfigError(f"elevation must be in [0, 90) degrees, got {elevation}")
    if not math.isfinite(azimuth):
        raise ConfigError(f"azimuth must be a finite number of degrees, got {azimuth}")
    with torch.no_grad():
        images = _render_batch(batch, size, threshold, float(azimuth), float(elevation), albedo)
    return images[0] if single else images


# -- input checks -------------------------------------------------------------------


def _as_volume_batch(volumes: np.ndarray | torch.Tensor) -> tuple[torch.Tensor, bool]:
    """Any accepted input -> (FloatTensor of shape (N, R, R, R) on the CPU, whether it was one grid)."""
    if isinstance(volumes, torch.Tensor):
        tensor = volumes.detach().cpu()
    else:
        array = np.asarray(volumes)
        if array.dtype == object or not (np.issubdtype(array.dtype, np.number) or array.dtype == np.bool_):
            raise DataError(f"volumes must be a numeric or boolean array, got dtype {array.dtype}")
        # A copy where torch cannot share the memory (read-only, e.g. memory-mapped .npy files).
        tensor = torch.from_numpy(np.ascontiguousarray(array) if array.flags.writeable else array.copy())
    if tensor.is_complex():
        raise DataError(f"volumes must be real occupancies, got dtype {tensor.dtype}")
    shape = tuple(tensor.shape)
    single = tensor.dim() == 3
    if single:
        tensor = tensor[None]
    elif tensor.dim() == 5 and shape[1] == 1:
        tensor = tensor[:, 0]
    elif tensor.dim() != 4:
        raise DataError(f"volumes must have shape (R, R, R), (N, R, R, R) or (N, 1, R, R, R), got {shape}")
    if len(set(tensor.shape[1:])) != 1 or tensor.shape[1] < 1:
        raise DataError(f"voxel grids must be cubic (R, R, R) with R >= 1, got {shape}")
    tensor = tensor.float()
    if not torch.isfinite(tensor).all():
        raise DataError("volumes contain NaN or infinite values")
    return tensor.contiguous(), single


def _check_size(size: int) -> int:
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < MIN_SIZE:
        raise ConfigError(f"size must be an integer of at least {MIN_SIZE} pixels, got {size!r}")
    return int(size)


def _check_threshold(threshold: float) -> float:
    # Padding and empty space are 0, so a threshold below 0 would make all space solid.
    if not (math.isfinite(threshold) and 0.0 <= threshold < 1.0):
        raise ConfigError(f"threshold must be in [0, 1), got {threshold}")
    return float(threshold)


def _check_color(color: Sequence[float]) -> torch.Tensor:
    values = np.asarray(color, dtype=np.float64)
    if values.shape != (3,) or not np.all((values >= 0.0) & (values <= 1.0)):
        raise ConfigError(f"color must be three RGB values in [0, 1], got {color!r}")
    return torch.tensor(values, dtype=torch.float32)


# -- rendering ----------------------------------------------------------------------


def _render_batch(
    volumes: torch.Tensor, size: int, threshold: float, azimuth: float, elevation: float, albedo: torch.Tensor
) -> np.ndarray:
    """FloatTensor (N, R, R, R) -> UInt8Array (N, size, size, 3), in groups of shapes to bound memory."""
    camera = OrthographicCamera.framing_unit_cube(azimuth, elevation, size)
    images = np.empty((len(volumes), size, size, 3), dtype=np.uint8)
    group = max(1, _MAX_RAYS // (size * size))
    for start in range(0, len(volumes), group):
        colours = _render_group(volumes[start : start + group], camera, threshold, albedo)
        images[start : start + group] = (colours.clamp(0.0, 1.0) * 255.0).round().to(torch.uint8).numpy()
    return images


def _render_group(
    volumes: torch.Tensor, camera: OrthographicCamera, threshold: float, albedo: torch.Tensor
) -> torch.Tensor:
    """FloatTensor (N, R, R, R) -> colours in [0, 1], FloatTensor of shape (N, size, size, 3)."""
    count, size = volumes.shape[0], camera.size
    background = torch.tensor(BACKGROUND, dtype=torch.float32) / 255.0
    if not bool((volumes > threshold).any()):
        return background.expand(count, size, size, 3).clone()
    scene = _Scene(volumes, threshold, camera, albedo)

    # One ray per pixel centre and shape.
    rows, cols = torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")
    origins = camera.ray_origins(rows.flatten() + 0.5, cols.flatten() + 0.5)  # (size^2, 3)
    shape_index = torch.arange(count).repeat_interleave(size * size)
    colours, hit, depth = scene.render_rays(shape_index, origins.repeat(count, 1))
    colours = colours.view(count, size, size, 3)

    # Anti-aliasing where it shows: pixels on a silhouette or a jump in depth are re-rendered
    # as the mean of four rotated-grid sub-samples.
    edges = _edge_pixels(hit.view(count, size, size), depth.view(count, size, size), 2.0 / scene.resolution)
    n, r, c = torch.nonzero(edges, as_tuple=True)
    if len(n):
        offsets = torch.tensor(_SUBSAMPLES)  # (S, 2) as (row, column) offsets from the pixel centre
        sub_rows = (r[:, None] + 0.5 + offsets[:, 0]).flatten()
        sub_cols = (c[:, None] + 0.5 + offsets[:, 1]).flatten()
        sub_shape = n.repeat_interleave(len(offsets))
        sub_colours, _hit, _depth = scene.render_rays(sub_shape, camera.ray_origins(sub_rows, sub_cols))
        colours[n, r, c] = sub_colours.view(len(n), len(offsets), 3).mean(1)
    return colours


def _edge_pixels(hit: torch.Tensor, depth: torch.Tensor, jump: float) -> torch.Tensor:
    """BoolTensor (N, H, W): pixels whose right or lower neighbour differs in coverage or
    (both covered) in depth by more than ``jump``, together with that neighbour."""
    edges = torch.zeros_like(hit)
    for dim in (1, 2):
        a, b = hit.narrow(dim, 0, hit.shape[dim] - 1), hit.narrow(dim, 1, hit.shape[dim] - 1)
        da, db = depth.narrow(dim, 0, hit.shape[dim] - 1), depth.narrow(dim, 1, hit.shape[dim] - 1)
        differ = (a != b) | (a & b & ((da - db).abs() > jump))
        edges.narrow(dim, 0, hit.shape[dim] - 1).logical_or_(differ)
        edges.narrow(dim, 1, hit.shape[dim] - 1).logical_or_(differ)
    return edges


class _Scene:
    """The grids of one render call, prepared for ray casting and shading.

    Args:
        volumes: FloatTensor of shape (N, R, R, R).
        threshold: iso-level.
        camera: the view.
        albedo: FloatTensor of shape (3,), object colour.
    """

    def __init__(self, volumes: torch.Tensor, threshold: float, camera: OrthographicCamera, albedo: torch.Tensor) -> None:
        self.resolution = volumes.shape[1]
        self.threshold = threshold
        self.camera = camera
        self.albedo = albedo
        solid = volumes > threshold  # (N, R, R, R)
        self.box_lo, self.box_hi = occupied_boxes(solid)  # (N, 3) each
        padded = F.pad(volumes, (ATLAS_PAD,) * 6)  # (N, P, P, P)
        self.field = VoxelAtlas(padded, self.resolution)
        # Enough padding that blurring leaves the outermost planes 0 and the farthest probe
        # from a surface on the grid border stays inside the block.
        ao_pad = max(math.ceil(2.0 * PREVIEW_AO_BLUR_SIGMA), math.ceil(max(PREVIEW_AO_DISTANCES))) + 2
        crowding = gaussian_blur(F.pad(volumes.clamp(0.0, 1.0), (ao_pad,) * 6), PREVIEW_AO_BLUR_SIGMA, (1, 2, 3))
        self.crowding = VoxelAtlas(crowding, self.resolution)
        self.shadow = ShadowMaps(solid)
        self.key = camera.light(PREVIEW_KEY_AZIMUTH, PREVIEW_KEY_ELEVATION)
        self.fill = camera.light(PREVIEW_FILL_AZIMUTH, PREVIEW_FILL_ELEVATION)

    def render_rays(
        self, shape_index: torch.Tensor, origins: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Colour of each ray: the shaded surface where it hits the shape, else the floor.

        Args:
            shape_index: LongTensor of shape (M,), which shape each ray looks at.
            origins: FloatTensor of shape (M, 3); rays run along ``camera.forward``.

        Returns:
            colours FloatTensor (M, 3) in [0, 1], hit BoolTensor (M,), depth FloatTensor (M,)
            (ray parameter of the hit; +inf where the ray misses).
        """
        forward = self.camera.forward
        colours = self._floor(shape_index, origins)
        hit = torch.zeros(len(origins), dtype=torch.bool)
        depth = torch.full((len(origins),), math.inf)
        t_near, t_far = clip_to_boxes(origins, forward, self.box_lo[shape_index], self.box_hi[shape_index])
        rays = torch.nonzero(t_near < t_far, as_tuple=True)[0]
        step = STEP_VOXELS / self.resolution
        found, t = march_to_surface(
            self.field, shape_index[rays], origins[rays], forward, t_near[rays], t_far[rays], self.threshold, step
        )
        rays = rays[found]
        if len(rays):
            points = origins[rays] + t[:, None] * forward
            colours[rays] = self._shade(shape_index[rays], points)
            hit[rays] = True
            depth[rays] = t
        return colours, hit, depth

    def _floor(self, shape_index: torch.Tensor, origins: torch.Tensor) -> torch.Tensor:
        """Background colour with the shape's shadow where a ray meets the floor z = -0.5; (M, 3)."""
        background = torch.tensor(BACKGROUND, dtype=torch.float32) / 255.0
        forward = self.camera.forward
        if forward[2] >= 0.0:  # a horizontal view never reaches the floor
            return background.expand(len(origins), 3).clone()
        t_floor = (-0.5 - origins[:, 2]) / forward[2]
        floor = origins[:, :2] + t_floor[:, None] * forward[:2]  # (M, 2) world x, y
        darkness = self.shadow.sample(shape_index, floor)
        return background * (1.0 - SHADOW_STRENGTH * darkness)[:, None]

    def _shade(self, shape_index: torch.Tensor, points: torch.Tensor) -> torch.Tensor:
        """Colours of surface points (M, 3) of shapes (M,): FloatTensor of shape (M, 3) in [0, 1]."""
        h = PREVIEW_NORMAL_OFFSET / self.resolution
        offsets = torch.cat([torch.eye(3), -torch.eye(3)]) * h  # (6, 3)
        values = self.field.sample(shape_index, points[:, None] + offsets)  # (M, 6)
        gradient = values[:, :3] - values[:, 3:]
        # A flat field (only at saddle points of the interpolation) has no normal: face the camera.
        normal = surface_normals(gradient, fallback=-self.camera.forward)

        light = studio_light(normal, self.key, self.fill)  # (M,)
        distances = torch.tensor(PREVIEW_AO_DISTANCES, dtype=torch.float32) / self.resolution
        probes = points[:, None] + distances[None, :, None] * normal[:, None]  # (M, D, 3)
        crowding = self.crowding.sample(shape_index, probes).mean(1)  # (M,)
        occlusion = occlusion_factor(crowding, PREVIEW_AO_STRENGTH)
        return (self.albedo * (light * occlusion)[:, None]).clamp(0.0, 1.0)
