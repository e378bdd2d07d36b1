"""Ray marching through trilinear occupancy fields: sampling, occupied boxes, clipping, surface crossings.

A voxel grid of shape (R, R, R) defines a continuous field by trilinear interpolation of
its values at the voxel centres, placed in the world cube ``[-0.5, 0.5]^3`` as
:mod:`shapespace.geometry.frame` states. A renderer's surface is where that field
crosses ``threshold``. Two marchers find the first crossing along parallel rays:

* :func:`march_ray_box` samples every ray of a batch of images at once (one
  ``grid_sample`` call, well suited to a GPU) and places the crossing by linear
  interpolation; the training photos use it.
* :func:`march_to_surface` marches rays clipped to :func:`occupied_boxes` in chunks of
  steps, dropping rays as they hit, through a :class:`VoxelAtlas`, and refines each
  crossing by regula falsi; the CPU preview uses it.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

# Half a voxel between ray samples: the 0.5 iso-surface of a row of solid voxels is at
# least one voxel thick along any ray, so no such row is stepped over.
STEP_VOXELS = 0.5
# Empty voxels around every grid of an atlas: one closes surfaces on the border, and
# march_to_surface may look half a voxel beyond its box, which must stay inside the shape's block.
ATLAS_PAD = 2
# Bounds on the work of one march_to_surface sampling call, which bound its memory.
_MAX_SAMPLES = 1 << 21
_MAX_STEPS_PER_CALL = 48
_REFINE_ITERATIONS = 2


def sample_trilinear(volumes: torch.Tensor, points: torch.Tensor) -> torch.Tensor:
    """Trilinear values of (B, 1, R, R, R) grids at world points (B, ..., 3): shape (B, ...).

    World ``[-0.5, 0.5]^3`` spans the grid (voxel centres at ``(i + 0.5) / R - 0.5``,
    :mod:`shapespace.geometry.frame`); outside it the field is 0.
    """
    batch, rest = points.shape[0], points.shape[1:-1]
    grid = (points * 2.0).flip(-1).reshape(batch, 1, 1, -1, 3)  # grid_sample order (axis 2, axis 1, axis 0)
    values = F.grid_sample(volumes, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    return values.reshape(batch, *rest)


def march_ray_box(
    volumes: torch.Tensor,
    forward: torch.Tensor,
    right: torch.Tensor,
    up: torch.Tensor,
    window: tuple[torch.Tensor, ...],
    samples: int,
    size: int,
    threshold: float,
) -> tuple[torch.Tensor, torch.Tensor]:
    """First crossing of ``threshold`` along the rays through every pixel of a camera-space box.

    Image ``b`` shows screen x in ``[x0, x1]`` (columns, left to right) and screen y in
    ``[y0, y1]`` (rows, top to bottom) with one ray per pixel centre; sample ``k`` of a ray
    lies at depth ``d0 + (k + 0.5) * (d1 - d0) / samples``. The crossing is placed by linear
    interpolation between the first sample above ``threshold`` and its predecessor.

    Args:
        volumes: FloatTensor of shape (B, 1, R, R, R).
        forward, right, up: FloatTensors of shape (B, 3), camera axes.
        window: ``(x0, x1, y0, y1, d0, d1)``, FloatTensors of shape (B,).
        samples: K, samples per ray.
        size: image side S in pixels.
        threshold: iso-level.

    Returns:
        ``(hit, surface)``: BoolTensor of shape (B, S, S), True where a pixel's ray crosses
        ``threshold``, and FloatTensor of shape (B, S, S, 3), the world point of the crossing
        (meaningless where there is no hit).
    """
    batch, device = volumes.shape[0], volumes.device
    x0, x1, y0, y1, d0, d1 = window
    # The ray samples form a box in camera space (screen x, screen y, depth), an affine
    # image of grid_sample's output grid; affine_grid builds it in one batched product.
    # Output (x, y, z) in [-1, 1] are (column, row, sample); world = sx*right + sy*up + t*forward;
    # grid_sample's input coordinates are 2 * world in the order (axis 2, axis 1, axis 0).
    half_w, mid_x = (x1 - x0) / 2, (x1 + x0) / 2
    half_h, mid_y = (y1 - y0) / 2, (y1 + y0) / 2
    half_d, mid_d = (d1 - d0) / 2, (d1 + d0) / 2
    columns = torch.stack([half_w[:, None] * right, -half_h[:, None] * up, half_d[:, None] * forward], dim=-1)  # (B, 3, 3)
    offset = mid_x[:, None] * right + mid_y[:, None] * up + mid_d[:, None] * forward  # (B, 3)
    theta = 2.0 * torch.cat([columns, offset[:, :, None]], dim=-1).flip(1)  # (B, 3, 4), rows in grid order
    grid = F.affine_grid(theta, [batch, 1, samples, size, size], align_corners=False)  # (B, K, S, S, 3)
    field = F.grid_sample(volumes, grid, mode="bilinear", padding_mode="zeros", align_corners=False)[:, 0]  # (B, K, S, S)

    inside = field > threshold
    hit = inside.any(1)  # (B, S, S)
    first = inside.to(torch.uint8).argmax(1)  # index of the first sample inside (0 where no hit)
    previous = (first - 1).clamp(min=0)
    f_in = field.gather(1, first[:, None])[:, 0]
    f_out = field.gather(1, previous[:, None])[:, 0]
    fraction = ((threshold - f_out) / (f_in - f_out).clamp(min=1e-6)).clamp(0.0, 1.0)
    step = (d1 - d0) / samples  # (B,)
    depth = d0[:, None, None] + step[:, None, None] * (previous.float() + 0.5 + fraction)  # (B, S, S)
    pixel = (torch.arange(size, device=device, dtype=torch.float32) + 0.5) / size
    sx = x0[:, None] + (x1 - x0)[:, None] * pixel  # (B, S) screen x of each column
    sy = y1[:, None] - (y1 - y0)[:, None] * pixel  # (B, S) screen y of each row (row 0 at the top)
    surface = (
        sy[:, :, None, None] * up[:, None, None, :]
        + sx[:, None, :, None] * right[:, None, None, :]
        + depth[..., None] * forward[:, None, None, :]
    )  # (B, S, S, 3) world points
    return hit, surface


class VoxelAtlas:
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


def occupied_boxes(solid: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
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


def clip_to_boxes(
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


def march_to_surface(
    field: VoxelAtlas,
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
        field: the grids, padded by at least :data:`ATLAS_PAD` voxels.
        shape_index: LongTensor of shape (M,); origins: FloatTensor (M, 3); t_near, t_far: (M,),
            from :func:`clip_to_boxes` with the boxes of :func:`occupied_boxes`.
        forward: FloatTensor of shape (3,), the direction of every ray.
        threshold: iso-level.
        step: world distance between samples.

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
    # The box boundary is outside the solid (see occupied_boxes), so the first sample's
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
