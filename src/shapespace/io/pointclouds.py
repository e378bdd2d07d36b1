"""Point clouds: PCD (ascii and binary), XYZ text, NPY arrays; PLY lives in :mod:`.meshes`.

Readers return FloatArray of shape (N, 3) in the file's own frame; :func:`read_points_shape`
rotates them into the canonical frame and voxelises them
(:func:`shapespace.geometry.voxelize.points_to_voxels`). The default orientation is
ModelNet's -- z up, objects facing -y (``../shared/data/README.md`` section 2) -- and
``VoxelizeOptions.up``/``front`` override it. By default sparse surface samples are bridged
by one closing iteration (1,024 Poisson-disk points leave gaps of about a voxel at 32^3)
and not filled; ``VoxelizeOptions.close``/``solid`` change that.

Writers (:func:`write_pcd`, :func:`write_xyz`, :func:`write_npy`) write the points without
re-orienting them: PCD and NPY as float32, XYZ as text with 9 significant digits (float32
round-trips exactly).
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np

from shapespace.errors import DataError
from shapespace.geometry.voxelize import VoxelizeOptions, check_points, points_to_voxels
from shapespace.io.atomic import write_bytes_atomic
from shapespace.io.registry import ShapeFormat

POINTS_UP = "+z"
POINTS_FRONT = "-y"
DEFAULT_CLOSE = 1
# A point cloud with more points than this is refused before allocation (corrupt header).
MAX_POINTS = 50_000_000
_PCD_TYPES = {("F", 4): "<f4", ("F", 8): "<f8", ("I", 1): "<i1", ("I", 2): "<i2", ("I", 4): "<i4", ("I", 8): "<i8",
              ("U", 1): "<u1", ("U", 2): "<u2", ("U", 4): "<u4", ("U", 8): "<u8"}  # fmt: skip


# -- PCD ---------------------------------------------------------------------------------
def decode_pcd(data: bytes) -> np.ndarray:
    """Decode PCD v0.5-0.7 bytes (DATA ascii or binary) into FloatArray of shape (N, 3)."""
    header: dict[str, list[str]] = {}
    offset = 0
    while True:
        end = data.find(b"\n", offset)
        if end < 0:
            raise DataError("PCD header has no DATA line: the file is truncated or not PCD")
        line = data[offset:end].decode("ascii", errors="replace").strip()
        offset = end + 1
        if not line or line.startswith("#"):
            continue
        key, *values = line.split()
        header[key.upper()] = values
        if key.upper() == "DATA":
            break
        if len(header) > 32:
            raise DataError("PCD header has no DATA line within its first 32 entries")
    for key in ("FIELDS", "SIZE", "TYPE", "POINTS"):
        if key not in header:
            raise DataError(f"PCD header has no {key} line")
    fields, sizes, types = header["FIELDS"], header["SIZE"], header["TYPE"]
    counts = header.get("COUNT", ["1"] * len(fields))
    if not (len(fields) == len(sizes) == len(types) == len(counts)):
        raise DataError("PCD header: FIELDS, SIZE, TYPE and COUNT have different lengths")
    for axis in "xyz":
        if axis not in fields:
            raise DataError(f"PCD has no {axis!r} field (fields: {' '.join(fields)})")
    try:
        n = int(header["POINTS"][0])
        dtypes = [(f"{name}_{i}" if name != "_" else f"_pad{i}", _PCD_TYPES[(t.upper(), int(s))], int(c))
                  for i, (name, s, t, c) in enumerate(zip(fields, sizes, types, counts))]  # fmt: skip
    except (ValueError, KeyError, IndexError):
        raise DataError(f"PCD header has an unsupported SIZE/TYPE/COUNT/POINTS: {header}") from None
    if not 0 <= n <= MAX_POINTS:
        raise DataError(f"PCD header claims {n} points")
    if any(count < 1 for _, _, count in dtypes):
        raise DataError(f"PCD header COUNT must be positive, got {' '.join(counts)}")
    columns = [f"{name}_{i}" for i, name in enumerate(fields)]
    xyz = [columns[fields.index(axis)] for axis in "xyz"]
    mode = (header["DATA"] or ["?"])[0].lower()
    if mode == "binary":
        record = np.dtype([(name, dt, (count,)) if count > 1 else (name, dt) for name, dt, count in dtypes])
        needed = n * record.itemsize
        if len(data) - offset < needed:
            raise DataError(f"PCD binary data has {len(data) - offset} bytes, {needed} needed for {n} points: the file is truncated")
        table = np.frombuffer(data, dtype=record, count=n, offset=offset)
        points = np.stack([table[name].astype(np.float64) for name in xyz], axis=1)
    elif mode == "ascii":
        width = sum(int(c) for c in counts)
        try:
            values = np.array(data[offset:].decode("ascii", errors="strict").split(), dtype=np.float64)
        except (UnicodeDecodeError, ValueError):
            raise DataError("PCD ascii data holds a value that is not a number") from None
        if len(values) != n * width:
            raise DataError(f"PCD ascii data has {len(values)} values, expected {n} points x {width}")
        table = values.reshape(n, width)
        starts = np.cumsum([0] + [int(c) for c in counts[:-1]])
        # Each column as its declared type, so ascii and binary files of one cloud agree.
        points = np.stack(
            [table[:, starts[fields.index(axis)]].astype(dtypes[fields.index(axis)][1]).astype(np.float64) for axis in "xyz"], axis=1
        )
    else:
        raise DataError(f"PCD DATA {mode!r} is not supported (ascii or binary; convert binary_compressed first)")
    return check_points(points)


def encode_pcd(points: np.ndarray, binary: bool = True) -> bytes:
    """Encode FloatArray (N, 3) as PCD v0.7 with float32 x, y, z."""
    points = check_points(points).astype("<f4")
    header = (
        "# .PCD v0.7 - Point Cloud Data file format\nVERSION 0.7\nFIELDS x y z\nSIZE 4 4 4\nTYPE F F F\n"
        f"COUNT 1 1 1\nWIDTH {len(points)}\nHEIGHT 1\nVIEWPOINT 0 0 0 1 0 0 0\nPOINTS {len(points)}\n"
        f"DATA {'binary' if binary else 'ascii'}\n"
    ).encode("ascii")
    if binary:
        return header + points.tobytes()
    body = io.StringIO()
    np.savetxt(body, points, fmt="%.9g")
    return header + body.getvalue().encode("ascii")


def read_pcd(path: str | os.PathLike) -> np.ndarray:
    return decode_pcd(Path(path).read_bytes())


def write_pcd(path: str | os.PathLike, points: np.ndarray, binary: bool = True) -> None:
    write_bytes_atomic(path, encode_pcd(points, binary=binary))


# -- XYZ ---------------------------------------------------------------------------------
def read_xyz(path: str | os.PathLike) -> np.ndarray:
    """Whitespace- or comma-separated text, one point per line; columns beyond x y z (normals, colours) are ignored."""
    rows = []
    for number, line in enumerate(Path(path).read_text(encoding="utf-8", errors="strict").splitlines(), start=1):
        line = line.split("#", 1)[0].replace(",", " ").strip()
        if not line:
            continue
        values = line.split()
        if len(values) < 3:
            raise DataError(f"line {number} has {len(values)} values, expected at least x y z")
        try:
            rows.append([float(v) for v in values[:3]])
        except ValueError:
            raise DataError(f"line {number} is not numeric: {line[:60]!r}") from None
    if not rows:
        raise DataError("the file holds no points")
    return check_points(np.array(rows))


def write_xyz(path: str | os.PathLike, points: np.ndarray) -> None:
    body = io.StringIO()
    np.savetxt(body, check_points(points), fmt="%.9g")
    write_bytes_atomic(path, body.getvalue().encode("ascii"))


# -- NPY ---------------------------------------------------------------------------------
def read_npy(path: str | os.PathLike) -> np.ndarray:
    """A NumPy ``.npy`` array of shape (N, 3) (never unpickled)."""
    try:
        array = np.load(path, allow_pickle=False)
    except ValueError as error:
        raise DataError(f"not a numeric .npy array: {error}") from None
    if not np.issubdtype(array.dtype, np.number) or np.iscomplexobj(array):
        raise DataError(f"array type {array.dtype} is not real-valued")
    return check_points(array)


def write_npy(path: str | os.PathLike, points: np.ndarray) -> None:
    body = io.BytesIO()
    np.save(body, check_points(points).astype(np.float32))
    write_bytes_atomic(path, body.getvalue())


# -- shapes ------------------------------------------------------------------------------
def points_to_shape(points: np.ndarray, options: VoxelizeOptions) -> np.ndarray:
    """Rotate source points into the canonical frame and voxelise them (BoolArray (R, R, R))."""
    rotation = options.rotation(POINTS_UP, POINTS_FRONT)
    canonical = check_points(points) @ rotation.T
    close = DEFAULT_CLOSE if options.close is None else options.close
    solid = False if options.solid is None else options.solid
    return points_to_voxels(canonical, options.resolution, options.fill, close=close, solid=solid)


_POINT_READERS = {".pcd": read_pcd, ".xyz": read_xyz, ".npy": read_npy}


def read_points_shape(path: Path, options: VoxelizeOptions) -> np.ndarray:
    return points_to_shape(_POINT_READERS[path.suffix.lower()](path), options)


# Registered by the package (shapespace/io/__init__.py), not here.
POINTS_FORMAT = ShapeFormat(
    name="points",
    suffixes=tuple(_POINT_READERS),
    read=read_points_shape,
    description="point clouds: PCD (ascii, binary), XYZ text, NPY (N, 3); ModelNet frame (z up, facing -y)",
)
