"""The canonical frame: signed-axis parsing, source rotations and grid re-indexing."""

import itertools

import numpy as np
import pytest

from shapespace.errors import DataError
from shapespace.geometry.frame import frame_rotation, parse_axis, reorient_grid

SIGNED_AXES = [s + a for a in "xyz" for s in "+-"]
VALID_PAIRS = [(up, front) for up, front in itertools.product(SIGNED_AXES, SIGNED_AXES) if up[1] != front[1]]


def _marker(resolution, index):
    grid = np.zeros((resolution,) * 3, dtype=bool)
    grid[index] = True
    return grid


def test_there_are_24_valid_up_front_pairs():
    """6 choices of up times 4 perpendicular fronts: the 24 proper rotations of a cube."""
    assert len(VALID_PAIRS) == 24
    assert len({frame_rotation(up, front).tobytes() for up, front in VALID_PAIRS}) == 24


@pytest.mark.parametrize(("up", "front"), VALID_PAIRS)
def test_frame_rotation_is_a_proper_signed_permutation(up, front):
    """Every valid pair gives a signed permutation with det +1 mapping up -> +axis 2 and front -> -axis 0."""
    rotation = frame_rotation(up, front)
    assert rotation.shape == (3, 3)
    assert np.issubdtype(rotation.dtype, np.integer)
    assert sorted(np.abs(rotation).sum(axis=0).tolist()) == [1, 1, 1]
    assert sorted(np.abs(rotation).sum(axis=1).tolist()) == [1, 1, 1]
    assert round(np.linalg.det(rotation)) == 1
    assert np.array_equal(rotation @ rotation.T, np.eye(3, dtype=int))
    assert np.array_equal(rotation @ parse_axis(up), [0, 0, 1])
    assert np.array_equal(rotation @ parse_axis(front), [-1, 0, 0])


def test_canonical_frame_maps_to_identity():
    """The canonical frame itself (+z up, facing -x) needs no rotation."""
    assert np.array_equal(frame_rotation("+z", "-x"), np.eye(3, dtype=int))
    assert np.array_equal(frame_rotation("+2", "-0"), np.eye(3, dtype=int))


def test_axis_spellings_are_equivalent():
    """Array-axis digits, letters, missing '+' and case/whitespace all name the same axis."""
    assert np.array_equal(parse_axis("+x"), [1, 0, 0])
    assert np.array_equal(parse_axis("-1"), [0, -1, 0])
    assert np.array_equal(parse_axis(" Z "), [0, 0, 1])
    assert np.array_equal(parse_axis("2"), [0, 0, 1])
    assert np.array_equal(frame_rotation("z", "-y"), frame_rotation("+2", "-1"))


@pytest.mark.parametrize(("up", "front"), [("+z", "+z"), ("+z", "-z"), ("-y", "y"), ("+0", "-x")])
def test_parallel_axes_are_rejected(up, front):
    """Up and front along the same axis do not define a frame."""
    with pytest.raises(DataError, match="different axes"):
        frame_rotation(up, front)


@pytest.mark.parametrize("spec", ["", "+", "++", "z+", "+w", "+3", "up", "-xy", None, "+-z"])
def test_junk_axis_specs_are_rejected(spec):
    """Anything but a signed axis raises DataError, for up and for front."""
    with pytest.raises(DataError, match="signed axis"):
        frame_rotation(spec, "-x")
    with pytest.raises(DataError, match="signed axis"):
        frame_rotation("+z", spec)


@pytest.mark.parametrize(("up", "front"), VALID_PAIRS)
def test_reorient_then_transpose_is_identity(up, front):
    """Re-indexing with M and then with M.T gives back the original grid exactly."""
    grid = np.random.default_rng(7).random((5, 5, 5)) < 0.3
    rotation = frame_rotation(up, front)
    turned = reorient_grid(grid, rotation)
    assert turned.shape == grid.shape and turned.sum() == grid.sum()
    assert np.array_equal(reorient_grid(turned, rotation.T), grid)


@pytest.mark.parametrize(("up", "front"), VALID_PAIRS)
def test_reorient_moves_voxels_like_the_rotation_moves_points(up, front):
    """out[c] = grid[s] with c = M @ s about the grid centre, for every voxel."""
    resolution = 5
    grid = np.random.default_rng(3).random((resolution,) * 3) < 0.3
    rotation = frame_rotation(up, front)
    centre = (resolution - 1) / 2
    source = np.argwhere(grid)
    expected = np.zeros_like(grid)
    target = np.rint((source - centre) @ rotation.T + centre).astype(int)
    expected[tuple(target.T)] = True
    assert np.array_equal(reorient_grid(grid, rotation), expected)


def test_reorient_returns_a_contiguous_copy():
    """The result does not alias the input (writers and torch need contiguous arrays)."""
    grid = np.zeros((4, 4, 4), dtype=bool)
    out = reorient_grid(grid, frame_rotation("+y", "-z"))
    assert out.flags["C_CONTIGUOUS"]
    out[0, 0, 0] = True
    assert not grid.any()


def test_modelnet_convention_marker():
    """ModelNet (+z up, facing -y): source (x, y, z) -> canonical (y, R-1-x, z); +y (the back) -> +axis 0."""
    out = reorient_grid(_marker(8, (1, 6, 2)), frame_rotation("+z", "-y"))
    assert np.argwhere(out).tolist() == [[6, 8 - 1 - 1, 2]]


def test_shapenet_convention_marker():
    """ShapeNet (+y up, facing -z): source (x, y, z) -> canonical (z, x, y); +z (the back) -> +axis 0, +y -> up."""
    out = reorient_grid(_marker(8, (1, 6, 2)), frame_rotation("+y", "-z"))
    assert np.argwhere(out).tolist() == [[2, 1, 6]]


def test_ikea_array_convention_marker():
    """IKEA arrays (+axis 0 up, facing +axis 1): source (a, b, c) -> canonical (R-1-b, R-1-c, a)."""
    out = reorient_grid(_marker(8, (1, 6, 2)), frame_rotation("+0", "+1"))
    assert np.argwhere(out).tolist() == [[8 - 1 - 6, 8 - 1 - 2, 1]]


def test_ikea_convention_puts_a_chair_upright_and_facing_minus_axis_0():
    """An IKEA-frame chair (legs at low axis 0, backrest at low axis 1) ends upright, backrest at high axis 0."""
    r = 10
    chair = np.zeros((r,) * 3, dtype=bool)
    chair[0:4, 2, 2] = True  # one leg, standing on the floor at axis 0 = 0
    chair[4, 2:8, 2:8] = True  # seat
    chair[4:10, 2, 2:8] = True  # backrest at low axis 1 (the object faces +axis 1)
    out = reorient_grid(chair, frame_rotation("+0", "+1"))
    occupied = np.argwhere(out)
    assert occupied[:, 2].min() == 0 and out[:, :, 0].sum() == 1  # the leg touches the floor
    top = occupied[occupied[:, 2] == occupied[:, 2].max()]
    assert (top[:, 0] == r - 1 - 2).all()  # the backrest top is at high axis 0
