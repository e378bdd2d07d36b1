"""MATLAB ``.mat`` voxel grids: 3DShapeNets/ModelNet, Girdhar et al.'s IKEA, the 3D-GAN release.

The variable name tells the source apart (see ``../shared/data/README.md``):

* ``instance`` -- 3DShapeNets ModelNet grids, 30^3 with a 3-voxel empty border, axis 2 up,
  rotation ``_1`` facing -axis 0: already the canonical frame. Read as 3DShapeNets does:
  a 30^3 grid is padded by one voxel to 32^3 (longest side 24 of 32, i.e. fill 0.75), then
  rescaled to R; other sizes (e.g. files written by :func:`write_mat`) are rescaled as they
  are. These grids keep their own normalisation: ``VoxelizeOptions.fill`` does not apply.
* ``grid`` -- Girdhar et al.'s IKEA grids, 20^3, **axis 0 up**; the longest side spans the
  whole grid. The models do not all face one way; the default maps ``+axis 1`` (the most
  common facing) to the canonical front. Normalised like every other source.
* ``voxel`` -- the 3D-GAN release's IKEA models. Their orientation could not be checked
  against real files here; they are read with the IKEA convention (axis 0 up) and
  normalised.

:func:`write_mat` writes a canonical grid as a 3DShapeNets-style file (variable
``instance``, int8 {0, 1}, canonical frame, no padding).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from shapespace.errors import DataError
from shapespace.geometry.frame import frame_rotation, reorient_grid
from shapespace.geometry.voxelize import MAX_RESOLUTION, VoxelizeOptions, fit_grid, resample_grid
from shapespace.io.atomic import write_with_atomic
from shapespace.io.registry import ShapeFormat

# Source orientation per variable name: (up, front) in array axes.
MAT_KEYS: dict[str, tuple[str, str]] = {
    "instance": ("+2", "-0"),  # 3DShapeNets: canonical already
    "grid": ("+0", "+1"),  # Girdhar et al. IKEA (README section 3)
    "voxel": ("+0", "+1"),  # 3D-GAN release IKEA (unverified; same as Girdhar et al.)
}
# 3DShapeNets pads its 30^3 grids by one voxel to 32^3 (Wu et al., CVPR 2015).
SHAPENETS_SIZE = 30
SHAPENETS_PAD = 1


def load_mat_grid(path: str | os.PathLike) -> tuple[str, np.ndarray]:
    """Load the voxel variable of a ``.mat`` file as stored.

    Returns:
        ``(key, grid)``: the variable name and a BoolArray of shape (D, D, D).
    """
    import scipy.io

    contents = scipy.io.loadmat(str(path))
    keys = [k for k in MAT_KEYS if k in contents]
    if not keys:
        found = sorted(k for k in contents if not k.startswith("__"))
        raise DataError(f"no voxel variable: expected one of {', '.join(MAT_KEYS)}, found {found or 'none'}")
    key = keys[0]
    array = np.asarray(contents[key])
    if array.ndim != 3 or len(set(array.shape)) != 1:
        raise DataError(f"variable {key!r} must be a cubic 3-D array, got shape {array.shape}")
    if array.shape[0] > MAX_RESOLUTION:
        raise DataError(f"variable {key!r} is {array.shape[0]}^3, larger than {MAX_RESOLUTION}^3")
    if np.iscomplexobj(array) or (not np.issubdtype(array.dtype, np.number) and array.dtype != bool):
        raise DataError(f"variable {key!r} has non-numeric type {array.dtype}")
    values = array.astype(np.float64)
    if not np.isfinite(values).all():
        raise DataError(f"variable {key!r} holds NaN or infinite values")
    return key, values > 0.5


def read_mat(path: Path, options: VoxelizeOptions) -> np.ndarray:
    key, grid = load_mat_grid(path)
    up, front = MAT_KEYS[key]
    grid = reorient_grid(grid, options.rotation(up, front))
    if key == "instance":
        # 3DShapeNets' own normalisation: pad 30^3 to 32^3 and rescale, as the paper's data.
        if grid.shape[0] == SHAPENETS_SIZE:
            grid = np.pad(grid, SHAPENETS_PAD)
        return resample_grid(grid, options.resolution)
    return fit_grid(grid, options.resolution, options.fill)


def write_mat(path: str | os.PathLike, grid: np.ndarray, key: str = "instance") -> None:
    """Write a canonical grid (shape (R, R, R), nonzero = occupied) as int8 {0, 1} in ``key``."""
    import scipy.io

    grid = np.asarray(grid)
    if grid.ndim != 3 or len(set(grid.shape)) != 1:
        raise DataError(f"{path}: expected a cubic grid of shape (R, R, R), got {grid.shape}")
    if key not in MAT_KEYS:
        raise DataError(f"{path}: unknown variable {key!r}; expected one of {', '.join(MAT_KEYS)}")
    up, front = MAT_KEYS[key]
    # Inverse of the reader's re-indexing: the transpose of a rotation is its inverse.
    stored = reorient_grid(grid != 0, frame_rotation(up, front).T)
    write_with_atomic(path, lambda tmp: scipy.io.savemat(str(tmp), {key: stored.astype(np.int8)}, do_compression=True))


# Registered by the package (shapespace/io/__init__.py), not here.
MAT_FORMAT = ShapeFormat(
    name="mat",
    suffixes=(".mat",),
    read=read_mat,
    description="MATLAB voxel grids: 3DShapeNets 'instance' (axis 2 up), IKEA 'grid'/'voxel' (axis 0 up)",
)
