"""binvox voxel files (https://www.patrickmin.com/binvox/binvox.html), read and write.

File layout: an ASCII header (``#binvox 1``, ``dim D D D``, ``translate tx ty tz``,
``scale s``, ``data``) followed by run-length-encoded (value, count) byte pairs. Voxels are
stored with x running slowest, then z, then y (index ``x * D * D + z * D + y``), so the
decoded C-order array has axes (x, z, y). The centre of voxel ``i`` along an axis lies at
world ``(i + 0.5) / D * scale + translate``.

Orientation: ShapeNet's binvox models are y-up and face -z (``../shared/data/README.md``
section 4). :func:`read_binvox` first transposes the decoded array to world axes (x, y, z)
-- (x, z, y) is a mirrored frame, and rotating it directly would mirror the shape -- then
rotates y-up/-z-front into the canonical frame. :func:`write_binvox` writes the same
convention, so written files open upright in other binvox tools.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from shapespace.errors import DataError
from shapespace.geometry.frame import frame_rotation, reorient_grid
from shapespace.geometry.voxelize import MAX_RESOLUTION, VoxelizeOptions, fit_grid
from shapespace.io.atomic import write_bytes_atomic
from shapespace.io.registry import ShapeFormat

# ShapeNet orientation in world axes (x, y, z): y up, facing -z.
BINVOX_UP = "+y"
BINVOX_FRONT = "-z"


@dataclass(frozen=True)
class BinvoxGrid:
    """A decoded binvox file.

    Attributes:
        voxels: BoolArray of shape (D, D, D) in file order, axes (x, z, y).
        translate: FloatArray of shape (3,), world position of the grid's corner.
        scale: world length of the whole grid.
    """

    voxels: np.ndarray
    translate: np.ndarray
    scale: float


def decode_binvox(data: bytes) -> BinvoxGrid:
    """Decode the bytes of a binvox file, checking every run."""
    from trimesh.exchange.binvox import parse_binvox

    try:
        parsed = parse_binvox(io.BytesIO(data))
    # trimesh's header parser fails on corrupt bytes in many ways (ValueError, OverflowError
    # for huge dims, an ImportError when it looks for a charset detector); all mean the same.
    except Exception as error:  # noqa: BLE001
        raise DataError(f"not a binvox file ({type(error).__name__}: {error})") from None
    shape = tuple(int(d) for d in parsed.shape)
    if len(shape) != 3 or len(set(shape)) != 1 or not 1 <= shape[0] <= MAX_RESOLUTION:
        raise DataError(f"binvox dim must be three equal sizes in [1, {MAX_RESOLUTION}], got {shape}")
    translate = np.asarray(parsed.translate, dtype=np.float64)
    scale = float(parsed.scale)
    if translate.shape != (3,) or not np.isfinite(translate).all() or not np.isfinite(scale) or scale <= 0:
        raise DataError(f"binvox translate {translate.tolist()} / scale {scale} are not finite, positive values")
    runs = np.asarray(parsed.rle_data, dtype=np.uint8)
    total = shape[0] ** 3
    if len(runs) % 2:
        raise DataError(f"run-length data has an odd number of bytes ({len(runs)}): the file is truncated")
    values, counts = runs[0::2], runs[1::2].astype(np.int64)
    decoded = int(counts.sum())
    if decoded != total:
        state = "truncated" if decoded < total else "too long"
        raise DataError(f"run-length data decodes to {decoded} voxels, expected {total}: the file is {state}")
    if values.max(initial=0) > 1:
        raise DataError(f"run values must be 0 or 1, found {int(values.max())}")
    voxels = np.repeat(values.astype(bool), counts).reshape(shape)
    return BinvoxGrid(voxels, translate, scale)


def encode_binvox(voxels: np.ndarray, translate: np.ndarray = (0.0, 0.0, 0.0), scale: float = 1.0) -> bytes:
    """Encode a grid in file order (axes (x, z, y)) as binvox bytes."""
    from trimesh.exchange.binvox import binvox_bytes
    from trimesh.voxel.runlength import dense_to_rle

    voxels = np.asarray(voxels) != 0
    runs = dense_to_rle(voxels.reshape(-1).astype(np.uint8), dtype=np.uint8)
    return binvox_bytes(np.asarray(runs, dtype=np.uint8), voxels.shape, translate, scale)


def read_binvox_file(path: str | os.PathLike) -> BinvoxGrid:
    """Read and decode a binvox file as stored (no re-orientation)."""
    return decode_binvox(Path(path).read_bytes())


def read_binvox(path: Path, options: VoxelizeOptions) -> np.ndarray:
    grid = read_binvox_file(path).voxels.transpose(0, 2, 1)  # (x, z, y) -> (x, y, z)
    grid = reorient_grid(grid, options.rotation(BINVOX_UP, BINVOX_FRONT))
    return fit_grid(grid, options.resolution, options.fill)


def write_binvox(path: str | os.PathLike, grid: np.ndarray, translate=(-0.5, -0.5, -0.5), scale: float = 1.0) -> None:
    """Write a canonical grid (shape (R, R, R)) as binvox, y-up and facing -z like ShapeNet.

    The default ``translate`` and ``scale`` place the grid on the cube ``[-0.5, 0.5]^3``,
    the world box of :mod:`shapespace.geometry.frame`.
    """
    grid = np.asarray(grid)
    if grid.ndim != 3 or len(set(grid.shape)) != 1:
        raise DataError(f"{path}: expected a cubic grid of shape (R, R, R), got {grid.shape}")
    stored = reorient_grid(grid != 0, frame_rotation(BINVOX_UP, BINVOX_FRONT).T).transpose(0, 2, 1)  # (x, z, y)
    write_bytes_atomic(path, encode_binvox(stored, np.asarray(translate, dtype=np.float64), scale))


# Registered by the package (shapespace/io/__init__.py), not here.
BINVOX_FORMAT = ShapeFormat(
    name="binvox",
    suffixes=(".binvox",),
    read=read_binvox,
    description="binvox run-length voxels (ShapeNet: y up, facing -z)",
)
