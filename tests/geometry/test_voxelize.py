"""Voxelising points and meshes, rescaling grids and turning shapes to face -axis 0, with exact counts."""

import itertools
import math

import numpy as np
import pytest
import trimesh

from shapespace.errors import DataError
from shapespace.geometry.voxelize import (
    MAX_RESOLUTION,
    VoxelizeOptions,
    align_facing,
    check_points,
    facing_turns,
    finish_shell,
    fit_grid,
    mesh_to_voxels,
    normalizing_transform,
    points_to_voxels,
    resample_grid,
)


def _block(resolution, low, high):
    grid = np.zeros((resolution,) * 3, dtype=bool)
    grid[low[0] : high[0], low[1] : high[1], low[2] : high[2]] = True
    return grid


def _shell(size):
    """A hollow cube: the 6 faces of a size^3 block, one voxel thick."""
    grid = np.ones((size,) * 3, dtype=bool)
    grid[1:-1, 1:-1, 1:-1] = False
    return grid


def _chair(resolution=16):
    """A canonical chair: 4 legs, a seat and a backrest at high axis 0 (it faces -axis 0)."""
    grid = np.zeros((resolution,) * 3, dtype=bool)
    for i, j in itertools.product((3, 12), (3, 12)):
        grid[i, j, 0:5] = True  # legs
    grid[3:13, 3:13, 5:7] = True  # seat
    grid[11:13, 3:13, 7:15] = True  # backrest
    return grid


# -- options and point checks ------------------------------------------------------------
@pytest.mark.parametrize(("kwargs", "message"), [
    ({"resolution": 1}, "resolution"), ({"resolution": MAX_RESOLUTION + 1}, "resolution"),
    ({"resolution": 16.5}, "resolution"), ({"fill": 0}, "fill"), ({"fill": 1.01}, "fill"),
    ({"fill": math.nan}, "fill"), ({"close": -1}, "close"), ({"close": 1.5}, "close"),
    ({"up": "+z"}, "both up and front"), ({"front": "-y"}, "both up and front"),
    ({"up": "+z", "front": "+z"}, "different axes"), ({"up": "+q", "front": "-y"}, "signed axis"),
])  # fmt: skip
def test_voxelize_options_are_validated(kwargs, message):
    """Bad resolution, fill, close or orientation is refused when the options are built."""
    with pytest.raises(DataError, match=message):
        VoxelizeOptions(**kwargs)


def test_voxelize_options_rotation_replace_and_dict():
    """rotation() uses the format default unless up/front are given; replace/to_dict round trip."""
    options = VoxelizeOptions(resolution=16)
    assert np.array_equal(options.rotation("+z", "-x"), np.eye(3, dtype=int))
    turned = options.replace(up="+y", front="-z")
    assert np.array_equal(turned.rotation("+z", "-x"), [[0, 0, 1], [1, 0, 0], [0, 1, 0]])
    assert VoxelizeOptions(**turned.to_dict()) == turned
    assert turned.to_dict()["resolution"] == 16


def test_check_points_returns_float64_points_unchanged():
    """Integer or float32 (N, 3) points come back as the same values in float64."""
    points = np.arange(12, dtype=np.int16).reshape(4, 3)
    checked = check_points(points)
    assert checked.dtype == np.float64 and np.array_equal(checked, points)
    single = np.array([[0.5, -1.25, 3.0]], dtype=np.float32)
    assert np.array_equal(check_points(single), single.astype(np.float64))


@pytest.mark.parametrize(("points", "message"), [
    (np.zeros((4, 2)), r"expected points of shape \(N, 3\), got \(4, 2\)"),
    (np.zeros(3), r"expected points of shape \(N, 3\), got \(3,\)"),
    (np.zeros((0, 3)), "the point cloud has no points"),
    (np.array([[0.0, 0.0, np.nan], [1.0, 1.0, 1.0], [np.inf, 0.0, -np.inf]]), "2 of 3 points have NaN or infinite coordinates"),
])  # fmt: skip
def test_check_points_refuses_malformed_points(points, message):
    """Wrong shapes, no points and non-finite coordinates are DataErrors saying which."""
    with pytest.raises(DataError, match=message):
        check_points(points)


# -- normalisation and points -------------------------------------------------------------
def test_normalizing_transform_centres_and_scales_the_longest_side():
    """Box [0,2]x[0,1]x[0,1] at R=16, fill 0.5: scale 4, mapped onto [4,12]x[6,10]x[6,10]."""
    points = np.array([[0, 0, 0], [2, 1, 1]], dtype=float)
    offset, scale = normalizing_transform(points, 16, fill=0.5)
    assert scale == 4.0
    assert np.array_equal(points * scale + offset, [[4, 6, 6], [12, 10, 10]])


def test_box_corners_with_full_fill_give_the_8_corner_voxels():
    """The 8 corners of a 2x1x1 box at R=16, fill 1: axis 0 spans the grid, axes 1, 2 span voxels 4..11."""
    corners = np.array(list(itertools.product((0.0, 2.0), (0.0, 1.0), (0.0, 1.0)))) + [5.0, -3.0, 7.0]
    grid = points_to_voxels(corners, 16, fill=1.0)
    expected = sorted(itertools.product((0, 15), (4, 11), (4, 11)))
    assert [tuple(v) for v in np.argwhere(grid).tolist()] == expected


def test_points_are_centred_and_keep_their_aspect_ratio():
    """A 4x2x1 point box at R=32, default fill 0.75: occupied bounds are 24 x 12 x 6 voxels, centred."""
    rng = np.random.default_rng(0)
    extent = np.array([4.0, 2.0, 1.0])
    points = np.vstack([[0, 0, 0], extent, rng.random((500, 3)) * extent]) + [100.0, -50.0, 3.0]
    grid = points_to_voxels(points, 32)
    occupied = np.argwhere(grid)
    assert occupied.min(axis=0).tolist() == [4, 10, 13]
    assert occupied.max(axis=0).tolist() == [27, 21, 18]


def test_points_voxelisation_is_translation_and_scale_invariant():
    """Moving and uniformly scaling the points does not change the grid."""
    points = np.random.default_rng(1).normal(size=(300, 3))
    assert np.array_equal(points_to_voxels(points, 16), points_to_voxels(points * 8.0 + 3.0, 16))


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_points_raise(bad):
    """A NaN or infinite coordinate is a DataError that counts the bad points."""
    points = np.random.default_rng(2).random((10, 3))
    points[3, 1] = bad
    with pytest.raises(DataError, match="1 of 10 points"):
        points_to_voxels(points, 16)


def test_coincident_points_raise():
    """Points without extent cannot be normalised."""
    with pytest.raises(DataError, match="coincide"):
        points_to_voxels(np.ones((5, 3)), 16)


@pytest.mark.parametrize("points", [np.zeros((0, 3)), np.zeros((4, 2)), np.zeros(3)])
def test_malformed_point_arrays_raise(points):
    """Only non-empty (N, 3) arrays are point sets."""
    with pytest.raises(DataError, match=r"shape \(N, 3\)"):
        points_to_voxels(points, 16)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"resolution": 1}, "resolution"), ({"resolution": 2.5}, "resolution"), ({"fill": 0.0}, "fill"),
    ({"fill": 1.5}, "fill"), ({"close": -1}, "close"), ({"close": 0.5}, "close"),
])  # fmt: skip
def test_bad_parameters_raise(kwargs, message):
    """Resolution < 2 or fractional, fill outside (0, 1] and negative/fractional close are DataErrors."""
    args = {"resolution": 8, **kwargs}
    with pytest.raises(DataError, match=message):
        points_to_voxels(np.eye(3), **args)


def test_hollow_point_shell_is_kept_hollow_or_filled():
    """Points on an 8^3 cube's faces: 296 shell voxels; solid=True fills the cube to 512."""
    points = np.argwhere(_shell(8)).astype(float)
    assert points_to_voxels(points, 8, fill=1.0).sum() == 8**3 - 6**3 == 296
    assert np.array_equal(points_to_voxels(points, 8, fill=1.0), _shell(8))
    assert np.array_equal(points_to_voxels(points, 8, fill=1.0, solid=True), np.ones((8,) * 3, dtype=bool))


def test_finish_shell_fills_a_closed_shell_and_not_an_open_one():
    """binary_fill_holes fills a closed voxel shell; a one-voxel hole lets the inside leak out."""
    shell = np.pad(_shell(6), 2)
    assert finish_shell(shell, solid=True).sum() == 6**3
    leaky = shell.copy()
    leaky[2, 4, 4] = False
    assert np.array_equal(finish_shell(leaky, solid=True), leaky)


def test_closing_keeps_a_box_and_does_not_grow_it():
    """Closing a solid box (padded, so the border acts as empty) gives back the box exactly."""
    box = _block(12, (0, 3, 2), (12, 7, 10))  # touches two faces of the grid
    assert np.array_equal(finish_shell(box, close=2), box)


def test_closing_bridges_a_gap_between_two_slabs():
    """Two 8x8 slabs one empty layer apart: closing fills (at least) the inner 6x6 of the gap and nothing else."""
    grid = _block(12, (2, 2, 2), (10, 10, 5)) | _block(12, (2, 2, 6), (10, 10, 9))
    closed = finish_shell(grid, close=1)
    assert closed[3:9, 3:9, 5].all()
    assert np.array_equal(closed | _block(12, (2, 2, 5), (10, 10, 6)), _block(12, (2, 2, 2), (10, 10, 9)))


def test_closing_bridges_a_one_voxel_hole_in_a_thin_wall():
    """A cube shell with one missing face voxel becomes a full cube with close=1 and solid=True."""
    leaky = np.pad(_shell(8), 2)
    leaky[2, 5, 5] = False
    assert finish_shell(leaky, close=1, solid=True).sum() == 8**3


# -- meshes -----------------------------------------------------------------------------
@pytest.mark.parametrize(("resolution", "fill", "low", "high"), [(16, 1.0, (0, 4, 4), (16, 12, 12)), (32, 0.75, (4, 10, 10), (28, 22, 22))])
def test_solid_box_mesh_fills_exactly_its_block(resolution, fill, low, high):
    """A 2x1x1 box fills a centred block: 16x8x8 = 1024 voxels at R=16/fill 1, 24x12x12 = 3456 at R=32/fill 0.75."""
    box = trimesh.creation.box(extents=(2.0, 1.0, 1.0))
    grid = mesh_to_voxels(box.vertices, box.faces, resolution, fill, solid=True)
    assert grid.dtype == bool and grid.shape == (resolution,) * 3
    assert np.array_equal(grid, _block(resolution, low, high))
    assert grid.sum() == {16: 1024, 32: 3456}[resolution]


@pytest.mark.parametrize(("resolution", "fill", "low", "high"), [(16, 1.0, (0, 4, 4), (16, 12, 12)), (32, 0.75, (4, 10, 10), (28, 22, 22))])
def test_surface_box_mesh_marks_only_the_boundary_voxels(resolution, fill, low, high):
    """Surface-only: the block minus its interior, 1024 - 14*6*6 = 520 and 3456 - 22*10*10 = 1256 voxels."""
    box = trimesh.creation.box(extents=(2.0, 1.0, 1.0))
    grid = mesh_to_voxels(box.vertices, box.faces, resolution, fill, solid=False)
    block = _block(resolution, low, high)
    interior = _block(resolution, np.add(low, 1), np.subtract(high, 1))
    assert np.array_equal(grid, block & ~interior)
    assert grid.sum() == {16: 520, 32: 1256}[resolution]


def test_rotated_box_mesh_keeps_volume_close_to_exact():
    """A box turned 45 degrees about z: the solid grid is one connected, filled shape near the exact volume."""
    box = trimesh.creation.box(extents=(1.0, 1.0, 1.0))
    box.apply_transform(trimesh.transformations.rotation_matrix(np.pi / 4, [0, 0, 1]))
    grid = mesh_to_voxels(box.vertices, box.faces, 32, 0.75, solid=True)
    # Longest side is the diagonal sqrt(2) -> 24 voxels, so the square is 24/sqrt(2) ~ 17 voxels wide
    # and the height is 17 too: volume 17^3 ~ 4887 plus at most a voxel-thick surface layer.
    side = 24 / np.sqrt(2)
    assert side**3 < grid.sum() < (side + 2) ** 3
    assert np.array_equal(finish_shell(grid, solid=True), grid)


def test_unused_vertices_do_not_change_the_grid():
    """A vertex no face references (common in OBJ/OFF files) must not add voxels."""
    box = trimesh.creation.box(extents=(2.0, 1.0, 1.0))
    vertices = np.vstack([box.vertices, [[100.0, 100.0, 100.0]]])
    grid = mesh_to_voxels(vertices, box.faces, 16, 1.0)
    assert np.array_equal(grid, _block(16, (0, 4, 4), (16, 12, 12)))


def test_stacked_boxes_fill_exactly_their_blocks():
    """A 16x16x4-voxel slab with a 4x4x12 post on it (all faces on voxel boundaries): 1024 + 192 voxels."""
    slab = trimesh.creation.box(bounds=[[0, 0, 0], [2, 2, 0.5]])
    post = trimesh.creation.box(bounds=[[0, 0, 0.5], [0.5, 0.5, 2]])
    mesh = trimesh.util.concatenate([slab, post])
    grid = mesh_to_voxels(mesh.vertices, mesh.faces, 16, 1.0)
    assert np.array_equal(grid, _block(16, (0, 0, 0), (16, 16, 4)) | _block(16, (0, 0, 4), (4, 4, 16)))


@pytest.mark.parametrize(("vertices", "faces", "message"), [
    (np.eye(3), np.zeros((0, 3), dtype=int), "no triangles"),
    (np.eye(3), np.array([0, 1, 2]), "no triangles"),
    (np.eye(3), np.array([[0, 1, 2, 0]]), "no triangles"),
    (np.eye(3), np.array([[0, 1, 3]]), r"face indices must lie in \[0, 3\)"),
    (np.eye(3), np.array([[-1, 1, 2]]), r"face indices must lie in \[0, 3\)"),
    (np.array([[0.0, 0, 0], [1, 0, 0], [2, 0, 0]]), np.array([[0, 1, 2]]), "zero area"),
    (np.ones((3, 3)), np.array([[0, 1, 2]]), "coincide"),
    (np.array([[0.0, 0, 0], [1, 0, 0], [np.nan, 0, 1]]), np.array([[0, 1, 2]]), "NaN"),
])  # fmt: skip
def test_degenerate_meshes_raise(vertices, faces, message):
    """No faces, out-of-range indices, zero area, coincident or NaN vertices are DataErrors."""
    with pytest.raises(DataError, match=message):
        mesh_to_voxels(vertices, faces, 16)


# -- fit_grid and resample_grid -----------------------------------------------------------
def test_fit_grid_scales_a_small_block_to_the_requested_fill():
    """A 2x2x2 block anywhere fills the whole 4^3 grid at fill 1 and a centred 4^3 block at R=8, fill 0.5."""
    grid = _block(10, (6, 1, 3), (8, 3, 5))
    assert np.array_equal(fit_grid(grid, 4, fill=1.0), np.ones((4,) * 3, dtype=bool))
    assert np.array_equal(fit_grid(grid, 8, fill=0.5), _block(8, (2, 2, 2), (6, 6, 6)))


def test_fit_grid_keeps_aspect_ratio_of_non_cubic_input():
    """A full (3, 5, 7) array at R=14, fill 1: scale 2 -> a (6, 10, 14) block centred in the grid."""
    out = fit_grid(np.ones((3, 5, 7)), 14, fill=1.0)
    assert np.array_equal(out, _block(14, (4, 2, 0), (10, 12, 14)))
    assert out.sum() == 6 * 10 * 14


def test_fit_grid_of_a_normalised_grid_is_the_identity():
    """A grid already cropped-and-centred as fit_grid makes it (24 x 12 x 24 at R=32) comes back unchanged."""
    grid = _block(32, (4, 10, 4), (28, 22, 28))
    grid[10:20, 12:14, 6:9] = False  # some structure inside
    assert np.array_equal(fit_grid(grid, 32), grid)


def test_fit_grid_of_an_empty_grid_raises():
    """Nothing to normalise."""
    with pytest.raises(DataError, match="empty"):
        fit_grid(np.zeros((4, 4, 4)), 8)


def test_resample_grid_upsamples_a_block_by_two():
    """A 2x2x2 block in a 4^3 grid becomes a 4x4x4 block in an 8^3 grid."""
    out = resample_grid(_block(4, (1, 1, 1), (3, 3, 3)), 8)
    assert np.array_equal(out, _block(8, (2, 2, 2), (6, 6, 6)))


def test_resample_grid_upsamples_by_three():
    """One corner voxel of a 2^3 grid becomes a 3^3 corner block of a 6^3 grid."""
    out = resample_grid(_block(2, (0, 0, 0), (1, 1, 1)), 6)
    assert np.array_equal(out, _block(6, (0, 0, 0), (3, 3, 3)))


def test_resample_grid_downsamples_a_block_by_two():
    """A 2x2x2 block at voxels 3..4 of an 8^3 grid maps to voxels 1..2 of a 4^3 grid."""
    out = resample_grid(_block(8, (3, 3, 3), (5, 5, 5)), 4)
    assert np.array_equal(out, _block(4, (1, 1, 1), (3, 3, 3)))


@pytest.mark.parametrize("layer", [10, 11])
def test_one_voxel_plate_survives_downsampling(layer):
    """A 1-voxel-thick 64x64 plate at 64^3 stays a 1-voxel-thick 32x32 plate (layer // 2) at 32^3."""
    plate = np.zeros((64,) * 3, dtype=bool)
    plate[:, :, layer] = True
    out = resample_grid(plate, 32)
    expected = np.zeros((32,) * 3, dtype=bool)
    expected[:, :, layer // 2] = True
    assert np.array_equal(out, expected) and out.sum() == 1024


def test_thin_leg_survives_fit_grid_downsampling():
    """A one-voxel leg under a 60-voxel-wide top is kept when fit_grid shrinks the shape to 32^3."""
    table = np.zeros((64,) * 3, dtype=bool)
    table[2:62, 2:62, 40:42] = True
    table[30, 30, 2:40] = True
    out = fit_grid(table, 32)
    # Scale 24/60 = 0.4: the top lands on layer 23, the leg (x = y = 30) on column (15, 15), layers 8..23.
    assert np.argwhere(out)[:, 2].max() == 23
    legs = out[:, :, :23]
    assert legs.sum() == 15 and {tuple(v) for v in np.argwhere(legs)[:, :2].tolist()} == {(15, 15)}


def test_resample_grid_to_the_same_size_is_the_identity():
    """Same resolution: an exact copy as bool."""
    grid = (np.random.default_rng(4).random((6, 6, 6)) < 0.5).astype(np.uint8)
    out = resample_grid(grid, 6)
    assert out.dtype == bool and np.array_equal(out, grid.astype(bool))


# -- facing -------------------------------------------------------------------------------
@pytest.mark.parametrize("turn", [0, 1, 2, 3])
def test_facing_turns_undoes_a_turned_chair(turn):
    """A chair turned by `turn` quarter turns needs (4 - turn) % 4 more; align_facing restores it exactly."""
    chair = _chair()
    turned = np.rot90(chair, turn, axes=(0, 1))
    assert facing_turns(turned) == (4 - turn) % 4
    assert np.array_equal(align_facing(turned), chair)


@pytest.mark.parametrize(("backrest", "k"), [("+0", 0), ("-1", 1), ("-0", 2), ("+1", 3)])
def test_facing_turns_per_backrest_side(backrest, k):
    """The backrest at +axis 0 / -axis 1 / -axis 0 / +axis 1 needs 0 / 1 / 2 / 3 quarter turns."""
    chair = np.zeros((16,) * 3, dtype=bool)
    chair[3:13, 3:13, 5:7] = True
    sides = {"+0": np.s_[11:13, 3:13], "-0": np.s_[3:5, 3:13], "+1": np.s_[3:13, 11:13], "-1": np.s_[3:13, 3:5]}
    chair[sides[backrest] + (np.s_[7:15],)] = True
    assert facing_turns(chair) == k
    aligned = align_facing(chair)
    top = np.argwhere(aligned[:, :, 10])
    assert top[:, 0].min() == 11 and top[:, 0].max() == 12  # backrest at high axis 0


def test_symmetric_or_empty_shapes_are_not_turned():
    """A table (no lean) and an empty grid give 0 turns; a flat slab too (no upper half)."""
    table = np.zeros((16,) * 3, dtype=bool)
    table[2:14, 2:14, 10:12] = True
    for i, j in itertools.product((2, 13), (2, 13)):
        table[i, j, 0:10] = True
    assert facing_turns(table) == 0
    assert facing_turns(np.zeros((8,) * 3)) == 0
    assert facing_turns(_block(8, (1, 1, 3), (7, 7, 4))) == 0


def test_grids_larger_than_the_memory_cap_are_refused_with_the_reason():
    """256 is the cap: a dense 256^3 grid of floats is 64 MiB per shape."""
    from shapespace.geometry.voxelize import MAX_GRID_RESOLUTION, VoxelizeOptions, check_grid_resolution

    assert MAX_GRID_RESOLUTION == 256
    assert check_grid_resolution(256) == 256 and VoxelizeOptions(resolution=256).resolution == 256
    reason = "each shape is a dense R^3 grid in memory (256^3 floats = 64 MiB per shape)"
    with pytest.raises(DataError) as info:
        VoxelizeOptions(resolution=1000)
    assert info.value.message == f"`resolution` must be at most 256, got 1000: {reason}"
    with pytest.raises(DataError, match="must be at most 256, got 257"):
        points_to_voxels(np.eye(3), 257)
    with pytest.raises(DataError, match="^res must be an integer >= 8, got 4$"):
        check_grid_resolution(4, minimum=8, parameter="res")
