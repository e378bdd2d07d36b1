"""The canonical voxel frame, stated once for the whole project (docs/paper.md section 5).

Every occupancy grid in shapespace is an array ``v[i, j, k]`` of shape ``(R, R, R)``
(or ``(B, 1, R, R, R)`` inside networks) with

* **axis 2 pointing up**: gravity points towards index 0 of axis 2, so the floor, legs
  and feet of furniture sit at low ``k``;
* **the object's front facing -axis 0**: a chair's seat front points towards ``i = 0``
  and its backrest sits at high ``i``;
* axis 1 completes the frame (horizontal, left/right of the object).

This is how the 3DShapeNets ModelNet ``.mat`` files store rotation ``_1``. Values are
occupancy probabilities in ``[0, 1]``; :data:`DEFAULT_THRESHOLD` turns them into solids.

World coordinates used by meshes and renderers: the centre of voxel ``(i, j, k)`` is at
``((i + 0.5) / R - 0.5, (j + 0.5) / R - 0.5, (k + 0.5) / R - 0.5)``, i.e. the grid spans the
cube ``[-0.5, 0.5]^3`` and world ``x, y, z`` follow axes 0, 1, 2 (``z`` up). Exported
meshes keep this right-handed, z-up frame.
"""

from __future__ import annotations

import numpy as np

UP_AXIS = 2
FRONT_AXIS = 0
FRONT_SIGN = -1
DEFAULT_THRESHOLD = 0.5


def voxel_to_world(indices: np.ndarray, resolution: int) -> np.ndarray:
    """Map voxel indices (or fractional marching-cubes vertices) to world coordinates.

    Args:
        indices: FloatArray of shape (..., 3) in voxel units, where integer values are voxel centres.
        resolution: grid size R.

    Returns:
        FloatArray of shape (..., 3) inside ``[-0.5, 0.5]^3``.
    """
    return (np.asarray(indices, dtype=np.float64) + 0.5) / resolution - 0.5


# -- source orientations ------------------------------------------------------------------
# A source states its orientation as two signed axes: where "up" points and where the
# object's "front" faces, each one of "+x", "-x", "+y", "-y", "+z", "-z" (for arrays,
# x, y, z are array axes 0, 1, 2). Canonical axes follow: e2 = up, e0 = -front and
# e1 = e2 x e0, so the mapping is always a proper rotation, never a mirror.
_AXIS_NAMES = {"x": 0, "y": 1, "z": 2, "0": 0, "1": 1, "2": 2}


def parse_axis(spec: str, what: str = "axis") -> np.ndarray:
    """Parse a signed axis such as ``"+z"`` or ``"-y"`` into a unit vector (IntArray of shape (3,))."""
    from shapespace.errors import DataError

    text = str(spec).strip().lower()
    if len(text) == 1:
        text = "+" + text
    if len(text) != 2 or text[0] not in "+-" or text[1] not in _AXIS_NAMES:
        raise DataError(f"{what} {spec!r}: expected a signed axis such as +z, -y or +x")
    vector = np.zeros(3, dtype=np.int64)
    vector[_AXIS_NAMES[text[1]]] = 1 if text[0] == "+" else -1
    return vector


def frame_rotation(up: str, front: str) -> np.ndarray:
    """The rotation taking a source frame with the given ``up`` and ``front`` to the canonical one.

    Returns:
        IntArray ``M`` of shape (3, 3) with one +-1 per row and column and determinant +1:
        a point ``p`` of the source has canonical coordinates ``M @ p``.
    """
    from shapespace.errors import DataError

    up_vec, front_vec = parse_axis(up, "up axis"), parse_axis(front, "front axis")
    if abs(int(up_vec @ front_vec)) != 0:
        raise DataError(f"up {up!r} and front {front!r} must be different axes")
    e2, e0 = up_vec, -front_vec
    e1 = np.cross(e2, e0)
    return np.stack([e0, e1, e2])


def reorient_grid(grid: np.ndarray, rotation: np.ndarray) -> np.ndarray:
    """Re-index a cubic grid from a source frame into the canonical frame.

    Args:
        grid: Array of shape (R, R, R) indexed by source axes.
        rotation: IntArray of shape (3, 3) from :func:`frame_rotation`.

    Returns:
        Array of shape (R, R, R) with ``out[c] = grid[s]`` where ``c = M @ s`` about the grid centre.
    """
    source_axes = [int(np.flatnonzero(row)[0]) for row in rotation]
    out = np.transpose(grid, source_axes)
    flips = [axis for axis, row in enumerate(rotation) if row[source_axes[axis]] < 0]
    return np.ascontiguousarray(np.flip(out, axis=flips) if flips else out)


CANONICAL_UP = "+z"
CANONICAL_FRONT = "-x"
