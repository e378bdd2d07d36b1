"""Orthographic cameras around the unit cube: view directions, camera axes and framing.

Both renderers look at the voxel cube ``[-0.5, 0.5]^3`` of :mod:`shapespace.geometry.frame`
with parallel rays. Convention for the view angles: ``azimuth`` is in degrees about the up
axis (world z); 0 puts the camera straight in front of the object (which faces -x), on -x;
positive values turn it counter-clockwise seen from above (towards -y), so the image shows
the object's front on the left and its -y side on the right. ``elevation`` is in degrees
above the horizontal.

Camera axes: ``forward`` runs along the rays (from the camera into the scene), ``right``
and ``up`` span the screen; (right, up, -forward) is right-handed and ``up`` has no
component against world z.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

# Margin around the projected unit cube, as a fraction of its half-extent.
_CUBE_MARGIN = 0.03


def view_direction(azimuth: torch.Tensor, elevation: torch.Tensor) -> torch.Tensor:
    """Unit vectors from the object towards viewpoints at (azimuth, elevation) degrees.

    Args:
        azimuth, elevation: FloatTensors of the same shape (...), degrees; the result has
            their dtype and device.

    Returns:
        FloatTensor of shape (..., 3).
    """
    az, el = torch.deg2rad(azimuth), torch.deg2rad(elevation)
    return torch.stack([-torch.cos(el) * torch.cos(az), -torch.cos(el) * torch.sin(az), torch.sin(el)], dim=-1)


def screen_axes(forward: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Screen axes (right, up), each of shape (..., 3), of cameras looking along ``forward`` (..., 3).

    ``forward`` must not be vertical (elevation below 90 degrees).
    """
    world_up = torch.tensor([0.0, 0.0, 1.0], device=forward.device).expand_as(forward)
    right = torch.linalg.cross(forward, world_up)
    right = right / right.norm(dim=-1, keepdim=True)
    up = torch.linalg.cross(right, forward)
    return right, up


def cube_extent(forward: torch.Tensor, right: torch.Tensor, up: torch.Tensor) -> torch.Tensor:
    """Half-extents (B, 3) of the unit cube's projection on the axes (right, up, forward), each (B, 3)."""
    directions = torch.stack([right, up, forward], dim=1)  # (B, 3, 3)
    return 0.5 * directions.abs().sum(-1)


def occupied_bounds(occupied: torch.Tensor, forward: torch.Tensor, right: torch.Tensor, up: torch.Tensor) -> torch.Tensor:
    """Camera-space box around each shape's occupied voxels (voxel cubes, not centres).

    Args:
        occupied: BoolTensor of shape (B, R, R, R).
        forward, right, up: FloatTensors of shape (B, 3), camera axes.

    Returns:
        FloatTensor of shape (B, 6): screen x range, screen y range and depth range, as
        ``(x0, x1, y0, y1, d0, d1)``; an empty shape gets the unit cube's box.
    """
    batch, r = occupied.shape[0], occupied.shape[-1]
    axis = (torch.arange(r, dtype=torch.float32, device=occupied.device) + 0.5) / r - 0.5
    centres = torch.stack(torch.meshgrid(axis, axis, axis, indexing="ij"), dim=-1).reshape(-1, 3)  # (R^3, 3)
    directions = torch.stack([right, up, forward], dim=1)  # (B, 3, 3)
    extent = cube_extent(forward, right, up)  # (B, 3)
    mask = occupied.reshape(batch, 1, -1)
    projected = directions @ centres.T  # (B, 3, R^3)
    half_voxel = extent / r
    low = torch.where(mask, projected, torch.inf).amin(-1) - half_voxel
    high = torch.where(mask, projected, -torch.inf).amax(-1) + half_voxel
    empty = ~mask.any(-1)  # (B, 1)
    low, high = torch.where(empty, -extent, low), torch.where(empty, extent, high)
    return torch.stack([low, high], dim=-1).reshape(batch, 6)


def cube_bounds(forward: torch.Tensor, right: torch.Tensor, up: torch.Tensor) -> torch.Tensor:
    """Camera-space box (B, 6) around the whole unit cube, as ``(x0, x1, y0, y1, d0, d1)``."""
    extent = cube_extent(forward, right, up)
    return torch.stack([-extent, extent], dim=-1).reshape(len(extent), 6)


@dataclass(frozen=True)
class OrthographicCamera:
    """One orthographic view of the whole unit cube, in a square image.

    Attributes:
        forward, right, up: FloatTensors of shape (3,), unit vectors in world coordinates.
        half_extent: half the side of the square of world units the image shows.
        size: image side in pixels.
        azimuth: degrees, as in the module docstring.
    """

    forward: torch.Tensor
    right: torch.Tensor
    up: torch.Tensor
    half_extent: float
    size: int
    azimuth: float

    @classmethod
    def framing_unit_cube(cls, azimuth: float, elevation: float, size: int) -> OrthographicCamera:
        """A ``size``-pixel view from (azimuth, elevation) degrees showing the whole unit cube."""
        forward = -_float_direction(azimuth, elevation)
        right, up = screen_axes(forward)
        corners = torch.tensor([[x, y, z] for x in (-0.5, 0.5) for y in (-0.5, 0.5) for z in (-0.5, 0.5)])
        extent = max(float((corners @ right).abs().max()), float((corners @ up).abs().max()))
        return cls(forward, right, up, extent * (1.0 + _CUBE_MARGIN), size, azimuth)

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
        return _float_direction(self.azimuth + azimuth, elevation)


def _float_direction(azimuth: float, elevation: float) -> torch.Tensor:
    """:func:`view_direction` of one (azimuth, elevation) in degrees, worked out in double
    precision and rounded to a FloatTensor of shape (3,), as the preview always has."""
    double = torch.float64
    return view_direction(torch.tensor(azimuth, dtype=double), torch.tensor(elevation, dtype=double)).float()
