"""binvox: run-length decoding, the ShapeNet frame (y up, facing -z), write/read round trips, real files."""

import numpy as np
import pytest
from conftest import SHARED_DATA
from test_matlab import backrest_at_high_axis_0, backrest_side, upright

from shapespace.errors import DataError
from shapespace.geometry.voxelize import VoxelizeOptions, fit_grid
from shapespace.io.binvox import decode_binvox, encode_binvox, read_binvox_file, write_binvox
from shapespace.io.registry import read_shape

SHAPENET = SHARED_DATA / "shapenet-chair-binvox64"
# README section 4: occupied voxels per file.
REAL_COUNTS = {
    "18e5d3054fba58bf6e30a0dcfb43d654": 4794,
    "1a6f615e8b1b5ae4dbbc9440457e303e": 7262,
    "1ace72a88565df8e56bd8571ad86331a": 35501,
    "1b8e84935fdc3ec82be289de70e8db31": 3680,
    "2a9cac5daa8e99cbd9b53420a5458c53": 11004,
}
RING_SEAT = "2a9cac5daa8e99cbd9b53420a5458c53"  # no clear front (README)
needs_shapenet = pytest.mark.skipif(
    not all((SHAPENET / i / "models" / f"{i}.binvox").is_file() for i in REAL_COUNTS),
    reason=f"ShapeNet binvox chairs not found at {SHAPENET}",
)


def _header(dim="2 2 2", extra=b""):
    return b"#binvox 1\ndim " + dim.encode() + b"\ntranslate 0 0 0\nscale 1\n" + extra + b"data\n"


def _normalised_chair():
    """A canonical chair already normalised like fit_grid at 32^3: 24 x 24 x 24, centred, backrest at high axis 0."""
    grid = np.zeros((32,) * 3, dtype=bool)
    for i in (4, 26):
        for j in (4, 26):
            grid[i : i + 2, j : j + 2, 4:14] = True  # legs
    grid[4:28, 4:28, 14:16] = True  # seat
    grid[25:28, 4:28, 16:28] = True  # backrest
    return grid


# -- encoding -----------------------------------------------------------------------------
def test_encode_decode_round_trip_is_exact():
    """A random grid, its translate and its scale survive encode -> decode exactly."""
    voxels = np.random.default_rng(0).random((9, 9, 9)) < 0.4
    decoded = decode_binvox(encode_binvox(voxels, np.array([0.25, -1.5, 3.0]), 0.75))
    assert decoded.voxels.dtype == bool and np.array_equal(decoded.voxels, voxels)
    assert decoded.translate.tolist() == [0.25, -1.5, 3.0] and decoded.scale == 0.75


def test_runs_are_filled_in_file_order():
    """Runs fill a C-order array: voxel (1, 2, 3) of a 4^3 grid is byte run 27 zeros, 1 one, 36 zeros."""
    voxels = np.zeros((4, 4, 4), dtype=bool)
    voxels[1, 2, 3] = True
    data = encode_binvox(voxels)
    assert data.endswith(b"data\n" + bytes([0, 27, 1, 1, 0, 36]))
    assert np.array_equal(decode_binvox(_header("4 4 4") + bytes([0, 27, 1, 1, 0, 36])).voxels, voxels)


def test_long_runs_are_split_at_255():
    """A run longer than 255 voxels takes several (value, count) pairs: 8^3 = 512 = 255 + 255 + 2."""
    data = encode_binvox(np.ones((8, 8, 8), dtype=bool))
    assert data.endswith(b"data\n" + bytes([1, 255, 1, 255, 1, 2]))
    assert decode_binvox(data).voxels.all()


@pytest.mark.parametrize(("data", "message"), [
    (b"#not a voxel file\n", "not a binvox file"),
    (b"#binvox 1\ndim 2 2 2\n", "not a binvox file"),  # no data line
    (b"#binvox 1\ntranslate 0 0 0\ndata\n\x00\x08", "not a binvox file"),  # no dim
    (_header() + bytes([0, 8, 1]), "odd number of bytes"),
    (_header() + bytes([0, 7]), "decodes to 7 voxels, expected 8: the file is truncated"),
    (_header() + bytes([0, 8, 1, 1]), "decodes to 9 voxels, expected 8: the file is too long"),
    (_header() + bytes([2, 8]), "run values must be 0 or 1, found 2"),
    (_header("2 2 3") + bytes([0, 12]), "three equal sizes"),
    (_header("2 2") + bytes([0, 4]), "three equal sizes"),
    (_header("0 0 0"), "three equal sizes"),
    (_header("2000 2000 2000") + bytes([0, 8]), "three equal sizes"),
    (b"#binvox 1\ndim 2 2 2\ntranslate 0 nan 0\ndata\n\x00\x08", "not finite"),
    (b"#binvox 1\ndim 2 2 2\nscale -1\ndata\n\x00\x08", "not finite, positive"),
    (b"#binvox 1\ndim 2 2 2\nscale\ndata\n\x00\x08", "not a binvox file"),
])  # fmt: skip
def test_corrupt_binvox_raises(data, message):
    """Bad headers, odd or miscounted runs, values other than 0/1, bad dims and bad translate/scale."""
    with pytest.raises(DataError, match=message):
        decode_binvox(data)


@pytest.mark.parametrize("data", [
    b"#binvox 1\ndim 99999999999999999999 2 2\ndata\n",
    b"#binvox 1\ndim 2 2 2\xff\ntranslate 0 0 0\nscale 1\ndata\n\x00\x08",
], ids=["huge-dim", "non-utf8-header"])  # fmt: skip
def test_decode_binvox_raises_only_data_errors(data):
    """Malformed headers are DataErrors from decode_binvox itself, not only once read_shape wraps them."""
    with pytest.raises(DataError):
        decode_binvox(data)


# -- files --------------------------------------------------------------------------------
def test_write_binvox_stores_shapenet_axes(tmp_path):
    """Canonical (i, j, k) is stored at file index (x, z, y) = (j, i, k): back (+i) -> +z, up (+k) -> +y."""
    grid = np.zeros((6, 6, 6), dtype=bool)
    grid[1, 2, 4] = True
    path = tmp_path / "marker.binvox"
    write_binvox(path, grid)
    stored = read_binvox_file(path)
    assert np.argwhere(stored.voxels).tolist() == [[2, 1, 4]]
    flat = int(np.flatnonzero(stored.voxels.reshape(-1))[0])
    x, z, y = 2, 1, 4
    assert flat == x * 36 + z * 6 + y  # README: index = x*D*D + z*D + y
    assert stored.translate.tolist() == [-0.5, -0.5, -0.5] and stored.scale == 1.0


def test_write_binvox_file_is_the_canonical_grid_with_axes_0_and_1_swapped(tmp_path):
    """For any grid: file voxels == grid.transpose(1, 0, 2); translate and scale are written as given."""
    grid = np.random.default_rng(1).random((7, 7, 7)) < 0.3
    path = tmp_path / "random.binvox"
    write_binvox(path, grid, translate=(1.0, 2.0, -3.5), scale=0.125)
    stored = read_binvox_file(path)
    assert np.array_equal(stored.voxels, grid.transpose(1, 0, 2))
    assert stored.translate.tolist() == [1.0, 2.0, -3.5] and stored.scale == 0.125
    assert path.read_bytes().startswith(b"#binvox 1\n")


@pytest.mark.parametrize("resolution", [16, 32, 48])
def test_write_then_read_shape_is_fit_grid_of_the_original(tmp_path, resolution):
    """read_shape normalises: reading back a written grid gives fit_grid of the original."""
    grid = np.random.default_rng(2).random((20, 20, 20)) < 0.2
    path = tmp_path / "random.binvox"
    write_binvox(path, grid)
    assert np.array_equal(read_shape(path, VoxelizeOptions(resolution=resolution)), fit_grid(grid, resolution))


def test_normalised_chair_round_trips_exactly_and_keeps_its_orientation(tmp_path):
    """A grid already normalised at 32^3 comes back unchanged: upright, backrest at high axis 0."""
    grid = _normalised_chair()
    assert np.array_equal(fit_grid(grid, 32), grid)
    path = tmp_path / "chair.binvox"
    write_binvox(path, grid)
    out = read_shape(path)
    assert np.array_equal(out, grid)
    assert upright(out) and backrest_at_high_axis_0(out)


def test_read_with_explicit_shapenet_orientation_matches_the_default(tmp_path):
    """up='+y', front='-z' is the binvox default; a different frame gives a different grid."""
    path = tmp_path / "chair.binvox"
    write_binvox(path, _normalised_chair())
    assert np.array_equal(read_shape(path, VoxelizeOptions(up="+y", front="-z")), _normalised_chair())
    assert not np.array_equal(read_shape(path, VoxelizeOptions(up="+z", front="-y")), _normalised_chair())


def test_write_binvox_refuses_non_cubic_grids(tmp_path):
    """Only (R, R, R) grids can be written; nothing is created otherwise."""
    path = tmp_path / "bad.binvox"
    with pytest.raises(DataError, match="cubic grid") as info:
        write_binvox(path, np.ones((4, 4, 5)))
    assert str(info.value).startswith(str(path)) and not path.exists()


def test_corrupt_file_errors_name_the_path(tmp_path):
    """Through read_shape a truncated file is a DataError starting with its path."""
    path = tmp_path / "cut.binvox"
    write_binvox(path, _normalised_chair())
    path.write_bytes(path.read_bytes()[:-3])
    with pytest.raises(DataError, match="odd number of bytes|truncated") as info:
        read_shape(path)
    assert str(info.value).startswith(f"{path}: ")


def test_all_empty_grid_raises(tmp_path):
    """A well-formed file with no occupied voxel is refused as empty."""
    path = tmp_path / "empty.binvox"
    write_binvox(path, np.zeros((4, 4, 4)))
    with pytest.raises(DataError, match="empty") as info:
        read_shape(path)
    assert str(info.value).startswith(f"{path}: ")


# -- real files ---------------------------------------------------------------------------
@needs_shapenet
@pytest.mark.parametrize(("model", "count"), sorted(REAL_COUNTS.items()))
def test_real_shapenet_binvox_decodes_to_the_readme_counts(model, count):
    """Each file is 64^3 with the README's number of occupied voxels and a finite, positive scale."""
    stored = read_binvox_file(SHAPENET / model / "models" / f"{model}.binvox")
    assert stored.voxels.shape == (64, 64, 64)
    assert int(stored.voxels.sum()) == count
    assert np.isfinite(stored.translate).all() and stored.scale > 0


@needs_shapenet
@pytest.mark.parametrize("model", sorted(REAL_COUNTS))
def test_real_shapenet_chairs_read_upright_and_facing_minus_axis_0(model):
    """read_shape at 32^3: longest side 24 voxels; chairs upright with the backrest at high axis 0."""
    grid = read_shape(SHAPENET / model / "models" / f"{model}.binvox", VoxelizeOptions(resolution=32))
    occupied = np.argwhere(grid)
    assert (occupied.max(axis=0) - occupied.min(axis=0) + 1).max() == 24
    if model != RING_SEAT:
        assert occupied[:, 2].min() == 4  # the height is these chairs' longest side: it starts at 4
        assert upright(grid) and backrest_at_high_axis_0(grid) and backrest_side(grid) == "+0"
