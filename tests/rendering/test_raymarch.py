"""Ray marching helpers: trilinear sampling, atlases, occupied boxes, clipping and surface crossings."""

import math

import pytest
import torch
import torch.nn.functional as F

from shapespace.rendering.camera import cube_bounds, screen_axes
from shapespace.rendering.raymarch import (
    ATLAS_PAD,
    VoxelAtlas,
    clip_to_boxes,
    march_ray_box,
    march_to_surface,
    occupied_boxes,
    sample_trilinear,
)

R = 8


def _centres(resolution: int) -> torch.Tensor:
    """World coordinates (R, R, R, 3) of the voxel centres, :mod:`shapespace.geometry.frame`."""
    axis = (torch.arange(resolution, dtype=torch.float32) + 0.5) / resolution - 0.5
    return torch.stack(torch.meshgrid(axis, axis, axis, indexing="ij"), dim=-1)


def _block() -> torch.Tensor:
    """(1, R, R, R): solid voxels 2..5 along every axis."""
    volume = torch.zeros(1, R, R, R)
    volume[0, 2:6, 2:6, 2:6] = 1.0
    return volume


def test_trilinear_sampling_is_exact_at_voxel_centres_and_zero_outside():
    volumes = torch.rand(2, 1, R, R, R, generator=torch.Generator().manual_seed(0))
    values = sample_trilinear(volumes, _centres(R).expand(2, R, R, R, 3))
    assert values.shape == (2, R, R, R)
    assert torch.equal(values, volumes[:, 0])
    outside = torch.tensor([[[0.6, 0.0, 0.0], [0.0, -0.6, 0.0]]]).expand(2, 2, 3)
    assert torch.equal(sample_trilinear(volumes, outside), torch.zeros(2, 2))
    # Half way between two centres along axis 0: the mean of the two voxels.
    between = torch.tensor([[[0.0, 0.5 / R - 0.5, 0.5 / R - 0.5]]])
    two = torch.zeros(1, 1, R, R, R)
    two[0, 0, R // 2, 0, 0] = 1.0
    assert torch.equal(sample_trilinear(two, between), torch.tensor([[0.5]]))


def test_atlas_reads_each_shape_at_its_voxel_centres():
    volumes = torch.rand(3, R, R, R, generator=torch.Generator().manual_seed(1))
    atlas = VoxelAtlas(F.pad(volumes, (ATLAS_PAD,) * 6), R)
    points = _centres(R).reshape(1, -1, 3).expand(3, -1, -1)  # (3, R^3, 3)
    values = atlas.sample(torch.arange(3), points)
    # Exact up to the rounding of the normalised grid_sample coordinates (2 / (P - 1) per voxel).
    assert torch.allclose(values, volumes.reshape(3, -1), rtol=0.0, atol=1e-5)
    # Points beyond the grid are clamped to the empty border of their own block.
    far = torch.tensor([[[2.0, 0.0, 0.0], [0.0, 0.0, -2.0]]]).expand(3, 2, 3)
    assert torch.equal(atlas.sample(torch.arange(3), far), torch.zeros(3, 2))


def test_occupied_boxes_grow_the_solid_voxels_by_one():
    solid = torch.zeros(2, R, R, R, dtype=torch.bool)
    solid[0, 3, 2:5, 7] = True
    lo, hi = occupied_boxes(solid)
    # Centres of voxels (first - 1) and (last + 1): (i - 0.5) / R - 0.5 and (i + 1.5) / R - 0.5.
    assert torch.equal(lo[0], torch.tensor([2.5, 1.5, 6.5]) / R - 0.5)
    assert torch.equal(hi[0], torch.tensor([4.5, 5.5, 8.5]) / R - 0.5)
    assert torch.equal(lo[1], torch.full((3,), math.inf)) and torch.equal(hi[1], torch.full((3,), -math.inf))


def test_clipping_rays_to_boxes():
    forward = torch.tensor([1.0, 0.0, 0.0])
    origins = torch.tensor([[-2.0, 0.0, 0.0], [-2.0, 1.0, 0.0], [-2.0, 0.0, 0.0]])
    lo = torch.tensor([[-0.25] * 3, [-0.25] * 3, [math.inf] * 3])
    hi = torch.tensor([[0.25] * 3, [0.25] * 3, [-math.inf] * 3])
    t_near, t_far = clip_to_boxes(origins, forward, lo, hi)
    assert (float(t_near[0]), float(t_far[0])) == (1.75, 2.25)
    assert float(t_near[1]) >= float(t_far[1])  # passes beside the box
    assert (float(t_near[2]), float(t_far[2])) == (math.inf, -math.inf)  # an empty shape's box


def test_march_to_surface_finds_the_face_of_a_block():
    # Along +x through the block's middle, the field rises linearly from 0 at the centre of
    # voxel 1 to 1 at the centre of voxel 2; the 0.5 crossing is the face x = 2 / R - 0.5.
    volume = _block()
    atlas = VoxelAtlas(F.pad(volume, (ATLAS_PAD,) * 6), R)
    lo, hi = occupied_boxes(volume > 0.5)
    forward = torch.tensor([1.0, 0.0, 0.0])
    origins = torch.tensor([[-2.0, 0.0, 0.0], [-2.0, 0.45, 0.0]])  # the second ray misses the block
    shape_index = torch.zeros(2, dtype=torch.long)
    t_near, t_far = clip_to_boxes(origins, forward, lo[shape_index], hi[shape_index])
    found, t = march_to_surface(atlas, shape_index, origins, forward, t_near, t_far, 0.5, 0.5 / R)
    assert found.tolist() == [True, False]
    assert float(t[0]) == pytest.approx(2.0 + 2.0 / R - 0.5, abs=1e-6)


def test_march_ray_box_gives_the_front_silhouette_and_face_of_a_block():
    volumes = _block()[:, None]  # (1, 1, R, R, R)
    size = 2 * R
    forward = torch.tensor([[1.0, 0.0, 0.0]])
    right, up = screen_axes(forward)
    window = cube_bounds(forward, right, up).unbind(-1)  # the whole cube, undistorted
    samples = 4 * R
    hit, surface = march_ray_box(volumes, forward, right, up, window, samples, size, 0.5)
    assert hit.shape == (1, size, size) and surface.shape == (1, size, size, 3)
    # The 0.5 iso-surface of voxels 2..5 spans [2 / R, 6 / R] - 0.5: pixels 4..11 of 16 on both axes.
    expected = torch.zeros(size, size, dtype=torch.bool)
    expected[4:12, 4:12] = True
    assert torch.equal(hit[0], expected)
    # Inside the outline (pixels 5..10, whose rays see a full face) the field rises linearly
    # between the samples around the crossing, so the front face x = 2 / R - 0.5 is found exactly.
    face = surface[0, 5:11, 5:11, 0]
    assert torch.allclose(face, torch.full((6, 6), 2.0 / R - 0.5), rtol=0.0, atol=1e-6)
    # Near the outline the field is lower, so the crossing lies deeper, still within the block.
    rim = surface[0][expected][:, 0]
    assert bool(((rim >= 2.0 / R - 0.5 - 1e-6) & (rim <= 6.0 / R - 0.5)).all())
