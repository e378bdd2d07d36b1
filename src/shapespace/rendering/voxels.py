"""Shaded pictures of voxel shapes: sample grids, interpolation strips and data previews.

Each occupancy grid is drawn as the ``threshold`` iso-surface of its trilinearly
interpolated field, seen by an orthographic camera from a three-quarter view: in front of
the object (which faces -x, see :mod:`shapespace.geometry.frame`), turned towards one side
and looking slightly down, with z up on screen. The camera always frames the whole unit
cube ``[-0.5, 0.5]^3``, so sizes are comparable across a grid.

How a picture is made (all in torch, batched over shapes):

1. Pad each grid with empty voxels so surfaces touching the border close, and stack the
   padded grids along axis 0 into one atlas volume, so that one
   :func:`torch.nn.functional.grid_sample` call samples points of many shapes.
2. Cast one ray per pixel, clipped to the box around the shape's occupied voxels, and
   march it in steps of half a voxel until the field first exceeds ``threshold``; refine
   the crossing by regula falsi.
3. Shade the hit: normal = -gradient of the field (central differences), a key light and a
   fill light placed relative to the camera, a sky-like ambient term, and ambient
   occlusion read from a blurred copy of the grid a few voxels out along the normal.
4. Pixels that miss the shape show the floor (the bottom face of the cube) with a soft
   shadow cast straight down, which anchors the shape and shows its footprint.

Convention for the view angles: ``azimuth`` is in degrees about the up axis, 0 puts the
camera straight in front of the object (on -x), positive values turn it counter-clockwise
seen from above (towards -y), so the image shows the object's front on the left and its
-y side on the right. ``elevation`` is in degrees above the horizontal.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageDraw, ImageFont

from shapespace.errors import ConfigError, DataError
from shapespace.geometry.frame import DEFAULT_THRESHOLD
from shapespace.io.atomic import atomic_path

DEFAULT_AZIMUTH = 35.0
DEFAULT_ELEVATION = 25.0
# A light blue-grey reads well against white and keeps shading contrast on every face.
DEFAULT_COLOR = (0.66, 0.75, 0.88)
BACKGROUND = (255, 255, 255)
MIN_SIZE = 16

# Half a voxel between ray samples: the 0.5 iso-surface of a row of solid voxels is at
# least one voxel thick along any ray, so no such row is stepped over.
_STEP_VOXELS = 0.5
# Empty voxels added on every side: one closes surfaces on the border, and the march may
# look half a voxel beyond its box (see _march), which must stay inside the shape's block.
_PAD = 2
# Bounds on work per call, which bound memory (about 100 MB of temporaries at most).
_MAX_SAMPLES = 1 << 21
_MAX_RAYS = 1 << 20
_MAX_STEPS_PER_CALL = 48
_REFINE_ITERATIONS = 2
# Margin around the projected unit cube, as a fraction of its half-extent.
_FRAME_MARGIN = 0.03
# Rotated-grid sub-pixel offsets (row, column) for anti-aliasing edge pixels.
_SUBSAMPLES = ((-0.375, 0.125), (-0.125, -0.375), (0.125, 0.375), (0.375, -0.125))

# Lighting, placed relative to the camera so every view angle is lit alike (degrees
# towards screen right, degrees up): a key light from the upper left, a weak fill from the
# right, and ambient light brighter on upward faces. With the default view this makes
# tops brightest, fronts medium and the visible side darkest, the classic product shot.
_KEY_AZIMUTH, _KEY_ELEVATION, _KEY_STRENGTH = -50.0, 55.0, 0.85
_FILL_AZIMUTH, _FILL_ELEVATION, _FILL_STRENGTH = 70.0, 10.0, 0.32
_AMBIENT_SKY, _AMBIENT_GROUND = 0.34, 0.22
# Ambient occlusion: blurred-occupancy samples this many voxels out along the normal.
_AO_DISTANCES = (1.0, 2.0, 3.5)
_AO_BLUR_SIGMA = 1.2
_AO_STRENGTH = 0.75
# Ground shadow: straight down, darkest under low parts of the shape.
_SHADOW_STRENGTH = 0.28
_SHADOW_BLUR_SIGMA = 1.5
_SHADOW_HEIGHT_FALLOFF = 0.6
# Central-difference offset for normals, in voxels.
_NORMAL_OFFSET = 0.5


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
        azimuth: camera angle about the up axis in degrees (0 = straight in front, see module docstring).
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


def image_grid(
    images: np.ndarray | Sequence[np.ndarray],
    ncols: int,
    pad: int = 4,
    background: Sequence[int] = BACKGROUND,
    labels: Sequence[str] | None = None,
) -> np.ndarray:
    """Tile equally sized images row by row into one picture.

    With ``n`` images, ``c = min(ncols, n)`` columns and ``r = ceil(n / c)`` rows of tiles of
    ``H x W`` pixels, the result is ``r * (H + L) + (r + 1) * pad`` pixels high and
    ``c * W + (c + 1) * pad`` wide, where ``L`` is the height of the label band below each
    tile (0 without labels). Unused cells and gaps are ``background``.

    Args:
        images: UInt8Array of shape (N, H, W, 3) or (H, W, 3), or a sequence of (H, W, 3) arrays.
        ncols: maximum number of tiles per row (at least 1).
        pad: gap in pixels between tiles and around the border (at least 0).
        background: RGB colour of gaps, 0-255.
        labels: optional text per image, drawn centred under its tile with Pillow's default font.

    Returns:
        UInt8Array of shape (height, width, 3).
    """
    stack = _as_image_stack(images)
    count, tile_h, tile_w = stack.shape[:3]
    if isinstance(ncols, bool) or not isinstance(ncols, (int, np.integer)) or ncols < 1:
        raise ConfigError(f"ncols must be a positive integer, got {ncols!r}")
    if isinstance(pad, bool) or not isinstance(pad, (int, np.integer)) or pad < 0:
        raise ConfigError(f"pad must be a non-negative integer, got {pad!r}")
    fill = _check_background(background)
    if labels is not None:
        labels = [str(label) for label in labels]
        if len(labels) != count:
            raise ConfigError(f"got {len(labels)} labels for {count} images")
    font = ImageFont.load_default() if labels is not None else None
    label_h = _label_height(font) if font is not None else 0

    cols = min(int(ncols), count)
    rows = math.ceil(count / cols)
    height = rows * (tile_h + label_h) + (rows + 1) * pad
    width = cols * tile_w + (cols + 1) * pad
    canvas = np.empty((height, width, 3), dtype=np.uint8)
    canvas[...] = fill
    for index in range(count):
        row, col = divmod(index, cols)
        top = pad + row * (tile_h + label_h + pad)
        left = pad + col * (tile_w + pad)
        canvas[top : top + tile_h, left : left + tile_w] = stack[index]
    if labels is None or font is None:
        return canvas

    picture = Image.fromarray(canvas)
    draw = ImageDraw.Draw(picture)
    ink = (60, 60, 60) if int(fill.astype(np.int64).sum()) > 384 else (220, 220, 220)
    for index, label in enumerate(labels):
        row, col = divmod(index, cols)
        text = _fit_text(draw, font, label, tile_w)
        text_w = draw.textlength(text, font=font)
        x = pad + col * (tile_w + pad) + (tile_w - text_w) / 2
        y = pad + row * (tile_h + label_h + pad) + tile_h + 1
        draw.text((x, y), text, fill=ink, font=font)
    return np.asarray(picture, dtype=np.uint8).copy()


def render_grid(
    volumes: np.ndarray | torch.Tensor,
    ncols: int | None = None,
    size: int = 160,
    threshold: float = DEFAULT_THRESHOLD,
    labels: Sequence[str] | None = None,
) -> np.ndarray:
    """Render shapes with :func:`render_voxels` and tile them with :func:`image_grid`.

    Args:
        volumes: (N, R, R, R), (N, 1, R, R, R) or a single (R, R, R) grid.
        ncols: tiles per row; default ``ceil(sqrt(N))``. Use ``ncols=N`` for a one-row strip.
        size: tile size in pixels.
        threshold: iso-level.
        labels: optional text under each tile.

    Returns:
        UInt8Array of shape (height, width, 3).
    """
    images = render_voxels(volumes, size=size, threshold=threshold)
    if images.ndim == 3:
        images = images[None]
    if len(images) == 0:
        raise DataError("render_grid got no volumes to draw")
    if ncols is None:
        ncols = math.ceil(math.sqrt(len(images)))
    return image_grid(images, ncols=ncols, labels=labels)


def save_png(image: np.ndarray, path: str | os.PathLike) -> Path:
    """Write a UInt8Array of shape (H, W, 3) as a PNG file, atomically; return the path."""
    array = np.asarray(image)
    if array.dtype != np.uint8 or array.ndim != 3 or array.shape[2] != 3:
        raise DataError(f"{path}: expected a uint8 image of shape (H, W, 3), got {array.dtype} {array.shape}")
    path = Path(path)
    with atomic_path(path) as tmp:
        Image.fromarray(array).save(tmp, format="PNG")
    return path


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


def _check_background(background: Sequence[int]) -> np.ndarray:
    values = np.asarray(background)
    if values.shape != (3,) or not np.all((values >= 0) & (values <= 255)):
        raise ConfigError(f"background must be three RGB values in 0-255, got {background!r}")
    return values.astype(np.uint8)


def _as_image_stack(images: np.ndarray | Sequence[np.ndarray]) -> np.ndarray:
    """(N, H, W, 3), (H, W, 3) or a sequence of (H, W, 3) -> UInt8Array of shape (N, H, W, 3)."""
    if isinstance(images, np.ndarray):
        stack = images[None] if images.ndim == 3 else images
    else:
        tiles = [np.asarray(tile) for tile in images]
        if not tiles:
            raise DataError("image_grid got no images")
        if len({tile.shape for tile in tiles}) != 1:
            raise DataError(f"images must all have the same shape, got {sorted({tile.shape for tile in tiles})}")
        stack = np.stack(tiles)
    if stack.ndim != 4 or stack.shape[3] != 3:
        raise DataError(f"images must have shape (N, H, W, 3) or (H, W, 3), got {stack.shape}")
    if stack.dtype != np.uint8:
        raise DataError(f"images must be uint8, got {stack.dtype}")
    if len(stack) == 0:
        raise DataError("image_grid got no images")
    return stack


def _label_height(font: ImageFont.ImageFont | ImageFont.FreeTypeFont) -> int:
    _left, top, _right, bottom = font.getbbox("Ag")
    return int(bottom - min(top, 0)) + 4


def _fit_text(
    draw: ImageDraw.ImageDraw, font: ImageFont.ImageFont | ImageFont.FreeTypeFont, text: str, width: int
) -> str:
    """Shorten ``text`` with a trailing '...' until it fits in ``width`` pixels."""
    if draw.textlength(text, font=font) <= width:
        return text
    while text and draw.textlength(text + "...", font=font) > width:
        text = text[:-1]
    return text + "..." if text else ""


# -- camera -------------------------------------------------------------------------


def _direction(azimuth: float, elevation: float) -> torch.Tensor:
    """Unit vector from the object towards a viewpoint at (azimuth, elevation) degrees, shape (3,)."""
    az, el = math.radians(azimuth), math.radians(elevation)
    return torch.tensor([-math.cos(el) * math.cos(az), -math.cos(el) * math.sin(az), math.sin(el)])


@dataclass(frozen=True)
class _Camera:
    """Orthographic camera framing the unit cube; (right, up, -forward) is right-handed.

    Attributes:
        forward, right, up: FloatTensors of shape (3,), unit vectors in world coordinates.
        half_extent: half the side of the square of world units the image shows.
        size: image side in pixels.
        azimuth: degrees, as for :func:`render_voxels`.
    """

    forward: torch.Tensor
    right: torch.Tensor
    up: torch.Tensor
    half_extent: float
    size: int
    azimuth: float

    @classmethod
    def framing_unit_cube(cls, azimuth: float, elevation: float, size: int) -> _Camera:
        """A ``size``-pixel view from (azimuth, elevation) degrees showing the whole unit cube."""
        forward = -_direction(azimuth, elevation)
        right = torch.linalg.cross(forward, torch.tensor([0.0, 0.0, 1.0]))
        right = right / right.norm()
        up = torch.linalg.cross(right, forward)
        corners = torch.tensor([[x, y, z] for x in (-0.5, 0.5) for y in (-0.5, 0.5) for z in (-0.5, 0.5)])
        extent = max(float((corners @ right).abs().max()), float((corners @ up).abs().max()))
        return cls(forward, right, up, extent * (1.0 + _FRAME_MARGIN), size, azimuth)

    def ray_origins(self, rows: torch.Tensor, cols: torch.Tensor) -> torch.Tensor:
        """Origins of rays through image points, outside the unit cube (sqrt(3)/2 < 2).

        Args:
            rows, cols: FloatTensors of shape (M,), pixel coordinates; pixel (r, c) spans
                [r, r + 1) x [c, c + 1), so r + 0.5 is its centre.

        Returns:
            FloatTensor of shape (M, 3); the rays run along ``forward``.
        """
        pixel = 2.0 * self.half_extent / self.size
        screen_x = cols * pixel - self.half_extent
        screen_y = self.half_extent - rows * pixel
        return screen_x[:, None] * self.right + screen_y[:, None] * self.up - 2.0 * self.forward

    def light(self, azimuth: float, elevation: float) -> torch.Tensor:
        """Unit vector (3,) towards a light turned ``azimuth`` degrees from the camera towards
        screen right and raised ``elevation`` degrees above the horizontal."""
        return _direction(self.azimuth + azimuth, elevation)


# -- sampling -----------------------------------------------------------------------


class _Atlas:
    """Padded grids stacked along axis 0 into one volume, sampled with a single grid_sample call.

    Args:
        padded: FloatTensor of shape (N, P, P, P), grids padded with ``pad`` voxels on every side
            whose outermost planes are 0.
        resolution: R of the unpadded grids (P = R + 2 * pad).
    """

    def __init__(self, padded: torch.Tensor, resolution: int) -> None:
        count, side = padded.shape[0], padded.shape[1]
        self.volume = padded.reshape(1, 1, count * side, side, side).contiguous()  # block n = shape n
        self.side = side
        self.resolution = resolution
        self.pad = (side - resolution) // 2
        # grid_sample's normalised (x, y, z) = (W, H, D) = (axis 2, axis 1, block offset + axis 0).
        self._unit = torch.tensor([2.0 / (side - 1), 2.0 / (side - 1), 2.0 / (count * side - 1)])
        self._block = side * float(self._unit[2])

    def to_grid(self, shape_index: torch.Tensor, points: torch.Tensor, clamp: bool = True) -> torch.Tensor:
        """World points (M, ..., 3) of shapes (M,) -> normalised grid_sample coordinates (M, ..., 3).

        ``clamp`` keeps points inside their own block; its outer planes are empty, so points
        beyond the grid read as empty rather than as a neighbouring shape.
        """
        coords = (points + 0.5) * self.resolution + (self.pad - 0.5)  # padded voxel-centre coordinates
        if clamp:
            coords = coords.clamp(0.0, self.side - 1.0)
        grid = coords.flip(-1) * self._unit - 1.0
        offset = (shape_index.to(grid.dtype) * self._block).view(-1, *([1] * (grid.dim() - 2)))
        grid[..., 2] += offset
        return grid

    def vector_to_grid(self, vector: torch.Tensor) -> torch.Tensor:
        """A world displacement (3,) in normalised grid coordinates (3,)."""
        return vector.flip(-1) * self.resolution * self._unit

    def sample_grid(self, grid: torch.Tensor) -> torch.Tensor:
        """Trilinear values at normalised coordinates: (M, K, 3) -> FloatTensor of shape (M, K)."""
        m, k = grid.shape[:2]
        values = F.grid_sample(
            self.volume, grid.reshape(1, 1, m, k, 3), mode="bilinear", padding_mode="border", align_corners=True
        )  # (1, 1, 1, M, K)
        return values.view(m, k)

    def sample(self, shape_index: torch.Tensor, points: torch.Tensor) -> torch.Tensor:
        """Trilinear values at world points (M, K, 3) of shapes (M,): FloatTensor of shape (M, K)."""
        return self.sample_grid(self.to_grid(shape_index, points))


def _blur(volume: torch.Tensor, sigma: float, dims: Sequence[int]) -> torch.Tensor:
    """Gaussian blur along ``dims`` with a zero boundary; same shape as ``volume``.

    Sums of shifted slices: on the CPU this is several times faster than conv3d with a
    single channel.
    """
    radius = max(1, math.ceil(2.0 * sigma))
    weights = torch.exp(-0.5 * (torch.arange(-radius, radius + 1, dtype=torch.float32) / sigma) ** 2)
    weights = (weights / weights.sum()).tolist()
    for dim in dims:
        length = volume.shape[dim]
        padded = F.pad(volume, _pad_spec(volume.dim(), dim, radius))
        volume = sum(w * padded.narrow(dim, i, length) for i, w in enumerate(weights))
    return volume


def _pad_spec(ndim: int, dim: int, amount: int) -> list[int]:
    """F.pad argument padding only dimension ``dim`` of an ``ndim``-dimensional tensor by ``amount``."""
    spec = [0] * (2 * ndim)
    position = 2 * (ndim - 1 - dim)  # F.pad lists the last dimension first
    spec[position] = spec[position + 1] = amount
    return spec


# -- rendering ----------------------------------------------------------------------


def _render_batch(
    volumes: torch.Tensor, size: int, threshold: float, azimuth: float, elevation: float, albedo: torch.Tensor
) -> np.ndarray:
    """FloatTensor (N, R, R, R) -> UInt8Array (N, size, size, 3), in groups of shapes to bound memory."""
    camera = _Camera.framing_unit_cube(azimuth, elevation, size)
    images = np.empty((len(volumes), size, size, 3), dtype=np.uint8)
    group = max(1, _MAX_RAYS // (size * size))
    for start in range(0, len(volumes), group):
        colours = _render_group(volumes[start : start + group], camera, threshold, albedo)
        images[start : start + group] = (colours.clamp(0.0, 1.0) * 255.0).round().to(torch.uint8).numpy()
    return images


def _render_group(volumes: torch.Tensor, camera: _Camera, threshold: float, albedo: torch.Tensor) -> torch.Tensor:
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

    def __init__(self, volumes: torch.Tensor, threshold: float, camera: _Camera, albedo: torch.Tensor) -> None:
        self.resolution = volumes.shape[1]
        self.threshold = threshold
        self.camera = camera
        self.albedo = albedo
        solid = volumes > threshold  # (N, R, R, R)
        self.box_lo, self.box_hi = _occupied_boxes(solid)  # (N, 3) each
        padded = F.pad(volumes, (_PAD,) * 6)  # (N, P, P, P)
        self.field = _Atlas(padded, self.resolution)
        # Enough padding that blurring leaves the outermost planes 0 and the farthest probe
        # from a surface on the grid border stays inside the block.
        ao_pad = max(math.ceil(2.0 * _AO_BLUR_SIGMA), math.ceil(max(_AO_DISTANCES))) + 2
        crowding = _blur(F.pad(volumes.clamp(0.0, 1.0), (ao_pad,) * 6), _AO_BLUR_SIGMA, (1, 2, 3))
        self.crowding = _Atlas(crowding, self.resolution)
        self.shadow = _ShadowMaps(solid)
        self.key = camera.light(_KEY_AZIMUTH, _KEY_ELEVATION)
        self.fill = camera.light(_FILL_AZIMUTH, _FILL_ELEVATION)

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
        t_near, t_far = _clip_to_boxes(origins, forward, self.box_lo[shape_index], self.box_hi[shape_index])
        rays = torch.nonzero(t_near < t_far, as_tuple=True)[0]
        step = _STEP_VOXELS / self.resolution
        found, t = _march(
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
        return background * (1.0 - _SHADOW_STRENGTH * darkness)[:, None]

    def _shade(self, shape_index: torch.Tensor, points: torch.Tensor) -> torch.Tensor:
        """Colours of surface points (M, 3) of shapes (M,): FloatTensor of shape (M, 3) in [0, 1]."""
        forward = self.camera.forward
        h = _NORMAL_OFFSET / self.resolution
        offsets = torch.cat([torch.eye(3), -torch.eye(3)]) * h  # (6, 3)
        values = self.field.sample(shape_index, points[:, None] + offsets)  # (M, 6)
        gradient = values[:, :3] - values[:, 3:]
        length = gradient.norm(dim=1, keepdim=True)
        # A flat field (only at saddle points of the interpolation) has no normal: face the camera.
        normal = torch.where(length > 1e-8, -gradient / length.clamp_min(1e-8), -forward.expand_as(gradient))

        upward = 0.5 * (1.0 + normal[:, 2])  # 1 facing up, 0 facing down
        light = (
            _AMBIENT_GROUND
            + (_AMBIENT_SKY - _AMBIENT_GROUND) * upward
            + _KEY_STRENGTH * (normal @ self.key).clamp_min(0.0)
            + _FILL_STRENGTH * (normal @ self.fill).clamp_min(0.0)
        )
        distances = torch.tensor(_AO_DISTANCES, dtype=torch.float32) / self.resolution
        probes = points[:, None] + distances[None, :, None] * normal[:, None]  # (M, D, 3)
        crowding = self.crowding.sample(shape_index, probes).mean(1)  # (M,)
        occlusion = 1.0 - _AO_STRENGTH * crowding.clamp(0.0, 1.0)
        return (self.albedo * (light * occlusion)[:, None]).clamp(0.0, 1.0)


class _ShadowMaps:
    """Soft shadows cast straight down onto the floor, one map per shape.

    Each column casts the shadow of its lowest solid voxel, fading with that voxel's height,
    so parts touching the floor read as standing on it.

    Args:
        solid: BoolTensor of shape (N, R, R, R).
    """

    def __init__(self, solid: torch.Tensor) -> None:
        count, resolution = solid.shape[0], solid.shape[1]
        height = torch.arange(resolution, dtype=torch.float32) / resolution  # along axis 2
        darkness = ((1.0 - _SHADOW_HEIGHT_FALLOFF * height) * solid).amax(3)  # (N, R, R): axis 0, axis 1
        # The pad exceeds the blur radius, so each map's border stays 0 and clamped reads are unshadowed.
        self.pad = math.ceil(2.0 * _SHADOW_BLUR_SIGMA) + 1
        darkness = _blur(F.pad(darkness, (self.pad,) * 4), _SHADOW_BLUR_SIGMA, (1, 2))
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
        )
        return values.view(-1).clamp(0.0, 1.0)


def _occupied_boxes(solid: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """World boxes outside which the field of each shape cannot exceed the threshold.

    The trilinear field exceeds the threshold only between the centres of voxels next to
    solid ones, so each box spans the solid voxels grown by one voxel. Empty shapes get
    ``lo = +inf`` and ``hi = -inf``, which no ray enters.

    Args:
        solid: BoolTensor of shape (N, R, R, R).

    Returns:
        (lo, hi), FloatTensors of shape (N, 3).
    """
    count, resolution = solid.shape[0], solid.shape[1]
    index = torch.arange(resolution, dtype=torch.float32)
    lo = torch.empty(count, 3)
    hi = torch.empty(count, 3)
    for axis in range(3):
        others = [d for d in (1, 2, 3) if d != axis + 1]
        profile = solid.any(dim=others[1]).any(dim=others[0])  # (N, R) along this axis
        lo[:, axis] = torch.where(profile, index, math.inf).amin(1)
        hi[:, axis] = torch.where(profile, index, -math.inf).amax(1)
    # Centres of voxels (first - 1) and (last + 1), in world units.
    return (lo - 0.5) / resolution - 0.5, (hi + 1.5) / resolution - 0.5


def _clip_to_boxes(
    origins: torch.Tensor, forward: torch.Tensor, lo: torch.Tensor, hi: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Slab test: ray parameters (t_near, t_far), each (M,), where rays (M, 3) along ``forward``
    enter and leave boxes ``[lo, hi]`` (M, 3); ``t_near >= t_far`` when a ray misses."""
    # Axis-aligned views: a tiny direction component keeps the test free of 0 / 0.
    safe = torch.where(forward.abs() < 1e-9, torch.full_like(forward, 1e-9), forward)
    t_lo = (lo - origins) / safe
    t_hi = (hi - origins) / safe
    t_near = torch.nan_to_num(torch.minimum(t_lo, t_hi).amax(-1), nan=math.inf)
    t_far = torch.nan_to_num(torch.maximum(t_lo, t_hi).amin(-1), nan=-math.inf)
    empty = (lo > hi).any(-1)  # boxes of empty shapes
    return t_near.masked_fill(empty, math.inf), t_far.masked_fill(empty, -math.inf)


def _march(
    field: _Atlas,
    shape_index: torch.Tensor,
    origins: torch.Tensor,
    forward: torch.Tensor,
    t_near: torch.Tensor,
    t_far: torch.Tensor,
    threshold: float,
    step: float,
) -> tuple[torch.Tensor, torch.Tensor]:
    """First crossing of ``threshold`` along each ray within ``[t_near, t_far]``.

    Rays advance together in chunks of steps; rays that hit or leave their box drop out.
    Each crossing is refined by regula falsi between the last sample outside and the first
    inside.

    Args:
        shape_index: LongTensor of shape (M,); origins: FloatTensor (M, 3); t_near, t_far: (M,).

    Returns:
        (found, t): BoolTensor (M,) of rays that hit, and FloatTensor (H,) of their ray parameters
        in the order of ``torch.nonzero(found)``.
    """
    count = len(origins)
    found = torch.zeros(count, dtype=torch.bool)
    lo, hi = torch.zeros(count), torch.zeros(count)
    v_lo, v_hi = torch.zeros(count), torch.zeros(count)
    rays = torch.arange(count)  # rays still marching
    grid_step = field.vector_to_grid(forward * step)  # (3,)
    start = field.to_grid(shape_index, origins + t_near[:, None] * forward, clamp=False)  # (M, 3)
    t_start, t_stop = t_near, t_far
    # The box boundary is outside the solid (see _occupied_boxes), so the first sample's
    # predecessor counts as outside; its value only seeds the regula falsi.
    previous = torch.zeros(count)
    while len(rays):
        remaining = int(torch.ceil((t_stop - t_start).max() / step)) + 2
        steps = max(1, min(_MAX_STEPS_PER_CALL, _MAX_SAMPLES // len(rays), remaining))
        ks = torch.arange(steps, dtype=torch.float32)
        # Samples past a ray's box may fall in a neighbouring block; the mask below ignores them.
        values = field.sample_grid(start[:, None] + ks[:, None] * grid_step)  # (m, S)
        t = t_start[:, None] + step * ks  # (m, S)
        inside = (values > threshold) & (t <= t_stop[:, None] + step)
        hit = inside.any(1)
        rows = torch.nonzero(hit, as_tuple=True)[0]
        if len(rows):
            k = inside[rows].to(torch.uint8).argmax(1)  # first sample inside
            ids = rays[rows]
            found[ids] = True
            hi[ids], lo[ids] = t[rows, k], t[rows, k] - step
            v_hi[ids] = values[rows, k]
            v_lo[ids] = torch.where(k > 0, values[rows, (k - 1).clamp_min(0)], previous[rows])
        going = ~hit & (t[:, -1] <= t_stop)  # the next sample is within a step of the box
        rays, start = rays[going], start[going] + steps * grid_step
        t_start, t_stop = t[going, -1] + step, t_stop[going]
        previous = values[going, -1]

    ids = torch.nonzero(found, as_tuple=True)[0]
    lo, hi, v_lo, v_hi = lo[ids], hi[ids], v_lo[ids], v_hi[ids]
    shape_hit, origin_hit = shape_index[ids], origins[ids]
    for _ in range(_REFINE_ITERATIONS):
        # v_lo <= threshold < v_hi holds throughout, so the secant point stays in [lo, hi].
        frac = ((threshold - v_lo) / (v_hi - v_lo).clamp_min(1e-12)).clamp(0.0, 1.0)
        mid = lo + frac * (hi - lo)
        v_mid = field.sample(shape_hit, (origin_hit + mid[:, None] * forward)[:, None])[:, 0]
        is_in = v_mid > threshold
        hi, v_hi = torch.where(is_in, mid, hi), torch.where(is_in, v_mid, v_hi)
        lo, v_lo = torch.where(is_in, lo, mid), torch.where(is_in, v_lo, v_mid)
    frac = ((threshold - v_lo) / (v_hi - v_lo).clamp_min(1e-12)).clamp(0.0, 1.0)
    return found, lo + frac * (hi - lo)
