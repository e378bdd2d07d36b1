"""MATLAB .mat voxel grids: 3DShapeNets 'instance', IKEA 'grid'/'voxel', write_mat round trips, real files."""

import numpy as np
import pytest
import scipy.io
from conftest import SHARED_DATA

from shapespace.errors import DataError
from shapespace.geometry.voxelize import VoxelizeOptions, fit_grid, resample_grid
from shapespace.io.matlab import load_mat_grid, write_mat
from shapespace.io.registry import read_shape

MODELNET = SHARED_DATA / "modelnet10-chair-vox30" / "train"
IKEA = SHARED_DATA / "ikea-dev" / "Voxels"
needs_modelnet = pytest.mark.skipif(
    not (MODELNET / "chair_000000182_1.mat").is_file(), reason=f"ModelNet10 30^3 chairs not found at {MODELNET}"
)
needs_ikea = pytest.mark.skipif(not (IKEA / "80.mat").is_file(), reason=f"IKEA voxel files not found at {IKEA}")


def _chair(resolution=30, border=3):
    """A canonical chair (legs at low axis 2, backrest at high axis 0) with an empty border."""
    lo, hi = border, resolution - border
    grid = np.zeros((resolution,) * 3, dtype=np.int8)
    for i in (lo, hi - 2):
        for j in (lo, hi - 2):
            grid[i : i + 2, j : j + 2, lo : lo + 10] = 1  # legs
    grid[lo:hi, lo:hi, lo + 10 : lo + 12] = 1  # seat
    grid[hi - 3 : hi, lo:hi, lo + 12 : hi] = 1  # backrest
    return grid


def backrest_at_high_axis_0(grid):
    """The mean axis-0 index of voxels in the top quarter of the occupied height lies past the grid centre."""
    occupied = np.argwhere(grid)
    heights = occupied[:, 2]
    top = occupied[heights >= heights.max() - (heights.max() - heights.min() + 1) / 4]
    return top[:, 0].mean() > (grid.shape[0] - 1) / 2


def backrest_side(grid):
    """Where the top quarter of the shape leans: '+0', '-0', '+1' or '-1' (the largest offset from the centre)."""
    occupied = np.argwhere(grid)
    heights = occupied[:, 2]
    top = occupied[heights >= heights.max() - (heights.max() - heights.min() + 1) / 4]
    lean = top[:, :2].mean(axis=0) - (grid.shape[0] - 1) / 2
    axis = int(np.abs(lean).argmax())
    return ("+" if lean[axis] > 0 else "-") + str(axis)


def upright(grid):
    """Legs at low axis 2: the two lowest layers reach both the front and the back half along axis 0 and
    the lowest layer holds less than half as many voxels as the widest one (the seat)."""
    occupied = np.argwhere(grid)
    heights = occupied[:, 2]
    bottom = occupied[heights <= heights.min() + 1]
    centre = (grid.shape[0] - 1) / 2
    counts = np.bincount(heights)
    return bottom[:, 0].min() < centre < bottom[:, 0].max() and counts[heights.min()] < counts.max() / 2


def test_helpers_tell_a_chair_from_a_turned_or_upside_down_one():
    """The orientation checks used on real files accept the canonical chair only."""
    chair = _chair() != 0
    assert backrest_at_high_axis_0(chair) and upright(chair) and backrest_side(chair) == "+0"
    assert not backrest_at_high_axis_0(np.rot90(chair, 2, axes=(0, 1)))
    assert [backrest_side(np.rot90(chair, k, axes=(0, 1))) for k in range(4)] == ["+0", "+1", "-0", "-1"]
    assert not upright(chair[:, :, ::-1])


# -- round trips --------------------------------------------------------------------------
def test_write_mat_instance_stores_the_canonical_grid_as_int8(tmp_path):
    """Key 'instance': the grid is stored as is (canonical frame), int8 {0, 1}, and loads back exactly."""
    grid = _chair()
    grid[5, 6, 7] = 5  # any nonzero value is occupied
    path = tmp_path / "chair.mat"
    write_mat(path, grid)
    raw = scipy.io.loadmat(path)["instance"]
    assert raw.dtype == np.int8 and set(np.unique(raw).tolist()) == {0, 1}
    assert np.array_equal(raw, grid != 0)
    key, loaded = load_mat_grid(path)
    assert key == "instance" and loaded.dtype == bool and np.array_equal(loaded, grid != 0)


def test_write_mat_grid_stores_the_ikea_frame(tmp_path):
    """Key 'grid' (axis 0 up, facing +axis 1): canonical (i, j, k) is stored at (k, R-1-i, R-1-j)."""
    grid = np.zeros((6, 6, 6), dtype=bool)
    grid[1, 2, 4] = True
    path = tmp_path / "ikea.mat"
    write_mat(path, grid, key="grid")
    key, stored = load_mat_grid(path)
    assert key == "grid"
    assert np.argwhere(stored).tolist() == [[4, 6 - 1 - 1, 6 - 1 - 2]]


def test_instance_read_pads_30_cubed_by_one_voxel(tmp_path):
    """A 30^3 'instance' file reads as the grid padded to 32^3, and as its exact 2x upsampling at 64^3."""
    path = tmp_path / "chair.mat"
    write_mat(path, _chair())
    padded = np.pad(_chair() != 0, 1)
    assert np.array_equal(read_shape(path, VoxelizeOptions(resolution=32)), padded)
    doubled = padded.repeat(2, axis=0).repeat(2, axis=1).repeat(2, axis=2)
    assert np.array_equal(read_shape(path, VoxelizeOptions(resolution=64)), doubled)
    assert np.array_equal(read_shape(path, VoxelizeOptions(resolution=16)), resample_grid(padded, 16))


@pytest.mark.parametrize("key", ["grid", "voxel"])
@pytest.mark.parametrize("resolution", [16, 32])
def test_ikea_keys_round_trip_through_fit_grid(tmp_path, key, resolution):
    """'grid'/'voxel' files are re-oriented back to canonical and normalised: read == fit_grid(original)."""
    path = tmp_path / f"{key}.mat"
    write_mat(path, _chair(), key=key)
    assert np.array_equal(read_shape(path, VoxelizeOptions(resolution=resolution)), fit_grid(_chair(), resolution))


def test_ikea_key_read_of_a_normalised_grid_is_exact(tmp_path):
    """A grid already normalised like fit_grid (24 x 24 x 24 at 32^3, centred) reads back unchanged."""
    grid = np.pad(_chair(24, border=0), 4) != 0
    path = tmp_path / "chair.mat"
    write_mat(path, grid, key="grid")
    assert np.array_equal(read_shape(path), grid)


def test_write_mat_then_read_shape_at_the_same_resolution_is_identity(tmp_path):
    """A canonical 32^3 grid written as 'instance' and read at 32^3 comes back unchanged."""
    grid = np.pad(_chair(24, border=0), 4) != 0
    path = tmp_path / "chair.mat"
    write_mat(path, grid)
    assert np.array_equal(read_shape(path), grid)


def test_instance_wins_over_other_keys(tmp_path):
    """A file holding both 'grid' and 'instance' is read through 'instance'."""
    path = tmp_path / "both.mat"
    scipy.io.savemat(path, {"grid": np.zeros((4, 4, 4), np.uint8), "instance": np.ones((4, 4, 4), np.int8)})
    key, grid = load_mat_grid(path)
    assert key == "instance" and grid.all()


def test_float_values_are_thresholded_at_one_half(tmp_path):
    """Probabilities stored as floats: > 0.5 is occupied."""
    path = tmp_path / "soft.mat"
    values = np.array([0.0, 0.5, 0.51, 1.0, 0.2, 0.9, 0.49, 3.0]).reshape(2, 2, 2)
    scipy.io.savemat(path, {"instance": values})
    assert np.array_equal(load_mat_grid(path)[1], values > 0.5)


# -- errors -------------------------------------------------------------------------------
@pytest.mark.parametrize(("contents", "message"), [
    ({"volume": np.ones((4, 4, 4))}, r"no voxel variable: expected one of instance, grid, voxel, found \['volume'\]"),
    ({"instance": np.ones((4, 4, 3))}, "cubic 3-D array"),
    ({"instance": np.ones((4, 4))}, "cubic 3-D array"),
    ({"grid": np.full((3, 3, 3), np.nan)}, "NaN or infinite"),
    ({"voxel": np.array(["abc", "def"])}, "cubic 3-D array"),
])  # fmt: skip
def test_malformed_mat_files_raise_naming_the_path(tmp_path, contents, message):
    """Wrong key, wrong shape or NaN values are DataErrors that start with the path."""
    path = tmp_path / "bad.mat"
    scipy.io.savemat(path, contents)
    with pytest.raises(DataError, match=message) as info:
        read_shape(path)
    assert str(info.value).startswith(f"{path}: ")


@pytest.mark.parametrize(("grid", "key", "message"), [
    (np.ones((4, 4, 5)), "instance", "cubic grid"), (np.ones((4, 4)), "instance", "cubic grid"),
    (np.ones((4, 4, 4)), "volume", "unknown variable 'volume'"),
])  # fmt: skip
def test_write_mat_refuses_bad_input(tmp_path, grid, key, message):
    """Non-cubic grids and unknown keys are refused before anything is written."""
    path = tmp_path / "out.mat"
    with pytest.raises(DataError, match=message) as info:
        write_mat(path, grid, key=key)
    assert str(info.value).startswith(str(path))
    assert not path.exists()


# -- real files ---------------------------------------------------------------------------
@needs_modelnet
def test_real_modelnet_chair_reads_with_its_exact_voxel_count():
    """chair_000000182_1.mat: 30^3 int8 'instance'; read at 32^3 it is the raw grid padded by one (same count)."""
    path = MODELNET / "chair_000000182_1.mat"
    raw = scipy.io.loadmat(path)["instance"]
    assert raw.shape == (30, 30, 30) and raw.dtype == np.int8
    grid = read_shape(path, VoxelizeOptions(resolution=32))
    assert grid.sum() == raw.sum() == 510
    assert np.array_equal(grid, np.pad(raw != 0, 1))
    occupied = np.argwhere(grid)
    assert occupied.min() >= 4 and occupied.max() <= 27  # the 3-voxel border, plus the padding


@needs_modelnet
def test_real_modelnet_chair_is_upright_and_faces_minus_axis_0():
    """Rotation _1: legs at low axis 2, backrest at high axis 0."""
    grid = read_shape(MODELNET / "chair_000000182_1.mat")
    assert upright(grid)
    assert backrest_at_high_axis_0(grid) and backrest_side(grid) == "+0"


@needs_modelnet
@pytest.mark.parametrize(("rotation", "side"), [(4, "+1"), (7, "-0"), (10, "-1")])
def test_real_modelnet_rotations_are_turned_back_by_align(rotation, side):
    """Rotations _4, _7, _10 face -axis 1, +axis 0, +axis 1; align=True puts their backrest at high axis 0."""
    path = MODELNET / f"chair_000000182_{rotation}.mat"
    assert backrest_side(read_shape(path)) == side
    aligned = read_shape(path, VoxelizeOptions(align=True))
    assert backrest_at_high_axis_0(aligned) and backrest_side(aligned) == "+0" and upright(aligned)


@needs_ikea
def test_real_ikea_urban_chair_faces_minus_axis_0_after_align():
    """IKEA 80 (URBAN chair) faces +axis 2 in the file: the default frame leaves it facing -axis 1, align fixes it."""
    path = IKEA / "80.mat"
    raw = scipy.io.loadmat(path)["grid"]
    assert raw.shape == (20, 20, 20) and raw.dtype == np.uint8
    plain = read_shape(path)
    assert backrest_side(plain) == "+1"
    aligned = read_shape(path, VoxelizeOptions(align=True))
    assert backrest_at_high_axis_0(aligned) and backrest_side(aligned) == "+0" and upright(aligned)
    assert np.array_equal(aligned, np.rot90(plain, 3, axes=(0, 1)))


@needs_ikea
def test_real_ikea_poang_chair_faces_minus_axis_0_by_default():
    """IKEA 68 (POANG) faces +axis 1 in the file, the format default: upright, backrest at high axis 0."""
    grid = read_shape(IKEA / "68.mat")
    assert upright(grid) and backrest_at_high_axis_0(grid) and backrest_side(grid) == "+0"
    assert np.array_equal(read_shape(IKEA / "68.mat", VoxelizeOptions(align=True)), grid)


@needs_ikea
def test_real_ikea_grids_fill_the_longest_side_to_24_of_32():
    """IKEA models span the whole 20^3 grid on their longest side; read at 32^3 they span 24 voxels, centred."""
    grid = read_shape(IKEA / "68.mat")
    occupied = np.argwhere(grid)
    spans = occupied.max(axis=0) - occupied.min(axis=0) + 1
    assert spans.max() == 24
    longest = int(spans.argmax())
    assert occupied[:, longest].min() == 4 and occupied[:, longest].max() == 27
