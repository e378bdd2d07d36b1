"""The canonical voxel frame, stated once for the whole project (PAPER.md section 5).

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
