"""Fuzzing read_shape: whatever the bytes, it returns a valid grid or raises a DataError naming the file.

Inputs are random bytes, random bytes behind a valid file's first bytes, and truncated or corrupted copies of
valid files of every format (written by this package and by trimesh, plus real data files when present). Any
exception other than DataError is a failure.
"""

import io

import numpy as np
import pytest
import scipy.io
import trimesh
from conftest import SHARED_DATA
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shapespace.errors import DataError
from shapespace.geometry.voxelize import VoxelizeOptions
from shapespace.io.binvox import write_binvox
from shapespace.io.matlab import write_mat
from shapespace.io.meshes import write_points_ply
from shapespace.io.pointclouds import write_npy, write_pcd, write_xyz
from shapespace.io.registry import read_shape, shape_suffixes

RESOLUTION = 16
OPTIONS = VoxelizeOptions(resolution=RESOLUTION)
SUFFIXES = sorted(shape_suffixes())
FUZZ = settings(
    max_examples=60, deadline=None, derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow]
)
REAL_FILES = {
    "real-modelnet.mat": SHARED_DATA / "modelnet10-chair-vox30" / "train" / "chair_000000182_1.mat",
    "real-ikea.mat": SHARED_DATA / "ikea-dev" / "Voxels" / "80.mat",
    "real-shapenet.binvox": SHARED_DATA / "shapenet-chair-binvox64" / "1b8e84935fdc3ec82be289de70e8db31" / "models"
    / "1b8e84935fdc3ec82be289de70e8db31.binvox",
    "real-modelnet.pcd": SHARED_DATA / "modelnet10-pcd" / "chair" / "train" / "chair_0001.pcd",
}


def _valid_files(folder):
    """Bytes of one small valid file per format and writer, keyed by a file name with the right suffix."""
    grid = np.zeros((12, 12, 12), dtype=bool)
    grid[2:10, 3:9, 1:4] = True
    grid[8:10, 3:9, 4:11] = True  # a backrest
    points = np.random.default_rng(0).normal(size=(40, 3))
    box = trimesh.creation.box(extents=(2.0, 1.0, 1.0))
    writers = {
        "write_mat.mat": lambda p: write_mat(p, grid),
        "ikea-grid.mat": lambda p: write_mat(p, grid, key="grid"),
        "uncompressed.mat": lambda p: scipy.io.savemat(p, {"instance": grid.astype(np.int8)}),
        "write_binvox.binvox": lambda p: write_binvox(p, grid),
        "binary.pcd": lambda p: write_pcd(p, points),
        "ascii.pcd": lambda p: write_pcd(p, points, binary=False),
        "write_xyz.xyz": lambda p: write_xyz(p, points),
        "write_npy.npy": lambda p: write_npy(p, points),
        "points.ply": lambda p: write_points_ply(p, points),
        **{f"box.{ext}": (lambda p: box.export(p)) for ext in ("off", "obj", "stl", "ply", "glb")},
    }
    files = {}
    for name, write in writers.items():
        path = folder / name
        write(path)
        files[name] = path.read_bytes()
    for name, path in REAL_FILES.items():
        if path.is_file():
            files[name] = path.read_bytes()
    return files


@pytest.fixture(scope="module")
def valid_files(tmp_path_factory):
    return _valid_files(tmp_path_factory.mktemp("valid"))


def _read(path):
    """read_shape's contract: a non-empty (R, R, R) bool grid, or a DataError whose message names the file."""
    try:
        grid = read_shape(path, OPTIONS)
    except DataError as error:
        assert str(error).startswith(f"{path}: "), error
        assert "No module named" not in str(error), error  # an optional dependency of a parser is missing
        return None
    assert isinstance(grid, np.ndarray)
    assert grid.shape == (RESOLUTION,) * 3 and grid.dtype == bool and grid.any()
    return grid


def test_every_valid_file_reads(valid_files, tmp_path):
    """The unmodified files all read into grids (so the fuzz tests start from readable inputs)."""
    assert len(valid_files) >= 14
    for name, data in valid_files.items():
        path = tmp_path / name
        path.write_bytes(data)
        assert _read(path) is not None, name


def test_truncations_at_fixed_points(valid_files, tmp_path):
    """Each file cut at 0, 1, 2, 3 bytes, 17 evenly spaced lengths and one byte short: grid or DataError; 0 is 'empty'."""
    for name, data in valid_files.items():
        cuts = sorted({0, 1, 2, 3, len(data) - 1, *np.linspace(0, len(data), 17).astype(int).tolist()})
        for cut in cuts:
            path = tmp_path / f"cut{cut}-{name}"
            path.write_bytes(data[:cut])
            if cut == 0:
                with pytest.raises(DataError, match="the file is empty"):
                    read_shape(path, OPTIONS)
            else:
                _read(path)


@FUZZ
@given(data=st.binary(min_size=1, max_size=4096), suffix=st.sampled_from(SUFFIXES))
def test_random_bytes(tmp_path_factory, data, suffix):
    """Random bytes under any readable suffix."""
    path = tmp_path_factory.mktemp("random") / f"shape{suffix}"
    path.write_bytes(data)
    _read(path)


@FUZZ
@given(draw=st.data())
def test_random_bytes_behind_a_valid_header(valid_files, tmp_path_factory, draw):
    """A valid file's first bytes (its header) followed by random bytes: parsers get past the magic."""
    name = draw.draw(st.sampled_from(sorted(valid_files)))
    data = valid_files[name]
    keep = draw.draw(st.integers(1, min(len(data), 300)))
    tail = draw.draw(st.binary(max_size=2048))
    path = tmp_path_factory.mktemp("header") / name
    path.write_bytes(data[:keep] + tail)
    _read(path)


@FUZZ
@given(draw=st.data())
def test_truncated_and_corrupted_valid_files(valid_files, tmp_path_factory, draw):
    """A valid file cut at a random length, with up to 4 random bytes overwritten."""
    name = draw.draw(st.sampled_from(sorted(valid_files)))
    data = bytearray(valid_files[name])
    cut = draw.draw(st.integers(1, len(data)))
    data = data[:cut]
    edits = draw.draw(st.lists(st.tuples(st.integers(0, cut - 1), st.integers(0, 255)), max_size=4))
    for position, value in edits:
        data[position] = value
    path = tmp_path_factory.mktemp("cut") / name
    path.write_bytes(bytes(data))
    _read(path)


@FUZZ
@given(points=st.lists(
    st.tuples(*[st.floats(allow_nan=True, allow_infinity=True, width=32)] * 3), min_size=1, max_size=20
))  # fmt: skip
def test_arbitrary_point_values_in_a_npy_file(tmp_path_factory, points):
    """Any float32 coordinates, NaN, inf, duplicates and huge ranges included: grid or DataError."""
    path = tmp_path_factory.mktemp("npy") / "cloud.npy"
    buffer = io.BytesIO()
    np.save(buffer, np.array(points, dtype=np.float32))
    path.write_bytes(buffer.getvalue())
    grid = _read(path)
    if np.isfinite(np.array(points, dtype=np.float64)).all() and len(set(points)) > 1:
        assert grid is not None  # only NaN/inf or coincident points may be refused


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_empty_file_of_every_format_says_empty(tmp_path, suffix):
    """A zero-byte file is refused as empty before any parser runs."""
    path = tmp_path / f"empty{suffix}"
    path.touch()
    with pytest.raises(DataError, match="the file is empty") as info:
        read_shape(path, OPTIONS)
    assert str(info.value).startswith(str(path))


@pytest.mark.parametrize("name", ["shape.vox", "shape.json", "shape", "shape.mat.bak"])
def test_unknown_suffix_raises(tmp_path, name):
    """Files of unknown type are refused by name, even when their bytes are a valid shape."""
    path = tmp_path / name
    write_binvox(path, np.ones((4, 4, 4)))
    with pytest.raises(DataError, match="unknown shape file type") as info:
        read_shape(path, OPTIONS)
    assert str(info.value).startswith(str(path))


@pytest.mark.parametrize("suffix", [".obj", ".stl", ".off"])
def test_garbage_text_mesh_says_what_is_wrong(tmp_path, suffix):
    """Non-UTF-8 bytes make trimesh guess the encoding (charset-normalizer, a dependency): one clear error."""
    path = tmp_path / f"garbage{suffix}"
    path.write_bytes(bytes(range(128, 256)) * 4 + b"\xff\xfe garbage \x80\x81")
    with pytest.raises(DataError) as info:
        read_shape(path, OPTIONS)
    message = str(info.value)
    assert message.startswith(f"{path}: ") and "\n" not in message
    assert "ModuleNotFoundError" not in message and "charset" not in message
