"""Voxel grids to triangle meshes (marching cubes, scikit-image).

Writing a mesh to a file is :func:`shapespace.io.meshes.write_mesh`.
"""

from __future__ import annotations

import numpy as np
import trimesh
from skimage import measure

from shapespace.errors import ConfigError
from shapespace.geometry.frame import DEFAULT_THRESHOLD, voxel_to_world


def voxels_to_mesh(volume: np.ndarray, threshold: float = DEFAULT_THRESHOLD) -> trimesh.Trimesh:
    """Extract the ``threshold`` iso-surface of an occupancy grid.

    The grid is padded by one empty voxel so surfaces touching the border close, and
    vertices are mapped to the world frame of :mod:`shapespace.geometry.frame` (the grid
    spans ``[-0.5, 0.5]^3``, z up, front towards -x). Faces are oriented outwards.

    Args:
        volume: FloatArray of shape (R, R, R), occupancy probabilities.
        threshold: iso-level.

    Returns:
        A watertight mesh; an empty mesh (no vertices) when nothing reaches ``threshold``.
    """
    volume = np.asarray(volume, dtype=np.float32)
    if volume.ndim != 3 or len(set(volume.shape)) != 1:
        raise ConfigError(f"volume must have shape (R, R, R), got {volume.shape}")
    if not (volume > threshold).any():
        return trimesh.Trimesh()
    padded = np.pad(volume, 1, constant_values=0.0)
    vertices, faces, _normals, _values = measure.marching_cubes(padded, level=threshold)
    vertices = voxel_to_world(vertices - 1.0, volume.shape[0])  # undo the padding offset
    # skimage orients faces towards lower values when the inside is high; flip to outwards.
    mesh = trimesh.Trimesh(vertices=vertices, faces=faces[:, ::-1], process=True)
    if signed_volume(mesh) < 0:
        mesh.invert()
    return mesh


def signed_volume(mesh: trimesh.Trimesh) -> float:
    """The volume enclosed by ``mesh``, negative when its faces point inwards.

    The same value as ``mesh.volume``, without the rest of trimesh's mass properties
    (centre of mass, inertia) that it computes alongside: a sixth of the time.
    """
    triangles = mesh.vertices[mesh.faces]  # (F, 3, 3)
    return float(np.einsum("ij,ij->i", triangles[:, 0], np.cross(triangles[:, 1], triangles[:, 2])).sum() / 6.0)
