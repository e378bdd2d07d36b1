"""Point clouds: PCD (binary, ascii), XYZ and NPY readers/writers, the ModelNet frame, real PCD files."""

import numpy as np
import pytest
from conftest import SHARED_DATA
from test_matlab import backrest_at_high_axis_0, backrest_side, upright

from shapespace.errors import DataError
from shapespace.geometry.frame import frame_rotation
from shapespace.geometry.voxelize import VoxelizeOptions, points_to_voxels
from shapespace.io.pointclouds import (
    decode_pcd,
    encode_pcd,
    points_to_shape,
    read_npy,
    read_pcd,
    read_xyz,
    write_npy,
    write_pcd,
    write_xyz,
)
from shapespace.io.registry import read_shape

PCD = SHARED_DATA / "modelnet10-pcd"
REAL_CHAIR = PCD / "chair" / "train" / "chair_0001.pcd"
needs_pcd = pytest.mark.skipif(not REAL_CHAIR.is_file(), reason=f"ModelNet10 PCD files not found at {PCD}")
MODELNET = frame_rotation("+z", "-y")
# README section 2: the 170-byte header of every ModelNet10 PCD file (1,024 points).
MODELNET_HEADER = (
    b"# .PCD v0.7 - Point Cloud Data file format\nVERSION 0.7\nFIELDS x y z\nSIZE 4 4 4\nTYPE F F F\n"
    b"COUNT 1 1 1\nWIDTH 1024\nHEIGHT 1\nVIEWPOINT 0 0 0 1 0 0 0\nPOINTS 1024\nDATA binary\n"
)


def _points(n=200, seed=0):
    return np.random.default_rng(seed).normal(size=(n, 3)) * [3.0, 0.01, 1e4]


def _chair_points():
    """A ModelNet-frame chair as points (z up, facing -y): 4 legs, a seat and a backrest at +y."""
    g = np.linspace(-1.0, 1.0, 21)
    seat = np.stack(np.meshgrid(g, g, [0.0], indexing="ij"), -1).reshape(-1, 3)
    back = np.stack(np.meshgrid(g, [1.0], np.linspace(0.0, 2.0, 21), indexing="ij"), -1).reshape(-1, 3)
    legs = [np.stack([np.full(11, x), np.full(11, y), np.linspace(-1.0, 0.0, 11)], -1) for x in (-1, 1) for y in (-1, 1)]
    return np.vstack([seat, back, *legs])


# -- writers and readers: exact round trips -----------------------------------------------
@pytest.mark.parametrize("binary", [True, False])
def test_pcd_round_trip_is_float32_exact(tmp_path, binary):
    """write_pcd (binary and ascii) -> read_pcd gives the points rounded to float32, exactly.

    Binary data decodes to the float32 values themselves; ascii text (9 significant digits) is parsed as
    float64, so it equals them once rounded to float32.
    """
    points = _points()
    path = tmp_path / "cloud.pcd"
    write_pcd(path, points, binary=binary)
    back = read_pcd(path)
    assert back.dtype == np.float64 and back.shape == (200, 3)
    assert np.array_equal(back.astype(np.float32), points.astype(np.float32))
    if binary:
        assert np.array_equal(back, points.astype(np.float32))


def test_binary_pcd_layout_matches_modelnet_files():
    """1,024 points encode to the README's 170-byte header plus 12,288 bytes of little-endian float32."""
    points = _points(1024)
    data = encode_pcd(points)
    assert len(data) == 12458
    assert data[:170] == MODELNET_HEADER
    assert np.array_equal(np.frombuffer(data[170:], "<f4").reshape(1024, 3), points.astype(np.float32))


def test_ascii_pcd_header_says_ascii():
    """The ascii writer changes only the DATA line and writes one point per line."""
    data = encode_pcd(_points(3), binary=False)
    header, body = data.split(b"DATA ascii\n")
    assert header + b"DATA binary\n" == encode_pcd(_points(3))[: len(header) + 12]
    assert len(body.decode().splitlines()) == 3


def test_xyz_round_trip_is_float32_exact(tmp_path):
    """write_xyz writes 9 significant digits: float32 values come back exactly."""
    points = _points().astype(np.float32)
    path = tmp_path / "cloud.xyz"
    write_xyz(path, points)
    assert np.array_equal(read_xyz(path).astype(np.float32), points)
    assert len(path.read_text().splitlines()) == 200


def test_npy_round_trip_is_float32_exact(tmp_path):
    """write_npy stores float32 (N, 3); read_npy returns the same values."""
    points = _points()
    path = tmp_path / "cloud.npy"
    write_npy(path, points)
    assert np.load(path).dtype == np.float32
    assert np.array_equal(read_npy(path), points.astype(np.float32))


@pytest.mark.parametrize("writer", [write_pcd, write_xyz, write_npy])
def test_writers_refuse_bad_points(tmp_path, writer):
    """NaN points, empty clouds and wrong shapes are refused; nothing is written."""
    path = tmp_path / "cloud.out"
    for points, message in [(np.array([[0.0, np.nan, 1.0]]), "NaN"), (np.zeros((0, 3)), "no points"), (np.zeros((4, 2)), "shape")]:
        with pytest.raises(DataError, match=message):
            writer(path, points)
    assert not path.exists()


# -- PCD variants -------------------------------------------------------------------------
def _pcd(fields, sizes, types, counts, n, data_mode, body):
    header = (
        f"# .PCD v0.7\nVERSION 0.7\nFIELDS {fields}\nSIZE {sizes}\nTYPE {types}\nCOUNT {counts}\n"
        f"WIDTH {n}\nHEIGHT 1\nVIEWPOINT 0 0 0 1 0 0 0\nPOINTS {n}\nDATA {data_mode}\n"
    )
    return header.encode() + body


def test_pcd_with_extra_fields_and_other_order():
    """Fields in any order with extra fields (normals as a COUNT-3 field, an rgb float, a padding '_')."""
    dtype = np.dtype([("n", "<f4", (3,)), ("z", "<f8"), ("_", "<u1"), ("x", "<i2"), ("y", "<f4"), ("rgb", "<f4")])
    table = np.zeros(4, dtype=dtype)
    table["x"] = [1, 2, 3, 4]
    table["y"] = [0.5, 1.5, 2.5, 3.5]
    table["z"] = [-1, -2, -3, -4]
    table["n"] = 9.0
    data = _pcd("normal z _ x y rgb", "4 8 1 2 4 4", "F F U I F F", "3 1 1 1 1 1", 4, "binary", table.tobytes())
    assert np.array_equal(decode_pcd(data), [[1, 0.5, -1], [2, 1.5, -2], [3, 2.5, -3], [4, 3.5, -4]])


def test_ascii_pcd_with_extra_columns():
    """Ascii rows are split by COUNT: x is the 4th value when a COUNT-3 field comes first."""
    body = b"9 9 9 1 2 3\n9 9 9 4 5 6\n"
    data = _pcd("normal x y z", "4 4 4 4", "F F F F", "3 1 1 1", 2, "ascii", body)
    assert np.array_equal(decode_pcd(data), [[1, 2, 3], [4, 5, 6]])


@pytest.mark.parametrize(("data", "message"), [
    (b"# .PCD v0.7\nVERSION 0.7\nFIELDS x y z\n", "no DATA line"),
    (_pcd("x y z", "4 4 4", "F F F", "1 1 1", 2, "binary", b"\0" * 23), "23 bytes, 24 needed for 2 points: the file is truncated"),
    (_pcd("x y z", "4 4 4", "F F F", "1 1 1", 2, "ascii", b"1 2 3\n4 5\n"), "5 values, expected 2 points x 3"),
    (_pcd("x y z", "4 4 4", "F F F", "1 1 1", 2, "binary_compressed", b"\0" * 24), "binary_compressed' is not supported"),
    (_pcd("x y", "4 4", "F F", "1 1", 1, "ascii", b"1 2\n"), "no 'z' field"),
    (_pcd("x y z", "4 4", "F F F", "1 1 1", 1, "ascii", b"1 2 3\n"), "different lengths"),
    (_pcd("x y z", "2 4 4", "F F F", "1 1 1", 1, "binary", b"\0" * 10), "unsupported SIZE/TYPE"),
    (_pcd("x y z", "4 4 4", "F F F", "1 1 1", -1, "binary", b""), "claims -1 points"),
    (_pcd("x y z", "4 4 4", "F F F", "1 1 1", 0, "binary", b""), "no points"),
    (_pcd("x y z", "4 4 4", "F F F", "1 1 1", 1, "ascii", b"1 nan 3\n"), "NaN"),
    (b"FIELDS x y z\nSIZE 4 4 4\nTYPE F F F\nDATA ascii\n1 2 3\n", "no POINTS line"),
])  # fmt: skip
def test_malformed_pcd_raises(data, message):
    """Truncation, miscounts, unsupported encodings, missing fields and bad headers are DataErrors."""
    with pytest.raises(DataError, match=message):
        decode_pcd(data)


@pytest.mark.parametrize("body", [b"1 2 x\n", b"1 2 \xff\n"], ids=["non-numeric", "non-ascii"])
def test_ascii_pcd_with_junk_values_raises_data_error(body):
    """A non-numeric or non-ASCII value in an ascii PCD body is a DataError from decode_pcd itself."""
    with pytest.raises(DataError):
        decode_pcd(_pcd("x y z", "4 4 4", "F F F", "1 1 1", 1, "ascii", body))


# -- XYZ and NPY variants -----------------------------------------------------------------
def test_xyz_accepts_commas_comments_and_extra_columns(tmp_path):
    """Comma or space separated, '#' comments, blank lines; columns after x y z are ignored."""
    path = tmp_path / "cloud.xyz"
    path.write_text("# header\n1,2,3\n\n4 5 6 0 0 1  # with a normal\n  7\t8\t9\n")
    assert np.array_equal(read_xyz(path), [[1, 2, 3], [4, 5, 6], [7, 8, 9]])


@pytest.mark.parametrize(("text", "message"), [
    ("1 2 3\n4 5\n", "line 2 has 2 values"), ("1 2 three\n", "line 1 is not numeric"),
    ("# only a comment\n\n", "no points"), ("1 2 3\nnan 0 0\n", "NaN"),
])  # fmt: skip
def test_malformed_xyz_raises(tmp_path, text, message):
    """Short rows, words, no rows and NaN are DataErrors."""
    path = tmp_path / "cloud.xyz"
    path.write_text(text)
    with pytest.raises(DataError, match=message):
        read_xyz(path)


def test_npy_accepts_integer_points(tmp_path):
    """Any numeric dtype is read as float."""
    path = tmp_path / "ints.npy"
    np.save(path, np.arange(12, dtype=np.int16).reshape(4, 3))
    assert np.array_equal(read_npy(path), np.arange(12).reshape(4, 3))


@pytest.mark.parametrize(("array", "message"), [
    (np.array([{"a": 1}], dtype=object), "not a numeric .npy array"),
    (np.ones((4, 4)), r"shape \(N, 3\)"), (np.ones(3), r"shape \(N, 3\)"),
    (np.ones((2, 3), dtype=bool), "not real-valued"), (np.array(["a", "b"]), "not real-valued"),
    (np.ones((2, 3), dtype=complex), "not real-valued"),
])  # fmt: skip
def test_malformed_npy_raises(tmp_path, array, message):
    """Pickled objects are never loaded; wrong shapes and non-numeric arrays are refused."""
    path = tmp_path / "bad.npy"
    np.save(path, array, allow_pickle=True)
    with pytest.raises(DataError, match=message):
        read_npy(path)


# -- orientation and voxelisation through read_shape --------------------------------------
@pytest.mark.parametrize("suffix", [".pcd", ".xyz", ".npy"])
def test_box_corners_land_in_the_exact_canonical_voxels(tmp_path, suffix):
    """8 corners of a ModelNet-frame 2x1x1 box (x longest) at R=16, fill 1, no closing: canonical axis 1 is longest."""
    corners = np.array([[x, y, z] for x in (0, 2) for y in (0, 1) for z in (0, 1)], dtype=float)
    path = tmp_path / f"corners{suffix}"
    {".pcd": write_pcd, ".xyz": write_xyz, ".npy": write_npy}[suffix](path, corners)
    grid = read_shape(path, VoxelizeOptions(resolution=16, fill=1.0, close=0))
    expected = sorted((i, j, k) for i in (4, 11) for j in (0, 15) for k in (4, 11))
    assert [tuple(v) for v in np.argwhere(grid).tolist()] == expected


@pytest.mark.parametrize("suffix", [".pcd", ".xyz", ".npy"])
def test_modelnet_frame_chair_ends_upright_facing_minus_axis_0(tmp_path, suffix):
    """A chair facing -y with z up reads with its backrest at high axis 0 and its legs at low axis 2."""
    points = _chair_points()
    path = tmp_path / f"chair{suffix}"
    {".pcd": write_pcd, ".xyz": write_xyz, ".npy": write_npy}[suffix](path, points)
    grid = read_shape(path)
    assert np.array_equal(grid, points_to_voxels(points @ MODELNET.T, 32, close=1))
    assert upright(grid) and backrest_at_high_axis_0(grid) and backrest_side(grid) == "+0"


def test_up_front_override_reads_another_frame(tmp_path):
    """The same chair stored y-up facing -z reads identically with up='+y', front='-z'."""
    canonical = _chair_points() @ MODELNET.T
    shapenet = canonical @ frame_rotation("+y", "-z")  # canonical -> ShapeNet frame (inverse rotation)
    path = tmp_path / "chair.pcd"
    write_pcd(path, shapenet)
    assert np.array_equal(read_shape(path, VoxelizeOptions(up="+y", front="-z")), points_to_voxels(canonical, 32, close=1))
    assert not upright(read_shape(path))  # in the default (z-up) frame the chair lies on its back


def test_close_and_solid_options():
    """close=0 keeps exactly the voxels holding points; solid=True fills a closed shell of points."""
    size = 10
    cube = np.ones((size,) * 3, dtype=bool)
    cube[1:-1, 1:-1, 1:-1] = False
    shell_points = np.argwhere(cube).astype(float)
    hollow = points_to_shape(shell_points @ MODELNET, VoxelizeOptions(resolution=size, fill=1.0, close=0))
    assert np.array_equal(hollow, cube)
    solid = points_to_shape(shell_points @ MODELNET, VoxelizeOptions(resolution=size, fill=1.0, close=0, solid=True))
    assert solid.all()


# -- real files ---------------------------------------------------------------------------
@needs_pcd
def test_real_modelnet_pcd_decodes_exactly():
    """chair_0001.pcd: 1,024 points equal np.frombuffer(data[170:], '<f4'); re-encoding gives the same bytes."""
    data = REAL_CHAIR.read_bytes()
    assert len(data) == 12458 and data[:170] == MODELNET_HEADER
    points = read_pcd(REAL_CHAIR)
    expected = np.frombuffer(data[170:], "<f4").reshape(1024, 3)
    assert np.array_equal(points, expected)
    assert len(np.unique(points, axis=0)) == 1024
    assert encode_pcd(points) == data


@needs_pcd
def test_real_modelnet_pcd_chair_reads_upright_facing_minus_axis_0():
    """The chair's backrest ends at high axis 0 and its legs at low axis 2; the longest side spans 24 voxels."""
    grid = read_shape(REAL_CHAIR)
    occupied = np.argwhere(grid)
    assert (occupied.max(axis=0) - occupied.min(axis=0) + 1).max() == 24
    assert upright(grid) and backrest_at_high_axis_0(grid) and backrest_side(grid) == "+0"
